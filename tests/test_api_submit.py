"""``POST /api/rounds/<id>/jobs/``: a student queues a job for their group with a JSON body
``{"algorithm": ..., "params": {...}}``; the server checks it against the registry, the round's
state and the group's quotas, and answers 201 with the job, or the one error body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mlcontest.contest import rounds
from mlcontest.contest.models import Group, Job, JobState, Membership
from tests.conftest import Contest, submit
from tests.protocol_helpers import assert_error, csrf_token, logged_in, ok_json


def path(round_id: object) -> str:
    return f"/api/rounds/{round_id}/jobs/"


def post_json(client: Client, round_id: object, body: Any, **extra: Any) -> Any:
    return client.post(path(round_id), json.dumps(body), content_type="application/json", **extra)


def test_student_submits_a_job(contest: Contest) -> None:
    body = {"algorithm": "knn", "params": {"n_neighbors": 3}}
    answer = ok_json(post_json(logged_in(contest.alice), contest.round.pk, body), 201)
    job = Job.objects.get()
    assert answer["id"] == job.pk and answer["state"] == "queued"
    assert answer["group"] == "Alpha" and answer["user"] == "alice"
    assert answer["algorithm"] == "knn" and answer["params"] == job.params
    assert job.group == contest.alpha and job.user == contest.alice
    assert job.round == contest.round and job.state == JobState.QUEUED
    # Missing parameters are completed with their defaults when the job is queued.
    assert job.params["n_neighbors"] == 3 and job.params["weights"] == "uniform"


def test_a_submit_reads_the_dataset_row_but_not_its_plot_points(contest: Contest) -> None:
    client = logged_in(contest.alice)
    with CaptureQueriesContext(connection) as queries:
        ok_json(post_json(client, contest.round.pk, {"algorithm": "knn"}), 201)
    read = [query["sql"] for query in queries]
    # The parameter checks need the dataset's row (training points, features), read with the
    # round; its preview (up to 2,000 points of JSON) is for the dataset card only.
    assert any("contest_dataset" in sql for sql in read)
    assert not any('"preview"' in sql for sql in read), read
    assert not any(sql.startswith('SELECT "contest_dataset"') for sql in read), read


def test_params_may_be_left_out(contest: Contest) -> None:
    ok_json(post_json(logged_in(contest.alice), contest.round.pk, {"algorithm": "knn"}), 201)
    assert Job.objects.get().params["n_neighbors"] == 5


def test_submitted_job_is_what_ping_hands_out(contest: Contest) -> None:
    answer = ok_json(post_json(logged_in(contest.bob), contest.round.pk, {"algorithm": "knn"}), 201)
    assert logged_in(contest.walter).post("/actions/ping/").json() == answer["id"]


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("no algorithm", {"params": {}}, "algorithm"),
    ("empty algorithm", {"algorithm": ""}, "algorithm"),
    ("algorithm not a string", {"algorithm": 3}, "algorithm"),
    ("unknown algorithm", {"algorithm": "oracle"}, "algorithm"),
    ("clustering in a classification round", {"algorithm": "kmeans"}, "algorithm"),
    ("params a list", {"algorithm": "knn", "params": [1]}, "params"),
    ("params a string", {"algorithm": "knn", "params": "n_neighbors=3"}, "params"),
    ("below minimum", {"algorithm": "knn", "params": {"n_neighbors": 0}}, "n_neighbors"),
    ("above maximum", {"algorithm": "knn", "params": {"n_neighbors": 10_000}}, "n_neighbors"),
    ("wrong type", {"algorithm": "knn", "params": {"n_neighbors": "many"}}, "n_neighbors"),
    ("bad choice", {"algorithm": "knn", "params": {"weights": "heavy"}}, "weights"),
    ("unknown param", {"algorithm": "knn", "params": {"depth": 3}}, "depth"),
]


@pytest.mark.parametrize(
    ("case", "body", "field"), BAD_BODIES, ids=[case for case, _, _ in BAD_BODIES]
)
def test_bad_job_is_400_naming_the_field(
    contest: Contest, case: str, body: Any, field: str
) -> None:
    response = post_json(logged_in(contest.alice), contest.round.pk, body)
    assert_error(response, 400, "invalid", (field,))
    assert not Job.objects.exists()


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"knn"', b"\xff\xfe"])
def test_body_that_is_not_a_json_object_is_400(contest: Contest, raw: bytes) -> None:
    client = logged_in(contest.alice)
    response = client.post(path(contest.round.pk), raw, content_type="application/json")
    assert_error(response, 400, "invalid")
    assert not Job.objects.exists()


def test_form_encoded_algorithm_is_accepted(contest: Contest) -> None:
    # What the seed's load() sends: form fields (a script can submit without JSON).
    response = logged_in(contest.alice).post(path(contest.round.pk), {"algorithm": "knn"})
    ok_json(response, 201)
    assert Job.objects.get().algorithm == "knn"


def test_student_without_group_is_told_to_join_one(contest: Contest) -> None:
    response = post_json(logged_in(contest.carol), contest.round.pk, {"algorithm": "knn"})
    assert_error(response, 409, "no_group")
    assert not Job.objects.exists()


def test_closed_round_refuses_jobs(contest: Contest) -> None:
    rounds.close_round(contest.olga, contest.round)
    response = post_json(logged_in(contest.alice), contest.round.pk, {"algorithm": "knn"})
    assert_error(response, 409, "round_not_open")
    assert not Job.objects.exists()


def test_draft_round_is_404_for_students(contest: Contest) -> None:
    draft = rounds.create_round(contest.olga, name="Draft", dataset=contest.dataset, metric="nmi")
    response = post_json(logged_in(contest.alice), draft.pk, {"algorithm": "kmeans"})
    assert_error(response, 404, "not_found")
    assert not Job.objects.exists()


def test_unknown_round_is_404(contest: Contest) -> None:
    response = post_json(logged_in(contest.alice), 999999, {"algorithm": "knn"})
    assert_error(response, 404, "not_found")


def test_queued_quota_is_enforced(contest: Contest) -> None:
    client = logged_in(contest.alice)
    for _ in range(contest.round.queued_quota):
        ok_json(post_json(client, contest.round.pk, {"algorithm": "knn"}), 201)
    body = assert_error(post_json(client, contest.round.pk, {"algorithm": "knn"}), 429)
    assert body["code"] == "quota_exceeded" and body["fields"]
    assert Job.objects.count() == contest.round.queued_quota
    # Another group has its own quota.
    ok_json(post_json(logged_in(contest.bob), contest.round.pk, {"algorithm": "knn"}), 201)


def test_job_quota_counts_every_job_of_the_round(contest: Contest) -> None:
    client = logged_in(contest.alice)
    for _ in range(contest.round.job_quota):
        ok_json(post_json(client, contest.round.pk, {"algorithm": "knn"}), 201)
        Job.objects.filter(state=JobState.QUEUED).update(state=JobState.DONE)
    body = assert_error(post_json(client, contest.round.pk, {"algorithm": "knn"}), 429)
    assert body["code"] == "quota_exceeded" and body["fields"]
    assert Job.objects.count() == contest.round.job_quota


def test_switching_group_does_not_give_a_second_entry(contest: Contest) -> None:
    submit(contest, contest.alice)
    Membership.objects.filter(user=contest.alice).update(
        group=Group.objects.create(name="Grüne Gruppe")
    )
    response = post_json(logged_in(contest.alice), contest.round.pk, {"algorithm": "knn"})
    assert_error(response, 409, "other_group")
    assert Job.objects.count() == 1


def test_organizer_submits_a_baseline(contest: Contest) -> None:
    body = {"algorithm": "knn", "baseline": True}
    answer = ok_json(post_json(logged_in(contest.olga), contest.round.pk, body), 201)
    assert answer["baseline"] is True and answer["group"] is None
    assert Job.objects.get().group is None


@pytest.mark.parametrize("who", ["alice", "walter"])
def test_only_organizers_submit_baselines(contest: Contest, who: str) -> None:
    body = {"algorithm": "knn", "baseline": True}
    assert_error(post_json(logged_in(getattr(contest, who)), contest.round.pk, body), 403)
    assert not Job.objects.exists()


def test_worker_without_group_cannot_submit(contest: Contest) -> None:
    response = post_json(logged_in(contest.walter), contest.round.pk, {"algorithm": "knn"})
    assert_error(response, 409, "no_group")
    assert not Job.objects.exists()


def test_anonymous_submit_is_401(contest: Contest) -> None:
    response = post_json(logged_in(None), contest.round.pk, {"algorithm": "knn"})
    assert_error(response, 401, "not_authenticated")
    assert not Job.objects.exists()


def test_submit_needs_csrf_with_a_session(contest: Contest) -> None:
    client = logged_in(contest.alice, enforce_csrf_checks=True)
    response = post_json(client, contest.round.pk, {"algorithm": "knn"})
    assert_error(response, 403, "csrf_failed")
    assert not Job.objects.exists()
    token = csrf_token(client)
    response = post_json(client, contest.round.pk, {"algorithm": "knn"}, HTTP_X_CSRFTOKEN=token)
    ok_json(response, 201)
    assert Job.objects.count() == 1


def test_method_other_than_get_or_post_is_405(contest: Contest) -> None:
    response = logged_in(contest.alice).put(path(contest.round.pk), "{}")
    assert_error(response, 405, "method_not_allowed")
