"""Announcements: list the current ones, post one and take one down (organizers)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from mlcontest.api.app import ORGANIZERS, only_known
from mlcontest.api.common import viewer
from mlcontest.api.schemas.announcements import (
    Announcement,
    AnnouncementCreate,
    AnnouncementList,
    AnnouncementQuery,
)
from mlcontest.api.schemas.common import answers
from mlcontest.contest import announcements, rounds
from mlcontest.contest.errors import InvalidInput, NotFound
from mlcontest.contest.models import Round, User

router = Router(tags=["meta"])


@router.get(
    "/announcements/",
    response=answers(AnnouncementList, 400, 404),
    url_name="api_announcements",
)
def announcement_list(request: HttpRequest, query: Query[AnnouncementQuery]) -> Any:
    """The current announcements you may see, newest first.

    Pages show the three newest: the site's, and on a round's pages the round's (a draft's to
    organizers only)."""
    only_known(request, AnnouncementQuery)
    user = viewer(request)
    round_ = rounds.find_round(query.round, user) if query.round is not None else None
    listed = announcements.listed(user, round_, ended=query.ended)
    return {"announcements": [announcements.describe(row) for row in listed]}


@router.post(
    "/announcements/", response=answers(Announcement, 400, 403, status=201), auth=ORGANIZERS
)
def announcement_create(request: HttpRequest, payload: AnnouncementCreate) -> Any:
    """Announce (organizers): every page shows it within 2 s."""
    user = viewer(request)
    round_ = _round(payload.round, user) if payload.round is not None else None
    announcement = announcements.post(user, payload.text, round_, payload.minutes)
    return Status(201, announcements.describe(announcement))


def _round(round_id: int, user: User) -> Round:
    try:
        return rounds.find_round(round_id, user)
    except NotFound:
        raise InvalidInput(f"No round {round_id}.", fields={"round": "no such round"}) from None


@router.post(
    "/announcements/{id:announcement_id}/end/",
    response=answers(Announcement, 403, 404),
    url_name="api_announcement_end",
)
def announcement_end(request: HttpRequest, announcement_id: int) -> Any:
    """Take the announcement down now (organizers).

    One that has ended stays as it is."""
    user = viewer(request)
    announcement = announcements.find(user, announcement_id)
    return announcements.describe(announcements.take_down(user, announcement))
