"""The job queue: submitting, claiming with a lease, renewing it, and taking back lost jobs.

A claim is one UPDATE statement that picks the oldest queued job and marks it as running, so
two workers can never get the same job: SQLite runs one writing statement at a time, and
PostgreSQL's ``FOR UPDATE SKIP LOCKED`` lets each concurrent claimer skip a row another one
is taking. A job whose lease runs out goes back to the queue at the next claim.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from mlcontest.algorithms import METRICS, ParameterError, get_algorithm, validate_params
from mlcontest.contest import job_cost
from mlcontest.contest.datasets import data_shape
from mlcontest.contest.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
)
from mlcontest.contest.groups import group_of
from mlcontest.contest.inputs import as_id
from mlcontest.contest.models import (
    Group,
    Job,
    JobState,
    Round,
    RoundEntry,
    RoundState,
    User,
    WorkerSeen,
)
from mlcontest.contest.permissions import require_user, require_worker
from mlcontest.contest.quotas import jobs_used
from mlcontest.contest.rounds import (
    accepts_jobs,
    allowed_algorithms,
    refresh_schedule,
    rounds_with_dataset,
)
from mlcontest.contest.wakeup import Wake, notify_queued, release_connection, waker
from mlcontest.core import events

MAX_WAIT_SECONDS = 30.0
SEEN_EVERY_SECONDS = 5.0
LOST_JOB_MESSAGE = "Lost by {attempts} workers in a row (each one stopped answering); not retried."


def submit_job(
    user: User, round_: Round, algorithm: str, raw_params: dict[str, Any], baseline: bool = False
) -> Job:
    """Queue a job for the user's group, checked against the registry and the round's quotas.

    An organizer's ``baseline`` job belongs to no group and counts against no quota; it may
    also be queued while the round is a draft, to have the line to beat ready at the start."""
    require_user(user)
    # The caller's copy may be stale: the state and quotas count. With its dataset's row in
    # the same query (a plain refresh drops the cached dataset, read again with its preview).
    round_.refresh_from_db(from_queryset=rounds_with_dataset())
    refresh_schedule(round_)
    if baseline and not user.is_organizer:
        raise PermissionDenied(gettext("Only organizers submit baseline jobs."))
    check_open(round_, baseline)
    if algorithm not in allowed_algorithms(round_):
        raise InvalidInput(
            gettext("%(algorithm)s is not allowed in this round.") % {"algorithm": repr(algorithm)},
            fields={"algorithm": f"one of {', '.join(allowed_algorithms(round_))}"},
        )
    if not isinstance(raw_params, dict):
        raise InvalidInput("params must be an object.", fields={"params": "must be an object"})
    try:
        # The round's data too: a value scikit-learn refuses on it would cost a job of quota.
        params = validate_params(get_algorithm(algorithm), raw_params, data_shape(round_.dataset))
    except ParameterError as error:
        raise InvalidInput(gettext("Some parameters are not valid."), fields=error.errors) from None
    check_cost(round_, algorithm, params)
    if baseline:
        with transaction.atomic():
            _reread_open_round(round_, baseline=True)
            job = Job.objects.create(
                round=round_, group=None, user=user, algorithm=algorithm, params=params
            )
            notify_queued()
            return job
    group = group_of(user)
    if group is None:
        raise Conflict(gettext("Join a group before submitting jobs."), code="no_group")
    return submit_for_group(user, group, round_, algorithm, params)


def check_cost(round_: Round, algorithm: str, params: dict[str, Any]) -> None:
    """Refuse a job that clearly cannot finish on the round's data within its limits
    (``job_cost``: an order of magnitude over), before it costs a turn of the quota."""
    why = job_cost.refusal(
        job_cost.Shape.of(round_.dataset),
        algorithm,
        params,
        round_.time_limit_seconds,
        round_.memory_limit_mb,
    )
    if why:
        raise InvalidInput(
            gettext("This job cannot finish within the round's limits: %(why)s.") % {"why": why},
            fields={"params": why},
        )


def _clock(when: datetime) -> str:
    local = timezone.localtime(when)
    return f"{local:%H:%M} {local.tzname() or ''}".strip()


def check_open(round_: Round, baseline: bool = False) -> None:
    """Refuse with a sentence saying when the round takes jobs, unless it takes them now."""
    if accepts_jobs(round_) or (baseline and round_.state == RoundState.DRAFT):
        return
    if round_.state == RoundState.DRAFT:
        if round_.starts_at:
            message = gettext("Round %(name)s has not opened yet (it opens at %(at)s).") % {
                "name": repr(round_.name),
                "at": _clock(round_.starts_at),
            }
        else:
            message = gettext("Round %(name)s has not opened yet.") % {"name": repr(round_.name)}
    else:
        when = round_.closed_at or round_.ends_at
        if when:
            message = gettext(
                "Round %(name)s is closed since %(at)s: jobs are accepted while it is open."
            ) % {"name": repr(round_.name), "at": _clock(when)}
        else:
            message = gettext("Round %(name)s is closed: jobs are accepted while it is open.") % {
                "name": repr(round_.name)
            }
    raise Conflict(message, code="round_not_open")


def _reread_open_round(round_: Round, baseline: bool = False) -> Round:
    """Inside the submitting transaction, read the round again, so that a close committed a
    moment earlier refuses the job and the quotas are the current ones.

    Not ``FOR UPDATE``: every stored result updates the round's row (its version), so a lock
    here makes submissions and result posts wait for each other on PostgreSQL, which showed in
    bench/lecture_hall.py's tail latencies on a busy machine. A close that commits while a
    submission that read the round open is still running lets that one job in: it was
    submitted in time."""
    fresh = Round.objects.get(pk=round_.pk)
    check_open(fresh, baseline)
    return fresh


def submit_for_group(
    user: User,
    group: Group,
    round_: Round,
    algorithm: str,
    params: dict[str, Any],
    done: dict[str, Any] | None = None,
) -> Job:
    """The group's job, counted against its quotas. ``done``: the fields of a job stored
    finished (``contest.uploads``): it never waits, so the queued quota does not apply."""
    with transaction.atomic():
        round_ = _reread_open_round(round_)
        # Lock the group's entry so two submissions cannot both pass the quota check.
        if not RoundEntry.objects.select_for_update().filter(round=round_, group=group).exists():
            entry, _ = RoundEntry.objects.get_or_create(round=round_, group=group)
            RoundEntry.objects.select_for_update().get(pk=entry.pk)
        if Job.objects.filter(round=round_, user=user).exclude(group=group).exists():
            raise Conflict(
                gettext("You already played this round for another group."), code="other_group"
            )
        jobs = Job.objects.filter(round=round_, group=group)
        used, waiting = jobs_used(round_, group.pk)
        if used >= round_.job_quota:
            raise QuotaExceeded(
                gettext(
                    "Your group has used all %(quota)s jobs of round %(name)s: 0 left. Jobs "
                    "that failed count too."
                )
                % {"quota": round_.job_quota, "name": repr(round_.name)},
                fields={"job_quota": f"0 of {round_.job_quota} jobs left"},
            )
        queued = jobs.filter(state=JobState.QUEUED)
        if waiting >= round_.queued_quota and done is None:
            raise QuotaExceeded(
                gettext(
                    "Your group has %(waiting)s jobs waiting to start (at most %(most)s at "
                    "once): submit again when one of them has started; the first of them is "
                    "number %(position)s in the queue. %(left)s jobs left in this round."
                )
                % {
                    "waiting": waiting,
                    "most": round_.queued_quota,
                    "position": _queue_position(queued),
                    "left": round_.job_quota - used,
                },
                fields={"queued_quota": f"{waiting} of {round_.queued_quota} waiting"},
            )
        job = Job.objects.create(
            round=round_, group=group, user=user, algorithm=algorithm, params=params, **(done or {})
        )
        if job.state == JobState.QUEUED:  # not an uploaded result, stored done
            notify_queued()  # in this transaction: PostgreSQL's NOTIFY goes out with the commit
        return job


def _queue_position(queued: QuerySet[Job]) -> int:
    """Where the oldest of these queued jobs stands in the whole queue (1: next to run)."""
    first = queued.order_by("created_at", "id").values_list("created_at", "id").first()
    if first is None:
        return 0
    created_at, job_id = first
    ahead = Job.objects.filter(state=JobState.QUEUED).filter(
        Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=job_id)
    )
    return ahead.count() + 1


def requeue_expired() -> int:
    """Put running jobs whose lease ran out back in the queue; after too many lost attempts a
    job fails instead, so that a job that kills every worker does not go round for ever."""
    now = timezone.now()
    expired = Job.objects.filter(state=JobState.RUNNING, lease_expires_at__lt=now)
    # Read for the log only (rare: a worker was lost); the updates below decide what moves.
    lost = list(expired.values_list("pk", "worker_name", "attempts"))
    given_up = expired.filter(attempts__gte=settings.MAX_ATTEMPTS).update(
        state=JobState.FAILED,
        success=False,
        finished_at=now,
        lease_expires_at=None,
        message=LOST_JOB_MESSAGE.format(attempts=settings.MAX_ATTEMPTS),
    )
    with transaction.atomic():
        requeued = expired.update(
            state=JobState.QUEUED, lease_expires_at=None, worker_key="", claimed_at=None
        )
        notify_queued(requeued)
    for job_id, worker_name, attempts in lost:
        events.emit(events.LEASE_LOST, job=job_id, worker=worker_name, attempt=attempts)
        if given_up and attempts >= settings.MAX_ATTEMPTS:
            events.emit(events.JOB_FAILED, job=job_id, reason="lost by every worker")
    return requeued


# One statement picks and takes the job: SQLite runs a writing statement alone, and on
# PostgreSQL SKIP LOCKED lets concurrent claimers pass over a row another one is taking.
_CLAIM_SQL = """
UPDATE contest_job
   SET state = 'running', worker_id = %s, worker_key = %s, worker_name = %s,
       claimed_at = %s, lease_expires_at = %s, attempts = attempts + 1
 WHERE id = (SELECT id FROM contest_job WHERE state = 'queued'
              ORDER BY created_at, id LIMIT 1 {lock})
   AND state = 'queued'
RETURNING id
"""

# Both checks in one round trip, each answered from the job_queue_order / job_lease indexes.
_PENDING_SQL = """
SELECT EXISTS (SELECT 1 FROM contest_job WHERE state = 'queued'),
       EXISTS (SELECT 1 FROM contest_job WHERE state = 'running' AND lease_expires_at < %s)
"""


def claim_next(worker: User, worker_key: str, worker_name: str = "") -> int | None:
    """Claim the oldest queued job for this worker; its id, or None when the queue is empty."""
    require_worker(worker)
    if not worker_key:
        raise InvalidInput("A claim needs a worker session.")
    note_worker_seen(worker, worker_key, worker_name)
    now = timezone.now()
    with connection.cursor() as cursor:
        # A read first: an idle worker's ping then takes no write lock (SQLite has only one).
        cursor.execute(_PENDING_SQL, [now])
        queued, expired = cursor.fetchone()
        if expired:
            requeue_expired()
        elif not queued:
            return None
        lease = now + timedelta(seconds=settings.LEASE_SECONDS)
        lock = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
        cursor.execute(
            _CLAIM_SQL.format(lock=lock), [worker.pk, worker_key, worker_name[:128], now, lease]
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def claim_waiting(
    worker: User, worker_key: str, worker_name: str = "", wait_seconds: float = 0.0
) -> int | None:
    """Claim a job, waiting up to ``wait_seconds`` for one to arrive (a long poll), so that a
    new job starts at once without the worker hammering the server.

    The wait sleeps until jobs are queued (``contest/wakeup.py``), not polling the database:
    sixty idle workers used to run twenty claims a second each."""
    wait_seconds = min(max(wait_seconds, 0.0), MAX_WAIT_SECONDS)
    if wait_seconds <= 0:
        return claim_next(worker, worker_key, worker_name)
    deadline = time.monotonic() + wait_seconds
    sleeper = waker()
    with sleeper.waiting():  # from here on a signal is kept for this waiter, even mid-claim
        job_id = claim_next(worker, worker_key, worker_name)
        if job_id is not None:
            return job_id
        while job_id is None:
            release_connection()
            wake = sleeper.wait(deadline - time.monotonic())
            job_id = claim_next(worker, worker_key, worker_name)
            if wake is Wake.TIMEOUT:
                return job_id
        sleeper.signal()  # woken for a job: more may be queued, the next waiter looks too
        return job_id


def claim_job(
    worker: User, worker_key: str, worker_name: str = "", wait_seconds: float = 0.0
) -> dict[str, Any] | None:
    """Claim a job as ``claim_waiting`` does and answer what the worker needs to run it:
    ``{"id": ..., "params": <the get_job_params answer>}``, or None when none came."""
    job_id = claim_waiting(worker, worker_key, worker_name, wait_seconds)
    if job_id is None:
        return None
    return {"id": job_id, "params": _claimed_params(job_id)}


def claim_after_result(
    worker: User, worker_key: str, worker_name: str, repeated: bool
) -> dict[str, Any] | None:
    """The next job for a worker that has just posted a result, as ``claim_job`` answers it.

    A repeated post means the first answer was lost on its way back, and with it the job that
    post claimed: that job, if this worker still holds it, is answered again rather than left
    to wait for its lease to run out while a second one is claimed."""
    if repeated:
        held = (
            Job.objects.filter(state=JobState.RUNNING, worker_key=worker_key)
            .order_by("claimed_at", "id")
            .values_list("pk", flat=True)
            .first()
        )
        if held is not None:
            return {"id": held, "params": _claimed_params(held)}
    return claim_job(worker, worker_key, worker_name)


_seen_written: dict[str, float] = {}


def note_worker_seen(worker: User, worker_key: str, worker_name: str) -> None:
    """Record that the worker is alive, at most every few seconds per process."""
    now = time.monotonic()
    if now - _seen_written.get(worker_key, -1e9) < SEEN_EVERY_SECONDS:
        return
    _seen_written[worker_key] = now
    WorkerSeen.objects.update_or_create(
        worker_key=worker_key,
        defaults={"user": worker, "name": worker_name[:128], "last_seen_at": timezone.now()},
    )


def renew_lease(worker: User, job_id: int, worker_key: str) -> Job:
    """Extend the lease of a job this worker is running."""
    require_worker(worker)
    lease = timezone.now() + timedelta(seconds=settings.LEASE_SECONDS)
    updated = Job.objects.filter(pk=job_id, state=JobState.RUNNING, worker_key=worker_key).update(
        lease_expires_at=lease
    )
    if not updated:
        job = get_job(job_id)
        raise Conflict(
            f"Job {job.pk} is not held by this worker (it is {job.state}).", code="not_holder"
        )
    return get_job(job_id)


def release_job(worker: User, job_id: int, worker_key: str) -> Job:
    """Hand a running job back to the queue, as a worker that stops does."""
    require_worker(worker)
    updated = Job.objects.filter(pk=job_id, state=JobState.RUNNING, worker_key=worker_key).update(
        state=JobState.QUEUED,
        worker_key="",
        lease_expires_at=None,
        claimed_at=None,
        attempts=F("attempts") - 1,
    )
    if not updated:
        raise Conflict(f"Job {job_id} is not held by this worker.", code="not_holder")
    notify_queued()
    return get_job(job_id)


# Most of a finished job's row, each decoded from JSON when read: the three label lists (one
# label per point) and the dataset's scatter preview. A polling page, a worker's calls and the
# job's answer without labels need none of them; a caller that reads one anyway gets it with
# one more query (Django's deferred fields), so leaving them out is never wrong, only slower.
_HEAVY_LABELS = ("labels_training", "labels_test", "labels_validation")
_HEAVY_DATASET = ("round__dataset__preview",)


def get_job(job_id: Any, with_labels: bool = False) -> Job:
    """The job with its round, dataset and group; its label lists only ``with_labels``."""
    number = as_id(job_id)  # None for text or an id beyond 64 bits
    if number is None:
        raise NotFound(f"No job {str(job_id)[:40]!r}.")
    heavy = _HEAVY_DATASET if with_labels else _HEAVY_LABELS + _HEAVY_DATASET
    try:
        query = Job.objects.select_related("round", "round__dataset", "group").defer(*heavy)
        return query.get(pk=number)
    except Job.DoesNotExist:
        raise NotFound(f"No job {job_id}.") from None


def job_params(worker: User, job: Job) -> dict[str, Any]:
    """What a worker needs to run the job (the seed's ``get_job_params`` answer, extended)."""
    require_worker(worker)
    return _params_answer(
        job.pk,
        job.algorithm,
        job.params,
        job.state,
        job.lease_expires_at,
        job.round.metric,
        job.round_id,
        job.round.time_limit_seconds,
        job.round.memory_limit_mb,
        job.round.dataset_id,
        job.round.dataset.version,
        job.round.diagnostics,
    )


# The same answer for a job just claimed, read with one hand-written statement: the ORM's
# query over the job, its round and its dataset costs about 0.9 ms of the server's CPU against
# 0.04 ms for this one, and a busy worker needs it once per job.
_PARAMS_SQL = """
SELECT j.id, j.algorithm, j.params, j.state, j.lease_expires_at, r.metric, r.id,
       r.time_limit_seconds, r.memory_limit_mb, r.dataset_id, d.version, r.diagnostics
  FROM contest_job j
  JOIN contest_round r ON r.id = j.round_id
  JOIN contest_dataset d ON d.id = r.dataset_id
 WHERE j.id = %s
"""


def _claimed_params(job_id: int) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(_PARAMS_SQL, [job_id])
        pk, algorithm, params, state, lease, *round_columns = cursor.fetchone()
    if isinstance(params, str):  # JSON arrives as text on SQLite and PostgreSQL alike
        params = json.loads(params)
    if lease is not None and timezone.is_naive(lease):  # SQLite keeps UTC without a zone
        lease = timezone.make_aware(lease, UTC)
    return _params_answer(pk, algorithm, params, state, lease, *round_columns)


def _params_answer(
    job_id: int,
    algorithm: str,
    params: dict[str, Any],
    state: str,
    lease_expires_at: datetime | None,
    metric: str,
    round_id: int,
    time_limit_seconds: int,
    memory_limit_mb: int,
    dataset_id: int,
    dataset_version: str,
    diagnostics: bool = False,
) -> dict[str, Any]:
    return {
        "algorithm": algorithm,
        "dataset": dataset_id,
        "params": params,
        "id": job_id,
        "round": round_id,
        "task": METRICS[metric].task,
        "metric": metric,
        "dataset_version": dataset_version,
        "time_limit_seconds": time_limit_seconds,
        "memory_limit_mb": memory_limit_mb,
        "state": state,
        "lease_expires_at": lease_expires_at,
        "diagnostics": bool(diagnostics),
    }
