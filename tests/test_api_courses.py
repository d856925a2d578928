"""Courses over the JSON API: create and edit (organizers), rounds put in a course through the
round, the standings as each role sees them, the grade export."""

from __future__ import annotations

import csv
import io

import pytest

from mlcontest.contest import courses, queue, rounds
from mlcontest.contest.models import Course, Round
from tests.conftest import Contest
from tests.leaderboard_helpers import finish
from tests.protocol_helpers import assert_error, logged_in, ok_json
from tests.test_api_rounds import send

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "fresh_auth_cache")


def test_an_organizer_creates_and_edits_a_course(contest: Contest) -> None:
    olga = logged_in(contest.olga)
    made = ok_json(send(olga, "post", "/api/courses/", {"name": "ML 1", "points": [5, 3]}), 201)
    course = Course.objects.get()
    assert made == {
        "id": course.pk,
        "name": "ML 1",
        "description": "",
        "points": [5, 3],
        "rounds": [],
    }
    assert_error(send(olga, "post", "/api/courses/", {"name": "ML 1"}), 409, "taken", ("name",))
    assert_error(
        send(olga, "post", "/api/courses/", {"name": "ML 2", "points": [1, 2]}),
        400,
        "invalid",
        ("points",),
    )
    assert_error(send(olga, "post", "/api/courses/", {"name": "X", "grade": 1}), 400)
    assert_error(
        send(logged_in(contest.alice), "post", "/api/courses/", {"name": "Mine"}), 403, "forbidden"
    )
    assert Course.objects.count() == 1

    url = f"/api/courses/{course.pk}/"
    changed = ok_json(send(olga, "patch", url, {"points": "10, 5", "description": "Wöchentlich"}))
    course.refresh_from_db()
    assert changed["points"] == [10, 5] and course.points == [10, 5]
    assert course.description == "Wöchentlich"
    assert_error(send(logged_in(contest.alice), "patch", url, {"points": [1]}), 403)
    course.refresh_from_db()
    assert course.points == [10, 5]
    other = courses.create_course(contest.olga, "ML 2")
    taken = send(olga, "patch", f"/api/courses/{other.pk}/", {"name": "ML 1", "points": [7]})
    assert_error(taken, 409, "taken", ("name",))
    other.refresh_from_db()
    assert (other.name, other.points) == ("ML 2", [10, 8, 6, 5, 4, 3, 2, 1])
    other.delete()
    listed = ok_json(logged_in(contest.alice).get("/api/courses/"))["courses"]
    assert [c["name"] for c in listed] == ["ML 1"]
    assert_error(logged_in(None).get("/api/courses/"), 401)
    assert_error(logged_in(contest.alice).get("/api/courses/999/"), 404, "not_found")


def test_a_round_is_put_in_a_course_through_the_round(contest: Contest) -> None:
    course = courses.create_course(contest.olga, "ML 1")
    olga = logged_in(contest.olga)
    url = f"/api/rounds/{contest.round.pk}/"
    answer = ok_json(send(olga, "patch", url, {"course": course.pk, "job_quota": 9}))
    contest.round.refresh_from_db()
    assert answer["course"] == course.pk and contest.round.course_id == course.pk
    assert contest.round.job_quota == 9
    assert_error(send(olga, "patch", url, {"course": 999}), 400, "invalid", ("course",))
    assert_error(send(olga, "patch", url, {"course": "x"}), 400, "invalid", ("course",))
    contest.round.refresh_from_db()
    assert contest.round.course_id == course.pk
    assert ok_json(send(olga, "patch", url, {"course": None}))["course"] is None
    contest.round.refresh_from_db()
    assert contest.round.course_id is None

    body = {"name": "Week 2", "dataset": contest.dataset.pk, "metric": "accuracy"}
    created = ok_json(send(olga, "post", "/api/rounds/", {**body, "course": course.pk}), 201)
    assert Round.objects.get(pk=created["id"]).course_id == course.pk
    assert_error(send(olga, "post", "/api/rounds/", {**body, "name": "W3", "course": 5}), 400)
    assert not Round.objects.filter(name="W3").exists()


def test_the_standings_as_each_role_sees_them(contest: Contest) -> None:
    course = courses.create_course(contest.olga, "ML 1")
    courses.assign_round(contest.olga, contest.round, course)
    url = f"/api/courses/{course.pk}/standings/"
    assert ok_json(logged_in(contest.alice).get(url))["groups"] == []
    for user, wrong in ((contest.alice, 1), (contest.bob, 0)):
        finish(contest, queue.submit_job(user, contest.round, "knn", {}), validation_wrong=wrong)
    assert ok_json(logged_in(contest.alice).get(url))["rounds"] == []  # not revealed yet
    rounds.close_round(contest.olga, contest.round)
    key = str(contest.round.pk)

    as_alice = ok_json(logged_in(contest.alice).get(url))
    assert [(g["group"], g["rank"], g["total"]) for g in as_alice["groups"]] == [
        ("Beta", 1, 10),
        ("Alpha", 2, 8),
    ]
    assert as_alice["me"]["rounds"] == {key: {"group": "Alpha", "rank": 2, "points": 8}}
    assert "students" not in as_alice and as_alice["rounds"][0]["winners"] == ["Beta"]
    as_olga = ok_json(logged_in(contest.olga).get(url))
    assert [(s["username"], s["total"], s["rank"]) for s in as_olga["students"]] == [
        ("bob", 10, 1),
        ("alice", 8, 2),
    ]
    assert_error(logged_in(None).get(url), 401)


def test_the_grade_export_is_for_organizers(contest: Contest) -> None:
    course = courses.create_course(contest.olga, "ML 1")
    url = f"/api/courses/{course.pk}/grades.csv"
    assert_error(logged_in(contest.alice).get(url), 403, "forbidden")
    assert_error(logged_in(contest.walter).get(url), 403, "forbidden")
    response = logged_in(contest.olga).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert rows == [
        ["username", "full_name", "group", "total", "course_rank"],
        ["alice", "", "Alpha", "0", ""],
        ["bob", "", "Beta", "0", ""],
        ["carol", "", "", "0", ""],
    ]
