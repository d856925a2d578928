"""A group's final choice: the job it marks to count in the validation ranking instead of its
best test job, where the round allows it; fixed at the reveal."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from mlcontest.contest.errors import Conflict, InvalidInput
from mlcontest.contest.groups import group_of
from mlcontest.contest.models import (
    Group,
    Job,
    JobState,
    Round,
    RoundEntry,
    RoundState,
    User,
)
from mlcontest.contest.permissions import require_user
from mlcontest.contest.rounds import accepts_jobs, record_event, refresh_schedule, renew_boards
from mlcontest.contest.visibility import revealed


def mark_final_choice(
    user: User, round_: Round, job: Job | None, group: Group | None = None
) -> RoundEntry:
    """Mark ``job`` as the group's final choice for the validation ranking (None: unmark, so
    that the best test job counts again).

    Students mark for their own group while the round is open; an organizer may mark for any
    group (the job's, or ``group`` to unmark) until the reveal. Once the round has been
    revealed, nobody may (code ``revealed``): the final choices are those that stood at the
    reveal, even when the round is reopened. Only a job that ranks (done, successful, with a
    test score) can be chosen. Recorded as a "final_choice" event."""
    require_user(user)
    refresh_schedule(round_)
    if not round_.final_choice_allowed:
        raise Conflict(
            _("This round ranks each group's best test job: there is no final choice to make."),
            code="final_choice_not_allowed",
        )
    _refuse_if_revealed(round_)
    if user.is_organizer:
        group = job.group if job is not None else group
        if group is None:
            raise InvalidInput(_("Name the group."), fields={"group": "required"})
    else:
        if not accepts_jobs(round_):
            raise Conflict(
                (
                    _(
                        "Round %(name)s has not opened yet: the final choice is made while it "
                        "is open."
                    )
                    if round_.state == RoundState.DRAFT
                    else _("Round %(name)s is closed: the final choice is made while it is open.")
                )
                % {"name": repr(round_.name)},
                code="round_not_open",
            )
        group = group_of(user)
        if group is None:
            raise Conflict(_("Join a group first."), code="no_group")
    if job is not None:
        if job.round_id != round_.pk or job.group_id != group.pk:
            raise InvalidInput(
                _("Job %(id)s is not a job of %(group)s in this round.")
                % {"id": job.pk, "group": repr(group.name)},
                fields={"job": "not your group's job in this round"},
            )
        if not (job.state == JobState.DONE and job.success and job.score_test is not None):
            raise Conflict(
                _(
                    "Job %(id)s is %(state)s: only a finished, successful job with a test score "
                    "can be the final choice."
                )
                % {"id": job.pk, "state": job.get_state_display().lower()},
                code="job_not_ranked",
            )
    with transaction.atomic():
        # Read again under the round's lock: a close that committed a moment ago wins.
        round_.revealed_at = (
            Round.objects.select_for_update()
            .filter(pk=round_.pk)
            .values_list("revealed_at", flat=True)
            .first()
        )
        _refuse_if_revealed(round_)
        entry, _created = RoundEntry.objects.get_or_create(round=round_, group=group)
        entry.final_job = job
        entry.save(update_fields=["final_job"])
        renew_boards(round_.pk)
        record_event(round_, "final_choice", user, group=group.name, job=job.pk if job else None)
    return entry


def _refuse_if_revealed(round_: Round) -> None:
    if revealed(round_):
        raise Conflict(
            _(
                "The final ranking of round %(name)s was revealed when it closed: the final "
                "choices are those that stood then."
            )
            % {"name": repr(round_.name)},
            code="revealed",
        )


def final_choices_of(rounds_: Sequence[Round], group: Group | int | None) -> dict[int, int | None]:
    """The id of the job the group (or group id) marked in each round (None: none, or no
    group), in one query."""
    group_id = group.pk if isinstance(group, Group) else group
    marked: dict[int, int | None] = {}
    if group_id is not None:
        entries = RoundEntry.objects.filter(round__in=[r.pk for r in rounds_], group_id=group_id)
        marked = dict(entries.values_list("round_id", "final_job_id"))
    return {r.pk: marked.get(r.pk) for r in rounds_}


def final_choice_of(round_: Round, group: Group | int | None) -> int | None:
    """The id of the job the group marked, if any."""
    return final_choices_of([round_], group)[round_.pk]
