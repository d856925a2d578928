"""JSON API views that fit no resource module: the index, who am I, algorithms, one job."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from mlcontest.algorithms import METRICS, REGISTRY
from mlcontest.algorithms.steps import STEPS
from mlcontest.api.common import viewer
from mlcontest.api.schemas.common import answers
from mlcontest.api.schemas.jobs import Job, JobQuery
from mlcontest.api.schemas.meta import Algorithms, Index, Me
from mlcontest.contest import groups, queue, results, visibility
from mlcontest.contest.errors import NotFound

router = Router(tags=["meta"])


@router.get("/", response=answers(Index), url_name="api_index")
def index(request: HttpRequest) -> Any:
    """Links to the resources."""
    return {
        "openapi": "/api/openapi.json",
        "docs": "/api/docs/",
        "me": "/api/me/",
        "algorithms": "/api/algorithms/",
        "groups": "/api/groups/",
        "datasets": "/api/datasets/",
        "rounds": "/api/rounds/",
        "announcements": "/api/announcements/",
    }


@router.get("/me/", response=answers(Me), url_name="api_me")
def me(request: HttpRequest) -> Any:
    """Who am I: role and group (what a page needs to decide what to show)."""
    user = viewer(request)
    group = groups.group_of(user)
    return {
        "username": user.username,
        "role": user.shown_role,
        "is_organizer": user.is_organizer,
        "is_worker": user.is_worker,
        "group": groups.describe_group(group, user) if group else None,
        "auth": "token" if getattr(request, "auth_token", None) else "session",
    }


@router.get("/algorithms/", response=answers(Algorithms), url_name="api_algorithms")
def algorithms(request: HttpRequest) -> Any:
    """Algorithms with their parameter schemas, the metrics (and which way each ranks), and the
    preprocessing steps a job may put before its model."""
    return {
        "algorithms": [algorithm.schema() for algorithm in REGISTRY.values()],
        "metrics": [
            {
                "name": metric.name,
                "label": metric.label,
                "task": metric.task,
                "higher_is_better": metric.higher_is_better,
            }
            for metric in METRICS.values()
        ],
        "steps": [step.schema() for step in STEPS.values()],
    }


@router.get(
    "/jobs/{id:job_id}/", response=answers(Job, 400, 404), tags=["jobs"], url_name="api_job"
)
def job_detail(request: HttpRequest, job_id: int, query: Query[JobQuery]) -> Any:
    """One job (students: their group's).

    To those ``visibility`` lets see it (their own and their group's jobs; every job for
    organizers); validation scores once the round is revealed. A query with a NUL is a 400
    before the view (``mlcontest.http.guards``)."""
    user = viewer(request)
    job = queue.get_job(job_id, with_labels=query.labels)
    if not visibility.sees_job(user, job):
        raise NotFound(f"No job {job_id}.")
    return results.describe_job(job, user, with_labels=query.labels)
