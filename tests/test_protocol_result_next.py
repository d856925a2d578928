"""``update_job_details`` beyond the seed: the fields as one JSON body, and ``next`` (the
worker's next job claimed in the same request, so that a busy worker makes one request per
job). The seed's form encoding is covered by test_protocol_results.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from mlcontest.contest.models import ApiToken, Job, JobState
from tests.conftest import Contest, submit, true_labels
from tests.protocol_helpers import assert_error, job_row, logged_in, ok_json, ping


def path(job_id: object) -> str:
    return f"/actions/update_job_details/{job_id}.json/"


def result_body(contest: Contest, **overrides: Any) -> dict[str, Any]:
    """A perfect result as our client sends it: native JSON types, not the seed's strings."""
    labels = true_labels(contest.dataset)
    body: dict[str, Any] = {
        "score_test": 1.0,
        "score_validation": 1.0,
        "labels_training": labels["training"],
        "labels_test": labels["test"],
        "labels_validation": labels["validation"],
        "extra_scores_test": {"f1_macro": 1.0},
        "extra_scores_validation": None,
        "message": "Fitted in 0.001 s.",
        "success": True,
        "timings": {"fit": 0.001},
    }
    body.update(overrides)
    return body


def post_json(client: Client, job_id: int, body: Any, **headers: Any) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(path(job_id), data, content_type="application/json", **headers)


def claimed_by_walter(contest: Contest) -> tuple[Client, Job]:
    first = submit(contest, contest.alice)
    worker = logged_in(contest.walter)
    assert ping(worker) == first.pk
    return worker, first


def holder_of(client: Client) -> str:
    return f"session:{client.session.session_key}"


def test_json_body_is_stored_as_the_form_is(contest: Contest) -> None:
    worker, job = claimed_by_walter(contest)
    answer = ok_json(post_json(worker, job.pk, result_body(contest)))
    assert answer["stored"] is True and answer["job"]["state"] == "done"
    assert "next" not in answer  # not asked for
    stored = Job.objects.get(pk=job.pk)
    labels = true_labels(contest.dataset)
    assert stored.state == JobState.DONE and stored.success is True
    assert stored.score_test == 1.0 and stored.score_validation == 1.0
    assert stored.labels_test == labels["test"]
    assert stored.labels_training == labels["training"]
    assert stored.message == "Fitted in 0.001 s." and stored.timings == {"fit": 0.001}
    assert stored.extra_scores_test is not None and stored.extra_scores_test["accuracy"] == 1.0


def test_next_claims_the_oldest_queued_job_with_its_parameters(contest: Contest) -> None:
    worker, job = claimed_by_walter(contest)
    second = submit(contest, contest.bob, "decision_tree", max_depth=3)
    submit(contest, contest.alice)  # a third, still queued afterwards
    answer = ok_json(post_json(worker, job.pk, result_body(contest, next=True)))
    assert answer["stored"] is True
    following = answer["next"]
    assert following["id"] == second.pk
    params = following["params"]
    assert params["algorithm"] == "decision_tree" and params["params"]["max_depth"] == 3
    assert params["dataset"] == contest.dataset.pk and params["state"] == "running"
    assert params["dataset_version"] == contest.dataset.version
    # The same parameters get_job_params answers.
    assert ok_json(worker.post(f"/actions/get_job_params/{second.pk}.json/", {"api": "1"})) == (
        json.loads(json.dumps(params))
    )
    claimed = job_row(second)
    assert claimed["state"] == JobState.RUNNING and claimed["worker_key"] == holder_of(worker)
    assert claimed["attempts"] == 1 and claimed["lease_expires_at"] is not None
    assert Job.objects.filter(state=JobState.QUEUED).count() == 1


def test_next_is_null_when_the_queue_is_empty(contest: Contest) -> None:
    worker, job = claimed_by_walter(contest)
    answer = ok_json(post_json(worker, job.pk, result_body(contest, next=True)))
    assert answer["stored"] is True and answer["next"] is None
    assert not Job.objects.filter(state=JobState.RUNNING).exists()


def test_next_in_the_seeds_form_encoding_works_too(contest: Contest) -> None:
    from tests.conftest import result_fields

    worker, job = claimed_by_walter(contest)
    second = submit(contest, contest.bob)
    fields = result_fields(true_labels(contest.dataset), next="1")
    answer = ok_json(worker.post(path(job.pk), fields))
    assert answer["next"]["id"] == second.pk
    assert job_row(second)["worker_key"] == holder_of(worker)


def test_repeated_post_answers_the_job_its_lost_answer_claimed(contest: Contest) -> None:
    """The worker posts, the answer is lost on the way back, the worker posts again: it must
    learn the job the first post claimed for it, and no second job is claimed."""
    worker, job = claimed_by_walter(contest)
    second = submit(contest, contest.bob)
    third = submit(contest, contest.alice)
    body = result_body(contest, next=True)
    first_answer = ok_json(post_json(worker, job.pk, body))
    assert first_answer["next"]["id"] == second.pk
    again = ok_json(post_json(worker, job.pk, body))
    assert again["stored"] is False and again["next"]["id"] == second.pk
    assert job_row(second)["attempts"] == 1
    assert job_row(third)["state"] == JobState.QUEUED


def test_refused_result_claims_nothing(contest: Contest) -> None:
    _holder, job = claimed_by_walter(contest)
    second = submit(contest, contest.bob)
    other = logged_in(contest.walter)  # another session: not the holder
    before = job_row(job)
    assert_error(post_json(other, job.pk, result_body(contest, next=True)), 409, "not_holder")
    assert job_row(job) == before
    assert job_row(second)["state"] == JobState.QUEUED


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"text"'])
def test_body_that_is_not_a_json_object_is_400(contest: Contest, body: str) -> None:
    worker, job = claimed_by_walter(contest)
    before = job_row(job)
    assert_error(post_json(worker, job.pk, body), 400, "invalid")
    assert job_row(job) == before


def test_bad_field_in_json_is_named(contest: Contest) -> None:
    worker, job = claimed_by_walter(contest)
    body = result_body(contest, score_test=1.5, labels_test={"a": 1})
    assert_error(post_json(worker, job.pk, body), 400, "invalid", ("score_test", "labels_test"))
    assert job_row(job)["state"] == JobState.RUNNING


def test_json_body_needs_the_csrf_header(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    worker = logged_in(contest.walter, enforce_csrf_checks=True)
    token = worker.get("/env.json/").json()["csrftoken"]
    assert worker.post("/actions/ping/", {"csrfmiddlewaretoken": token}).json() == job.pk
    body = result_body(contest)
    assert_error(post_json(worker, job.pk, body), 403, "csrf_failed")
    assert job_row(job)["state"] == JobState.RUNNING
    ok_json(post_json(worker, job.pk, body, HTTP_X_CSRFTOKEN=token))
    assert job_row(job)["state"] == JobState.DONE


def test_token_workers_are_told_apart_by_the_worker_name_in_the_body(contest: Contest) -> None:
    _, key = ApiToken.issue(contest.walter, "workers")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    job = submit(contest, contest.alice)
    second = submit(contest, contest.bob)
    client = Client()
    ping_fields = {"worker_name": "box-1"}
    claimed = client.post("/actions/ping/", ping_fields, HTTP_AUTHORIZATION=f"Token {key}").json()
    assert claimed == job.pk
    body = result_body(contest, next=True)
    refused = post_json(client, job.pk, {**body, "worker_name": "box-2"}, **auth)
    assert_error(refused, 409, "not_holder")
    answer = ok_json(post_json(client, job.pk, {**body, "worker_name": "box-1"}, **auth))
    assert answer["next"]["id"] == second.pk
    token_id = ApiToken.objects.get(user=contest.walter).pk
    assert job_row(second)["worker_key"] == f"token:{token_id}:box-1"
