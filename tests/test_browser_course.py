"""The course page in Chromium at a laptop's size (a student: the rounds list leads to it, the
groups' standings and their own points) and on the projector (the organizer's big view fits a
1920 x 1080 screen), and on a phone (no page wider than the screen)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import USERS_SETUP, seeded_server
from tests.live import LiveServer
from tests.test_browser_room import (
    FINISH,
    LAPTOP,
    PHONE,
    PROJECTOR,
    TOO_WIDE,
    at_top,
    box,
    room_browser,
)

pytestmark = [pytest.mark.live]

SETUP = (
    USERS_SETUP
    + """
import json
from mlcontest.contest import courses, dataset_sources, queue, rounds
students = {}
for group_name, student in (("Alpha", "alice"), ("Bären", "juergen"), ("Gamma", "gina"),
        ("Delta", "dave"), ("Epsilon", "erin"), ("Zeta", "zoe")):
    group = Group.objects.create(name=group_name, public=True, created_by=olga)
    students[student] = user(student, Role.STUDENT, group)
students["juergen"].first_name, students["juergen"].last_name = "Jürgen", "Größ"
students["juergen"].save()
moons = dataset_sources.store("moons", dataset_sources.generate("moons", 300, 0.25, 0))
course = courses.create_course(olga, "Maschinelles Lernen 1", "Drei Runden, eine Note.")
made = []
for name in ("Week 1: moons", "Week 2: moons again", "Week 3: still open"):
    round_ = rounds.create_round(olga, name=name, dataset=moons, metric="accuracy",
        allowed_algorithms=["knn"], job_quota=20)
    rounds.open_round(olga, round_)
    courses.assign_round(olga, round_, course)
    made.append(round_)
jobs = {}
for index, round_ in enumerate(made):
    jobs[round_.pk] = [queue.submit_job(students[name], round_, "knn",
        {"n_neighbors": 1 + (position * 7 + index * 3) % 20}).pk
        for position, name in enumerate(students)]
print(json.dumps({"course": course.pk, "rounds": [r.pk for r in made],
    "jobs": [jobs[r.pk] for r in made]}))
"""
)

CLOSE_ALL = """
from mlcontest.contest import rounds
from mlcontest.contest.models import Round, User
for pk in {rounds}:
    rounds.close_round(User.objects.get(username="olga"), Round.objects.get(pk=pk))
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, dict[str, Any]]]:
    with seeded_server(tmp_path, SETUP) as (live, printed):
        ids: dict[str, Any] = dict(printed)  # lists of ids too, not only numbers
        # Weeks 1 and 2 are played and revealed; week 3 stays open (its jobs done, not counted).
        for jobs in ids["jobs"]:
            live.run_python(FINISH.format(jobs=jobs))
        live.run_python(CLOSE_ALL.format(rounds=ids["rounds"][:2]))
        yield live, ids


def group_rows(window: Any) -> list[str]:
    return [
        row.get_attribute("data-group") for row in window.find_all(".course-standings tbody tr")
    ]


def test_laptop_and_phone(server: tuple[LiveServer, dict[str, Any]]) -> None:
    live, ids = server
    course_page = f"/courses/{ids['course']}/"
    with room_browser(live.url, LAPTOP) as laptop:
        laptop.sign_in("juergen", "pw")
        at_top(laptop, "/rounds/")
        laptop.click(f"#courses-title + ul a[href='{course_page}']")
        laptop.wait_for(".course-standings")
        assert laptop.driver.current_url.endswith(course_page)
        assert sorted(group_rows(laptop)) == ["Alpha", "Bären", "Delta", "Epsilon", "Gamma", "Zeta"]
        head = laptop.find(".course-standings thead").text.upper()
        assert "WEEK 1" in head and "WEEK 2" in head and "WEEK 3" not in head
        own = laptop.find("#own").text
        assert "Bären" in own and "TOTAL" in own.upper()
        totals = [int(cell.text) for cell in laptop.find_all(".course-standings td.total")]
        assert totals == sorted(totals, reverse=True) and sum(totals) > 0
        mine = laptop.find(".course-standings tr.mine")
        assert mine.get_attribute("data-group") == "Bären"
        assert "still open" in laptop.find("main").text  # listed, not counted
        assert not laptop.find_all(".course-students")  # classmates' points: organizers only
        height = laptop.driver.execute_script("return window.innerHeight;")
        assert box(laptop, "#own")[0] < height  # the student's own points in the first screen
        assert laptop.driver.execute_script(TOO_WIDE) <= 0
        laptop.screenshot("course-laptop")
        laptop.read_console()
        assert not laptop.console_errors, json.dumps(laptop.console_errors, indent=1)

    with room_browser(live.url, PHONE) as phone:
        phone.sign_in("alice", "pw")
        at_top(phone, course_page)
        phone.wait_for(".course-standings")
        assert phone.driver.execute_script(TOO_WIDE) <= 0
        phone.screenshot("course-phone")
        phone.read_console()
        assert not phone.console_errors, json.dumps(phone.console_errors, indent=1)


def test_projector(server: tuple[LiveServer, dict[str, Any]]) -> None:
    live, ids = server
    with room_browser(live.url, PROJECTOR) as projector:
        projector.sign_in("olga", "pw")
        at_top(projector, f"/courses/{ids['course']}/")
        assert len(projector.find_all(".course-students tbody tr")) == 6  # the organizer's view
        projector.screenshot("course-organizer")
        projector.click(f"a[href='/courses/{ids['course']}/projector/']")
        projector.wait_for("body.projector .course-standings")
        assert len(group_rows(projector)) == 6
        assert not projector.find_all(".course-students")  # groups only on the projector
        height = projector.driver.execute_script("return window.innerHeight;")
        assert box(projector, ".course-standings")[1] <= height  # the whole table in view
        assert box(projector, ".course-rounds")[1] <= height
        assert projector.driver.execute_script(TOO_WIDE) <= 0
        size = projector.driver.execute_script(
            "return parseFloat(getComputedStyle("
            "document.querySelector('.course-standings td')).fontSize);"
        )
        assert size >= 28, size  # readable from the back of the room
        assert "2 of 3 rounds counted" in projector.find(".projector-head").text
        projector.screenshot("course-projector")
        projector.read_console()
        assert not projector.console_errors, json.dumps(projector.console_errors, indent=1)
