"""The seed's ``ping``: a worker asks for a job and gets its id (a bare JSON number) or
``null``. A claim holds a lease; a job whose lease ran out goes back to the queue at the next
ping, and a job lost ``MAX_ATTEMPTS`` times fails. Leases are moved into the past in the
database instead of waiting for them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from mlcontest.contest.models import Job, JobState, WorkerSeen
from tests.conftest import Contest, result_fields, submit, true_labels
from tests.protocol_helpers import (
    assert_error,
    b64,
    job_row,
    logged_in,
    ok_json,
    ping,
    png_bytes,
)

PING = "/actions/ping/"


def expire(job_id: int) -> None:
    """The holder stopped answering: its lease ended a minute ago."""
    past = timezone.now() - timedelta(minutes=1)
    assert Job.objects.filter(pk=job_id).update(lease_expires_at=past) == 1


def post_result(client: Client, contest: Contest, job_id: int) -> Any:
    return client.post(
        f"/actions/update_job_details/{job_id}.json/", result_fields(true_labels(contest.dataset))
    )


def test_empty_queue_answers_bare_null(contest: Contest) -> None:
    response = logged_in(contest.walter).post(PING)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.content == b"null"


def test_ping_claims_oldest_job_as_bare_number(contest: Contest, settings: Any) -> None:
    settings.LEASE_SECONDS = 120
    first = submit(contest, contest.alice)
    submit(contest, contest.bob)
    worker = logged_in(contest.walter)
    response = worker.post(PING, {"api": "1"})
    assert response.content == str(first.pk).encode()
    job = Job.objects.get(pk=first.pk)
    assert job.state == JobState.RUNNING and job.worker == contest.walter
    assert job.worker_key == f"session:{worker.session.session_key}"
    assert job.attempts == 1 and job.claimed_at is not None
    assert job.lease_expires_at is not None
    lease = (job.lease_expires_at - job.claimed_at).total_seconds()
    assert lease == pytest.approx(120, abs=1)


def test_each_job_goes_to_one_worker(contest: Contest) -> None:
    jobs = [submit(contest, contest.alice), submit(contest, contest.bob)]
    one, two, three = (logged_in(contest.walter) for _ in range(3))
    assert [ping(one), ping(two), ping(three)] == [jobs[0].pk, jobs[1].pk, None]
    keys = set(Job.objects.values_list("worker_key", flat=True))
    assert len(keys) == 2


def test_ping_records_the_worker(contest: Contest) -> None:
    worker = logged_in(contest.walter)
    ping(worker)
    seen = WorkerSeen.objects.get(worker_key=f"session:{worker.session.session_key}")
    assert seen.user == contest.walter


def test_worker_name_is_kept(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    response = logged_in(contest.walter).post(PING, {"worker_name": "lab-pc-07"})
    assert response.json() == job.pk
    assert Job.objects.get(pk=job.pk).worker_name == "lab-pc-07"


def test_organizer_may_ping(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    assert ping(logged_in(contest.olga)) == job.pk


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_students_may_not_ping(contest: Contest, who: str) -> None:
    job = submit(contest, contest.alice)
    before = job_row(job)
    assert_error(logged_in(getattr(contest, who)).post(PING), 403, "forbidden")
    assert job_row(job) == before


def test_anonymous_ping_is_401(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    before = job_row(job)
    assert_error(logged_in(None).post(PING), 401, "not_authenticated")
    assert job_row(job) == before


@pytest.mark.parametrize("wait", ["soon", "nan", "NaN", "inf", "-inf"])
def test_bad_wait_is_400(contest: Contest, wait: str) -> None:
    # A job is queued so that a wrongly accepted wait answers at once instead of hanging:
    # a NaN deadline is never reached, so an empty queue would hold the thread for ever.
    job = submit(contest, contest.alice)
    before = job_row(job)
    response = logged_in(contest.walter).post(PING, {"wait": wait})
    assert_error(response, 400, "invalid", ("wait",))
    assert job_row(job) == before


def test_short_wait_on_empty_queue_answers_null(contest: Contest) -> None:
    assert logged_in(contest.walter).post(PING, {"wait": "0.1"}).content == b"null"


# Leases


def test_expired_lease_returns_job_to_queue_at_next_ping(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    lost, other = logged_in(contest.walter), logged_in(contest.walter)
    assert ping(lost) == job.pk
    expire(job.pk)
    assert ping(other) == job.pk
    claimed = Job.objects.get(pk=job.pk)
    assert claimed.state == JobState.RUNNING and claimed.attempts == 2
    assert claimed.worker_key == f"session:{other.session.session_key}"
    assert claimed.lease_expires_at is not None and claimed.lease_expires_at > timezone.now()
    # The worker that lost it can no longer post for it; the new holder can.
    assert_error(post_result(lost, contest, job.pk), 409, "not_holder")
    picture = {"filename": "p.png", "data": b64(png_bytes())}
    assert_error(lost.post(f"/actions/add_job_picture/{job.pk}.json/", picture), 409)
    assert ok_json(post_result(other, contest, job.pk))["stored"] is True


def test_live_lease_is_not_taken(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    assert ping(logged_in(contest.walter)) == job.pk
    assert ping(logged_in(contest.walter)) is None
    assert Job.objects.get(pk=job.pk).attempts == 1


def test_zero_second_lease_is_taken_over(contest: Contest, settings: Any) -> None:
    settings.LEASE_SECONDS = -1  # the lease ends before the claim returns
    job = submit(contest, contest.alice)
    assert ping(logged_in(contest.walter)) == job.pk
    assert ping(logged_in(contest.walter)) == job.pk


def test_requeued_job_keeps_its_place_in_line(contest: Contest) -> None:
    older = submit(contest, contest.alice)
    assert ping(logged_in(contest.walter)) == older.pk
    newer = submit(contest, contest.bob)
    expire(older.pk)
    worker = logged_in(contest.walter)
    assert ping(worker) == older.pk
    assert ping(worker) == newer.pk


def test_late_result_before_anyone_else_claims_is_accepted(contest: Contest) -> None:
    # An expired lease is only taken back at the next ping: a slow worker is not punished.
    job = submit(contest, contest.alice)
    slow = logged_in(contest.walter)
    assert ping(slow) == job.pk
    expire(job.pk)
    assert ok_json(post_result(slow, contest, job.pk))["stored"] is True
    assert ping(logged_in(contest.walter)) is None
    assert Job.objects.get(pk=job.pk).state == JobState.DONE


def test_job_lost_max_attempts_times_fails(contest: Contest, settings: Any) -> None:
    settings.MAX_ATTEMPTS = 3
    job = submit(contest, contest.alice)
    for attempt in (1, 2, 3):
        assert ping(logged_in(contest.walter)) == job.pk
        assert Job.objects.get(pk=job.pk).attempts == attempt
        expire(job.pk)
    assert ping(logged_in(contest.walter)) is None
    failed = Job.objects.get(pk=job.pk)
    assert failed.state == JobState.FAILED and failed.success is False
    assert failed.score_test is None and failed.lease_expires_at is None
    assert "Lost by 3 workers" in failed.message
    assert failed.finished_at is not None


def test_failed_lost_job_refuses_the_late_result(contest: Contest, settings: Any) -> None:
    settings.MAX_ATTEMPTS = 1
    job = submit(contest, contest.alice)
    late = logged_in(contest.walter)
    assert ping(late) == job.pk
    expire(job.pk)
    assert ping(logged_in(contest.walter)) is None
    failed = job_row(job)
    assert failed["state"] == JobState.FAILED
    assert_error(post_result(late, contest, job.pk), 409, "already_finished")
    assert job_row(job) == failed


def test_lost_job_does_not_block_the_next(contest: Contest, settings: Any) -> None:
    settings.MAX_ATTEMPTS = 1
    lost = submit(contest, contest.alice)
    assert ping(logged_in(contest.walter)) == lost.pk
    waiting = submit(contest, contest.bob)
    expire(lost.pk)
    assert ping(logged_in(contest.walter)) == waiting.pk
    assert Job.objects.get(pk=lost.pk).state == JobState.FAILED


# Beyond the seed: renewing and handing back a claim.


def test_holder_renews_its_lease(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    worker = logged_in(contest.walter)
    assert ping(worker) == job.pk
    expire(job.pk)
    body = ok_json(worker.post(f"/actions/renew_lease/{job.pk}.json/"))
    assert body["status"] == "ok"
    assert Job.objects.get(pk=job.pk).lease_expires_at > timezone.now()  # type: ignore[operator]
    assert ping(logged_in(contest.walter)) is None


def test_only_the_holder_renews_or_releases(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    assert ping(logged_in(contest.walter)) == job.pk
    before = job_row(job)
    other = logged_in(contest.walter)
    assert_error(other.post(f"/actions/renew_lease/{job.pk}.json/"), 409, "not_holder")
    assert_error(other.post(f"/actions/release_job/{job.pk}.json/"), 409, "not_holder")
    assert_error(logged_in(contest.alice).post(f"/actions/renew_lease/{job.pk}.json/"), 403)
    assert job_row(job) == before


def test_released_job_is_claimed_again_without_counting_a_loss(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    worker = logged_in(contest.walter)
    assert ping(worker) == job.pk
    assert ok_json(worker.post(f"/actions/release_job/{job.pk}.json/"))["state"] == "queued"
    assert Job.objects.get(pk=job.pk).attempts == 0
    assert ping(logged_in(contest.walter)) == job.pk
    assert Job.objects.get(pk=job.pk).attempts == 1


def test_ping_with_params_answers_the_claimed_job_and_its_parameters(contest: Contest) -> None:
    job = submit(contest, contest.alice, n_neighbors=3)
    worker = logged_in(contest.walter)
    answer = ok_json(worker.post(PING, {"with_params": "1"}))
    assert answer["id"] == job.pk
    assert answer["params"] == ok_json(worker.post(f"/actions/get_job_params/{job.pk}.json/"))
    assert answer["params"]["params"]["n_neighbors"] == 3
    assert Job.objects.get(pk=job.pk).state == JobState.RUNNING
    # Nothing queued: still the bare null the seed knows.
    assert worker.post(PING, {"with_params": "1"}).content == b"null"
