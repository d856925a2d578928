"""The organizer's round actions over the API (create, edit, open, close, reopen, audit trail),
the final choice, the group's jobs, and the quota refusals as JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from mlcontest.contest.models import ApiToken, Job, Round, RoundEntry, RoundEvent, RoundState
from tests.conftest import Contest, submit
from tests.leaderboard_helpers import finish
from tests.protocol_helpers import assert_error, csrf_token, logged_in, ok_json


def send(client: Client, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    payload = json.dumps(body if body is not None else {})
    return getattr(client, method)(path, payload, content_type="application/json", **extra)


def round_url(round_: Round, what: str = "") -> str:
    return f"/api/rounds/{round_.pk}/{what + '/' if what else ''}"


def actions(round_: Round) -> list[str]:
    return list(RoundEvent.objects.filter(round=round_).values_list("action", flat=True))


def test_an_organizer_creates_a_round(contest: Contest) -> None:
    start = timezone.now() + timedelta(hours=1)
    body = {
        "name": "Week 2",
        "dataset": contest.dataset.pk,
        "metric": "f1_macro",
        "allowed_algorithms": ["knn"],
        "starts_at": start.isoformat(),
        "job_quota": 7,
        "queued_quota": 2,
        "final_choice_allowed": True,
    }
    answer = ok_json(send(logged_in(contest.olga), "post", "/api/rounds/", body), 201)
    round_ = Round.objects.get(name="Week 2")
    assert answer["id"] == round_.pk and answer["state"] == "draft"
    assert answer["final_choice_allowed"] is True and answer["job_quota"] == 7
    assert (round_.metric, round_.job_quota, round_.queued_quota) == ("f1_macro", 7, 2)
    assert round_.starts_at == start and round_.allowed_algorithms == ["knn"]
    assert actions(round_) == ["created"]


def test_a_round_with_bad_fields_is_refused_with_every_field_named(contest: Contest) -> None:
    client = logged_in(contest.olga)
    # Fields of the wrong type (or unknown) first, then the round's own rules.
    mistyped = {"name": "X", "dataset": "one", "metric": "accuracy", "job_quota": "many", "x": 1}
    answer = assert_error(send(client, "post", "/api/rounds/", mistyped), 400)
    assert set(answer["fields"]) == {"dataset", "job_quota", "x"}
    body = {"name": " ", "dataset": contest.dataset.pk, "metric": "luck", "job_quota": 0}
    answer = assert_error(send(client, "post", "/api/rounds/", body), 400)
    assert set(answer["fields"]) == {"name", "metric", "job_quota"}
    wrong_dataset = {"name": "X", "dataset": 9999, "metric": "accuracy"}
    assert_error(send(logged_in(contest.olga), "post", "/api/rounds/", wrong_dataset), 400,
                 fields=("dataset",))  # fmt: skip
    assert Round.objects.count() == 1


def test_students_cannot_create_edit_open_or_close(contest: Contest) -> None:
    client = logged_in(contest.alice)
    body = {"name": "Mine", "dataset": contest.dataset.pk, "metric": "accuracy"}
    assert_error(send(client, "post", "/api/rounds/", body), 403, "forbidden")
    assert_error(send(client, "patch", round_url(contest.round), {"job_quota": 99}), 403)
    assert_error(send(client, "post", round_url(contest.round, "close")), 403)
    assert_error(client.get(round_url(contest.round, "events")), 403)
    round_ = Round.objects.get()
    assert (round_.state, round_.job_quota) == (RoundState.OPEN, 5)


def test_edit_close_reopen_and_the_audit_trail(contest: Contest) -> None:
    client = logged_in(contest.olga)
    edited = ok_json(send(client, "patch", round_url(contest.round), {"job_quota": 9}))
    assert edited["job_quota"] == 9
    closed = ok_json(send(client, "post", round_url(contest.round, "close")))
    assert closed["state"] == "closed" and closed["final_revealed"] is True
    end = (timezone.now() + timedelta(minutes=20)).isoformat()
    reopened = ok_json(send(client, "post", round_url(contest.round, "open"), {"ends_at": end}))
    assert reopened["state"] == "open" and reopened["ends_at"] is not None
    trail = ok_json(client.get(round_url(contest.round, "events")))["events"]
    assert [(event["action"], event["by"]) for event in trail] == [
        ("created", "olga"),
        ("opened", "olga"),
        ("edited", "olga"),
        ("closed", "olga"),
        ("reopened", "olga"),
    ]
    assert trail[2]["details"] == {"changes": {"job_quota": [5, 9]}}
    assert Round.objects.get().state == RoundState.OPEN


def test_an_unknown_or_uneditable_field_is_refused(contest: Contest) -> None:
    client = logged_in(contest.olga)
    assert_error(send(client, "patch", round_url(contest.round), {"dataset": 3}), 400,
                 fields=("dataset",))  # fmt: skip
    assert_error(send(client, "patch", round_url(contest.round), {"metric": "nmi"}), 400,
                 fields=("metric",))  # fmt: skip
    assert not RoundEvent.objects.filter(action="edited").exists()


def test_a_closed_round_refuses_jobs_with_409(contest: Contest) -> None:
    send(logged_in(contest.olga), "post", round_url(contest.round, "close"))
    answer = send(logged_in(contest.alice), "post", round_url(contest.round, "jobs"),
                  {"algorithm": "knn"})  # fmt: skip
    body = assert_error(answer, 409, "round_not_open")
    assert "closed" in body["message"]
    assert not Job.objects.exists()


def test_a_submission_answers_the_quota_left(contest: Contest) -> None:
    answer = send(logged_in(contest.alice), "post", round_url(contest.round, "jobs"),
                  {"algorithm": "knn"})  # fmt: skip
    assert ok_json(answer, 201)["quota"] == {
        "jobs_used": 1,
        "jobs_left": 4,
        "queued": 1,
        "queue_places_left": 2,
    }


def test_quota_refusals_are_429_and_say_how_many_or_when(contest: Contest) -> None:
    client = logged_in(contest.alice)
    path = round_url(contest.round, "jobs")
    for _ in range(3):
        ok_json(send(client, "post", path, {"algorithm": "knn"}), 201)
    waiting = assert_error(send(client, "post", path, {"algorithm": "knn"}), 429, "quota_exceeded")
    assert "when one of them has started" in waiting["message"]
    assert waiting["fields"] == {"queued_quota": "3 of 3 waiting"}
    for job in Job.objects.all():
        finish(contest, job)
    for _ in range(2):
        ok_json(send(client, "post", path, {"algorithm": "knn"}), 201)
    used_up = assert_error(send(client, "post", path, {"algorithm": "knn"}), 429, "quota_exceeded")
    assert "0 left" in used_up["message"] and used_up["fields"] == {"job_quota": "0 of 5 jobs left"}
    assert Job.objects.filter(group=contest.alpha).count() == 5
    detail = ok_json(client.get(round_url(contest.round)))
    assert detail["my_group"]["jobs_left"] == 0 and detail["accepting_jobs"] is True


def test_a_student_lists_only_their_groups_jobs(contest: Contest) -> None:
    mine = finish(contest, submit(contest, contest.alice))
    submit(contest, contest.alice)
    submit(contest, contest.bob)
    client = logged_in(contest.alice)
    body = ok_json(client.get(round_url(contest.round, "jobs")))
    assert {job["group"] for job in body["jobs"]} == {"Alpha"} and len(body["jobs"]) == 2
    assert body["more"] is False
    done = ok_json(client.get(round_url(contest.round, "jobs") + "?state=done"))["jobs"]
    assert [job["id"] for job in done] == [mine.pk]
    assert "score_validation" not in done[0]
    assert len(ok_json(logged_in(contest.olga).get(round_url(contest.round, "jobs")))["jobs"]) == 3
    limited = ok_json(logged_in(contest.olga).get(round_url(contest.round, "jobs") + "?limit=1"))
    assert len(limited["jobs"]) == 1 and limited["more"] is True
    assert_error(client.get(round_url(contest.round, "jobs") + "?limit=x"), 400, fields=("limit",))


def test_the_final_choice_endpoint(contest: Contest) -> None:
    path = round_url(contest.round, "final-choice")
    client = logged_in(contest.alice)
    job = finish(contest, submit(contest, contest.alice))
    refused = assert_error(send(client, "post", path, {"job": job.pk}), 409)
    assert refused["code"] == "final_choice_not_allowed"
    send(logged_in(contest.olga), "patch", round_url(contest.round), {"final_choice_allowed": True})
    assert ok_json(client.get(path)) == {"round": contest.round.pk, "group": "Alpha", "job": None}
    ok_json(send(client, "post", path, {"job": job.pk}))
    assert RoundEntry.objects.get(group=contest.alpha).final_job_id == job.pk
    assert ok_json(client.get(path))["job"] == job.pk
    assert_error(send(client, "post", path, {}), 400, fields=("job",))
    assert_error(send(client, "post", path, {"job": 12345}), 400, fields=("job",))
    ok_json(send(client, "post", path, {"job": None}))
    assert RoundEntry.objects.get(group=contest.alpha).final_job is None


def test_a_session_post_needs_the_csrf_token_a_token_does_not(contest: Contest) -> None:
    client = logged_in(contest.olga, enforce_csrf_checks=True)
    assert_error(send(client, "post", round_url(contest.round, "close")), 403, "csrf_failed")
    assert Round.objects.get().state == RoundState.OPEN
    token = csrf_token(client)
    ok_json(send(client, "post", round_url(contest.round, "close"), HTTP_X_CSRFTOKEN=token))
    assert Round.objects.get().state == RoundState.CLOSED
    _, key = ApiToken.issue(contest.olga)
    scripted = Client(enforce_csrf_checks=True)
    ok_json(
        send(scripted, "post", round_url(contest.round, "open"), HTTP_AUTHORIZATION=f"Token {key}")
    )
    assert Round.objects.get().state == RoundState.OPEN


def _rounds_list_queries(contest: Contest) -> tuple[int, list[dict[str, Any]]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = contest.client(contest.alice)
    with CaptureQueriesContext(connection) as ctx:
        answer = client.get("/api/rounds/")
    assert answer.status_code == 200
    return len(ctx.captured_queries), answer.json()["rounds"]


def test_rounds_list_queries_do_not_grow_with_rounds(contest: Contest) -> None:
    """Quota left was counted twice per round, plus the group and the final choice: 62 queries
    for 10 rounds. Now each is one query for the whole list."""
    from mlcontest.contest import queue, rounds

    def add_round(number: int) -> None:
        made = rounds.create_round(
            contest.olga, name=f"Extra {number}", dataset=contest.dataset, metric="accuracy"
        )
        rounds.open_round(contest.olga, made)
        queue.submit_job(contest.alice, made, "knn", {})

    add_round(0)
    few, listed = _rounds_list_queries(contest)
    assert len(listed) == 2
    for number in range(1, 9):
        add_round(number)
    many, listed = _rounds_list_queries(contest)
    assert len(listed) == 10
    assert many == few
    extra = next(one for one in listed if one["name"] == "Extra 3")
    assert extra["my_group"]["jobs_used"] == 1
    assert extra["my_group"]["jobs_left"] == extra["job_quota"] - 1
    assert extra["my_group"]["queued"] == 1
    assert extra["my_group"]["final_job"] is None
