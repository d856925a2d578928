"""Rounds: creating them, their state over time, and groups entering them.

A round is a draft until it is opened (by hand, or when its start time passes) and open until
it is closed (by hand, or when its end time passes). The time-based moves happen lazily: every
read of a round's state first applies them, so no clock process is needed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from mlcontest.algorithms import METRICS, REGISTRY, algorithms_for
from mlcontest.contest.errors import Conflict, InvalidInput, NotFound
from mlcontest.contest.groups import group_of
from mlcontest.contest.models import (
    Dataset,
    Job,
    JobState,
    Round,
    RoundEntry,
    RoundEvent,
    RoundState,
    User,
)
from mlcontest.contest.permissions import require_organizer


def task_of(round_: Round) -> str:
    return METRICS[round_.metric].task


def create_round(
    organizer: User,
    *,
    name: str,
    dataset: Dataset,
    metric: str,
    allowed_algorithms: list[str] | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    job_quota: int = 20,
    queued_quota: int = 3,
    time_limit_seconds: int = 60,
    memory_limit_mb: int = 2048,
    description: str = "",
) -> Round:
    require_organizer(organizer)
    fields: dict[str, str] = {}
    if not name.strip():
        fields["name"] = "required"
    if metric not in METRICS:
        fields["metric"] = f"one of {', '.join(METRICS)}"
    allowed = list(allowed_algorithms or [])
    unknown = [algorithm for algorithm in allowed if algorithm not in REGISTRY]
    if unknown:
        fields["allowed_algorithms"] = f"unknown: {', '.join(unknown)}"
    elif metric in METRICS:
        task = METRICS[metric].task
        wrong = [algorithm for algorithm in allowed if REGISTRY[algorithm].task != task]
        if wrong:
            fields["allowed_algorithms"] = f"not {task} algorithms: {', '.join(wrong)}"
    if starts_at and ends_at and ends_at <= starts_at:
        fields["ends_at"] = "must be after the start"
    for field_name, value in (
        ("job_quota", job_quota),
        ("queued_quota", queued_quota),
        ("time_limit_seconds", time_limit_seconds),
        ("memory_limit_mb", memory_limit_mb),
    ):
        if value < 1:
            fields[field_name] = "must be at least 1"
    if fields:
        raise InvalidInput("The round is not valid.", fields=fields)
    return Round.objects.create(
        name=name.strip(),
        description=description,
        dataset=dataset,
        metric=metric,
        allowed_algorithms=allowed,
        starts_at=starts_at,
        ends_at=ends_at,
        job_quota=job_quota,
        queued_quota=queued_quota,
        time_limit_seconds=time_limit_seconds,
        memory_limit_mb=memory_limit_mb,
    )


def apply_schedule(now: datetime | None = None) -> None:
    """Open the drafts whose start has come and close the open rounds whose end has passed."""
    now = now or timezone.now()
    Round.objects.filter(state=RoundState.DRAFT, starts_at__lte=now).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    ).update(state=RoundState.OPEN, opened_at=now, leaderboard_version=F("leaderboard_version") + 1)
    Round.objects.filter(state__in=[RoundState.DRAFT, RoundState.OPEN], ends_at__lte=now).update(
        state=RoundState.CLOSED, closed_at=now, leaderboard_version=F("leaderboard_version") + 1
    )


def get_round(round_id: int, viewer: User | None = None) -> Round:
    """The round, its state brought up to date; drafts are invisible to students."""
    apply_schedule()
    round_ = Round.objects.select_related("dataset").filter(pk=round_id).first()
    if round_ is None or (
        round_.state == RoundState.DRAFT and viewer is not None and not viewer.is_worker
    ):
        raise NotFound(f"No round {round_id}.")
    return round_


def visible_rounds(viewer: User) -> QuerySet[Round]:
    apply_schedule()
    rounds = Round.objects.select_related("dataset")
    return rounds if viewer.is_worker else rounds.exclude(state=RoundState.DRAFT)


def open_round(organizer: User, round_: Round) -> Round:
    require_organizer(organizer)
    if round_.state == RoundState.OPEN:
        return round_
    round_.state = RoundState.OPEN
    round_.opened_at = timezone.now()
    if round_.ends_at and round_.ends_at <= round_.opened_at:
        round_.ends_at = None  # opening by hand overrides an end that has passed
    reopened = round_.state == RoundState.CLOSED
    round_.closed_at = None
    round_.leaderboard_version += 1
    round_.save(update_fields=["state", "opened_at", "closed_at", "ends_at", "leaderboard_version"])
    record_event(round_, "reopened" if reopened else "opened", organizer)
    return round_


def close_round(organizer: User, round_: Round) -> Round:
    require_organizer(organizer)
    if round_.state == RoundState.CLOSED:
        return round_
    if round_.state == RoundState.DRAFT:
        raise Conflict("A draft round cannot be closed: open it first.")
    round_.state = RoundState.CLOSED
    round_.closed_at = timezone.now()
    round_.leaderboard_version += 1
    round_.save(update_fields=["state", "closed_at", "leaderboard_version"])
    record_event(round_, "closed", organizer)
    return round_


def record_event(round_: Round, action: str, by: User | None, **details: Any) -> RoundEvent:
    return RoundEvent.objects.create(round=round_, action=action, by=by, details=details)


def enter_round(user: User, round_: Round) -> RoundEntry | None:
    """Register the user's group in the round (the seed's ``get_round`` "joins" it)."""
    group = group_of(user)
    if group is None:
        return None
    with transaction.atomic():
        entry, _ = RoundEntry.objects.get_or_create(round=round_, group=group)
    return entry


def allowed_algorithms(round_: Round) -> list[str]:
    if round_.allowed_algorithms:
        return list(round_.allowed_algorithms)
    return [algorithm.name for algorithm in algorithms_for(task_of(round_))]


def jobs_used(round_: Round, group_id: int) -> tuple[int, int]:
    """How many jobs the group has in the round: (all that count against the quota, queued)."""
    jobs = Job.objects.filter(round=round_, group_id=group_id)
    return jobs.count(), jobs.filter(state=JobState.QUEUED).count()


def describe_round(round_: Round, viewer: User) -> dict[str, Any]:
    described: dict[str, Any] = {
        "id": round_.pk,
        "name": round_.name,
        "description": round_.description,
        "state": round_.state,
        "dataset": round_.dataset_id,
        "dataset_name": round_.dataset.name,
        "task": task_of(round_),
        "metric": round_.metric,
        "algorithms": [REGISTRY[name].schema() for name in allowed_algorithms(round_)],
        "starts_at": round_.starts_at,
        "ends_at": round_.ends_at,
        "opened_at": round_.opened_at,
        "closed_at": round_.closed_at,
        "job_quota": round_.job_quota,
        "queued_quota": round_.queued_quota,
        "time_limit_seconds": round_.time_limit_seconds,
        "memory_limit_mb": round_.memory_limit_mb,
        "groups": sorted(entry.group.name for entry in round_.entries.select_related("group")),
    }
    group = group_of(viewer)
    if group is not None:
        used, queued = jobs_used(round_, group.pk)
        described["my_group"] = {
            "name": group.name,
            "jobs_used": used,
            "jobs_left": max(0, round_.job_quota - used),
            "queued": queued,
        }
    return described


def find_round(round_id: Any, viewer: User) -> Round:
    try:
        number = int(round_id)
    except (TypeError, ValueError):
        raise NotFound(f"No round {round_id!r}.") from None
    return get_round(number, viewer)
