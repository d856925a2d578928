"""``mlcontest course``: create a course, put rounds in it, print its standings and write its
grades, run in-process against the test database (as tests/test_cli.py runs the others)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from mlcontest.contest import queue, rounds
from mlcontest.contest.models import Course, Group, Round
from tests.conftest import Contest, make_user
from tests.leaderboard_helpers import finish
from tests.test_cli import Run


@pytest.fixture
def run(db: Any, capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(capsys)


def test_a_course_from_the_command_line(run: Run, contest: Contest, tmp_path: Path) -> None:
    code, out, _ = run("course", "add", "ML 1", "--points", "5,3,1")
    course = Course.objects.get()
    assert (
        code == 0 and out == f"created course {course.pk} 'ML 1': points per final rank 5, 3, 1\n"
    )
    code, _, err = run("course", "add", "ML 2", "--points", "1,5")
    assert code == 2 and "a worse place may not earn more points" in err
    assert Course.objects.count() == 1

    code, out, _ = run("course", "assign", "ML 1", str(contest.round.pk))
    contest.round.refresh_from_db()
    assert code == 0 and contest.round.course_id == course.pk
    assert out == f"round {contest.round.pk} 'Round 1' counts in course 'ML 1'\n"
    code, _, err = run("course", "assign", str(course.pk), "999")
    assert code == 2 and "No round 999" in err

    baeren = Group.objects.create(name="Bären")
    juergen = make_user("jgroess", group=baeren)
    juergen.first_name, juergen.last_name = "Jürgen", "Größ"
    juergen.save()
    finish(contest, queue.submit_job(juergen, contest.round, "knn", {}), validation_wrong=0)
    finish(contest, queue.submit_job(contest.alice, contest.round, "knn", {}), validation_wrong=2)
    rounds.close_round(contest.olga, contest.round)

    code, out, _ = run("course", "standings", "ML 1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"course {course.pk} 'ML 1': 1 revealed round(s) counted"
    assert lines[1].split() == ["#", "group", "Round", "1", "total"]
    assert lines[2].split() == ["1", "Bären", "5", "(#1)", "5"]
    assert lines[3].split() == ["2", "Alpha", "3", "(#2)", "3"]

    target = tmp_path / "grades.csv"
    code, out, _ = run("course", "grades", "ML 1", "-o", str(target))
    assert code == 0 and out == f"wrote 4 student(s) of course 'ML 1' to {target}\n"
    content = target.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf") and content.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert rows[-1] == ["jgroess", "Jürgen Größ", "Bären", "Bären", "1", "5", "5", "1"]
    code, out, _ = run("course", "grades", str(course.pk))
    assert code == 0 and out.startswith("\ufeffusername,") and "Jürgen Größ" in out

    code, out, _ = run("course", "points", "ML 1", "10 8")
    course.refresh_from_db()
    assert code == 0 and course.points == [10, 8]
    code, out, _ = run("course", "list")
    assert out.splitlines()[1].split() == [str(course.pk), "ML", "1", "1", "10,8"]
    code, out, _ = run("course", "remove", str(contest.round.pk))
    assert code == 0 and Round.objects.get(pk=contest.round.pk).course_id is None


def test_round_create_puts_the_round_in_a_course(run: Run, contest: Contest) -> None:
    run("course", "add", "ML 1")
    code, out, _ = run(
        "round", "create", "Week 2", "--dataset", "tiny", "--metric", "accuracy", "--course", "ML 1"
    )
    assert code == 0 and "counts in course 'ML 1'" in out
    assert Round.objects.get(name="Week 2").course == Course.objects.get()
    code, _, err = run(
        "round", "create", "Week 3", "--dataset", "tiny", "--metric", "accuracy", "--course", "x"
    )
    assert code == 2 and "No course 'x'" in err and not Round.objects.filter(name="Week 3").exists()
