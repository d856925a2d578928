from mlcontest.contest import queue, results
from mlcontest.contest.models import JobState
from tests.conftest import Contest, submit, true_labels


def test_claim_and_record_roundtrip(contest: Contest) -> None:
    job = submit(contest, contest.alice, n_neighbors=1)
    assert queue.claim_next(contest.walter, "k1") == job.pk
    job.refresh_from_db()
    labels = true_labels(contest.dataset)
    payload = results.parse_result({
        "success": "True", "labels_training": labels["training"],
        "labels_test": labels["test"], "labels_validation": labels["validation"]})
    job, stored = results.record_result(contest.walter, job, "k1", payload)
    assert stored and job.state == JobState.DONE and job.score_test == 1.0
