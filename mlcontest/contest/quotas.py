"""What a group may still submit in a round: jobs left of its quota and free places in the queue.
The one home of this rule; the pages, the API, the seed protocol and the queue all ask here."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, Q

from mlcontest.contest.models import (
    Group,
    Job,
    JobState,
    Round,
)


def jobs_used(round_: Round, group_id: int) -> tuple[int, int]:
    """How many jobs the group has in the round: (all that count against the quota, queued),
    in one query."""
    counted = Job.objects.filter(round=round_, group_id=group_id).aggregate(
        used=Count("id"), queued=Count("id", filter=Q(state=JobState.QUEUED))
    )
    return int(counted["used"]), int(counted["queued"])


def _quota(round_: Round, used: int, queued: int) -> dict[str, int]:
    return {
        "jobs_used": used,
        "jobs_left": max(0, round_.job_quota - used),
        "queued": queued,
        "queue_places_left": max(0, round_.queued_quota - queued),
    }


def quotas_left(rounds_: Sequence[Round], group: Group | None) -> dict[int, dict[str, int]]:
    """What the group may still submit in each round (jobs left, free places in the queue):
    the one home of this rule, in one query however many rounds. No group: nothing used."""
    jobs = Job.objects.filter(round__in=[r.pk for r in rounds_], group=group)
    counted: dict[int, tuple[int, int]] = {}
    if group is not None:
        rows = jobs.values("round").annotate(
            used=Count("id"), queued=Count("id", filter=Q(state=JobState.QUEUED))
        )
        counted = {row["round"]: (int(row["used"]), int(row["queued"])) for row in rows}
    return {r.pk: _quota(r, *counted.get(r.pk, (0, 0))) for r in rounds_}


def quota_left(round_: Round, group: Group | None) -> dict[str, int]:
    """What the group may still submit in one round."""
    return quotas_left([round_], group)[round_.pk]


# What the seed protocol's ``my_group`` says of the quota (its keys stay as they were).
SEED_QUOTA_KEYS = ("jobs_used", "jobs_left", "queued")
