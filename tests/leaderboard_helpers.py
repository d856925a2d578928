"""What the leaderboard and round tests share: finishing a job with chosen scores through the
real result path (labels posted, the server scoring them), and reading answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from mlcontest.contest import result_fields, results
from mlcontest.contest.models import Job, JobState, User
from tests.conftest import Contest, true_labels

OTHER = {"a": "b", "b": "a"}


def wrong(labels: list[str], count: int) -> list[str]:
    """The labels with the first ``count`` of them swapped to the other class."""
    return [OTHER[label] if index < count else label for index, label in enumerate(labels)]


def claim(job: Job, worker: User, key: str = "worker-1") -> Job:
    """Hand this particular job to the worker, as a claim would (claims take the oldest)."""
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING,
        worker=worker,
        worker_key=key,
        claimed_at=now,
        lease_expires_at=now + timedelta(seconds=60),
        attempts=1,
    )
    job.refresh_from_db()
    return job


def finish(
    contest: Contest,
    job: Job,
    *,
    test_wrong: int = 0,
    validation_wrong: int = 0,
    success: bool = True,
) -> Job:
    """Claim (unless it runs already) and finish ``job``: each wrong label lowers its score by
    1/(points in the split); the tiny dataset has 4 test and 4 validation points (scores in
    steps of 0.25)."""
    if job.state != JobState.RUNNING:
        claim(job, contest.walter)
    labels = true_labels(contest.dataset)
    fields: dict[str, Any] = {
        "success": success,
        "labels_training": labels["training"],
        "labels_test": wrong(labels["test"], test_wrong),
        "labels_validation": wrong(labels["validation"], validation_wrong),
    }
    if not success:
        fields = {"success": False, "message": "it broke"}
    payload = result_fields.parse_result(fields)
    finished, stored = results.record_result(contest.walter, job, "worker-1", payload)
    assert stored
    return finished


def score(wrong_labels: int) -> float:
    return 1.0 - wrong_labels / 4
