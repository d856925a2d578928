"""Rounds: list, create, read, edit, open/close/reopen, audit trail, the final choice, jobs.

Thin views: each takes the request as its schema parsed it, calls ``mlcontest.contest``, and
returns what the answer's schema describes.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Query, Router, Status

from mlcontest.api.app import ORGANIZERS, csv_file, only_known
from mlcontest.api.common import viewer
from mlcontest.api.courses import course_field
from mlcontest.api.schemas.common import answers
from mlcontest.api.schemas.jobs import Job, JobList, JobPage, JobSubmission
from mlcontest.api.schemas.rounds import (
    FinalChoice,
    FinalChoiceMark,
    RevealStep,
    Round,
    RoundChanges,
    RoundCreate,
    RoundEvents,
    RoundList,
    RoundOpen,
)
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
from mlcontest.contest.final_choice import final_choice_of, final_choices_of, mark_final_choice
from mlcontest.contest.models import Job as JobModel
from mlcontest.contest.models import Round as RoundModel
from mlcontest.contest.models import User
from mlcontest.contest.quotas import quota_left
from mlcontest.http.endpoints import streamed_attachment

router = Router(tags=["rounds"])

MAX_JOBS = 1000
NUMBERS = ("job_quota", "queued_quota", "time_limit_seconds", "memory_limit_mb")
INVALID = "The round is not valid."


def round_json(round_: RoundModel, user: User) -> dict[str, Any]:
    return rounds_json([round_], user)[0]


def rounds_json(rounds_: list[RoundModel], user: User) -> list[dict[str, Any]]:
    """The seed's round descriptions plus what the API's pages need, in a number of queries
    that does not grow with the rounds."""
    quota_keys = ("jobs_used", "jobs_left", "queued", "queue_places_left")
    described = rounds.describe_rounds(rounds_, user, quota_keys)
    group = groups.group_of(user)
    finals = final_choices_of(rounds_, group) if group is not None else {}
    for round_, one in zip(rounds_, described, strict=True):
        one.update(
            final_choice_allowed=round_.final_choice_allowed,
            leaderboard_version=round_.leaderboard_version,
            accepting_jobs=rounds.accepts_jobs(round_),
            # True from the first close on, also while a revealed round is reopened for practice.
            final_revealed=visibility.revealed(round_),
            final_visible=visibility.sees_final(user, round_),
            validation_visible=visibility.sees_validation(user, round_),
            recipes_visible=visibility.sees_recipes(user, round_),
            reveal_show=round_.reveal_show,
            prediction_uploads=round_.prediction_uploads,
            diagnostics=round_.diagnostics,
            reveal=reveal_json(round_),
            course=round_.course_id,
        )
        if user.is_organizer:
            one["split_warnings"] = split_steps.dataset_warnings(round_.dataset)
        if group is not None:
            one["my_group"]["final_job"] = finals[round_.pk]
    return described


def reveal_json(round_: RoundModel) -> dict[str, Any]:
    """Where the reveal stands: ``stage`` hidden, show (places revealed one by one, last first)
    or shown. The same for everyone: how many places are out spoils nothing."""
    shown = reveal_show.status(round_)
    return {
        "stage": shown.stage.value,
        "places": shown.places,
        "places_revealed": shown.places_revealed,
        "ended_at": round_.reveal_ended_at,
    }


def _settings(payload: RoundChanges, creating: bool) -> dict[str, Any]:
    """The round fields the body sent; on creation the name and metric always."""
    sent = payload.model_fields_set | ({"name", "metric"} if creating else set())
    names = ("name", "description", "metric", "allowed_algorithms", "starts_at", "ends_at")
    settings = {name: getattr(payload, name) for name in names if name in sent}
    if "allowed_algorithms" in settings:
        settings["allowed_algorithms"] = settings["allowed_algorithms"] or []
    for flag in ("final_choice_allowed", "reveal_show", "prediction_uploads", "diagnostics"):
        if flag in sent:
            settings[flag] = getattr(payload, flag)
    for name in NUMBERS:
        if name in sent and (getattr(payload, name) is not None or not creating):
            settings[name] = getattr(payload, name)
    return settings


@router.get("/rounds/", response=answers(RoundList), url_name="api_rounds")
def round_list(request: HttpRequest) -> Any:
    """Rounds you may see (drafts: organizers only)."""
    user = viewer(request)
    return {"rounds": rounds_json(list(rounds.visible_rounds(user)), user)}


@router.post("/rounds/", response=answers(Round, 400, 403, status=201), auth=ORGANIZERS)
def round_create(request: HttpRequest, payload: RoundCreate) -> Any:
    """Create a round (organizers).

    Required: `name`, `dataset`, `metric`. A draft until opened or until its `starts_at`
    passes."""
    user = viewer(request)
    if payload.dataset is None:
        raise InvalidInput(INVALID, fields={"dataset": "required: a dataset id"})
    try:
        dataset = datasets.get_dataset(payload.dataset)
    except NotFound:
        raise InvalidInput(
            f"No dataset {payload.dataset}.", fields={"dataset": "no such dataset"}
        ) from None
    _, course = course_field(payload)
    round_ = rounds.create_round(user, dataset=dataset, **_settings(payload, creating=True))
    if course is not None:
        courses.assign_round(user, round_, course)
    round_ = rounds.get_round(round_.pk, user)  # a start time that has passed opens it at once
    return Status(201, round_json(round_, user))


@router.get("/rounds/{id:round_id}/", response=answers(Round, 404), url_name="api_round")
def round_detail(request: HttpRequest, round_id: int) -> Any:
    """One round, with your group's quota."""
    user = viewer(request)
    return round_json(rounds.find_round(round_id, user), user)


@router.patch("/rounds/{id:round_id}/", response=answers(Round, 400, 403, 404))
def round_edit(request: HttpRequest, round_id: int, payload: RoundChanges | None = None) -> Any:
    """Change a round's settings (organizers; recorded)."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    payload = payload or RoundChanges.model_validate({})
    sent, course = course_field(payload)
    round_ = rounds.update_round(user, round_, **_settings(payload, creating=False))
    if sent:
        courses.assign_round(user, round_, course)
    return round_json(round_, user)


@router.post(
    "/rounds/{id:round_id}/open/",
    response=answers(Round, 400, 403, 404),
    url_name="api_round_open",
)
def round_open(request: HttpRequest, round_id: int, payload: RoundOpen | None = None) -> Any:
    """Open a draft or reopen a closed round (organizers; recorded).

    An end time that has passed is dropped; `ends_at` sets a new one."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    ends_at = payload.ends_at if payload else None
    return round_json(rounds.open_round(user, round_, ends_at=ends_at), user)


@router.post(
    "/rounds/{id:round_id}/close/",
    response=answers(Round, 403, 404, 409),
    url_name="api_round_close",
)
def round_close(request: HttpRequest, round_id: int) -> Any:
    """Close the round now (organizers; recorded).

    Jobs submitted before the close still run and still count. Closing reveals the final
    ranking."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    return round_json(rounds.close_round(user, round_), user)


@router.post(
    "/rounds/{id:round_id}/reveal/",
    response=answers(Round, 400, 403, 404, 409),
    url_name="api_round_reveal",
)
def round_reveal(request: HttpRequest, round_id: int, payload: RevealStep | None = None) -> Any:
    """Reveal the next places of the final ranking during a show (organizers; recorded).

    `{}` reveals the next place (from the last up), `{"places": n}` the last n places (again
    with the same n: no change), `{"all": true}` ends the show. Revealing the first place ends
    it too. 409 `not_revealed` before the close."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    step = payload or RevealStep.model_validate({})
    if step.all:
        round_ = reveal_show.reveal_places(user, round_, None)
    elif step.places is not None:
        round_ = reveal_show.reveal_places(user, round_, step.places)
    else:
        round_ = reveal_show.reveal_next(user, round_)
    return round_json(round_, user)


@router.get(
    "/rounds/{id:round_id}/events/",
    response=answers(RoundEvents, 403, 404),
    url_name="api_round_events",
)
def round_events(request: HttpRequest, round_id: int) -> Any:
    """Who changed the round and when (organizers), oldest first."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    return {"round": round_.pk, "events": rounds.round_events(user, round_)}


def _download(request: HttpRequest, round_id: int, part: str) -> HttpResponseBase:
    download = training_data.round_data(viewer(request), round_id, part)
    return streamed_attachment(download.content, download.filename, download.content_type)


CSV_ABOUT = (
    "`id` is the point's id in the dataset's point list. Anyone who may see the round; the "
    "same file for every role, never a hidden label."
)


@router.get(
    "/rounds/{id:round_id}/data/training.csv",
    response=answers(str, 404),
    tags=["datasets"],
    url_name="api_round_training_data",
    openapi_extra=csv_file(),
)
def round_training_data(request: HttpRequest, round_id: int) -> HttpResponseBase:
    """The round's training points with their labels, as CSV.

    Columns: `id`, `split`, the features, `label`."""
    return _download(request, round_id, training_data.TRAINING)


@router.get(
    "/rounds/{id:round_id}/data/test-validation.csv",
    response=answers(str, 404),
    tags=["datasets"],
    url_name="api_round_test_data",
    openapi_extra=csv_file(),
)
def round_test_data(request: HttpRequest, round_id: int) -> HttpResponseBase:
    """The round's test and validation points, features only, as CSV.

    Columns: `id`, `split`, the features (no label column)."""
    return _download(request, round_id, training_data.UNLABELLED)


@router.get(
    "/rounds/{id:round_id}/final-choice/",
    response=answers(FinalChoice, 404),
    url_name="api_final_choice",
)
def final_choice(request: HttpRequest, round_id: int) -> Any:
    """Your group's final choice."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    group = groups.group_of(user)
    if group is None:
        return {"round": round_.pk, "group": None, "job": None}
    return {
        "round": round_.pk,
        "group": group.name,
        "job": final_choice_of(round_, group),
    }


@router.post("/rounds/{id:round_id}/final-choice/", response=answers(FinalChoice, 400, 404, 409))
def final_choice_mark(request: HttpRequest, round_id: int, payload: FinalChoiceMark) -> Any:
    """Mark (or with null unmark) your group's final choice.

    Only in rounds with `final_choice_allowed`, before the close, and only a finished,
    successful job of your group. Organizers may mark for any group at any time (`group` to
    unmark)."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    job = _round_job(round_, payload.job) if payload.job is not None else None
    # Only an organizer names a group (a student's is their own): looking the name up for
    # anyone else would tell a private group from a missing one.
    group = groups.find_group(payload.group) if payload.group and user.is_organizer else None
    entry = mark_final_choice(user, round_, job, group=group)
    return {"round": round_.pk, "group": entry.group.name, "job": entry.final_job_id}


def _round_job(round_: RoundModel, job_id: int) -> JobModel:
    job = JobModel.objects.filter(pk=job_id, round=round_).select_related("group").first()
    if job is None:
        raise InvalidInput(f"No job {job_id} in this round.", fields={"job": "not in this round"})
    return job


@router.get(
    "/rounds/{id:round_id}/jobs/",
    response=answers(JobPage, 400, 404),
    tags=["jobs"],
    url_name="api_round_jobs",
)
def round_jobs(request: HttpRequest, round_id: int, query: Query[JobList]) -> Any:
    """Your group's jobs in the round (workers and organizers: all), newest first.

    ``visibility`` decides: their own and their group's; every job for organizers.
    ``?state=done`` filters, ``?limit=`` caps (default and most: 1000)."""
    only_known(request, JobList)
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    jobs = round_.jobs.select_related("round", "group", "user", "worker").prefetch_related(
        "pictures"
    )
    if query.state:
        jobs = jobs.filter(state=query.state)
    group = groups.group_of(user)
    jobs = visibility.visible_jobs(user, round_, jobs, group)
    count = min(max(query.limit or MAX_JOBS, 1), MAX_JOBS)
    page = list(jobs[: count + 1])
    return {
        "jobs": [results.describe_job(job, user, group=group) for job in page[:count]],
        "more": len(page) > count,
    }


@router.post(
    "/rounds/{id:round_id}/jobs/",
    response=answers(Job, 400, 403, 404, 409, 429, status=201),
    tags=["jobs"],
)
def submit_job(request: HttpRequest, round_id: int, payload: JobSubmission) -> Any:
    """Submit a job for your group.

    Refused with 409 `round_not_open` unless the round is open, and with 429 `quota_exceeded`
    when the group has used its jobs or has too many waiting. The answer is the job, plus what
    the group has left (`quota`)."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user)
    job = queue.submit_job(
        user, round_, payload.algorithm, payload.all_params(), baseline=payload.baseline
    )
    # The submitter plays for the job's group: no need to read their group again.
    described = results.describe_job(job, user, group=job.group)
    if job.group is not None:
        described["quota"] = quota_left(round_, job.group)
    return Status(201, described)
