"""Rounds: list, create, read, edit, open/close/reopen, audit trail, the final choice, jobs.

Thin views: each parses the request, calls ``mlcontest.contest``, and shapes the answer.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from mlcontest.api.common import Body, only_fields, viewer
from mlcontest.api.courses import course_field
from mlcontest.contest import (
    courses,
    datasets,
    groups,
    queue,
    results,
    reveal_show,
    rounds,
    split_steps,
    training_data,
    visibility,
)
from mlcontest.contest.errors import InvalidInput, NotFound
from mlcontest.contest.models import Job, Round, User
from mlcontest.http import allow_methods, attachment, json_action, json_answer, parse_json_body

MAX_JOBS = 1000
NUMBERS = ("job_quota", "queued_quota", "time_limit_seconds", "memory_limit_mb")


def round_json(round_: Round, user: User) -> dict[str, Any]:
    """The seed's round description plus what the API's pages need."""
    described = rounds.describe_round(round_, user)
    described.update(
        final_choice_allowed=round_.final_choice_allowed,
        leaderboard_version=round_.leaderboard_version,
        accepting_jobs=rounds.accepts_jobs(round_),
        # True from the first close on, also while a revealed round is reopened for practice.
        final_revealed=visibility.revealed(round_),
        final_visible=visibility.sees_final(user, round_),
        validation_visible=visibility.sees_validation(user, round_),
        recipes_visible=visibility.sees_recipes(user, round_),
        reveal_show=round_.reveal_show,
        reveal=reveal_json(round_),
        course=round_.course_id,
    )
    if user.is_organizer:
        described["split_warnings"] = split_steps.dataset_warnings(round_.dataset)
    group = groups.group_of(user)
    if group is not None:
        described["my_group"] = {
            "name": group.name,
            **queue.quota_left(round_, group),
            "final_job": rounds.final_choice_of(round_, group),
        }
    return described


def reveal_json(round_: Round) -> dict[str, Any]:
    """Where the reveal stands: ``stage`` hidden, show (places revealed one by one, last first)
    or shown. The same for everyone: how many places are out spoils nothing."""
    shown = reveal_show.status(round_)
    return {
        "stage": shown.stage.value,
        "places": shown.places,
        "places_revealed": shown.places_revealed,
        "ended_at": round_.reveal_ended_at,
    }


def _round_settings(body: Body, creating: bool) -> dict[str, Any]:
    """The round fields present in the body, typed; on creation the required ones too."""
    settings: dict[str, Any] = {}
    if creating or body.has("name"):
        settings["name"] = body.text("name", max_length=100)
    if body.has("description"):
        settings["description"] = body.text("description")
    if creating or body.has("metric"):
        settings["metric"] = body.text("metric")
    if body.has("allowed_algorithms"):
        settings["allowed_algorithms"] = body.string_list("allowed_algorithms") or []
    for when in ("starts_at", "ends_at"):
        if body.has(when):
            settings[when] = body.when(when)
    for name in NUMBERS:
        if body.has(name):
            settings[name] = body.integer(name)
    for flag in ("final_choice_allowed", "reveal_show"):
        if body.has(flag):
            settings[flag] = body.boolean(flag)
    return settings


@allow_methods("GET", "POST")
@json_action
def round_list(request: HttpRequest) -> Any:
    """GET: the rounds the viewer may see (drafts for organizers only: ``visibility``).
    POST (organizers): create a round, a draft unless its start time has passed."""
    user = viewer(request)
    if request.method == "POST":
        return create_round(request, user)
    return {"rounds": [round_json(round_, user) for round_ in rounds.visible_rounds(user)]}


def create_round(request: HttpRequest, user: User) -> Any:
    from mlcontest.contest.permissions import require_organizer

    require_organizer(user)
    body = Body(parse_json_body(request))
    only_fields(
        body,
        {
            "name",
            "description",
            "dataset",
            "metric",
            "allowed_algorithms",
            "starts_at",
            "ends_at",
            "final_choice_allowed",
            "reveal_show",
            "course",
            *NUMBERS,
        },
    )
    dataset_id = body.integer("dataset")
    if dataset_id is None and "dataset" not in body.errors:
        body.errors["dataset"] = "required: a dataset id"
    settings = _round_settings(body, creating=True)
    body.check("The round is not valid.")
    assert dataset_id is not None
    try:
        dataset = datasets.get_dataset(dataset_id)
    except NotFound:
        raise InvalidInput(
            f"No dataset {dataset_id}.", fields={"dataset": "no such dataset"}
        ) from None
    numbers = {name: settings.pop(name) for name in NUMBERS if settings.get(name) is not None}
    _, course = course_field(body)
    round_ = rounds.create_round(user, dataset=dataset, **settings, **numbers)
    if course is not None:
        courses.assign_round(user, round_, course)
    round_ = rounds.get_round(round_.pk, user)  # a start time that has passed opens it at once
    return json_answer(round_json(round_, user), status=201)


@allow_methods("GET", "PATCH")
@json_action
def round_detail(request: HttpRequest, round_id: int) -> Any:
    """GET: one round. PATCH (organizers): change some of its settings."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    if request.method == "PATCH":
        body = Body(parse_json_body(request))
        only_fields(body, {*rounds.EDITABLE, "course"})
        changes = _round_settings(body, creating=False)
        body.check("The round is not valid.")
        sent, course = course_field(body)
        round_ = rounds.update_round(user, round_, **changes)
        if sent:
            courses.assign_round(user, round_, course)
    return round_json(round_, user)


@allow_methods("POST")
@json_action
def round_open(request: HttpRequest, round_id: int) -> Any:
    """Organizers: open a draft, or reopen a closed round; ``ends_at`` sets a new end."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    body = Body(parse_json_body(request))
    only_fields(body, {"ends_at"})
    ends_at = body.when("ends_at")
    body.check()
    return round_json(rounds.open_round(user, round_, ends_at=ends_at), user)


@allow_methods("POST")
@json_action
def round_close(request: HttpRequest, round_id: int) -> Any:
    """Organizers: close the round now; jobs already submitted still run and count."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    return round_json(rounds.close_round(user, round_), user)


@allow_methods("POST")
@json_action
def round_reveal(request: HttpRequest, round_id: int) -> Any:
    """Organizers, during a round's show: ``{}`` reveals the next place, ``{"places": n}`` the
    last n places (asking again for the same n changes nothing), ``{"all": true}`` ends the
    show. The answer is the round."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    body = Body(parse_json_body(request))
    only_fields(body, {"places", "all"})
    places = body.integer("places")
    everything = body.boolean("all") if body.has("all") else False
    body.check()
    if everything:
        round_ = reveal_show.reveal_places(user, round_, None)
    elif places is not None:
        round_ = reveal_show.reveal_places(user, round_, places)
    else:
        round_ = reveal_show.reveal_next(user, round_)
    return round_json(round_, user)


@allow_methods("GET")
@json_action
def round_events(request: HttpRequest, round_id: int) -> Any:
    """Organizers: who changed the round and when, oldest first."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    return {"round": round_.pk, "events": rounds.round_events(user, round_)}


@allow_methods("GET")
@json_action
def round_data(request: HttpRequest, round_id: int, part: str) -> HttpResponse:
    """The training data as CSV: ``training`` with labels, ``test-validation`` without."""
    download = training_data.round_data(viewer(request), round_id, part)
    return attachment(download.content, download.filename, download.content_type)


@allow_methods("GET", "POST")
@json_action
def final_choice(request: HttpRequest, round_id: int) -> Any:
    """GET: the viewer's group's final choice. POST ``{"job": id}`` marks it, ``{"job": null}``
    unmarks it; organizers may also name ``"group"`` to unmark for a group."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    if request.method == "GET":
        group = groups.group_of(user)
        if group is None:
            return {"round": round_.pk, "group": None, "job": None}
        return {
            "round": round_.pk,
            "group": group.name,
            "job": rounds.final_choice_of(round_, group),
        }
    body = Body(parse_json_body(request))
    only_fields(body, {"job", "group"})
    if not body.has("job"):
        body.errors["job"] = "required: a job id, or null to unmark"
    job_id = body.integer("job")
    group_name = body.text("group", max_length=64)
    body.check()
    job = _round_job(round_, job_id) if job_id is not None else None
    # Only an organizer names a group (a student's is their own): looking the name up for
    # anyone else would tell a private group from a missing one.
    group = groups.find_group(group_name) if group_name and user.is_organizer else None
    entry = rounds.mark_final_choice(user, round_, job, group=group)
    return {"round": round_.pk, "group": entry.group.name, "job": entry.final_job_id}


def _round_job(round_: Round, job_id: int) -> Job:
    job = Job.objects.filter(pk=job_id, round=round_).select_related("group").first()
    if job is None:
        raise InvalidInput(f"No job {job_id} in this round.", fields={"job": "not in this round"})
    return job


@allow_methods("GET", "POST")
@json_action
def round_jobs(request: HttpRequest, round_id: int) -> Any:
    """GET: the jobs of the round the viewer may see (``visibility``: their own and their
    group's; every job for organizers), newest first; ``?state=done`` filters, ``?limit=``
    caps (default and most: 1000). POST: submit a job."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    if request.method == "POST":
        return submit_job(request, user, round_)
    query = Body(dict(request.GET.items()))
    only_fields(query, {"state", "limit"})
    state = query.text("state", max_length=16)
    limit = query.integer("limit", MAX_JOBS)
    query.check()
    jobs = round_.jobs.select_related("round", "group", "user", "worker").prefetch_related(
        "pictures"
    )
    if state:
        jobs = jobs.filter(state=state)
    group = groups.group_of(user)
    jobs = visibility.visible_jobs(user, round_, jobs, group)
    count = min(max(limit or MAX_JOBS, 1), MAX_JOBS)
    page = list(jobs[: count + 1])
    return {
        "jobs": [results.describe_job(job, user, group=group) for job in page[:count]],
        "more": len(page) > count,
    }


def submit_job(request: HttpRequest, user: User, round_: Round) -> Any:
    """``{"algorithm": "knn", "params": {"n_neighbors": 5}}`` queues a job for your group;
    organizers add ``"baseline": true`` for a line to beat. The answer is the job, plus what
    the group has left (``quota``)."""
    body = parse_json_body(request)
    algorithm = body.get("algorithm")
    if not isinstance(algorithm, str) or not algorithm:
        raise InvalidInput("Name the algorithm.", fields={"algorithm": "required"})
    params = body.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidInput("params must be an object.", fields={"params": "must be an object"})
    baseline = body.get("baseline") in (True, "true", "True", "1")
    job = queue.submit_job(user, round_, algorithm, params, baseline=baseline)
    # The submitter plays for the job's group: no need to read their group again.
    described = results.describe_job(job, user, group=job.group)
    if job.group is not None:
        described["quota"] = queue.quota_left(round_, job.group)
    return json_answer(described, status=201)
