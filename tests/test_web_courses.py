"""The course pages through Django's test client: the students' page (groups and their own line,
revealed rounds only, no drafts), the projector, the organizers' course forms, the grade export
and the links from the rounds list and the round page."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.urls import reverse

from mlcontest.contest import courses, queue, rounds
from mlcontest.contest.models import Course, Round
from tests.conftest import Contest
from tests.leaderboard_helpers import finish

pytestmark = pytest.mark.usefixtures("fast_password_hashing", "fresh_auth_cache")


@pytest.fixture
def course(contest: Contest) -> Course:
    """Round 1 revealed (Alpha first, Beta second), Round 2 open, a draft: all in one course."""
    course = courses.create_course(contest.olga, "ML 1", "Three rounds, one grade.")
    courses.assign_round(contest.olga, contest.round, course)
    for user, wrong in ((contest.alice, 0), (contest.bob, 1)):
        finish(contest, queue.submit_job(user, contest.round, "knn", {}), validation_wrong=wrong)
    rounds.close_round(contest.olga, contest.round)
    for name, opened in (("Round 2", True), ("Secret draft", False)):
        round_ = rounds.create_round(
            contest.olga, name=name, dataset=contest.dataset, metric="accuracy"
        )
        if opened:
            rounds.open_round(contest.olga, round_)
        courses.assign_round(contest.olga, round_, course)
    # In Round 2 Beta leads the open board: nothing of it may show as course points.
    round_2 = Round.objects.get(name="Round 2")
    finish(contest, queue.submit_job(contest.bob, round_2, "knn", {}))
    return course


def page(contest: Contest, user: Any, name: str, course: Course) -> Any:
    return contest.client(user).get(reverse(name, args=[course.pk]))


def test_a_student_sees_the_groups_and_their_own_points(contest: Contest, course: Course) -> None:
    response = page(contest, contest.alice, "web:course", course)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Three rounds, one grade." in html and "10, 8, 6, 5, 4, 3, 2, 1" in html
    groups = html.split('class="table course-standings', 1)[1].split("</table>", 1)[0]
    assert groups.index('data-group="Alpha"') < groups.index('data-group="Beta"')
    assert "Round 2" not in groups  # open, not revealed: no column
    own = html.split('id="own"', 1)[1].split("</section>", 1)[0]
    assert "Alpha" in own and "place 1 of 2" in own and ">10<" in own
    assert "Secret draft" not in html  # drafts: organizers only
    assert "won by <strong>Alpha</strong>" in html
    assert "counts once it closes" in html  # Round 2
    assert "course-students" not in html and "bob" not in html  # a classmate's points: no
    assert "Grades (CSV)" not in html


def test_a_student_without_points_gets_a_plain_line(contest: Contest, course: Course) -> None:
    html = page(contest, contest.carol, "web:course", course).content.decode()
    assert "No points yet" in html


def test_the_organizer_sees_every_student_and_the_drafts(contest: Contest, course: Course) -> None:
    html = page(contest, contest.olga, "web:course", course).content.decode()
    table = html.split('class="table course-students"', 1)[1].split("</table>", 1)[0]
    assert table.index('data-student="alice"') < table.index('data-student="bob"')
    assert "Secret draft" in html and "Grades (CSV)" in html


def test_the_projector_is_the_organizers_and_shows_groups_only(
    contest: Contest, course: Course
) -> None:
    assert page(contest, contest.alice, "web:course_projector", course).status_code == 403
    response = page(contest, contest.olga, "web:course_projector", course)
    html = response.content.decode()
    assert response.status_code == 200 and 'class="projector"' in html
    assert "course-standings big" in html and "course-students" not in html
    assert "1 of 3 rounds counted" in html


def test_the_grade_export_is_for_organizers(contest: Contest, course: Course) -> None:
    assert page(contest, contest.alice, "web:course_grades", course).status_code == 403
    assert (
        contest.client(None).get(reverse("web:course_grades", args=[course.pk])).status_code == 302
    )
    response = page(contest, contest.olga, "web:course_grades", course)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="course-{course.pk}-grades.csv"' in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert rows[0][-5:] == [
        "Round 1: group",
        "Round 1: rank",
        "Round 1: points",
        "total",
        "course_rank",
    ]
    assert rows[1:] == [
        ["alice", "", "Alpha", "Alpha", "1", "10", "10", "1"],
        ["bob", "", "Beta", "Beta", "2", "8", "8", "2"],
        ["carol", "", "", "", "", "", "0", ""],
    ]


def test_no_course_page_for_a_missing_course(contest: Contest) -> None:
    client = contest.client(contest.alice)
    assert client.get("/courses/999/").status_code == 404
    assert client.get("/courses/99999999999999999999999/").status_code == 404


def test_an_organizer_creates_and_edits_a_course(contest: Contest) -> None:
    client = contest.client(contest.olga)
    url = reverse("web:courses")
    assert contest.client(contest.alice).get(url).status_code == 403
    refused = client.post(url, {"name": "ML", "points": "5, 8", "rounds": [contest.round.pk]})
    assert refused.status_code == 400
    assert "a worse place may not earn more points" in refused.content.decode()
    assert not Course.objects.exists()
    created = client.post(url, {"name": "ML", "points": "5 3 1", "rounds": [contest.round.pk]})
    course = Course.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/courses/{course.pk}/"
    assert course.points == [5, 3, 1]
    contest.round.refresh_from_db()
    assert contest.round.course_id == course.pk

    edit = reverse("web:course_edit", args=[course.pk])
    form = client.get(edit).content.decode()
    assert 'value="5, 3, 1"' in form
    saved = client.post(edit, {"name": "ML 2026", "description": "", "points": "3, 2, 1"})
    assert saved.status_code == 302
    course.refresh_from_db()
    contest.round.refresh_from_db()
    assert (course.name, course.points, contest.round.course_id) == ("ML 2026", [3, 2, 1], None)
    assert Course.objects.count() == 1
    assert client.post(edit, {"name": "", "points": "3"}).status_code == 400
    courses.create_course(contest.olga, "Taken")
    refused = client.post(edit, {"name": "Taken", "points": "3"})
    assert refused.status_code == 400 and "exists already" in refused.content.decode()
    assert "<h1>Edit ML 2026</h1>" in refused.content.decode()
    course.refresh_from_db()
    assert course.name == "ML 2026"


def test_a_new_round_goes_into_a_course(contest: Contest) -> None:
    course = courses.create_course(contest.olga, "ML")
    response = contest.client(contest.olga).post(
        reverse("web:round_new"),
        {
            "name": "In the course",
            "dataset": contest.dataset.pk,
            "metric": "accuracy",
            "job_quota": 20,
            "queued_quota": 3,
            "time_limit_seconds": 60,
            "memory_limit_mb": 2048,
            "course": course.pk,
        },
    )
    assert response.status_code == 302
    assert Round.objects.get(name="In the course").course_id == course.pk


def test_the_rounds_list_and_the_round_page_link_the_course(
    contest: Contest, course: Course
) -> None:
    client = contest.client(contest.alice)
    link = f'href="/courses/{course.pk}/"'
    listing = client.get(reverse("web:rounds")).content.decode()
    assert listing.count(link) == 3  # the courses section, Round 1 (closed), Round 2 (open)
    round_page = client.get(reverse("web:round", args=[contest.round.pk])).content.decode()
    assert link in round_page and 'course: <a class="course-link"' in round_page
    manage = contest.client(contest.olga).get(reverse("web:manage_round", args=[contest.round.pk]))
    assert link in manage.content.decode()


def test_the_course_pages_speak_german(contest: Contest, course: Course) -> None:
    german: dict[str, Any] = {"HTTP_ACCEPT_LANGUAGE": "de"}
    client = contest.client(contest.alice)
    html = client.get(reverse("web:course", args=[course.pk]), **german).content.decode()
    assert "Ihre Punkte" in html and "Stand nach Gruppen" in html and "(Platz 1 von 2)" in html
    assert "Your points" not in html and "Standings by group" not in html
    assert ">geschlossen</span>" in html and ">offen</span>" in html  # the rounds' states
    organizer = contest.client(contest.olga)
    projector = organizer.get(reverse("web:course_projector", args=[course.pk]), **german)
    assert "1 von 3 Runden gewertet" in projector.content.decode()
    refused = organizer.post(reverse("web:courses"), {"name": "X", "points": "1 5"}, **german)
    assert "ein schlechterer Platz darf nicht mehr Punkte bringen" in refused.content.decode()
    # The API stays English whatever the browser asks for.
    answer = organizer.post(
        "/api/courses/", {"name": "X", "points": [1, 5]}, content_type="application/json", **german
    )
    assert "a worse place may not earn more points" in answer.json()["message"]
