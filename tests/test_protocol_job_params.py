"""The seed's ``get_job_params``: workers only, ``{"algorithm", "dataset", "params"}``."""

from __future__ import annotations

import pytest

from tests.conftest import Contest, submit
from tests.protocol_helpers import assert_error, job_row, logged_in, ok_json


def path(job_id: object) -> str:
    return f"/actions/get_job_params/{job_id}.json/"


@pytest.mark.parametrize("method", ["get", "post"])
def test_worker_reads_job_params(contest: Contest, method: str) -> None:
    job = submit(contest, contest.alice, n_neighbors=3, weights="distance")
    before = job_row(job)
    body = ok_json(getattr(logged_in(contest.walter), method)(path(job.pk)))
    assert body["algorithm"] == "knn"
    assert body["dataset"] == contest.dataset.pk
    # The server completes the parameters with their defaults, so the worker needs no registry.
    assert body["params"]["n_neighbors"] == 3 and body["params"]["weights"] == "distance"
    assert body["params"] == job.params
    assert body["id"] == job.pk and body["round"] == contest.round.pk
    assert body["task"] == "classification" and body["metric"] == "accuracy"
    assert body["dataset_version"] == contest.dataset.version
    assert job_row(job) == before  # reading claims nothing


def test_organizer_reads_job_params(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    assert ok_json(logged_in(contest.olga).post(path(job.pk)))["algorithm"] == "knn"


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_students_may_not_read_job_params(contest: Contest, who: str) -> None:
    # Even the group that submitted the job: this is the worker's request.
    job = submit(contest, contest.alice)
    assert_error(logged_in(getattr(contest, who)).post(path(job.pk)), 403, "forbidden")


def test_anonymous_job_params_is_401(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    assert_error(logged_in(None).post(path(job.pk)), 401, "not_authenticated")


@pytest.mark.parametrize("job_id", ["999999", "abc", "-1"])
def test_unknown_job_is_404(contest: Contest, job_id: str) -> None:
    assert_error(logged_in(contest.walter).post(path(job_id)), 404, "not_found")
