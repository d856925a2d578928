"""Announcements: a short message from an organizer ("5 minutes left") on every page, or on one
round's pages, until it ends. The rules are in docs/rules.md, "Announcements".

- Only organizers post and take down.
- The text is one line of 1 to ``MAX_LENGTH`` characters: runs of white space (a pasted line
  break) become one space. Pages show it escaped, as any text.
- Scope: the whole site (every page of everyone signed in, the projector included) or one round
  (that round's pages: the round page, its jobs' pages, its projector and its manage page). A
  draft round's announcements are seen by organizers only, like the round itself.
- An announcement is shown from its posting until ``ends_at``: ``minutes`` after posting, or,
  without minutes, until an organizer takes it down (which sets ``ends_at`` to now). Pages show
  the ``SHOWN`` newest.

Every page polls for them about once a second (``web/live.py``), so a class of 30 makes 30
polls a second. The current announcements are read once per ``CACHE_SECONDS`` per server
process, and at once after a post or a take-down in that process; with the session and the
user cached as well (``mlcontest.http.auth_cache``), an unchanged poll costs no query at all most of
the time. ``CACHE_SECONDS`` plus the pages' one-second interval keeps a new announcement on
every page within 2 s.
"""

from __future__ import annotations

import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from mlcontest.contest import visibility
from mlcontest.contest.errors import InvalidInput, NotFound
from mlcontest.contest.models import Announcement, Round, RoundState
from mlcontest.contest.permissions import require_organizer, require_user

MAX_LENGTH = 280
MAX_MINUTES = 24 * 60
SHOWN = 3
CACHE_SECONDS = 0.5
# More current announcements than any page could show: the cache holds at most these.
CACHED_AT_MOST = 200
LISTED_AT_MOST = 100


@dataclass(frozen=True)
class Shown:
    """An announcement as pages show it: plain values, safe to share between threads."""

    id: int
    text: str
    round_id: int | None
    round_is_draft: bool
    author: str
    created_at: datetime
    ends_at: datetime | None


# --- posting and taking down -------------------------------------------------------------------


def clean_text(text: str) -> str:
    cleaned = " ".join(str(text).split())
    if not cleaned:
        raise InvalidInput(_("Write the announcement."), fields={"text": _("required")})
    if len(cleaned) > MAX_LENGTH:
        raise InvalidInput(
            _("An announcement has at most %(most)d characters; this one has %(length)d.")
            % {"most": MAX_LENGTH, "length": len(cleaned)},
            fields={"text": _("at most %(most)d characters") % {"most": MAX_LENGTH}},
        )
    return cleaned


def post(
    author: Any, text: str, round_: Round | None = None, minutes: int | None = None
) -> Announcement:
    """A new announcement, on every page (``round_`` None) or on the round's pages; shown for
    ``minutes``, or until taken down."""
    require_organizer(author)
    cleaned = clean_text(text)
    if minutes is not None and not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(
            _("An announcement is shown for 1 to %(most)d minutes, or until taken down.")
            % {"most": MAX_MINUTES},
            fields={"minutes": _("from 1 to %(most)d, or none") % {"most": MAX_MINUTES}},
        )
    now = timezone.now()
    announcement = Announcement.objects.create(
        text=cleaned,
        round=round_,
        author=author,
        created_at=now,
        ends_at=now + timedelta(minutes=minutes) if minutes else None,
    )
    forget_cache()
    return announcement


def is_current(announcement: Announcement, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return announcement.ends_at is None or announcement.ends_at > now


def take_down(user: Any, announcement: Announcement) -> Announcement:
    """End the announcement now; one that has ended already stays as it is."""
    require_organizer(user)
    now = timezone.now()
    if is_current(announcement, now):
        Announcement.objects.filter(pk=announcement.pk).update(ends_at=now)
        announcement.ends_at = now
    forget_cache()
    return announcement


def find(user: Any, announcement_id: int) -> Announcement:
    """An announcement for an organizer's action (students never act on one)."""
    require_organizer(user)
    found = Announcement.objects.select_related("round", "author").filter(pk=announcement_id)
    announcement = found.first()
    if announcement is None:
        raise NotFound(_("No announcement %(id)d.") % {"id": announcement_id})
    return announcement


# --- what pages show ---------------------------------------------------------------------------

_cache: tuple[float, tuple[Shown, ...]] | None = None
_cache_lock = threading.Lock()


def forget_cache() -> None:
    global _cache
    with _cache_lock:
        _cache = None


def _current(now: datetime) -> QuerySet[Announcement]:
    return Announcement.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))


def _read_current() -> tuple[Shown, ...]:
    rows = _current(timezone.now()).select_related("round", "author")[:CACHED_AT_MOST]
    return tuple(
        Shown(
            id=row.pk,
            text=row.text,
            round_id=row.round_id,
            round_is_draft=row.round is not None and row.round.state == RoundState.DRAFT,
            author=row.author.username if row.author else "",
            created_at=row.created_at,
            ends_at=row.ends_at,
        )
        for row in rows
    )


def all_current() -> tuple[Shown, ...]:
    """Every current announcement, newest first, from the per-process cache."""
    global _cache
    cached = _cache
    if cached is None or cached[0] <= time.monotonic():
        rows = _read_current()
        with _cache_lock:
            _cache = cached = (time.monotonic() + CACHE_SECONDS, rows)
    now = timezone.now()  # one that ended since it was read leaves at once
    return tuple(row for row in cached[1] if row.ends_at is None or row.ends_at > now)


def shown_on(viewer: Any, round_id: int | None = None) -> list[Shown]:
    """What a page shows to ``viewer``: the site's announcements and, on a round's pages, the
    round's (a draft's to those who see drafts), newest first, at most ``SHOWN``."""
    if not getattr(viewer, "is_authenticated", False):
        return []
    drafts = visibility.sees_drafts(viewer)
    picked = [
        row
        for row in all_current()
        if row.round_id is None or (row.round_id == round_id and (drafts or not row.round_is_draft))
    ]
    return picked[:SHOWN]


def signature(shown: list[Shown]) -> str:
    """Changes whenever what the page shows changes (an admin may edit a text in place)."""
    return ",".join(f"{row.id}.{zlib.crc32(row.text.encode())}" for row in shown) or "none"


# --- lists for organizers and the API ------------------------------------------------------------


def listed(viewer: Any, round_: Round | None = None, ended: bool = False) -> list[Announcement]:
    """The announcements ``viewer`` may read, newest first: current ones (site-wide and of the
    rounds they see, or only the site's and ``round_``'s); ``ended`` adds those that have ended
    (organizers only)."""
    require_user(viewer)
    now = timezone.now()
    rows = Announcement.objects.select_related("round", "author")
    if not (ended and viewer.is_organizer):
        rows = rows.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    if round_ is not None:
        rows = rows.filter(Q(round__isnull=True) | Q(round=round_))
    if not visibility.sees_drafts(viewer):
        rows = rows.exclude(round__state=RoundState.DRAFT)
    return list(rows[:LISTED_AT_MOST])


def describe(announcement: Announcement) -> dict[str, Any]:
    return {
        "id": announcement.pk,
        "text": announcement.text,
        "round": announcement.round_id,
        "author": announcement.author.username if announcement.author else None,
        "created_at": announcement.created_at.isoformat(),
        "ends_at": announcement.ends_at.isoformat() if announcement.ends_at else None,
        "current": is_current(announcement),
    }
