"""Login throttling: per user name, against guessing one account's password, and per address,
against trying a few passwords on many names.

A class shares one address (the school's NAT), so the address limit is many times the name
limit: one student locked out by mistyping, or somebody hammering one name, leaves the rest of
the room signing in. During a lock-out every attempt is refused before its password is checked,
the right password too; such refusals are not counted, so a lock-out ends one window after the
failures that caused it.

Each attempt is a ``LoginAttempt`` row written *before* the password check and kept only if the
check fails, so that every server process and machine counts the same attempts and parallel
guesses cannot all slip under the limit. A success deletes its own name's rows, no other's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mlcontest.contest.models import LoginAttempt

UNKNOWN_ADDRESS = "unknown"


class LoginThrottled(Exception):
    """Too many failed sign-ins: for the name (``by == "name"``) or from the address."""

    def __init__(self, by: str, retry_after: int) -> None:
        self.by = by
        self.retry_after = retry_after
        if by == "name":
            text = _("Too many failed sign-ins for this user name. Try again in %(wait)s.")
        else:
            text = _("Too many failed sign-ins from your network address. Try again in %(wait)s.")
        super().__init__(text % {"wait": describe_wait(retry_after)})
        self.message = str(self)


def describe_wait(seconds: int) -> str:
    if seconds < 120:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def window() -> timedelta:
    return timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)


@dataclass(frozen=True)
class Attempt:
    """A sign-in under way: its row counts as a failure unless :func:`succeeded` is called."""

    username: str
    row_id: int


def _key(username: str) -> str:
    return username[: LoginAttempt._meta.get_field("username").max_length]


def _wait(rows: QuerySet[LoginAttempt], limit: int, now: datetime) -> int:
    """Seconds until fewer than ``limit`` earlier attempts are in the window (0: go ahead).

    ``rows`` holds this attempt too, as the newest: with ``limit`` others before it, the
    ``limit``-th newest of those is the one whose ageing out lifts the lock-out."""
    recent = rows.filter(at__gt=now - window()).order_by("-at", "-id")
    blocking = list(recent.values_list("at", flat=True)[limit : limit + 1])
    if not blocking:
        return 0
    return max(1, math.ceil((blocking[0] + window() - now).total_seconds()))


def begin(username: str, address: str | None) -> Attempt:
    """Count an attempt for ``username`` from ``address``, or raise :class:`LoginThrottled`."""
    now = timezone.now()
    name = _key(username)
    address = (address or UNKNOWN_ADDRESS)[:64]
    # Rows from before the window only slow the counts down: failures are rare, so a sweep
    # at each attempt is cheap.
    LoginAttempt.objects.filter(at__lte=now - window()).delete()
    row = LoginAttempt.objects.create(username=name, address=address, at=now)
    checks = (
        ("name", LoginAttempt.objects.filter(username=name), settings.LOGIN_FAILURES_PER_NAME),
        (
            "address",
            LoginAttempt.objects.filter(address=address),
            settings.LOGIN_FAILURES_PER_ADDRESS,
        ),
    )
    for by, rows, limit in checks:
        wait = _wait(rows, limit, now)
        if wait:
            row.delete()  # a refused attempt checked no password: it does not count
            raise LoginThrottled(by, wait)
    return Attempt(name, row.pk)


def succeeded(attempt: Attempt) -> None:
    """The password was right: this name starts afresh (other names keep their counts)."""
    LoginAttempt.objects.filter(username=attempt.username).delete()
