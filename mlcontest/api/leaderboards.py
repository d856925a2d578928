"""The leaderboards: public ranking, version, history and the final reveal.

A lecture hall polls these every few seconds, so an unchanged poll must cost next to nothing:
each answer carries an ``ETag`` made from the round's ``leaderboard_version`` (which grows with
every stored result and every change of the round) and the viewer's audience; a request with
that tag in ``If-None-Match`` gets ``304 Not Modified`` after one query for the round (its row
alone: no board needs the dataset), and a changed board is computed once per version and
process (``contest.leaderboard``'s cache).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from ninja import Router

from mlcontest.api.common import viewer
from mlcontest.api.schemas.common import answers
from mlcontest.api.schemas.leaderboards import (
    FinalRanking,
    History,
    Leaderboard,
    Version,
    conditional,
)
from mlcontest.contest import board_json, leaderboard, rounds
from mlcontest.contest.models import Round, User

router = Router(tags=["leaderboards"])


def _tagged(response: HttpResponse, tag: str) -> HttpResponse:
    response["ETag"] = tag
    # Each viewer must ask again every time (no-cache), and no shared cache may keep one
    # user's answer for another (private, Vary).
    patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ("Cookie", "Authorization"))
    return response


def _versioned(
    request: HttpRequest,
    round_: Round,
    user: User,
    kind: str,
    body: Callable[[], bytes],
) -> HttpResponse:
    tag = leaderboard.etag(round_, user).replace('"lb-', f'"{kind}-', 1)
    # Django's conditional answer (what its ``condition`` decorator calls): If-None-Match as
    # RFC 9110 reads it. Not the decorator itself: its etag function would have to find the
    # round a second time, and the tag needs the round.
    answer = get_conditional_response(request, etag=tag)
    if answer is None:
        answer = HttpResponse(body(), content_type="application/json")
    return _tagged(answer, tag)


@router.get(
    "/rounds/{id:round_id}/leaderboard/",
    response=answers(Leaderboard, 404),
    url_name="api_round_leaderboard",
    openapi_extra=conditional(),
)
def round_leaderboard(request: HttpRequest, round_id: int) -> HttpResponse:
    """The public leaderboard: each group's best test score.

    Ties go to the earlier job; failed jobs never rank; baselines are lines to beat. Poll with
    `If-None-Match`: an unchanged board answers 304. The answer is the cached bytes, as they
    are (``contest.leaderboard``)."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user, with_dataset=False)
    return _versioned(
        request, round_, user, "lb", lambda: leaderboard.leaderboard_bytes(round_, user)
    )


@router.get(
    "/rounds/{id:round_id}/version/", response=answers(Version, 404), url_name="api_round_version"
)
def round_version(request: HttpRequest, round_id: int) -> dict[str, Any]:
    """The leaderboard's version: the cheapest poll.

    The version and the round's state, one small query."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user, with_dataset=False)
    return {
        "round": round_.pk,
        "version": round_.leaderboard_version,
        "state": round_.state,
        "etag": leaderboard.etag(round_, user),
    }


@router.get(
    "/rounds/{id:round_id}/history/",
    response=answers(History, 404),
    url_name="api_round_history",
    openapi_extra=conditional(),
)
def round_history(request: HttpRequest, round_id: int) -> HttpResponse:
    """Every group's best test score over time.

    For a step chart."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user, with_dataset=False)
    return _versioned(
        request,
        round_,
        user,
        "history",
        lambda: board_json.to_json(leaderboard.history_for(round_, user)),
    )


@router.get(
    "/rounds/{id:round_id}/final/",
    response=answers(FinalRanking, 403, 404),
    url_name="api_round_final",
    openapi_extra=conditional(),
)
def round_final(request: HttpRequest, round_id: int) -> HttpResponse:
    """The reveal: ranking by validation score with each group's move.

    Students and workers get 403 `not_revealed` until the round first closes; organizers get
    a preview (`final: false`). Once revealed it stays as it was, also when the round
    reopens."""
    user = viewer(request)
    round_ = rounds.find_round(round_id, user, with_dataset=False)
    leaderboard.require_final_visible(round_, user)
    return _versioned(
        request,
        round_,
        user,
        "final",
        lambda: board_json.to_json(leaderboard.final_for(round_, user)),
    )
