"""JSON API views that fit no resource module: the index, who am I, algorithms, one job."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mlcontest.algorithms import METRICS, REGISTRY
from mlcontest.api.common import viewer
from mlcontest.contest import groups, queue, results, visibility
from mlcontest.contest.errors import NotFound
from mlcontest.http import allow_methods, json_action


@allow_methods("GET")
@json_action
def index(request: HttpRequest) -> dict[str, Any]:
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


@allow_methods("GET")
@json_action
def me(request: HttpRequest) -> dict[str, Any]:
    """The signed-in user, their role and group: what a page needs to decide what to show."""
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


@allow_methods("GET")
@json_action
def job_detail(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """One job, to those ``visibility`` lets see it (their own and their group's jobs; every
    job for organizers); validation scores once the round is revealed."""
    user = viewer(request)
    job = queue.get_job(job_id)
    if not visibility.sees_job(user, job):
        raise NotFound(f"No job {job_id}.")
    with_labels = request.GET.get("labels") in ("1", "true")
    return results.describe_job(job, user, with_labels=with_labels)
