"""Rounds: creating them, their state over time, and groups entering them.

A round is a draft until it is opened (by hand, or when its start time passes) and open until
it is closed (by hand, or when its end time passes); an organizer may reopen a closed round.
The first close is the round's reveal (``revealed_at``): the final ranking is fixed from then
on, and a reopened round is extra time for practice on the public board only.
The time-based moves happen lazily: every read of a round's state first applies them, so no
clock process is needed. Each move is one conditional UPDATE (``WHERE state = ...``), so two
server processes applying the same schedule make one move and record it once; every move and
edit is recorded as a ``RoundEvent`` with who (None: the schedule) and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import DateTimeField, F, Q, QuerySet, Value, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from mlcontest.algorithms import METRICS, REGISTRY, algorithms_for
from mlcontest.contest.errors import Conflict, InvalidInput, NotFound
from mlcontest.contest.groups import group_of
from mlcontest.contest.inputs import as_id
from mlcontest.contest.models import (
    Dataset,
    Round,
    RoundEntry,
    RoundEvent,
    RoundState,
    User,
)
from mlcontest.contest.permissions import require_organizer
from mlcontest.contest.quotas import SEED_QUOTA_KEYS, quotas_left
from mlcontest.contest.regression import dataset_labels, metric_fits_labels
from mlcontest.contest.visibility import revealed, sees_drafts
from mlcontest.core import events

# The highest value of each number of a round: far above any class, far below the columns'
# 32-bit limit (job_quota = 2^31 overflowed PostgreSQL's integer).
ROUND_NUMBER_LIMITS = {
    "job_quota": 10_000,
    "queued_quota": 1_000,
    "time_limit_seconds": 24 * 3600,
    "memory_limit_mb": 1024 * 1024,
}
MAX_ROUND_NAME = 100  # Round.name's column width
MIN_YEAR, MAX_YEAR = 2000, 9000


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
    final_choice_allowed: bool = False,
    reveal_show: bool = False,
    prediction_uploads: bool = False,
    diagnostics: bool = False,
) -> Round:
    require_organizer(organizer)
    fields = _check_round_fields(
        name=name,
        metric=metric,
        allowed=list(allowed_algorithms or []),
        labels=dataset_labels(dataset),
        starts_at=starts_at,
        ends_at=ends_at,
        numbers={
            "job_quota": job_quota,
            "queued_quota": queued_quota,
            "time_limit_seconds": time_limit_seconds,
            "memory_limit_mb": memory_limit_mb,
        },
    )
    if fields:
        raise InvalidInput(_("The round is not valid."), fields=fields)
    with transaction.atomic():
        round_ = Round.objects.create(
            name=name.strip(),
            description=description,
            dataset=dataset,
            metric=metric,
            allowed_algorithms=list(allowed_algorithms or []),
            starts_at=starts_at,
            ends_at=ends_at,
            job_quota=job_quota,
            queued_quota=queued_quota,
            time_limit_seconds=time_limit_seconds,
            memory_limit_mb=memory_limit_mb,
            final_choice_allowed=final_choice_allowed,
            reveal_show=reveal_show,
            prediction_uploads=prediction_uploads,
            diagnostics=diagnostics,
        )
        record_event(round_, "created", organizer)
    return round_


def _check_round_fields(
    *,
    name: str,
    metric: str,
    allowed: list[str],
    labels: list[str],
    starts_at: datetime | None,
    ends_at: datetime | None,
    numbers: dict[str, int],
) -> dict[str, str]:
    """Every problem with a round's settings, by field (empty when they are fine)."""
    fields: dict[str, str] = {}
    if problem := metric_fits_labels(metric, labels):
        fields["metric"] = problem
    if not name.strip():
        fields["name"] = _("required")
    elif len(name.strip()) > MAX_ROUND_NAME:
        fields["name"] = _("at most %(n)s characters") % {"n": MAX_ROUND_NAME}
    if metric not in METRICS:
        fields["metric"] = _("one of %(names)s") % {"names": ", ".join(map(str, METRICS))}
    # Each algorithm once at most: a list of 100,000 names made every round page crawl.
    if len(allowed) > len(REGISTRY) or len(set(map(str, allowed))) != len(allowed):
        fields["allowed_algorithms"] = _("each algorithm at most once (%(n)s in all)") % {
            "n": len(REGISTRY)
        }
    elif unknown := [str(name)[:40] for name in allowed if name not in REGISTRY]:
        fields["allowed_algorithms"] = _("unknown: %(names)s") % {"names": ", ".join(unknown)}
    elif metric in METRICS:
        task = METRICS[metric].task
        wrong = [algorithm for algorithm in allowed if REGISTRY[algorithm].task != task]
        if wrong:
            fields["allowed_algorithms"] = _("not %(task)s algorithms: %(names)s") % {
                "task": _(task),
                "names": ", ".join(wrong),
            }
    for field_name, when in (("starts_at", starts_at), ("ends_at", ends_at)):
        if when is not None and not _storable_time(when):
            fields[field_name] = _("must lie between the years %(low)s and %(high)s") % {
                "low": MIN_YEAR,
                "high": MAX_YEAR,
            }
    times_valid = "starts_at" not in fields and "ends_at" not in fields
    if times_valid and starts_at and ends_at and ends_at <= starts_at:
        fields["ends_at"] = _("must be after the start")
    for field_name, value in numbers.items():
        highest = ROUND_NUMBER_LIMITS.get(field_name, 2**31 - 1)
        if isinstance(value, bool) or not isinstance(value, int):
            fields[field_name] = _("must be a whole number")
        elif not 1 <= value <= highest:
            fields[field_name] = _("must be between 1 and %(high)s") % {"high": highest}
    return fields


def _storable_time(when: datetime) -> bool:
    """An aware time that converts to UTC and lies in a plausible range of years: a far
    offset or year overflows when the database converts it."""
    if timezone.is_naive(when):
        return False
    try:
        utc = when.astimezone(UTC)
    except (OverflowError, ValueError):
        return False
    return MIN_YEAR <= utc.year <= MAX_YEAR


def _due(round_: Round, now: datetime) -> bool:
    """Whether the schedule would move this round now (read from the row, no query)."""
    if round_.state == RoundState.DRAFT and round_.starts_at and round_.starts_at <= now:
        return True
    return bool(round_.state == RoundState.OPEN and round_.ends_at and round_.ends_at <= now)


def _move(round_id: int, from_state: str, action: str, by: User | None, **values: Any) -> bool:
    """Move the round out of ``from_state`` and record it, unless another process moved it
    first: the state in the WHERE clause makes the move happen once."""
    with transaction.atomic():
        moved = Round.objects.filter(pk=round_id, state=from_state).update(
            leaderboard_version=F("leaderboard_version") + 1, **values
        )
        if moved:
            round_ = Round(pk=round_id)
            at = values.get("opened_at") or values.get("closed_at") or timezone.now()
            details = (
                {"from": from_state} if by is not None else {"from": from_state, "by": "schedule"}
            )
            RoundEvent.objects.create(round=round_, action=action, by=by, at=at, details=details)
    if moved and values.get("state") in (RoundState.OPEN, RoundState.CLOSED):
        event = events.ROUND_OPENED if values["state"] == RoundState.OPEN else events.ROUND_CLOSED
        events.emit(event, round=round_id, action=action, by=by.username if by else "schedule")
    return bool(moved)


def _closing(at: datetime) -> dict[str, Any]:
    """The values of a close: the first one is also the reveal, set in the same conditional
    UPDATE so that two processes closing at once cannot record two different reveals."""
    return {
        "state": RoundState.CLOSED,
        "closed_at": at,
        "revealed_at": Coalesce(F("revealed_at"), Value(at, output_field=DateTimeField())),
    }


def _apply_schedule_to(round_id: int, now: datetime) -> None:
    round_ = Round.objects.filter(pk=round_id).only("state", "starts_at", "ends_at").first()
    if round_ is None:
        return
    if round_.state == RoundState.DRAFT and round_.starts_at and round_.starts_at <= now:
        # Opened at its start time, not when someone first looked.
        _move(
            round_id,
            RoundState.DRAFT,
            "opened",
            None,
            state=RoundState.OPEN,
            opened_at=round_.starts_at,
            closed_at=None,
        )
        round_.state = RoundState.OPEN
    if round_.state == RoundState.OPEN and round_.ends_at and round_.ends_at <= now:
        _move(
            round_id,
            RoundState.OPEN,
            "closed",
            None,
            **_closing(round_.ends_at),
        )


def apply_schedule(now: datetime | None = None) -> None:
    """Open the drafts whose start has come and close the open rounds whose end has passed.

    A read finds the due rounds first, so that the usual call (nothing due) takes no write
    lock: SQLite has only one, and every page view calls this."""
    now = now or timezone.now()
    due = Round.objects.filter(
        Q(state=RoundState.DRAFT, starts_at__lte=now) | Q(state=RoundState.OPEN, ends_at__lte=now)
    ).values_list("pk", flat=True)
    for round_id in list(due):
        _apply_schedule_to(round_id, now)


def refresh_schedule(round_: Round, now: datetime | None = None) -> Round:
    """Bring one round's state up to date: the schedule applied, the row read again only when
    it moved."""
    now = now or timezone.now()
    if _due(round_, now):
        _apply_schedule_to(round_.pk, now)
        round_.refresh_from_db()
    return round_


def accepts_jobs(round_: Round, now: datetime | None = None) -> bool:
    """Open and not past its end (the end counts even before the schedule has been applied)."""
    now = now or timezone.now()
    return round_.state == RoundState.OPEN and not (round_.ends_at and round_.ends_at <= now)


def rounds_with_dataset() -> QuerySet[Round]:
    """Rounds with their dataset's row, without its plot's points (``Dataset.preview``, up to
    2,000 of them as JSON): parsing them made reading the round the biggest cost of a request
    that needs the dataset's size or features; the dataset card that draws them reads them
    with one query more."""
    return Round.objects.select_related("dataset").defer("dataset__preview")


def get_round(round_id: int, viewer: User | None = None, *, with_dataset: bool = True) -> Round:
    """The round, its state brought up to date; drafts are invisible but to organizers.
    ``with_dataset=False`` reads the round's row alone (its dataset, when asked for, costs a
    query then): what the leaderboards' polls need."""
    found = rounds_with_dataset() if with_dataset else Round.objects.all()
    try:  # get(), not first(): no ORDER BY to build and run for one row
        round_: Round | None = found.get(pk=round_id)
    except Round.DoesNotExist:
        round_ = None
    if round_ is not None:
        refresh_schedule(round_)
    if round_ is None or (
        round_.state == RoundState.DRAFT and viewer is not None and not sees_drafts(viewer)
    ):
        raise NotFound(_("No round %(id)s.") % {"id": round_id})
    return round_


def visible_rounds(viewer: User) -> QuerySet[Round]:
    apply_schedule()
    rounds = rounds_with_dataset().select_related("course")
    return rounds if sees_drafts(viewer) else rounds.exclude(state=RoundState.DRAFT)


def open_round(organizer: User, round_: Round, ends_at: datetime | None = None) -> Round:
    """Open a draft, or reopen a closed round (recorded as "reopened"), by hand.

    Reopening a revealed round gives extra time for practice: new jobs rank on the public
    board, the final ranking stays as it was revealed (see ``leaderboard``).
    An end time that has passed is dropped, or else the schedule would close the round again
    at once; ``ends_at`` sets a new one."""
    require_organizer(organizer)
    now = timezone.now()
    if ends_at is not None and ends_at <= now:
        raise InvalidInput(
            _("The new end must be in the future."), fields={"ends_at": "in the past"}
        )
    refresh_schedule(round_, now)
    if round_.state == RoundState.OPEN and ends_at is None:
        return round_
    new_end = ends_at if ends_at is not None else round_.ends_at
    if new_end and new_end <= now:
        new_end = None
    if round_.state == RoundState.OPEN:
        update_round(organizer, round_, ends_at=new_end)
        return round_
    action = "reopened" if round_.state == RoundState.CLOSED else "opened"
    _move(
        round_.pk,
        round_.state,
        action,
        organizer,
        state=RoundState.OPEN,
        opened_at=now,
        closed_at=None,
        ends_at=new_end,
    )
    round_.refresh_from_db()
    return round_


def close_round(organizer: User, round_: Round) -> Round:
    """Close an open round by hand. Jobs already submitted still run and still count.

    The first close reveals the final ranking (``revealed_at``); a later one changes nothing
    in it."""
    require_organizer(organizer)
    refresh_schedule(round_)
    if round_.state == RoundState.CLOSED:
        return round_
    if round_.state == RoundState.DRAFT:
        raise Conflict(_("A draft round cannot be closed: open it first."), code="round_is_draft")
    _move(
        round_.pk,
        RoundState.OPEN,
        "closed",
        organizer,
        **_closing(timezone.now()),
    )
    round_.refresh_from_db()
    return round_


EDITABLE = (
    "name",
    "description",
    "metric",
    "allowed_algorithms",
    "starts_at",
    "ends_at",
    "job_quota",
    "queued_quota",
    "time_limit_seconds",
    "memory_limit_mb",
    "final_choice_allowed",
    "reveal_show",
    "prediction_uploads",
    "diagnostics",
)


def update_round(organizer: User, round_: Round, **changes: Any) -> Round:
    """Change a round's settings; the changes are recorded as one "edited" event.

    The metric may change only while the round is a draft (stored scores used the old one);
    the times follow the state: a start only for a draft, no time for a closed round (reopen
    it instead), and a new end must lie in the future."""
    require_organizer(organizer)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(
            _("Cannot change %(names)s.") % {"names": ", ".join(unknown)},
            fields=dict.fromkeys(unknown, "not editable"),
        )
    refresh_schedule(round_)
    now = timezone.now()
    fields: dict[str, str] = {}
    if "metric" in changes and round_.state != RoundState.DRAFT:
        fields["metric"] = _("can only change while the round is a draft")
    for fixed in ("final_choice_allowed", "reveal_show"):  # how the reveal went stays so
        if revealed(round_) and fixed in changes and changes[fixed] != getattr(round_, fixed):
            fields[fixed] = _("the final ranking is revealed: it cannot change")
    for when in ("starts_at", "ends_at"):
        if when not in changes or changes[when] == getattr(round_, when):
            continue
        if round_.state == RoundState.CLOSED:
            fields[when] = _("the round is closed: reopen it to set new times")
        elif when == "starts_at" and round_.state != RoundState.DRAFT:
            fields[when] = _("the round has started")
        elif changes[when] is not None and changes[when] <= now:
            fields[when] = _("must be in the future")
    merged = {name: changes.get(name, getattr(round_, name)) for name in EDITABLE}
    fields.update(
        _check_round_fields(
            name=str(merged["name"] or ""),
            metric=merged["metric"],
            allowed=list(merged["allowed_algorithms"] or []),
            labels=dataset_labels(round_.dataset),
            starts_at=merged["starts_at"],
            ends_at=merged["ends_at"],
            numbers={
                name: merged[name]
                for name in ("job_quota", "queued_quota", "time_limit_seconds", "memory_limit_mb")
            },
        )
    )
    if fields:
        raise InvalidInput(_("The round is not valid."), fields=fields)
    changed = {
        name: (getattr(round_, name), value)
        for name, value in changes.items()
        if getattr(round_, name) != value
    }
    if not changed:
        return round_
    for name, (_old, value) in changed.items():
        setattr(round_, name, value.strip() if name == "name" else value)
    with transaction.atomic():
        round_.save(update_fields=list(changed))
        # The final ranking depends on final_choice_allowed, the page on the rest: bump anyway.
        renew_boards(round_.pk)
        record_event(
            round_,
            "edited",
            organizer,
            changes={
                name: [_jsonable(old), _jsonable(new)] for name, (old, new) in changed.items()
            },
        )
    round_.refresh_from_db()
    return round_


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def describe_event(event: RoundEvent) -> dict[str, Any]:
    return {
        "action": event.action,
        "by": event.by.username if event.by else None,
        "at": event.at,
        "details": event.details,
    }


def round_events(organizer: User, round_: Round) -> list[dict[str, Any]]:
    """The round's audit trail, oldest first (organizers only: it names who chose what)."""
    require_organizer(organizer)
    return [describe_event(event) for event in round_.events.select_related("by")]


def record_event(round_: Round, action: str, by: User | None, **details: Any) -> RoundEvent:
    return RoundEvent.objects.create(round=round_, action=action, by=by, details=details)


def enter_round(user: User, round_: Round) -> RoundEntry | None:
    """Register the user's group in the round (the seed's ``get_round`` "joins" it)."""
    group = group_of(user)
    if group is None:
        return None
    with transaction.atomic():
        entry, created = RoundEntry.objects.get_or_create(round=round_, group=group)
        if created:  # the boards list the groups in the round, scored or not
            renew_boards(round_.pk)
    return entry


def renew_boards(round_id: int) -> None:
    """A new leaderboard version for the round, so that no cached board of it is served again
    (one UPDATE, counted up in the database, so that concurrent results each count).

    Written by hand for speed: it runs for every stored result (``results.job_for_result``
    has the figures)."""
    table = connection.ops.quote_name(Round._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET leaderboard_version = leaderboard_version + 1 WHERE id = %s",
            [round_id],
        )


def allowed_algorithms(round_: Round) -> list[str]:
    if round_.allowed_algorithms:
        return list(round_.allowed_algorithms)
    return [algorithm.name for algorithm in algorithms_for(task_of(round_))]


def describe_rounds(
    rounds_: Sequence[Round], viewer: User, quota_keys: Sequence[str] = SEED_QUOTA_KEYS
) -> list[dict[str, Any]]:
    """``describe_round`` for many rounds, in a number of queries that does not grow with them.
    ``my_group`` holds the viewer's group's name and the ``quota_keys`` of ``quota_left``."""
    rounds_ = list(rounds_)
    prefetch_related_objects(rounds_, "entries__group")
    group = group_of(viewer)
    quotas = quotas_left(rounds_, group) if group is not None else {}
    described = [_describe(round_) for round_ in rounds_]
    if group is not None:
        for round_, one in zip(rounds_, described, strict=True):
            quota = quotas[round_.pk]
            one["my_group"] = {"name": group.name, **{key: quota[key] for key in quota_keys}}
    return described


def describe_round(round_: Round, viewer: User) -> dict[str, Any]:
    return describe_rounds([round_], viewer)[0]


def _describe(round_: Round) -> dict[str, Any]:
    return {
        "id": round_.pk,
        "name": round_.name,
        "description": round_.description,
        "state": round_.state,
        "dataset": round_.dataset_id,
        "dataset_name": round_.dataset.name,
        "task": task_of(round_),
        "metric": round_.metric,
        "higher_is_better": METRICS[round_.metric].higher_is_better,
        "algorithms": [REGISTRY[name].schema() for name in allowed_algorithms(round_)],
        "starts_at": round_.starts_at,
        "ends_at": round_.ends_at,
        "opened_at": round_.opened_at,
        "closed_at": round_.closed_at,
        # Set at the first close: from then on the final ranking is final.
        "revealed_at": round_.revealed_at,
        "job_quota": round_.job_quota,
        "queued_quota": round_.queued_quota,
        "time_limit_seconds": round_.time_limit_seconds,
        "memory_limit_mb": round_.memory_limit_mb,
        "groups": sorted(entry.group.name for entry in round_.entries.all()),
    }


def find_round(round_id: Any, viewer: User, *, with_dataset: bool = True) -> Round:
    number = as_id(round_id)  # None for text or an id beyond 64 bits
    if number is None:
        raise NotFound(_("No round %(id)s.") % {"id": repr(str(round_id)[:40])})
    return get_round(number, viewer, with_dataset=with_dataset)
