"""The organizers' CSV files: a round's jobs, and a course's grades (docs/rules.md).

Both are written as ``training_data.csv_bytes`` writes the students' downloads: UTF-8 with a
byte order mark (Excel reads a file without it in the machine's ANSI code page, and "Jürgen
Größ" of "Bären" would arrive garbled), RFC 4180 quoting, CRLF line ends.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mlcontest.contest import course_standings, leaderboard
from mlcontest.contest.models import Course, Job, Round, User
from mlcontest.contest.permissions import require_organizer
from mlcontest.contest.training_data import Download, csv_bytes

ROUND_COLUMNS = (
    "job",
    "group",
    "user",
    "baseline",
    "algorithm",
    "params",
    "state",
    "success",
    "score_test",
    "score_validation",
    "final_rank",
    "counted",
    "move",
    "extra_scores_test",
    "extra_scores_validation",
    "message",
    "worker",
    "created_at",
    "claimed_at",
    "finished_at",
)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _blank(value: Any) -> Any:
    return "" if value is None else value


def round_jobs_csv(round_: Round) -> bytes:
    """Every job of the round with its scores, one row each, oldest first.

    ``final_rank`` and ``move`` are the group's in the final ranking (on every job of the
    group; before the reveal, the organizer's preview), ``counted`` is True on the one job
    that ranking counts for the group (its best test job or its final choice)."""
    final = {line.group_id: line for line in leaderboard.final_ranking(round_).standings}
    jobs = (
        Job.objects.filter(round=round_)
        .select_related("group", "user")
        .order_by("created_at", "id")
    )
    rows = []
    for job in jobs:
        line = final.get(job.group_id) if job.group_id is not None else None
        rows.append(
            [
                job.pk,
                job.group.name if job.group else "",
                job.user.username if job.user else "",
                job.is_baseline,
                job.algorithm,
                json.dumps(job.params, sort_keys=True),
                job.state,
                _blank(job.success),
                _blank(job.score_test),
                _blank(job.score_validation),
                line.rank if line else "",
                line is not None and line.job_id == job.pk,
                _blank(line.move) if line else "",
                json.dumps(job.extra_scores_test) if job.extra_scores_test else "",
                json.dumps(job.extra_scores_validation) if job.extra_scores_validation else "",
                job.message,
                job.worker_name,
                _iso(job.created_at),
                _iso(job.claimed_at),
                _iso(job.finished_at),
            ]
        )
    return csv_bytes(ROUND_COLUMNS, rows)


def round_jobs_download(organizer: User, round_: Round) -> Download:
    require_organizer(organizer)
    return Download(f"round-{round_.pk}-jobs.csv", round_jobs_csv(round_))


def _round_titles(rounds: tuple[course_standings.CountedRound, ...]) -> list[str]:
    """A column title per round: its name, with its id where two rounds share a name."""
    names = [counted.name for counted in rounds]
    return [
        f"{counted.name} (round {counted.round_id})"
        if names.count(counted.name) > 1
        else counted.name
        for counted in rounds
    ]


def grades_csv(course: Course, organizer: User) -> bytes:
    """One row per student: ``username``, ``full_name``, ``group`` (now), for each counted
    round ``<round>: group``, ``<round>: rank``, ``<round>: points`` (all empty where the
    student did not play it; an empty rank with 0 points where their group had no validation
    score), then ``total`` and ``course_rank``. Every active student account is listed."""
    require_organizer(organizer)
    standings = course_standings.course_standings(course, organizer)
    titles = _round_titles(standings.rounds)
    header = ["username", "full_name", "group"]
    for title in titles:
        header += [f"{title}: group", f"{title}: rank", f"{title}: points"]
    header += ["total", "course_rank"]
    rows = []
    for line in course_standings.grade_students(standings):
        row: list[Any] = [line.username, line.full_name, line.group or ""]
        for counted in standings.rounds:
            placing = line.placings.get(counted.round_id)
            if placing is None:
                row += ["", "", ""]
            else:
                row += [placing.group, _blank(placing.rank), placing.points]
        row += [line.total, _blank(line.rank)]
        rows.append(row)
    return csv_bytes(header, rows)


def grades_download(organizer: User, course: Course) -> Download:
    return Download(f"course-{course.pk}-grades.csv", grades_csv(course, organizer))
