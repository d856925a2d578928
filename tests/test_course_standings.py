"""A course's standings across its rounds (docs/rules.md, "Courses"): points per final rank of
each revealed round, to every student who played it for their group; the grade export and the
round export's final columns."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any

import pytest

from mlcontest.contest import course_standings, courses, exports, leaderboard, queue, rounds
from mlcontest.contest.errors import ContestError, InvalidInput, PermissionDenied
from mlcontest.contest.models import Course, Group, Membership, Round, User
from tests.conftest import Contest, make_user
from tests.leaderboard_helpers import finish

BOM = b"\xef\xbb\xbf"


def second_round(contest: Contest, name: str = "Round 2") -> Round:
    round_ = rounds.create_round(
        contest.olga, name=name, dataset=contest.dataset, metric="accuracy"
    )
    return rounds.open_round(contest.olga, round_)


def play(contest: Contest, round_: Round, user: User, validation_wrong: int) -> None:
    job = queue.submit_job(user, round_, "knn", {})
    finish(contest, job, validation_wrong=validation_wrong)


def close(contest: Contest, round_: Round) -> Round:
    return rounds.close_round(contest.olga, round_)


@pytest.fixture
def course(contest: Contest) -> Course:
    return courses.create_course(contest.olga, "Machine learning 1")


def test_the_points_table_is_checked(contest: Contest) -> None:
    assert courses.check_points([10, 8, 6]) == [10, 8, 6]
    assert courses.parse_points("5, 3 1") == [5, 3, 1]
    for bad in ([], [1, 2], [-1], [1.5], ["3"], [True], [2000], list(range(200, 0, -1)), "10"):
        with pytest.raises(InvalidInput) as refused:
            courses.check_points(bad)
        assert "points" in refused.value.fields, bad
    with pytest.raises(InvalidInput):
        courses.parse_points("10, eight")
    created = courses.create_course(contest.olga, "  A   course ")
    assert created.name == "A course" and created.points == [10, 8, 6, 5, 4, 3, 2, 1]
    with pytest.raises(ContestError) as taken:
        courses.create_course(contest.olga, "A course")
    assert taken.value.status == 409
    with pytest.raises(PermissionDenied):
        courses.create_course(contest.alice, "Mine")
    assert Course.objects.count() == 1


def test_points_follow_the_final_rank_of_each_revealed_round(
    contest: Contest, course: Course
) -> None:
    dora = make_user("dora", group=contest.alpha)  # plays round 1 for Alpha
    make_user("eve", group=contest.alpha)  # a member who submits nothing: no points
    courses.assign_round(contest.olga, contest.round, course)
    round_2 = second_round(contest)
    courses.assign_round(contest.olga, round_2, course)
    round_3 = second_round(contest, "Round 3")  # open, not revealed: counts nothing yet
    courses.assign_round(contest.olga, round_3, course)
    lone = second_round(contest, "On its own")  # in no course

    play(contest, contest.round, contest.alice, validation_wrong=0)
    play(contest, contest.round, dora, validation_wrong=1)  # Alpha's best stays alice's
    play(contest, contest.round, contest.bob, validation_wrong=2)
    close(contest, contest.round)
    play(contest, round_2, contest.alice, validation_wrong=3)
    play(contest, round_2, contest.bob, validation_wrong=0)
    close(contest, round_2)
    play(contest, round_3, contest.alice, validation_wrong=0)
    play(contest, lone, contest.alice, validation_wrong=0)
    close(contest, lone)

    standings = course_standings.course_standings(course, contest.olga)
    assert [r.round_id for r in standings.rounds] == [contest.round.pk, round_2.pk]
    assert [r.winners for r in standings.rounds] == [("Alpha",), ("Beta",)]
    assert [(g.rank, g.group, g.total) for g in standings.groups] == [
        (1, "Alpha", 18),
        (1, "Beta", 18),
    ]
    lines = {line.username: line for line in standings.students}
    assert set(lines) == {"alice", "bob", "dora"}  # eve submitted nothing, carol has no group
    assert (lines["alice"].total, lines["bob"].total, lines["dora"].total) == (18, 18, 10)
    assert [line.rank for line in standings.students] == [1, 1, 3]
    assert lines["dora"].placings[contest.round.pk].rank == 1
    assert round_2.pk not in lines["dora"].placings

    # A new points table applies at once: nothing is stored.
    courses.update_course(contest.olga, course, points=[3, 1])
    standings = course_standings.course_standings(course, contest.olga)
    assert [(g.group, g.total) for g in standings.groups] == [("Alpha", 4), ("Beta", 4)]
    courses.update_course(contest.olga, course, points=[3])
    totals = {
        line.username: line.total
        for line in course_standings.course_standings(course, contest.olga).students
    }
    assert totals == {"alice": 3, "bob": 3, "dora": 3}


def test_a_student_keeps_the_points_of_the_group_they_played_for(
    contest: Contest, course: Course
) -> None:
    courses.assign_round(contest.olga, contest.round, course)
    play(contest, contest.round, contest.alice, validation_wrong=0)
    play(contest, contest.round, contest.bob, validation_wrong=1)
    close(contest, contest.round)
    # Groups are reshuffled for the next round: alice now plays for Beta.
    Membership.objects.filter(user=contest.alice).update(group=contest.beta)
    round_2 = second_round(contest)
    courses.assign_round(contest.olga, round_2, course)
    play(contest, round_2, contest.alice, validation_wrong=0)
    gamma = Group.objects.create(name="Gamma")
    Membership.objects.filter(user=contest.bob).update(group=gamma)
    play(contest, round_2, contest.bob, validation_wrong=2)
    close(contest, round_2)
    lines = {
        line.username: line
        for line in course_standings.course_standings(course, contest.olga).students
    }
    alice, bob = lines["alice"], lines["bob"]
    assert [(p.group, p.rank, p.points) for p in alice.placings.values()] == [
        ("Alpha", 1, 10),
        ("Beta", 1, 10),
    ]
    assert [(p.group, p.rank, p.points) for p in bob.placings.values()] == [
        ("Beta", 2, 8),
        ("Gamma", 2, 8),
    ]
    assert (alice.total, alice.group, bob.total, bob.group) == (20, "Beta", 16, "Gamma")


def test_practice_after_the_reveal_earns_nothing(contest: Contest, course: Course) -> None:
    courses.assign_round(contest.olga, contest.round, course)
    play(contest, contest.round, contest.alice, validation_wrong=0)
    close(contest, contest.round)
    rounds.open_round(contest.olga, contest.round)  # extra time for practice
    play(contest, contest.round, contest.bob, validation_wrong=0)
    close(contest, contest.round)
    standings = course_standings.course_standings(course, contest.olga)
    assert [line.username for line in standings.students] == ["alice"]
    assert [(g.group, g.total) for g in standings.groups] == [("Alpha", 10)]


def test_a_group_without_a_validation_score_earns_nothing(contest: Contest, course: Course) -> None:
    courses.assign_round(contest.olga, contest.round, course)
    play(contest, contest.round, contest.alice, validation_wrong=0)
    failed = queue.submit_job(contest.bob, contest.round, "knn", {})
    finish(contest, failed, success=False)
    close(contest, contest.round)
    standings = course_standings.course_standings(course, contest.olga)
    assert [(g.group, g.rank, g.total) for g in standings.groups] == [
        ("Alpha", 1, 10),
        ("Beta", 2, 0),  # in the round, unranked: the last place, no points
    ]
    assert standings.groups[1].placings[contest.round.pk].rank is None
    bob = standings.student(contest.bob.pk)
    assert bob is not None and bob.total == 0 and bob.placings[contest.round.pk].rank is None


def test_points_are_read_from_the_rank_so_a_tie_shares_them(
    contest: Contest, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever tie rule the leaderboard applies, two groups ranked 1 earn rank 1's points."""
    courses.assign_round(contest.olga, contest.round, course)
    play(contest, contest.round, contest.alice, validation_wrong=0)
    play(contest, contest.round, contest.bob, validation_wrong=1)
    close(contest, contest.round)
    real = leaderboard.final_ranking

    def tied(round_: Round) -> Any:
        ranking = real(round_)
        return replace(ranking, standings=tuple(replace(s, rank=1) for s in ranking.standings))

    monkeypatch.setattr(leaderboard, "final_ranking", tied)
    standings = course_standings.course_standings(course, contest.olga)
    assert [(g.rank, g.total) for g in standings.groups] == [(1, 10), (1, 10)]
    assert standings.rounds[0].winners == ("Alpha", "Beta")
    assert course_standings.points_for([10, 8], 3) == 0
    assert course_standings.points_for([10, 8], None) == 0


def test_students_see_the_groups_and_their_own_line(contest: Contest, course: Course) -> None:
    courses.assign_round(contest.olga, contest.round, course)
    play(contest, contest.round, contest.alice, validation_wrong=0)
    play(contest, contest.round, contest.bob, validation_wrong=1)
    close(contest, contest.round)
    as_alice = course_standings.standings_json(
        course_standings.course_standings(course, contest.alice), contest.alice
    )
    assert "students" not in as_alice
    assert as_alice["me"]["total"] == 10 and as_alice["me"]["rank"] == 1
    assert [(g["group"], g["total"]) for g in as_alice["groups"]] == [("Alpha", 10), ("Beta", 8)]
    as_carol = course_standings.standings_json(
        course_standings.course_standings(course, contest.carol), contest.carol
    )
    assert as_carol["me"] == {
        "rank": None,
        "username": "carol",
        "full_name": "",
        "group": None,
        "total": 0,
        "rounds": {str(contest.round.pk): None},
    }
    as_olga = course_standings.standings_json(
        course_standings.course_standings(course, contest.olga), contest.olga
    )
    assert [(s["username"], s["total"]) for s in as_olga["students"]] == [
        ("alice", 10),
        ("bob", 8),
    ]


def test_the_grade_export_opens_in_a_spreadsheet_umlauts_included(
    contest: Contest, course: Course
) -> None:
    baeren = Group.objects.create(name="Bären")
    juergen = make_user("jgroess", group=baeren)
    juergen.first_name, juergen.last_name = "Jürgen", "Größ"
    juergen.save()
    round_ = contest.round
    round_.name = "Wein, rot"  # a comma in a column title: quoted
    round_.save()
    courses.assign_round(contest.olga, round_, course)
    play(contest, round_, juergen, validation_wrong=0)
    play(contest, round_, contest.alice, validation_wrong=1)
    close(contest, round_)

    content = exports.grades_csv(course, contest.olga)
    assert content.startswith(BOM)
    assert content.count(b"\r\n") == 5 and b"\n" not in content.replace(b"\r\n", b"")
    assert "Jürgen,Größ".encode() not in content and "Jürgen Größ".encode() in content
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [
        [
            "username",
            "full_name",
            "group",
            "Wein, rot: group",
            "Wein, rot: rank",
            "Wein, rot: points",
            "total",
            "course_rank",
        ],
        ["alice", "", "Alpha", "Alpha", "2", "8", "8", "2"],
        ["bob", "", "Beta", "", "", "", "0", ""],  # did not play
        ["carol", "", "", "", "", "", "0", ""],
        ["jgroess", "Jürgen Größ", "Bären", "Bären", "1", "10", "10", "1"],
    ]
    assert text.splitlines()[0].startswith('username,full_name,group,"Wein, rot: group"')
    with pytest.raises(PermissionDenied):
        exports.grades_csv(course, contest.alice)


def test_the_round_export_has_the_final_rank_the_counted_job_and_the_move(
    contest: Contest,
) -> None:
    alice_1 = queue.submit_job(contest.alice, contest.round, "knn", {})
    finish(contest, alice_1, test_wrong=1, validation_wrong=0)
    alice_2 = queue.submit_job(contest.alice, contest.round, "knn", {})
    finish(contest, alice_2, test_wrong=0, validation_wrong=3)  # Alpha's best test job
    bob_1 = queue.submit_job(contest.bob, contest.round, "knn", {})
    finish(contest, bob_1, test_wrong=2, validation_wrong=1)
    baseline = queue.submit_job(contest.olga, contest.round, "knn", {}, baseline=True)
    close(contest, contest.round)

    content = exports.round_jobs_csv(Round.objects.get(pk=contest.round.pk))
    assert content.startswith(BOM) and b"\r\n" in content
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == list(exports.ROUND_COLUMNS)
    assert [
        (row["job"], row["group"], row["final_rank"], row["counted"], row["move"]) for row in rows
    ] == [
        (str(alice_1.pk), "Alpha", "2", "False", "-1"),
        (str(alice_2.pk), "Alpha", "2", "True", "-1"),  # public 1st, final 2nd
        (str(bob_1.pk), "Beta", "1", "True", "1"),  # public 2nd, final 1st
        (str(baseline.pk), "", "", "False", ""),
    ]


def test_a_round_counts_for_a_student_only_once_the_whole_ranking_is_theirs(
    contest: Contest, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Points give away every group's final rank: while a viewer may not see the whole final
    ranking with its validation scores (a reveal staged as a show), the round counts nothing
    for them; organizers, who run the show, count it at once."""
    from mlcontest.contest import visibility

    courses.assign_round(contest.olga, contest.round, course)
    play(contest, contest.round, contest.alice, validation_wrong=0)
    close(contest, contest.round)
    real = visibility.sees_validation
    monkeypatch.setattr(
        visibility,
        "sees_validation",
        lambda viewer, round_: viewer.is_organizer and real(viewer, round_),
    )
    assert course_standings.course_standings(course, contest.alice).rounds == ()
    as_alice = course_standings.standings_json(
        course_standings.course_standings(course, contest.alice), contest.alice
    )
    assert as_alice["groups"] == [] and as_alice["me"]["total"] == 0
    assert [r.round_id for r in course_standings.course_standings(course, contest.olga).rounds] == [
        contest.round.pk
    ]
