"""``mlcontest course``: courses from a script (docs/cli.md): create one, put rounds in it,
print its standings, write its grades as CSV. Acts as the set-up commands' system account."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlcontest.cli.base import Subcommands, cli_organizer, command, print_table


def register_course_commands(commands: Subcommands) -> None:
    course = commands.add_parser("course", help="courses: rounds of one class, standings, grades")
    actions = course.add_subparsers(dest="action", required=True)

    add = actions.add_parser("add", help="create a course")
    add.add_argument("name")
    add.add_argument(
        "--points", help='points per final rank, e.g. "10,8,6,5,4,3,2,1" (the default)'
    )
    add.add_argument("--description", default="")
    add.set_defaults(handler=cmd_course_add)

    points = actions.add_parser("points", help="change a course's points table")
    points.add_argument("course", help="the course's id or name")
    points.add_argument("points", help='e.g. "10,8,6"')
    points.set_defaults(handler=cmd_course_points)

    assign = actions.add_parser("assign", help="put rounds in a course (by round id)")
    assign.add_argument("course", help="the course's id or name")
    assign.add_argument("rounds", type=int, nargs="+", metavar="ROUND")
    assign.set_defaults(handler=cmd_course_assign)

    remove = actions.add_parser("remove", help="take rounds out of their course")
    remove.add_argument("rounds", type=int, nargs="+", metavar="ROUND")
    remove.set_defaults(handler=cmd_course_remove)

    actions.add_parser("list", help="list the courses").set_defaults(handler=cmd_course_list)

    standings = actions.add_parser("standings", help="print the groups' standings")
    standings.add_argument("course", help="the course's id or name")
    standings.set_defaults(handler=cmd_course_standings)

    grades = actions.add_parser("grades", help="write the grades as CSV (one row per student)")
    grades.add_argument("course", help="the course's id or name")
    grades.add_argument(
        "--output", "-o", type=Path, help="the file to write (default: standard output)"
    )
    grades.set_defaults(handler=cmd_course_grades)


@command
def cmd_course_add(args: argparse.Namespace) -> None:
    from mlcontest.contest import courses

    table = courses.parse_points(args.points) if args.points is not None else None
    course = courses.create_course(cli_organizer(), args.name, args.description, table)
    shown = ", ".join(map(str, course.points))
    print(f"created course {course.pk} {course.name!r}: points per final rank {shown}")


@command
def cmd_course_points(args: argparse.Namespace) -> None:
    from mlcontest.contest import courses

    course = courses.find_course_by_name_or_id(args.course)
    courses.update_course(cli_organizer(), course, points=courses.parse_points(args.points))
    print(f"course {course.pk} {course.name!r}: points per final rank {args.points}")


@command
def cmd_course_assign(args: argparse.Namespace) -> None:
    from mlcontest.contest import courses
    from mlcontest.contest.rounds import get_round

    course = courses.find_course_by_name_or_id(args.course)
    found = [get_round(round_id) for round_id in args.rounds]  # every id checked first
    for round_ in found:
        courses.assign_round(cli_organizer(), round_, course)
        print(f"round {round_.pk} {round_.name!r} counts in course {course.name!r}")


@command
def cmd_course_remove(args: argparse.Namespace) -> None:
    from mlcontest.contest import courses
    from mlcontest.contest.rounds import get_round

    found = [get_round(round_id) for round_id in args.rounds]
    for round_ in found:
        courses.assign_round(cli_organizer(), round_, None)
        print(f"round {round_.pk} {round_.name!r} is in no course")


@command
def cmd_course_list(args: argparse.Namespace) -> None:
    from django.db.models import Count

    from mlcontest.contest import courses

    rows = [
        (course.pk, course.name, course.n_rounds, ",".join(map(str, course.points)))
        for course in courses.all_courses().annotate(n_rounds=Count("rounds"))
    ]
    print_table(("id", "name", "rounds", "points"), rows, "no courses yet")


@command
def cmd_course_standings(args: argparse.Namespace) -> None:
    from mlcontest.contest import course_standings, courses

    organizer = cli_organizer()
    course = courses.find_course_by_name_or_id(args.course)
    standings = course_standings.course_standings(course, organizer)
    names = [counted.name for counted in standings.rounds]
    print(f"course {course.pk} {course.name!r}: {len(names)} revealed round(s) counted")
    rows = [
        (
            line.rank,
            line.group,
            *(_cell(line.placings.get(counted.round_id)) for counted in standings.rounds),
            line.total,
        )
        for line in standings.groups
    ]
    print_table(("#", "group", *names, "total"), rows, "no revealed round yet")


def _cell(placing: object) -> str:
    from mlcontest.contest.course_standings import Placing

    if not isinstance(placing, Placing):
        return "-"
    return f"{placing.points} (#{placing.rank})" if placing.rank else f"{placing.points} (-)"


@command
def cmd_course_grades(args: argparse.Namespace) -> None:
    from mlcontest.contest import courses, exports

    course = courses.find_course_by_name_or_id(args.course)
    content = exports.grades_csv(course, cli_organizer())
    if args.output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(content)  # the bytes as the web serves them: BOM, CRLF
        sys.stdout.buffer.flush()
        return
    args.output.write_bytes(content)
    rows = content.count(b"\r\n") - 1
    print(f"wrote {rows} student(s) of course {course.name!r} to {args.output}")
