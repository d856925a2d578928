"""Who may call what, endpoint by endpoint, and what each role must never see.

The matrix names the status each role gets from each seed endpoint: anonymous callers get 401
JSON (never a redirect to a login page), a missing role 403, and a worker that passes the role
check but does not hold the job 409. Students never see true labels of test and validation
points, other groups' jobs, or validation scores of an open round."""

from __future__ import annotations

from typing import Any

import pytest

from mlcontest.contest import rounds
from mlcontest.contest.models import Group, Job, Membership
from tests.conftest import Contest, result_fields, submit, true_labels
from tests.protocol_helpers import assert_error, b64, job_row, logged_in, ok_json, ping, png_bytes

ROLES = ("anonymous", "student", "worker", "organizer")
USERS = {"anonymous": None, "student": "alice", "worker": "walter", "organizer": "olga"}

# endpoint name -> (path template, form fields, status for anonymous/student/worker/organizer)
MATRIX: dict[str, tuple[str, dict[str, str], tuple[int, int, int, int]]] = {
    "env": ("/env.json/", {}, (200, 200, 200, 200)),
    "ok": ("/ok.json", {}, (401, 200, 200, 200)),
    "add_group": ("/actions/add_group/", {"group_name": "New"}, (401, 403, 403, 200)),
    "join_group": ("/actions/join_group/Alpha/", {}, (401, 200, 200, 200)),
    "get_groups": ("/actions/get_groups.json/", {}, (401, 200, 200, 200)),
    "get_round": ("/actions/get_round/{round}.json/", {}, (401, 200, 200, 200)),
    "get_job_params": ("/actions/get_job_params/{job}.json/", {}, (401, 403, 200, 200)),
    "update_job_details": ("/actions/update_job_details/{job}.json/", {}, (401, 403, 409, 409)),
    "add_job_picture": ("/actions/add_job_picture/{job}.json/", {}, (401, 403, 409, 409)),
    "get_datasets": ("/actions/get_datasets.json/", {}, (401, 200, 200, 200)),
    "get_dataset_points": ("/actions/get_dataset_points/{dataset}.json/", {}, (401, 200, 200, 200)),
    "ping": ("/actions/ping/", {}, (401, 403, 200, 200)),
    "renew_lease": ("/actions/renew_lease/{job}.json/", {}, (401, 403, 409, 409)),
    "release_job": ("/actions/release_job/{job}.json/", {}, (401, 403, 409, 409)),
    "api_submit": ("/api/rounds/{round}/jobs/", {"algorithm": "knn"}, (401, 201, 409, 409)),
}

CASES = [(name, role) for name in MATRIX for role in ROLES]


@pytest.mark.parametrize(("endpoint", "role"), CASES, ids=[f"{e}-{r}" for e, r in CASES])
def test_permission_matrix(contest: Contest, endpoint: str, role: str) -> None:
    job = submit(contest, contest.bob)
    template, fields, statuses = MATRIX[endpoint]
    url = template.format(round=contest.round.pk, job=job.pk, dataset=contest.dataset.pk)
    if endpoint == "update_job_details":
        fields = result_fields(true_labels(contest.dataset))
    if endpoint == "add_job_picture":
        fields = {"filename": "p.png", "data": b64(png_bytes())}
    username = USERS[role]
    user = getattr(contest, username) if username else None
    response = logged_in(user).post(url, fields)
    expected = statuses[ROLES.index(role)]
    assert response.status_code == expected, response.content[:300]
    if expected >= 400:
        assert_error(response, expected)
    # Refused calls leave the job alone.
    if expected in (401, 403, 409):
        assert job_row(job)["state"] == "queued"


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_anonymous_is_never_redirected(contest: Contest, endpoint: str) -> None:
    template, _, statuses = MATRIX[endpoint]
    url = template.format(round=contest.round.pk, job=1, dataset=contest.dataset.pk)
    response = logged_in(None).get(url)
    assert response.status_code not in (301, 302, 303, 307, 308)
    if statuses[0] == 401:
        assert response.status_code in (401, 405)
        assert_error(response, response.status_code)


# What students must never see.


@pytest.fixture
def finished(contest: Contest) -> dict[str, Job]:
    """One finished job for each of alice's group (Alpha) and bob's group (Beta)."""
    jobs = {"alpha": submit(contest, contest.alice), "beta": submit(contest, contest.bob)}
    worker = logged_in(contest.walter)
    labels = true_labels(contest.dataset)
    for _ in jobs:
        job_id = ping(worker)
        ok_json(worker.post(f"/actions/update_job_details/{job_id}.json/", result_fields(labels)))
    return {name: Job.objects.get(pk=job.pk) for name, job in jobs.items()}


HIDDEN_WHILE_OPEN = ("score_validation", "extra_scores_validation", "labels_validation")
WORKER_ONLY = ("worker", "worker_name", "worker_score_test", "score_mismatch", "lease_expires_at")


def test_student_sees_no_validation_score_while_open(
    contest: Contest, finished: dict[str, Job]
) -> None:
    job = ok_json(logged_in(contest.alice).get(f"/api/jobs/{finished['alpha'].pk}/?labels=1"))
    assert job["score_test"] == 1.0 and job["labels_test"]
    for key in HIDDEN_WHILE_OPEN + WORKER_ONLY:
        assert key not in job, key


def test_student_sees_validation_score_once_closed(
    contest: Contest, finished: dict[str, Job]
) -> None:
    rounds.close_round(contest.olga, contest.round)
    job = ok_json(logged_in(contest.alice).get(f"/api/jobs/{finished['alpha'].pk}/?labels=1"))
    assert job["score_validation"] == 1.0 and job["labels_validation"]
    for key in WORKER_ONLY:
        assert key not in job, key


def test_organizers_see_everything(contest: Contest, finished: dict[str, Job]) -> None:
    job = ok_json(logged_in(contest.olga).get(f"/api/jobs/{finished['beta'].pk}/"))
    assert job["score_validation"] == 1.0 and job["worker"] == "walter"
    assert (job["group"], job["user"]) == ("Beta", "bob")


def test_a_worker_reads_no_job_of_a_group(contest: Contest, finished: dict[str, Job]) -> None:
    # A worker is not an organizer: job parameters and datasets are all it needs.
    assert_error(logged_in(contest.walter).get(f"/api/jobs/{finished['beta'].pk}/"), 404)
    listed = ok_json(logged_in(contest.walter).get(f"/api/rounds/{contest.round.pk}/jobs/"))
    assert listed["jobs"] == []


def test_student_cannot_read_another_groups_job(contest: Contest, finished: dict[str, Job]) -> None:
    for who in (contest.alice, contest.carol):
        response = logged_in(who).get(f"/api/jobs/{finished['beta'].pk}/")
        assert_error(response, 404, "not_found")


def test_student_lists_only_own_groups_jobs(contest: Contest, finished: dict[str, Job]) -> None:
    listed = ok_json(logged_in(contest.alice).get(f"/api/rounds/{contest.round.pk}/jobs/"))
    assert [job["id"] for job in listed["jobs"]] == [finished["alpha"].pk]
    assert all("score_validation" not in job for job in listed["jobs"])
    listed = ok_json(logged_in(contest.carol).get(f"/api/rounds/{contest.round.pk}/jobs/"))
    assert listed["jobs"] == []


def test_organizer_lists_every_job(contest: Contest, finished: dict[str, Job]) -> None:
    listed = ok_json(logged_in(contest.olga).get(f"/api/rounds/{contest.round.pk}/jobs/"))
    assert {job["id"] for job in listed["jobs"]} == {job.pk for job in finished.values()}


def test_students_never_get_hidden_point_labels(contest: Contest) -> None:
    for who in (contest.alice, contest.bob, contest.carol):
        points = ok_json(
            logged_in(who).post(f"/actions/get_dataset_points/{contest.dataset.pk}.json/")
        )
        # A list, not all(): an empty answer must fail. tiny: 4 test and 4 validation points.
        assert len(points) == 20
        assert [point["label"] for point in points if point["split"] != "training"] == [None] * 8


def test_moving_group_does_not_reveal_old_groups_private_code(contest: Contest) -> None:
    Membership.objects.filter(user=contest.bob).update(
        group=Group.objects.create(name="Grüne Gruppe")
    )
    groups = ok_json(logged_in(contest.bob).post("/actions/get_groups.json/"))
    assert "Beta" not in groups


@pytest.mark.parametrize(
    ("header", "code"), [("Token nope", "invalid_token"), ("Token ", "invalid_token")]
)
def test_bad_api_token_is_401_json(contest: Contest, header: str, code: str) -> None:
    job = submit(contest, contest.alice)
    response = logged_in(None).post("/actions/ping/", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, code)
    assert job_row(job)["state"] == "queued"


def test_worker_token_pings_without_csrf(contest: Contest) -> None:
    from mlcontest.contest.models import ApiToken

    token, key = ApiToken.issue(contest.walter, "lab")
    job = submit(contest, contest.alice)
    client = logged_in(None, enforce_csrf_checks=True)
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Token {key}"}
    response = client.post("/actions/ping/", {"worker_name": "pc1"}, **headers)
    assert response.json() == job.pk
    assert Job.objects.get(pk=job.pk).worker_key.startswith(f"token:{token.pk}:")


def test_student_token_cannot_ping(contest: Contest) -> None:
    from mlcontest.contest.models import ApiToken

    _, key = ApiToken.issue(contest.alice)
    response = logged_in(None).post("/actions/ping/", HTTP_AUTHORIZATION=f"Token {key}")
    assert_error(response, 403, "forbidden")
