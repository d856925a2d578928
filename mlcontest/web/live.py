"""The live parts: small JSON answers with re-rendered HTML parts, polled by static/web/live.js.

Each answer carries a signature of what it shows; the page sends the last one back as
``?since=`` and gets ``{"unchanged": true}`` while nothing moved, so an idle page costs a few
cheap queries and no rendering.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from mlcontest.contest import groups, rounds, visibility
from mlcontest.contest.errors import NotFound
from mlcontest.contest.models import Job, Round
from mlcontest.web import services
from mlcontest.web.views import (
    _history_json,
    board_context,
    job_context,
    round_context,
    round_signature,
    viewer,
    visible_job,
    waits_without_worker,
)

NEWEST_JOBS = 8


def _answer(request: HttpRequest, signature: str, build: Any) -> JsonResponse:
    if request.GET.get("since") == signature:
        return JsonResponse({"unchanged": True})
    answer: dict[str, Any] = build()
    answer["signature"] = signature
    response = JsonResponse(answer)
    response["Cache-Control"] = "no-store"
    return response


def _round(request: HttpRequest, round_id: int) -> Round:
    try:
        return rounds.find_round(round_id, viewer(request))
    except NotFound:
        raise Http404("No such round.") from None


@login_required
def round_live(request: HttpRequest, round_id: int) -> HttpResponse:
    """The round page's moving parts: the group's jobs, the quota, the leaderboard, the chart."""
    user = viewer(request)
    round_ = _round(request, round_id)
    # The signature first: an unchanged page costs two small queries and no rendering.
    group = groups.group_of(user)
    jobs = services.group_jobs(round_, group, user)
    no_worker = waits_without_worker(jobs)

    def build() -> dict[str, Any]:
        context = round_context(round_, user, group, jobs, no_worker)
        return {
            "state": round_.state,
            "parts": {
                name: render_to_string(f"web/parts/{template}.html", context, request)
                for name, template in (
                    ("jobs", "jobs"),
                    ("quota", "quota"),
                    ("board", "board"),
                    ("reveal", "reveal"),
                    ("status", "round_status"),  # "being revealed" ends with the show
                )
            },
            "history": _history_json(round_),
        }

    return _answer(request, round_signature(round_, jobs, no_worker), build)


@login_required
def job_live(request: HttpRequest, job_id: int) -> HttpResponse:
    user = viewer(request)
    job = visible_job(user, job_id)
    context = job_context(job, user)

    def build() -> dict[str, Any]:
        return {
            "state": job.state,
            "parts": {"job": render_to_string("web/parts/job_body.html", context, request)},
        }

    return _answer(request, context["signature"], build)


def newest_jobs(round_: Round) -> list[Job]:
    return list(
        Job.objects.filter(round=round_)
        .select_related("group")
        .order_by("-created_at", "-id")[:NEWEST_JOBS]
    )


def projector_signature(round_: Round, newest: list[Job]) -> str:
    # The board and the reveal move with the leaderboard's version; the job list with its jobs.
    return f"{round_.state}|{round_.leaderboard_version}|{services.jobs_signature(newest)}"


# The projector is an organizer's page that the whole class reads: it shows what students may
# see (no algorithms of other groups, no final ranking before the reveal), never a preview.
PROJECTOR_AUDIENCE = visibility.Role.STUDENT


def projector_context(round_: Round, newest: list[Job] | None = None) -> dict[str, Any]:
    newest = newest_jobs(round_) if newest is None else newest
    return {
        "round": round_,
        **board_context(round_, PROJECTOR_AUDIENCE, every_group=True),
        "newest": newest,
        "signature": projector_signature(round_, newest),
    }


@login_required
def projector_live(request: HttpRequest, round_id: int) -> HttpResponse:
    if not viewer(request).is_organizer:
        raise Http404("No such page.")
    round_ = _round(request, round_id)
    newest = newest_jobs(round_)

    def build() -> dict[str, Any]:
        context = projector_context(round_, newest)
        return {
            "state": round_.state,
            "parts": {
                "board": render_to_string(
                    "web/parts/board.html", {**context, "big": True}, request
                ),
                "newest": render_to_string("web/parts/newest.html", context, request),
                "reveal": render_to_string(
                    "web/parts/reveal.html", {**context, "controls": "projector"}, request
                ),
                "status": render_to_string("web/parts/round_status.html", context, request),
            },
            "history": _history_json(round_),
        }

    return _answer(request, projector_signature(round_, newest), build)
