"""The leaderboards of a round as the pages, the API and the seed protocol ask for them:
computed by ``contest.ranking``, cached per process, shaped for the viewer by
``contest.board_json``.

Each board is cached per process by ``(round, leaderboard_version)``: the version grows whenever
a result is stored or the round changes, so a cached answer can never be stale for the version
it is filed under, and a lecture hall polling an unchanged leaderboard costs one small query
per poll.

Call :func:`public_leaderboard`, :func:`final_ranking`, :func:`score_history` for the data
(dataclasses) and :func:`leaderboard_for`, :func:`final_for`, :func:`history_for` for the
JSON-ready dicts with the viewer's visibility rules applied.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils.translation import gettext

from mlcontest.contest import board_json, ranking, visibility
from mlcontest.contest.board_cache import board_key, cached
from mlcontest.contest.board_cache import clear_cache as clear_cache  # tests call it from here
from mlcontest.contest.errors import PermissionDenied
from mlcontest.contest.models import Group, Round, RoundEntry, User
from mlcontest.contest.ranking import FinalRanking, PublicLeaderboard, ScoreHistory
from mlcontest.contest.visibility import Role


def public_leaderboard(round_: Round) -> PublicLeaderboard:
    """Each group's best test score, best first (the version and state are ``round_``'s: read
    the round fresh, e.g. with ``rounds.get_round``, before calling)."""
    return cached(board_key("public", round_), lambda: ranking.compute_public(round_))


def final_ranking(round_: Round) -> FinalRanking:
    """The ranking by validation score, with each group's move against its public rank.

    No visibility check here (every place, also during a show): use :func:`final_for` to
    answer a viewer."""
    return cached(board_key("final", round_), lambda: _compute_final(round_))


def _compute_final(round_: Round) -> FinalRanking:
    # After the reveal only the jobs submitted before it count, public ranks included; before
    # it (an organizer's preview) every job does.
    before = round_.revealed_at
    public = (
        public_leaderboard(round_) if before is None else ranking.compute_public(round_, before)
    )
    return ranking.compute_final(round_, public)


def final_visible(round_: Round, viewer: User) -> bool:
    """Whether the viewer may see the final ranking (``visibility`` decides)."""
    return visibility.sees_final(viewer, round_)


def score_history(round_: Round) -> ScoreHistory:
    """Every group's best test score over time (a step chart), and the baselines' (group None).

    Each point is a job that raised its group's best; jobs are in the order they finished."""
    return cached(board_key("history", round_), lambda: ranking.compute_history(round_))


def audience(viewer: User) -> Role:
    """Whose view of the boards the viewer gets; cached bodies and tags are filed under it."""
    return visibility.audience(viewer)


def leaderboard_for(round_: Round, viewer: User) -> dict[str, Any]:
    """The public leaderboard as the viewer may see it (``visibility`` decides: students and
    workers get test scores, and other groups' algorithms and validation scores once the round
    is revealed; organizers everything)."""
    return board_json.leaderboard_json(public_leaderboard(round_), audience(viewer))


def leaderboard_bytes(round_: Round, viewer: User) -> bytes:
    """:func:`leaderboard_for` serialised once per version and audience: the body a poll gets."""
    kind = audience(viewer)
    return cached(
        board_key("public-json", round_, kind.value),
        lambda: board_json.to_json(board_json.leaderboard_json(public_leaderboard(round_), kind)),
    )


def etag(round_: Round, viewer: User) -> str:
    """An entity tag that changes whenever the viewer's leaderboard body may change."""
    born = int(round_.created_at.timestamp() * 1e6)
    shown = visibility.stage(round_).value
    return (
        f'"lb-{round_.pk}.{born}-{round_.leaderboard_version}-{round_.state}{shown}'
        f'-{audience(viewer).value}"'
    )


def require_final_visible(round_: Round, viewer: User) -> None:
    if not final_visible(round_, viewer):
        raise PermissionDenied(
            gettext("The final ranking is revealed when the round first closes."),
            code="not_revealed",
        )


def final_for(round_: Round, viewer: User) -> dict[str, Any]:
    """The reveal; before it only organizers may look (a preview, ``"final": false``)."""
    require_final_visible(round_, viewer)
    shown = visibility.final_places_shown(visibility.role_of(viewer), round_)
    return board_json.final_json(final_ranking(round_), shown)


def history_for(round_: Round, viewer: User) -> dict[str, Any]:
    """Every group's best test score over time; test scores only, so everyone may see it."""
    del viewer  # the same for everyone; kept for a uniform signature with the others
    return board_json.history_json(score_history(round_))


def group_renamed(group: Group) -> None:
    """The boards show group names: every round the group is in gets a new version, so that
    no cached board keeps the old name."""
    played = RoundEntry.objects.filter(group=group).values("round_id")
    Round.objects.filter(pk__in=played).update(leaderboard_version=F("leaderboard_version") + 1)
