"""JSON API views: parse the request, call the domain, shape the answer."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mlcontest.algorithms import METRICS, REGISTRY
from mlcontest.contest import queue, results, rounds
from mlcontest.contest.errors import InvalidInput, NotFound
from mlcontest.contest.models import Round, User
from mlcontest.http import allow_methods, json_action, json_answer, parse_json_body


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@allow_methods("GET")
@json_action
def algorithms(request: HttpRequest) -> dict[str, Any]:
    return {
        "algorithms": [algorithm.schema() for algorithm in REGISTRY.values()],
        "metrics": [
            {"name": metric.name, "label": metric.label, "task": metric.task}
            for metric in METRICS.values()
        ],
    }


def submit_job(request: HttpRequest, viewer: User, round_: Round) -> Any:
    """``{"algorithm": "knn", "params": {"n_neighbors": 5}}`` queues a job for your group."""
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
    job = queue.submit_job(viewer, round_, algorithm, params, baseline=baseline)
    return json_answer(results.describe_job(job, viewer), status=201)


@allow_methods("GET")
@json_action
def job_detail(request: HttpRequest, job_id: int) -> dict[str, Any]:
    viewer = _user(request)
    job = queue.get_job(job_id)
    if not results.can_see_job(viewer, job):
        raise NotFound(f"No job {job_id}.")
    with_labels = request.GET.get("labels") in ("1", "true")
    return results.describe_job(job, viewer, with_labels=with_labels)


@allow_methods("GET", "POST")
@json_action
def round_jobs(request: HttpRequest, round_id: int) -> Any:
    """GET: the viewer's group's jobs in the round (every job, for workers and organizers).
    POST: submit a job."""
    viewer = _user(request)
    round_ = rounds.find_round(round_id, viewer)
    if request.method == "POST":
        return submit_job(request, viewer, round_)
    jobs = round_.jobs.select_related("round", "group", "user", "worker").prefetch_related(
        "pictures"
    )
    visible = [job for job in jobs if results.can_see_job(viewer, job)]
    return {"jobs": [results.describe_job(job, viewer) for job in visible]}


@allow_methods("GET")
@json_action
def round_list(request: HttpRequest) -> dict[str, Any]:
    viewer = _user(request)
    return {
        "rounds": [
            rounds.describe_round(round_, viewer) for round_ in rounds.visible_rounds(viewer)
        ]
    }
