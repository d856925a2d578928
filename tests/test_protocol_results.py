"""The seed's ``update_job_details``: a worker posts scores, labels, extra scores, a message and
success, encoded as the seed encodes them (JSON lists, ``True``/``False``, the string ``None``).
The server recomputes every score from the labels; bad input is a 400 naming the field and
stores nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from typing import Any

import pytest
from django.test import Client

from mlcontest.contest import datasets, rounds
from mlcontest.contest.models import Job, JobState, Round
from mlcontest.contest.result_fields import ResultPayload
from tests.conftest import Contest, result_fields, submit, true_labels
from tests.protocol_helpers import assert_error, job_row, logged_in, ok_json, ping


def path(job_id: object) -> str:
    return f"/actions/update_job_details/{job_id}.json/"


@dataclass
class Claimed:
    job: Job
    worker: Client
    labels: dict[str, list[str]]


@pytest.fixture
def claimed(contest: Contest) -> Claimed:
    """A job of alice's group, claimed by walter's session through ``ping``."""
    job = submit(contest, contest.alice, n_neighbors=1)
    worker = logged_in(contest.walter)
    assert ping(worker) == job.pk
    job.refresh_from_db()
    return Claimed(job, worker, true_labels(contest.dataset))


def leaderboard_version(contest: Contest) -> int:
    return Round.objects.values_list("leaderboard_version", flat=True).get(pk=contest.round.pk)


def wrong(labels: list[str], count: int) -> list[str]:
    """``labels`` with the first ``count`` swapped to the other class."""
    return [
        ("b" if label == "a" else "a") if i < count else label for i, label in enumerate(labels)
    ]


def test_result_is_stored_and_scored_by_server(contest: Contest, claimed: Claimed) -> None:
    version = leaderboard_version(contest)
    fields = result_fields(
        claimed.labels, extra_scores_test=json.dumps({"f1_macro": 1.0, "accuracy": 1.0})
    )
    body = ok_json(claimed.worker.post(path(claimed.job.pk), fields))
    assert body["status"] == "ok" and body["stored"] is True
    assert body["job"]["state"] == "done" and body["job"]["score_test"] == 1.0
    job = Job.objects.get(pk=claimed.job.pk)
    assert job.state == JobState.DONE and job.success is True
    assert job.score_test == 1.0 and job.score_validation == 1.0
    assert job.worker_score_test == 1.0 and job.score_mismatch is False
    assert job.labels_test == claimed.labels["test"]
    assert job.labels_training == claimed.labels["training"]
    assert job.labels_validation == claimed.labels["validation"]
    assert job.message == ""  # the seed's message=None arrives as the string "None"
    # The server's own metrics, every one; what the worker posted as extra scores is dropped.
    assert job.extra_scores_test == {"accuracy": 1.0, "balanced_accuracy": 1.0, "f1_macro": 1.0}
    assert job.extra_scores_validation == job.extra_scores_test
    assert job.finished_at is not None and job.lease_expires_at is None
    assert job.result_digest
    assert leaderboard_version(contest) == version + 1


def test_server_score_counts_and_disagreement_is_flagged(
    contest: Contest, claimed: Claimed
) -> None:
    labels = dict(claimed.labels, test=wrong(claimed.labels["test"], 2))
    n_test = len(labels["test"])
    ok_json(claimed.worker.post(path(claimed.job.pk), result_fields(labels, score_test="1.0")))
    job = Job.objects.get(pk=claimed.job.pk)
    assert job.score_test == pytest.approx((n_test - 2) / n_test)
    assert job.worker_score_test == 1.0
    assert job.score_mismatch is True
    assert job.score_validation == 1.0


def test_agreeing_worker_score_is_not_flagged(contest: Contest, claimed: Claimed) -> None:
    labels = dict(claimed.labels, test=wrong(claimed.labels["test"], 1))
    score = (len(labels["test"]) - 1) / len(labels["test"])
    ok_json(
        claimed.worker.post(path(claimed.job.pk), result_fields(labels, score_test=repr(score)))
    )
    job = Job.objects.get(pk=claimed.job.pk)
    assert job.score_test == pytest.approx(score) and job.score_mismatch is False


def test_scores_sent_as_none_are_computed(contest: Contest, claimed: Claimed) -> None:
    fields = result_fields(claimed.labels, score_test="None", score_validation="None")
    ok_json(claimed.worker.post(path(claimed.job.pk), fields))
    job = Job.objects.get(pk=claimed.job.pk)
    assert job.score_test == 1.0 and job.worker_score_test is None
    assert job.score_mismatch is False


def test_message_is_kept(contest: Contest, claimed: Claimed) -> None:
    fields = result_fields(claimed.labels, message="Trained in 0.01 s. Grüße!")
    ok_json(claimed.worker.post(path(claimed.job.pk), fields))
    assert Job.objects.get(pk=claimed.job.pk).message == "Trained in 0.01 s. Grüße!"


def test_failed_job_is_stored_without_scores(contest: Contest, claimed: Claimed) -> None:
    fields = result_fields(
        claimed.labels,
        success="False",
        message="ValueError: n_neighbors > n_samples",
        labels_training="null",
        labels_test="null",
        labels_validation="null",
        extra_scores_test=json.dumps({"accuracy": 1.0}),
        extra_scores_validation=json.dumps({"balanced_accuracy": 0.5}),
    )
    body = ok_json(claimed.worker.post(path(claimed.job.pk), fields))
    assert body["job"]["state"] == "failed"
    job = Job.objects.get(pk=claimed.job.pk)
    assert job.state == JobState.FAILED and job.success is False
    assert job.score_test is None and job.score_validation is None
    assert job.extra_scores_test is None and job.extra_scores_validation is None
    assert job.message == "ValueError: n_neighbors > n_samples"


def test_integer_labels_match_numeric_classes(contest: Contest) -> None:
    table = datasets.DatasetTable(
        ["x"],
        [[float(i)] for i in range(20)],
        ["0", "1"] * 10,
        datasets.assign_splits(["0", "1"] * 10, seed=1),
    )
    dataset = datasets.store_dataset("numeric", table)
    round_ = rounds.create_round(contest.olga, name="R2", dataset=dataset, metric="accuracy")
    rounds.open_round(contest.olga, round_)
    contest.round = round_
    job = submit(contest, contest.alice)
    worker = logged_in(contest.walter)
    assert ping(worker) == job.pk
    labels = {
        split: [int(label) for label in values] for split, values in true_labels(dataset).items()
    }
    ok_json(worker.post(path(job.pk), result_fields(labels)))  # type: ignore[arg-type]
    assert Job.objects.get(pk=job.pk).score_test == 1.0


BAD_FIELDS: list[tuple[str, Any]] = [
    ("score_test", "nan"),
    ("score_test", "NaN"),
    ("score_test", "inf"),
    ("score_test", "1.5"),
    ("score_validation", "-0.1"),
    ("score_test", "high"),
    ("success", "maybe"),
    ("labels_training", "[1, 2"),
    ("labels_test", "not json"),
    ("labels_test", '{"a": 1}'),
    ("labels_validation", '"a"'),
    ("extra_scores_test", "[1, 2]"),
    ("extra_scores_test", '{"f1": "high"}'),
    ("extra_scores_validation", '{"f1": NaN}'),
    ("extra_scores_validation", "{"),
    ("extra_scores_test", '{"f1": true}'),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS, ids=[f"{f}={v}" for f, v in BAD_FIELDS])
def test_bad_field_is_400_and_nothing_stored(
    contest: Contest, claimed: Claimed, field: str, value: Any
) -> None:
    before = job_row(claimed.job)
    version = leaderboard_version(contest)
    response = claimed.worker.post(
        path(claimed.job.pk), result_fields(claimed.labels, **{field: value})
    )
    assert_error(response, 400, "invalid", (field,))
    assert job_row(claimed.job) == before
    assert leaderboard_version(contest) == version


def label_cases(labels: dict[str, list[str]]) -> list[tuple[str, list[Any]]]:
    return [
        ("labels_test", labels["test"][:-1]),
        ("labels_test", [*labels["test"], "a"]),
        ("labels_training", []),
        ("labels_validation", ["c"] * len(labels["validation"])),
        ("labels_test", [None] * len(labels["test"])),
        ("labels_test", [1.5] * len(labels["test"])),
        ("labels_test", [["a"]] * len(labels["test"])),
        ("labels_training", [True] * len(labels["training"])),
    ]


@pytest.mark.parametrize("case", range(8))
def test_labels_that_do_not_fit_are_refused(contest: Contest, claimed: Claimed, case: int) -> None:
    field, values = label_cases(claimed.labels)[case]
    before = job_row(claimed.job)
    fields = result_fields(claimed.labels, **{field: json.dumps(values)})
    assert_error(claimed.worker.post(path(claimed.job.pk), fields), 400, "invalid", (field,))
    assert job_row(claimed.job) == before


def test_missing_labels_of_a_success_are_refused(contest: Contest, claimed: Claimed) -> None:
    before = job_row(claimed.job)
    fields = result_fields(claimed.labels)
    del fields["labels_validation"]
    response = claimed.worker.post(path(claimed.job.pk), fields)
    assert_error(response, 400, "invalid", ("labels_validation",))
    assert job_row(claimed.job) == before


def test_every_bad_field_is_named_at_once(contest: Contest, claimed: Claimed) -> None:
    fields = result_fields(claimed.labels, score_test="nan", success="perhaps", labels_test="[")
    body = assert_error(claimed.worker.post(path(claimed.job.pk), fields), 400)
    assert {"score_test", "success", "labels_test"} <= set(body["fields"])


def test_same_result_twice_is_stored_once(contest: Contest, claimed: Claimed) -> None:
    fields = result_fields(claimed.labels)
    assert ok_json(claimed.worker.post(path(claimed.job.pk), fields))["stored"] is True
    after_first = job_row(claimed.job)
    version = leaderboard_version(contest)
    second = ok_json(claimed.worker.post(path(claimed.job.pk), fields))
    assert second["status"] == "ok" and second["stored"] is False
    assert job_row(claimed.job) == after_first
    assert leaderboard_version(contest) == version


def test_the_digest_tells_results_apart_but_not_how_labels_were_encoded() -> None:
    def payload(training: list[Any] | None, test: list[Any] | None = None) -> ResultPayload:
        return ResultPayload(True, 0.5, 0.5, training, test or ["a"], ["b"], None, None, "")

    same = payload(["0", "1", "1"]).digest()
    assert payload([0, 1, 1]).digest() == same  # cluster ids as numbers or as strings
    assert payload(["0", "1", "0"]).digest() != same
    assert payload(["0", "1"], ["1", "a"]).digest() != same  # a label moved between splits
    assert payload([]).digest() != payload([""]).digest() != payload(None).digest()
    assert dataclass_replace(payload(["0", "1", "1"]), message="x").digest() != same


def test_another_result_for_a_finished_job_is_a_conflict(
    contest: Contest, claimed: Claimed
) -> None:
    ok_json(claimed.worker.post(path(claimed.job.pk), result_fields(claimed.labels)))
    stored = job_row(claimed.job)
    other = result_fields(dict(claimed.labels, test=wrong(claimed.labels["test"], 3)))
    assert_error(claimed.worker.post(path(claimed.job.pk), other), 409, "already_finished")
    assert job_row(claimed.job) == stored


def test_result_from_another_worker_session_is_refused(contest: Contest, claimed: Claimed) -> None:
    # Same worker account, another process (session): it does not hold the claim.
    before = job_row(claimed.job)
    other = logged_in(contest.walter)
    response = other.post(path(claimed.job.pk), result_fields(claimed.labels))
    assert_error(response, 409, "not_holder")
    assert job_row(claimed.job) == before


def test_result_from_organizer_who_does_not_hold_is_refused(
    contest: Contest, claimed: Claimed
) -> None:
    before = job_row(claimed.job)
    response = logged_in(contest.olga).post(path(claimed.job.pk), result_fields(claimed.labels))
    assert_error(response, 409, "not_holder")
    assert job_row(claimed.job) == before


def test_same_result_from_another_session_after_done_is_refused(
    contest: Contest, claimed: Claimed
) -> None:
    fields = result_fields(claimed.labels)
    ok_json(claimed.worker.post(path(claimed.job.pk), fields))
    stored = job_row(claimed.job)
    response = logged_in(contest.walter).post(path(claimed.job.pk), fields)
    assert_error(response, 409, "already_finished")
    assert job_row(claimed.job) == stored


def test_result_for_a_queued_job_is_refused(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    before = job_row(job)
    labels = true_labels(contest.dataset)
    response = logged_in(contest.walter).post(path(job.pk), result_fields(labels))
    assert_error(response, 409, "not_holder")
    assert job_row(job) == before


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_students_may_not_post_results(contest: Contest, claimed: Claimed, who: str) -> None:
    before = job_row(claimed.job)
    response = logged_in(getattr(contest, who)).post(
        path(claimed.job.pk), result_fields(claimed.labels)
    )
    assert_error(response, 403, "forbidden")
    assert job_row(claimed.job) == before


def test_anonymous_result_is_401(contest: Contest, claimed: Claimed) -> None:
    before = job_row(claimed.job)
    response = logged_in(None).post(path(claimed.job.pk), result_fields(claimed.labels))
    assert_error(response, 401, "not_authenticated")
    assert job_row(claimed.job) == before


def test_result_is_post_only(contest: Contest, claimed: Claimed) -> None:
    assert_error(claimed.worker.get(path(claimed.job.pk)), 405, "method_not_allowed")


def test_result_for_unknown_job_is_404(contest: Contest, claimed: Claimed) -> None:
    response = claimed.worker.post(path(999999), result_fields(claimed.labels))
    assert_error(response, 404, "not_found")


def test_result_needs_csrf_token(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    worker = logged_in(contest.walter, enforce_csrf_checks=True)
    token = worker.get("/env.json/").json()["csrftoken"]
    claimed = worker.post("/actions/ping/", {"csrfmiddlewaretoken": token, "api": "1"})
    assert claimed.json() == job.pk
    before = job_row(job)
    fields = result_fields(true_labels(contest.dataset))
    assert_error(worker.post(path(job.pk), fields), 403, "csrf_failed")
    assert job_row(job) == before
    ok_json(worker.post(path(job.pk), {**fields, "csrfmiddlewaretoken": token, "api": "1"}))
    assert Job.objects.get(pk=job.pk).state == JobState.DONE


def test_requeue_between_read_and_write_is_not_holder(contest: Contest, claimed: Claimed) -> None:
    """The view reads the job, then writes the result under "still held by this worker"; if the
    lease is taken back in between, the answer must say the worker lost the job, not that the
    job has a result (it has none)."""
    from mlcontest.contest import queue, results
    from mlcontest.contest.errors import Conflict
    from mlcontest.contest.result_fields import parse_result

    stale = Job.objects.get(pk=claimed.job.pk)  # what the view read: running, held
    Job.objects.filter(pk=stale.pk).update(state=JobState.QUEUED, worker_key="")
    before = job_row(stale)
    payload = parse_result(result_fields(claimed.labels))
    with pytest.raises(Conflict) as refused:
        results.record_result(contest.walter, stale, stale.worker_key, payload)
    assert refused.value.code == "not_holder"
    assert job_row(stale) == before
    assert queue.get_job(stale.pk).result_digest == ""
