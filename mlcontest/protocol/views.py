"""The seed protocol: parse the seed's form fields, call the domain, answer JSON.

The seed's client POSTs every call once it has a CSRF token, reads included, so each view
accepts POST; reads accept GET as well. A call that changes state (joining a group, entering a
round, claiming a job, posting a result) answers 405 to GET: a cross-site link or image must not
perform it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.views.decorators.csrf import ensure_csrf_cookie

from mlcontest.contest import (
    datasets,
    groups,
    pictures,
    queue,
    result_fields,
    results,
    rounds,
    visibility,
)
from mlcontest.contest.errors import InvalidInput, NotFound, PermissionDenied
from mlcontest.contest.models import JobPicture, RoundState, User
from mlcontest.contest.permissions import require_worker, sees_hidden_labels
from mlcontest.core.booleans import parse_bool
from mlcontest.http.endpoints import allow_methods, error_response, json_action, parse_json_body
from mlcontest.http.points import points_answer

READ = allow_methods("GET", "POST")
WRITE = allow_methods("POST")


def worker_key(request: HttpRequest, fields: Mapping[str, Any] | None = None) -> str:
    """Who holds a claim: the session (each seed client logs in once), or the token plus the
    worker's self-chosen name (a field of ``fields``, the form by default)."""
    token = getattr(request, "auth_token", None)
    if token is not None:
        return f"token:{token.pk}:{worker_name(request, fields)}"[:128]
    if request.session.session_key is None:
        request.session.save()
    return f"session:{request.session.session_key}"


def worker_name(request: HttpRequest, fields: Mapping[str, Any] | None = None) -> str:
    name = (request.POST if fields is None else fields).get("worker_name")
    return str(name or "")


def _flag(fields: Mapping[str, Any], name: str, default: bool) -> bool:
    try:
        return parse_bool(fields.get(name), default)
    except ValueError as error:
        raise InvalidInput(f"{name} {error}", fields={name: str(error)}) from error


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # json_action lets only signed-in users through
    return user


@READ
@ensure_csrf_cookie
def env(request: HttpRequest) -> JsonResponse:
    """The CSRF token the seed's client sends back with every later call."""
    user = request.user
    return JsonResponse(
        {
            "csrftoken": get_token(request),
            "authenticated": bool(user.is_authenticated),
            "username": user.get_username() if user.is_authenticated else None,
        }
    )


@READ
def ok(request: HttpRequest) -> JsonResponse:
    """Where a successful seed login lands."""
    if not request.user.is_authenticated:
        return error_response(401, "not_authenticated", "The login did not succeed.")
    return JsonResponse({"status": "ok", "username": request.user.get_username()})


@WRITE
@json_action
def add_group(request: HttpRequest) -> dict[str, Any]:
    public = _flag(request.POST, "public", True)
    group = groups.create_group(_user(request), request.POST.get("group_name", ""), public)
    return {"status": "ok", "group": groups.describe_group(group, _user(request))}


@WRITE
@json_action
def join_group(request: HttpRequest, name: str) -> dict[str, Any]:
    typed = groups.name_from_path(name)
    group = groups.find_group(typed)
    # On a POST (CSRF-checked) the code may also come in the query string.
    invite_code = request.POST.get("invite_code") or request.GET.get("invite_code")
    groups.join_group(_user(request), group, invite_code, typed=typed)
    return {"status": "ok", "group": groups.describe_group(group, _user(request))}


@READ
@json_action
def get_groups(request: HttpRequest) -> dict[str, Any]:
    viewer = _user(request)
    return {
        group.name: groups.describe_group(group, viewer) for group in groups.visible_groups(viewer)
    }


@WRITE
@json_action
def get_round(request: HttpRequest, round_id: str) -> dict[str, Any]:
    viewer = _user(request)
    round_ = rounds.find_round(round_id, viewer)
    if round_.state == RoundState.OPEN:  # a closed round takes no new groups
        rounds.enter_round(viewer, round_)
    return rounds.describe_round(round_, viewer)


@READ
@json_action
def get_job_params(request: HttpRequest, job_id: str) -> dict[str, Any]:
    require_worker(_user(request))
    return queue.job_params(_user(request), queue.get_job(job_id))


@WRITE
@json_action
def update_job_details(request: HttpRequest, job_id: str) -> dict[str, Any]:
    """The seed's form fields, or (beyond the seed) the same fields as one JSON object, which
    is quicker to encode and parse with three label lists in it."""
    viewer = _user(request)
    require_worker(viewer)
    fields = parse_json_body(request)
    claim_next = _flag(fields, "next", False)
    job = results.job_for_result(job_id)
    payload = result_fields.parse_result(fields, job.round.metric)
    holder = worker_key(request, fields)
    job, stored = results.record_result(viewer, job, holder, payload)
    answer = {"status": "ok", "stored": stored, "job": results.result_summary(job, viewer)}
    if claim_next:
        # Beyond the seed: the worker's next job in the same answer, one request per job.
        name = worker_name(request, fields)
        answer["next"] = queue.claim_after_result(viewer, holder, name, repeated=not stored)
    return answer


@WRITE
@json_action
def add_job_picture(request: HttpRequest, job_id: str) -> dict[str, Any]:
    require_worker(_user(request))
    job = queue.get_job(job_id)
    picture = pictures.add_picture(
        _user(request),
        job,
        worker_key(request),
        request.POST.get("filename"),
        request.POST.get("data"),
    )
    return {"status": "ok", "filename": picture.filename, "url": picture.image.url}


@READ
@json_action
def job_picture(request: HttpRequest, job_id: int, filename: str) -> HttpResponse:
    """A job's picture, only to those who may see the job: its path ``/media/jobs/<id>/<name>``
    is easy to guess, so the media folder must not hand it to anyone who asks."""
    job = queue.get_job(job_id)
    if not visibility.sees_job(_user(request), job):
        raise NotFound(f"No job {job_id}.")
    picture = JobPicture.objects.filter(job=job, image=f"jobs/{job.pk}/{filename}").first()
    if picture is None:
        raise NotFound(f"Job {job_id} has no picture {filename!r}.")
    data = pictures.picture_bytes(picture)  # at most MAX_PICTURE_BYTES
    if data is None:
        raise NotFound(f"The file of picture {filename!r} is missing.")
    return HttpResponse(data, content_type=picture.content_type)


@READ
@json_action
def get_datasets(request: HttpRequest) -> dict[str, Any]:
    return {
        str(dataset.pk): datasets.describe_dataset(dataset)
        for dataset in datasets.visible_datasets(_user(request))
    }


@READ
@json_action
def get_dataset_points(request: HttpRequest, dataset_id: str) -> HttpResponseBase:
    viewer = _user(request)
    dataset = datasets.find_visible_dataset(viewer, dataset_id)
    return points_answer(dataset, with_hidden_labels=sees_hidden_labels(viewer))


@WRITE
@json_action
def ping(request: HttpRequest) -> int | dict[str, Any] | None:
    viewer = _user(request)
    if not viewer.is_worker:
        raise PermissionDenied("Only workers ping for jobs.")
    try:
        wait = float(request.POST.get("wait") or 0)
    except ValueError:
        raise InvalidInput(
            "wait must be a number of seconds.", fields={"wait": "not a number"}
        ) from None
    if not math.isfinite(wait):
        # A NaN deadline is never reached: the long poll would hold this thread for ever.
        raise InvalidInput(
            "wait must be a finite number of seconds.", fields={"wait": "not finite"}
        )
    holder, name = worker_key(request), worker_name(request)
    if request.POST.get("with_params"):
        # Beyond the seed: the claimed job's parameters in the same answer, one request saved.
        return queue.claim_job(viewer, holder, name, wait)
    return queue.claim_waiting(viewer, holder, name, wait)  # the seed's answer: an id or null


@WRITE
@json_action
def renew_lease(request: HttpRequest, job_id: str) -> dict[str, Any]:
    """Not in the seed: a long job keeps its claim alive."""
    job = queue.renew_lease(_user(request), int(job_id), worker_key(request))
    return {"status": "ok", "lease_expires_at": job.lease_expires_at}


@WRITE
@json_action
def release_job(request: HttpRequest, job_id: str) -> dict[str, Any]:
    """Not in the seed: a stopping worker hands its job back to the queue."""
    job = queue.release_job(_user(request), int(job_id), worker_key(request))
    return {"status": "ok", "state": job.state}
