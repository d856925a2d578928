"""A course's standings: points per final rank, summed over its revealed rounds (docs/rules.md,
"Courses").

- Only a **revealed** round counts (``Round.revealed_at``, its first close), with its final
  ranking as revealed (``leaderboard.final_ranking``): a reveal is final, so are its points.
  A round whose whole final ranking the viewer may not see yet (``counted_rounds``) is left
  out for that viewer; drafts are never revealed, so never count.
- A group earns ``course.points[rank - 1]`` for its final rank in a round, 0 beyond the table
  and 0 without a validation score (in the round, but unranked). Points are read from the
  rank alone: whatever the leaderboard does with ties, equal ranks earn equal points.
- A student earns their group's points in each round they **played**: they submitted a job
  for that group in it before its reveal. A student plays a round for one group only (the
  queue refuses a second group, ``other_group``); should old data hold two, the group of their
  first job counts. Jobs, unlike memberships, do not change afterwards, so neither do grades
  when groups are reshuffled between rounds. A member who submitted nothing earns nothing.
- Totals rank with shared places (1, 2, 2, 4): a grade is no place to break a tie by name.

Computed whenever read, from the cached final rankings: a few queries per course, nothing
stored, so a changed points table applies at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import F, Min

from mlcontest.contest import leaderboard, visibility
from mlcontest.contest.courses import course_rounds
from mlcontest.contest.models import Course, Group, Job, Membership, Role, Round, RoundEntry, User


@dataclass(frozen=True)
class Placing:
    """A group's result in one counted round: its final rank (None: no validation score)."""

    group_id: int
    group: str
    rank: int | None
    points: int


@dataclass(frozen=True)
class CountedRound:
    round_id: int
    name: str
    revealed_at: datetime
    winners: tuple[str, ...]  # the groups ranked first (more than one only if tied)


@dataclass(frozen=True)
class GroupLine:
    rank: int
    group_id: int
    group: str
    total: int
    placings: dict[int, Placing] = field(default_factory=dict)  # by round id


@dataclass(frozen=True)
class StudentLine:
    rank: int | None  # None: played no counted round
    user_id: int
    username: str
    full_name: str
    group: str | None  # the group the student is in now
    total: int
    placings: dict[int, Placing] = field(default_factory=dict)  # by round id


@dataclass(frozen=True)
class CourseStandings:
    course_id: int
    points: tuple[int, ...]
    rounds: tuple[CountedRound, ...]
    groups: tuple[GroupLine, ...]
    students: tuple[StudentLine, ...]  # everyone who played a counted round

    def student(self, user_id: int) -> StudentLine | None:
        return next((line for line in self.students if line.user_id == user_id), None)


def points_for(table: Sequence[int], rank: int | None) -> int:
    """The points of a final rank: the table's entry, 0 beyond it or without a rank."""
    if rank is None or rank < 1 or rank > len(table):
        return 0
    return int(table[rank - 1])


def counted_rounds(course: Course, viewer: User) -> list[Round]:
    """The course's rounds that count for this viewer: revealed, and the viewer may see their
    whole final ranking (``visibility``). A round's points give away every group's final rank,
    so they wait for what the whole ranking waits for: the final ranking and its validation
    scores, both visible (where the reveal is staged as a show on the projector, students see
    the places one by one and the validation scores only once it is over)."""
    return [
        round_
        for round_ in course_rounds(course, viewer)
        if round_.revealed_at is not None
        and visibility.sees_final(viewer, round_)
        and visibility.sees_validation(viewer, round_)
    ]


def _placings(round_: Round, table: Sequence[int]) -> dict[int, Placing]:
    """Every group of the round at its reveal, by id: the ranked and the unranked."""
    ranking = leaderboard.final_ranking(round_)
    placings = {
        line.group_id: Placing(line.group_id, line.group, line.rank, points_for(table, line.rank))
        for line in ranking.standings
    }
    entries = RoundEntry.objects.filter(round=round_, joined_at__lt=round_.revealed_at)
    for group_id, name in entries.values_list("group_id", "group__name"):
        placings.setdefault(group_id, Placing(group_id, name, None, 0))
    return placings


def _players(rounds: list[Round]) -> dict[int, dict[int, int]]:
    """Round id -> user id -> the group they played it for (their first job's group)."""
    firsts = (
        Job.objects.filter(
            round__in=rounds,
            group__isnull=False,
            user__isnull=False,
            created_at__lt=F("round__revealed_at"),
        )
        .values("round_id", "user_id", "group_id")
        .annotate(first=Min("created_at"))
        .order_by("round_id", "user_id", "first")
    )
    players: dict[int, dict[int, int]] = {}
    for row in firsts:
        players.setdefault(row["round_id"], {}).setdefault(row["user_id"], row["group_id"])
    return players


Line = TypeVar("Line")


def _ranked(lines: list[Line], total: Callable[[Line], int]) -> list[tuple[int, Line]]:
    """Shared places: equal totals share the better rank (1, 2, 2, 4); ``lines`` are sorted."""
    ranked: list[tuple[int, Line]] = []
    for index, line in enumerate(lines):
        same = ranked and total(ranked[-1][1]) == total(line)
        ranked.append((ranked[-1][0] if same else index + 1, line))
    return ranked


def course_standings(course: Course, viewer: User) -> CourseStandings:
    """The standings as the viewer may see them (only the rounds whose final ranking they
    may see count: ``counted_rounds``). Who sees which lines is the callers' part: students
    their own line only (``standings_json``)."""
    table = tuple(int(value) for value in course.points)
    rounds = counted_rounds(course, viewer)
    placings = {round_.pk: _placings(round_, table) for round_ in rounds}
    players = _players(rounds)

    group_totals: dict[int, dict[int, Placing]] = {}
    for round_id, by_group in placings.items():
        for group_id, placing in by_group.items():
            group_totals.setdefault(group_id, {})[round_id] = placing
    group_lines = sorted(
        (
            (sum(p.points for p in by_round.values()), next(iter(by_round.values())).group, gid)
            for gid, by_round in group_totals.items()
        ),
        key=lambda item: (-item[0], item[1].casefold(), item[2]),
    )
    groups = tuple(
        GroupLine(rank, gid, name, total, group_totals[gid])
        for rank, (total, name, gid) in _ranked(group_lines, lambda item: item[0])
    )

    by_student: dict[int, dict[int, Placing]] = {}
    for round_id, users in players.items():
        for user_id, group_id in users.items():
            played = placings[round_id].get(group_id)
            if played is None:  # the group joined after the reveal: not in the ranking
                played = Placing(group_id, _group_name(group_id), None, 0)
            by_student.setdefault(user_id, {})[round_id] = played
    students = tuple(_student_lines(by_student))
    return CourseStandings(
        course_id=course.pk,
        points=table,
        rounds=tuple(
            CountedRound(
                round_id=round_.pk,
                name=round_.name,
                revealed_at=round_.revealed_at,  # type: ignore[arg-type]  # counted: revealed
                winners=tuple(p.group for p in placings[round_.pk].values() if p.rank == 1),
            )
            for round_ in rounds
        ),
        groups=groups,
        students=students,
    )


def _group_name(group_id: int) -> str:
    return Group.objects.filter(pk=group_id).values_list("name", flat=True).first() or ""


def current_groups(user_ids: Iterable[int]) -> dict[int, str]:
    """The group each user is in now, by user id (one query)."""
    return dict(
        Membership.objects.filter(user_id__in=list(user_ids)).values_list("user_id", "group__name")
    )


def _student_lines(by_student: dict[int, dict[int, Placing]]) -> list[StudentLine]:
    users = {user.pk: user for user in User.objects.filter(pk__in=list(by_student))}
    now_in = current_groups(by_student)
    lines = sorted(
        (
            (sum(p.points for p in by_round.values()), users[user_id], by_round)
            for user_id, by_round in by_student.items()
            if user_id in users
        ),
        key=lambda item: (-item[0], item[1].username.casefold(), item[1].pk),
    )
    return [
        StudentLine(
            rank=rank,
            user_id=user.pk,
            username=user.username,
            full_name=user.get_full_name(),
            group=now_in.get(user.pk),
            total=total,
            placings=by_round,
        )
        for rank, (total, user, by_round) in _ranked(lines, lambda item: item[0])
    ]


def own_line(standings: CourseStandings, viewer: User) -> StudentLine:
    """The viewer's line; a student who played no counted round gets an empty one."""
    line = standings.student(viewer.pk)
    if line is not None:
        return line
    return StudentLine(
        rank=None,
        user_id=viewer.pk,
        username=viewer.username,
        full_name=viewer.get_full_name(),
        group=current_groups([viewer.pk]).get(viewer.pk),
        total=0,
    )


# --- JSON for a viewer -----------------------------------------------------------------------


def _placing_json(placing: Placing | None) -> dict[str, Any] | None:
    if placing is None:
        return None
    return {"group": placing.group, "rank": placing.rank, "points": placing.points}


def _student_json(line: StudentLine, rounds: tuple[CountedRound, ...]) -> dict[str, Any]:
    return {
        "rank": line.rank,
        "username": line.username,
        "full_name": line.full_name,
        "group": line.group,
        "total": line.total,
        "rounds": {
            str(counted.round_id): _placing_json(line.placings.get(counted.round_id))
            for counted in rounds
        },
    }


def standings_json(standings: CourseStandings, viewer: User) -> dict[str, Any]:
    """Groups for everyone signed in; students' lines for organizers, and for a student their
    own line only (``me``): a classmate's points are a grade, not a leaderboard."""
    described: dict[str, Any] = {
        "course": standings.course_id,
        "points": list(standings.points),
        "rounds": [
            {
                "id": counted.round_id,
                "name": counted.name,
                "revealed_at": counted.revealed_at,
                "winners": list(counted.winners),
            }
            for counted in standings.rounds
        ],
        "groups": [
            {
                "rank": line.rank,
                "group": line.group,
                "total": line.total,
                "rounds": {
                    str(counted.round_id): _placing_json(line.placings.get(counted.round_id))
                    for counted in standings.rounds
                },
            }
            for line in standings.groups
        ],
        "me": _student_json(own_line(standings, viewer), standings.rounds),
    }
    if visibility.role_of(viewer) is visibility.Role.ORGANIZER:
        described["students"] = [
            _student_json(line, standings.rounds) for line in standings.students
        ]
    return described


def grade_students(standings: CourseStandings) -> list[StudentLine]:
    """One line per student for the grade export: every active student account (those who
    played nothing get an empty line) and everyone else who played, by user name."""
    played = {line.user_id: line for line in standings.students}
    others = list(
        User.objects.filter(
            role=Role.STUDENT, is_active=True, is_staff=False, is_superuser=False
        ).exclude(pk__in=list(played))
    )
    now_in = current_groups(user.pk for user in others)
    lines = list(played.values()) + [
        StudentLine(
            rank=None,
            user_id=user.pk,
            username=user.username,
            full_name=user.get_full_name(),
            group=now_in.get(user.pk),
            total=0,
        )
        for user in others
    ]
    return sorted(lines, key=lambda line: (line.username.casefold(), line.user_id))
