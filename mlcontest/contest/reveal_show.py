"""The reveal as a show: the final ranking revealed place by place, last place first.

A round with ``reveal_show`` is revealed at its first close (``revealed_at``, as every round),
but then students and workers see only the places the organizer has revealed so far
(``revealed_places``, counted from the last place) and no validation score anywhere, until the
organizer ends the show (``reveal_ended_at``): ``contest.visibility`` enforces it on every
path. The progress lives in the database, not in the projector's page, so every student's page
follows the projector within its poll interval.

Each step is one conditional UPDATE that also grows the round's ``leaderboard_version``: every
cached board and every live page's signature moves with it. A step names the number of places
it reveals (not "one more"), so a double click or two projectors revealing at once reveal that
place once. Revealing the first place ends the show: nothing is left to hide.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from mlcontest.contest import leaderboard, visibility
from mlcontest.contest.errors import Conflict, InvalidInput
from mlcontest.contest.models import Round, RoundEvent, User
from mlcontest.contest.permissions import require_organizer
from mlcontest.contest.rounds import refresh_schedule
from mlcontest.contest.visibility import Stage


@dataclass(frozen=True)
class ShowStatus:
    """Where the round's reveal stands, as the organizer's controls need it."""

    show: bool  # the round's setting: revealed place by place
    stage: Stage
    places: int  # places in the final ranking (0 before the reveal)
    places_revealed: int  # counted from the last place; ``places`` once the show is over

    @property
    def running(self) -> bool:
        return self.stage is Stage.SHOW

    @property
    def next_place(self) -> int | None:
        """The place the next step reveals (None: nothing left)."""
        left = self.places - self.places_revealed
        return left if self.running and left > 0 else None


def status(round_: Round) -> ShowStatus:
    at = visibility.stage(round_)
    places = len(leaderboard.final_ranking(round_).standings) if at is not Stage.HIDDEN else 0
    revealed = places if at is Stage.SHOWN else min(round_.revealed_places, places)
    return ShowStatus(round_.reveal_show, at, places, revealed)


def reveal_places(organizer: User, round_: Round, places: int | None = None) -> Round:
    """Reveal the last ``places`` places of the final ranking (None: all of them, which ends
    the show). Asking for fewer places than are out already changes nothing; a round whose
    show is over (or that has none) is left as it is."""
    require_organizer(organizer)
    refresh_schedule(round_)
    at = visibility.stage(round_)
    if at is Stage.HIDDEN:
        raise Conflict(
            gettext(
                "Round %(name)s has not closed yet: its final ranking is revealed at its first "
                "close."
            )
            % {"name": repr(round_.name)},
            code="not_revealed",
        )
    if places is not None and (isinstance(places, bool) or places < 1):
        raise InvalidInput(gettext("Reveal at least one place."), fields={"places": "at least 1"})
    if at is Stage.SHOWN:
        return round_
    total = len(leaderboard.final_ranking(round_).standings)
    now = timezone.now()
    with transaction.atomic():
        if places is None or places >= total:
            moved = Round.objects.filter(pk=round_.pk, reveal_ended_at__isnull=True).update(
                reveal_ended_at=now,
                revealed_places=total,
                leaderboard_version=F("leaderboard_version") + 1,
            )
            action, details = "reveal_ended", {"places": total}
        else:
            moved = Round.objects.filter(
                pk=round_.pk, reveal_ended_at__isnull=True, revealed_places__lt=places
            ).update(revealed_places=places, leaderboard_version=F("leaderboard_version") + 1)
            action, details = "place_revealed", {"place": total - places + 1, "of": total}
        if moved:
            RoundEvent.objects.create(
                round=round_, action=action, by=organizer, at=now, details=details
            )
    round_.refresh_from_db()
    return round_


def reveal_next(organizer: User, round_: Round) -> Round:
    """One more place (the API's and the command line's step without a count)."""
    refresh_schedule(round_)
    return reveal_places(organizer, round_, round_.revealed_places + 1)
