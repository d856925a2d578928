"""Job results: checking what a worker posts against the dataset, scoring it again, storing it
once (the fields are read by ``contest.result_fields``, the pictures kept by ``contest.pictures``).

The server holds the true labels, so it computes every score and extra score itself from the
posted labels; the worker's own scores are kept for the record (``worker_score_*``) and flagged
when they disagree, and the extra scores it posts are dropped.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from mlcontest.algorithms import all_scores
from mlcontest.contest import visibility
from mlcontest.contest.datasets import SPLITS, load_labels
from mlcontest.contest.errors import Conflict, InvalidInput, NotFound
from mlcontest.contest.inputs import as_id
from mlcontest.contest.models import Dataset, Group, Job, JobState, Round, User
from mlcontest.contest.permissions import require_worker
from mlcontest.contest.regression import regression_labels
from mlcontest.contest.result_fields import ResultPayload
from mlcontest.contest.rounds import renew_boards, task_of
from mlcontest.core import events

SCORE_TOLERANCE = 1e-6


def _normalise_label(label: Any, task: str) -> str:
    if isinstance(label, bool) or label is None or isinstance(label, dict | list):
        raise ValueError(f"{label!r} is not a label")
    if isinstance(label, float):
        if not label.is_integer():
            raise ValueError(f"{label!r} is not a label")
        label = int(label)
    text = str(label)
    if task == "clustering":
        try:
            int(text)
        except ValueError:
            raise ValueError(f"cluster {label!r} is not a whole number") from None
    return text


def _normalise_labels(posted: list[Any], task: str) -> list[str]:
    if task == "regression":
        return regression_labels(posted)
    # Workers post class names as strings, cluster ids as ints: take those as they are and
    # look at each label only when the list mixes types (2,000 labels cost 1 ms one by one).
    kinds = set(map(type, posted))
    if kinds <= {str} and task == "classification":
        return posted
    if kinds <= {int}:
        return [str(label) for label in posted]
    return [_normalise_label(label, task) for label in posted]


def _check_labels(job: Job, payload: ResultPayload) -> dict[str, list[str]]:
    """The posted labels per split, as strings, checked against the dataset."""
    loaded = load_labels(job.round.dataset)
    task = task_of(job.round)
    known = set(job.round.dataset.class_labels)
    errors: dict[str, str] = {}
    clean: dict[str, list[str]] = {}
    for split in SPLITS:
        field = f"labels_{split}"
        posted = getattr(payload, field)
        expected = loaded.count(split)
        if posted is None:
            errors[field] = f"required: {expected} labels"
            continue
        if len(posted) != expected:
            errors[field] = f"has {len(posted)} labels; the {split} split has {expected} points"
            continue
        try:
            labels = _normalise_labels(posted, task)
        except ValueError as error:
            errors[field] = str(error)
            continue
        if task == "classification":
            unknown = sorted(set(labels) - known)
            if unknown:
                errors[field] = f"unknown labels: {', '.join(unknown[:5])}"
                continue
        clean[split] = labels
    if errors:
        raise InvalidInput("The labels do not fit the dataset.", fields=errors)
    return clean


M = TypeVar("M", bound=Model)


def _job_for_result_sql() -> str:
    quote = connection.ops.quote_name
    job, round_, dataset = (quote(m._meta.db_table) for m in (Job, Round, Dataset))
    return (
        "SELECT j.id, j.state, j.worker_key, j.result_digest, j.round_id,"
        " r.metric, r.dataset_id, r.revealed_at, r.reveal_show, r.reveal_ended_at,"
        " d.version, d.class_labels"
        f" FROM {job} j JOIN {round_} r ON r.id = j.round_id"
        f" JOIN {dataset} d ON d.id = r.dataset_id WHERE j.id = %s"
    )


def _aware(when: Any) -> Any:
    """SQLite keeps UTC times bare."""
    return timezone.make_aware(when, UTC) if when is not None and timezone.is_naive(when) else when


def _loaded(model: type[M], columns: dict[str, Any]) -> M:
    """An instance as the ORM builds one from a row of only these columns (the others are
    deferred: read on first use, as ``only()`` leaves them)."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in columns]
    return model.from_db(connection.alias, names, [columns[name] for name in names])


def job_for_result(job_id: Any) -> Job:
    """The job with its round and dataset, as ``record_result`` reads them, in one query.

    Written by hand, like ``_store_if_held`` and ``rounds.renew_boards``: these three run for
    every result, and the ORM's compiling of them cost more than the statements. Measured
    on SQLite, 2026-12-01 (seed protocol, ping + params + result, 100 jobs in process): 3.2 to
    3.35 ms of server CPU per job with the three by hand, 3.98 ms with their ORM forms; with
    the ORM forms ``bench/job_overhead.py`` printed 1.34 (target 1.25), by hand 1.17 to 1.35
    on the same machine (its noise), against 1.22 for the code before the ORM forms."""
    number = as_id(job_id)  # None for text or an id beyond 64 bits
    if number is None:
        raise NotFound(f"No job {str(job_id)[:40]!r}.")
    with connection.cursor() as cursor:
        cursor.execute(_job_for_result_sql(), [number])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(f"No job {job_id}.")
    pk, state, holder, digest, round_pk, metric, dataset_pk, revealed_at = row[:8]
    reveal_show, reveal_ended_at, version, class_labels = row[8:]
    if isinstance(class_labels, str):  # JSON arrives as text on SQLite and PostgreSQL alike
        class_labels = json.loads(class_labels)
    dataset = _loaded(Dataset, {"id": dataset_pk, "version": version, "class_labels": class_labels})
    # The reveal's columns: the answer to a worker shows validation scores only once the
    # round is revealed and its show is over (``visibility``).
    round_ = _loaded(
        Round,
        {
            "id": round_pk,
            "metric": metric,
            "dataset_id": dataset_pk,
            "revealed_at": _aware(revealed_at),
            "reveal_show": bool(reveal_show),
            "reveal_ended_at": _aware(reveal_ended_at),
        },
    )
    round_.dataset = dataset
    job = _loaded(
        Job,
        {
            "id": pk,
            "state": state,
            "worker_key": holder,
            "result_digest": digest,
            "round_id": round_pk,
        },
    )
    job.round = round_
    return job


def record_result(
    worker: User, job: Job, worker_key: str, payload: ResultPayload
) -> tuple[Job, bool]:
    """Store the result of a job the worker holds; ``(job, False)`` if it was stored before.

    The same result posted again changes nothing; another result for a finished job, or one
    from a worker that does not hold the job, is refused."""
    require_worker(worker)
    digest = payload.digest()
    if job.state in (JobState.DONE, JobState.FAILED):
        if job.result_digest == digest and job.worker_key == worker_key:
            return job, False
        raise Conflict(f"Job {job.pk} already has a result.", code="already_finished")
    if job.state != JobState.RUNNING or job.worker_key != worker_key:
        raise Conflict(
            f"Job {job.pk} is not held by this worker (it is {job.state}).", code="not_holder"
        )

    values: dict[str, Any] = {
        "success": payload.success,
        "worker_score_test": payload.score_test,
        "worker_score_validation": payload.score_validation,
        "message": payload.message,
        "timings": payload.timings,
        "diagnostics": payload.diagnostics if payload.success else None,
        "result_digest": digest,
        "finished_at": timezone.now(),
        "lease_expires_at": None,
    }
    if payload.success:
        labels = _check_labels(job, payload)
        loaded = load_labels(job.round.dataset)
        task = task_of(job.round)
        extra: dict[str, dict[str, float]] = {}
        for split in ("test", "validation"):
            truth = loaded.labels_of(split)
            # An empty split (allowed for tiny datasets) has no score. Only the server's own
            # metrics are stored: what the worker posted as extra scores is dropped, so no
            # worker can put a made-up name or number on a job's page.
            extra[split] = all_scores(task, truth, labels[split]) if truth else {}
            values[f"score_{split}"] = extra[split].get(job.round.metric)
        values.update(
            state=JobState.DONE,
            labels_training=labels["training"],
            labels_test=labels["test"],
            labels_validation=labels["validation"],
            extra_scores_test=extra["test"],
            extra_scores_validation=extra["validation"],
            score_mismatch=_disagrees(payload.score_test, values["score_test"])
            or _disagrees(payload.score_validation, values["score_validation"]),
        )
    else:
        values.update(
            state=JobState.FAILED,
            score_test=None,
            score_validation=None,
            extra_scores_test=None,  # a failed job has no scores of any kind
            extra_scores_validation=None,
        )
    with transaction.atomic():
        stored = _store_if_held(job.pk, worker_key, values)
        if stored:
            renew_boards(job.round_id)
    if stored:
        for name, value in values.items():
            setattr(job, name, value)
        _log_result(job)
        return job, True
    job.refresh_from_db()
    if job.result_digest == digest:
        return job, False
    if job.state in (JobState.DONE, JobState.FAILED):
        raise Conflict(f"Job {job.pk} already has a result.", code="already_finished")
    # The lease was taken back between the read above and this write.
    raise Conflict(
        f"Job {job.pk} is not held by this worker (it is {job.state}).", code="not_holder"
    )


def _log_result(job: Job) -> None:
    """The result's events for the operators' log (mlcontest/core/events.py)."""
    if job.state == JobState.FAILED:
        events.emit(events.JOB_FAILED, job=job.pk, round=job.round_id, message=job.message)
    elif job.score_mismatch:
        events.emit(
            events.SCORE_MISMATCH,
            job=job.pk,
            round=job.round_id,
            claimed=[job.worker_score_test, job.worker_score_validation],
            computed=[job.score_test, job.score_validation],
        )


def _store_if_held(job_id: int, worker_key: str, values: dict[str, Any]) -> bool:
    """Write ``values`` to the job if it is still running under this holder; False otherwise.

    The state and holder in the WHERE clause make a concurrent second post a no-op. Written by
    hand for speed (see ``job_for_result``); each value is prepared by its own field, as the
    ORM would."""
    columns = {field.name: field for field in Job._meta.concrete_fields}
    fields = [columns[name] for name in values]
    quote = connection.ops.quote_name
    # No field of Job sets db_column: each one's attname is its column.
    assignments = ", ".join(f"{quote(field.attname)} = %s" for field in fields)
    params = [field.get_db_prep_save(values[field.name], connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Job._meta.db_table)} SET {assignments}"
            " WHERE id = %s AND state = %s AND worker_key = %s",
            [*params, job_id, JobState.RUNNING, worker_key],
        )
        return cursor.rowcount == 1


def _disagrees(claimed: float | None, computed: float | None) -> bool:
    if claimed is None or computed is None:
        return False
    return abs(claimed - computed) > SCORE_TOLERANCE


def result_summary(job: Job, worker: User) -> dict[str, Any]:
    """What a worker learns back from posting a result: the stored outcome, nothing more (not
    whose job it was; the validation score only where ``visibility`` shows it to the worker)."""
    summary: dict[str, Any] = {
        "id": job.pk,
        "state": job.state,
        "success": job.success,
        "score_test": job.score_test,
    }
    if visibility.sees_validation(worker, job.round):
        # The mismatch flag compares the claim with the validation score too: an equality
        # oracle on it is an oracle on the hidden labels.
        summary["score_validation"] = job.score_validation
        summary["score_mismatch"] = job.score_mismatch
    return summary


def describe_job(
    job: Job, viewer: User, with_labels: bool = False, group: Group | None = visibility.UNREAD
) -> dict[str, Any]:
    """The job as ``viewer`` may see it; call only for a job ``visibility.sees_job`` allows.
    ``group``: the viewer's group, when the caller has read it (a list of jobs reads it once)."""
    described: dict[str, Any] = {
        "id": job.pk,
        "round": job.round_id,
        "baseline": job.is_baseline,
        "algorithm": job.algorithm,
        "params": job.params,
        "state": job.state,
        "created_at": job.created_at,
        "claimed_at": job.claimed_at,
        "finished_at": job.finished_at,
        "success": job.success,
        "score_test": job.score_test,
        "extra_scores_test": job.extra_scores_test,
        "message": job.message,
        "diagnostics": job.diagnostics,
        "pictures": [
            {"filename": picture.filename, "url": picture.image.url}
            for picture in job.pictures.all()
        ],
    }
    if visibility.sees_job_owner(viewer, job, group):
        described["group"] = job.group.name if job.group else None
        described["user"] = job.user.username if job.user else None
    validation = visibility.sees_validation(viewer, job.round)
    if validation:
        described["score_validation"] = job.score_validation
        described["extra_scores_validation"] = job.extra_scores_validation
    if visibility.sees_job_internals(viewer):
        described.update(
            worker=job.worker.username if job.worker else None,
            worker_name=job.worker_name,
            attempts=job.attempts,
            lease_expires_at=job.lease_expires_at,
            worker_score_test=job.worker_score_test,
            worker_score_validation=job.worker_score_validation,
            score_mismatch=job.score_mismatch,
        )
    if with_labels:
        described["labels_training"] = job.labels_training
        described["labels_test"] = job.labels_test
        if validation:
            described["labels_validation"] = job.labels_validation
    return described
