"""``mlcontest round``: create, open, close, reveal and list rounds (docs/cli.md)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlcontest.contest.models import Round, User

from mlcontest.algorithms import METRICS
from mlcontest.cli.base import (
    Subcommands,
    aware,
    cli_organizer,
    comma_list,
    command,
    iso_datetime,
    print_table,
    shown_time,
)

# --- round -----------------------------------------------------------------------------------


def register_round_commands(commands: Subcommands) -> None:
    round_ = commands.add_parser("round", help="create, open, close and list rounds")
    actions = round_.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", help="create a round (a draft unless --open)")
    create.add_argument("name")
    create.add_argument("--dataset", required=True, help="the dataset's name")
    create.add_argument("--metric", required=True, choices=list(METRICS))
    create.add_argument(
        "--algorithms", type=comma_list, help="allowed algorithms, e.g. knn,svm (default: all)"
    )
    create.add_argument("--quota", type=int, default=20, help="jobs per group (default 20)")
    create.add_argument("--queued-quota", type=int, default=3, help="jobs waiting at once")
    create.add_argument("--starts", type=iso_datetime, help="opens by itself then (ISO time)")
    create.add_argument("--ends", type=iso_datetime, help="closes by itself then (ISO time)")
    create.add_argument("--time-limit", type=int, default=60, help="seconds per job")
    create.add_argument("--memory-limit", type=int, default=2048, help="MB per job")
    create.add_argument("--description", default="")
    create.add_argument(
        "--reveal-show",
        action="store_true",
        help="at the close, reveal the final ranking place by place (default: all at once)",
    )
    create.add_argument("--open", action="store_true", help="open the round at once")
    create.add_argument("--course", help="the course it counts in (its id or name)")
    create.set_defaults(handler=cmd_round_create)

    reveal = actions.add_parser(
        "reveal", help="during a round's show: reveal the next place (or --places, --all)"
    )
    reveal.add_argument("id", type=int)
    reveal.add_argument("--places", type=int, help="reveal the last N places")
    reveal.add_argument("--all", action="store_true", help="reveal everything: ends the show")
    reveal.set_defaults(handler=cmd_round_reveal)

    for name, handler in (("open", cmd_round_open), ("close", cmd_round_close)):
        action = actions.add_parser(name, help=f"{name} a round now")
        action.add_argument("id", type=int)
        action.set_defaults(handler=handler)

    actions.add_parser("list", help="list the rounds").set_defaults(handler=cmd_round_list)


@command
def cmd_round_create(args: argparse.Namespace) -> None:
    from mlcontest.contest import rounds
    from mlcontest.contest.errors import NotFound
    from mlcontest.contest.models import Dataset

    dataset = Dataset.objects.filter(name=args.dataset).first()
    if dataset is None:
        raise NotFound(f"No dataset named {args.dataset!r}.", fields={"dataset": "unknown"})
    course = None
    if args.course is not None:
        from mlcontest.contest.courses import find_course_by_name_or_id

        course = find_course_by_name_or_id(args.course)
    organizer = cli_organizer()
    round_ = rounds.create_round(
        organizer,
        name=args.name,
        dataset=dataset,
        metric=args.metric,
        allowed_algorithms=args.algorithms,
        starts_at=aware(args.starts),
        ends_at=aware(args.ends),
        job_quota=args.quota,
        queued_quota=args.queued_quota,
        time_limit_seconds=args.time_limit,
        memory_limit_mb=args.memory_limit,
        description=args.description,
        reveal_show=args.reveal_show,
    )
    round_ = rounds.get_round(round_.pk)  # a start time that has passed opens it at once
    if course is not None:
        from mlcontest.contest.courses import assign_round

        assign_round(organizer, round_, course)
        print(f"round {round_.pk} {round_.name!r} counts in course {course.name!r}")
    algorithms = ", ".join(rounds.allowed_algorithms(round_))
    print(
        f"created round {round_.pk} {round_.name!r} on dataset {dataset.name!r}: "
        f"{round_.metric}, quota {round_.job_quota} ({round_.queued_quota} queued), "
        f"algorithms {algorithms}; {round_.state}"
    )
    from mlcontest.contest.split_steps import dataset_warnings

    for warning in dataset_warnings(dataset):
        print(f"warning: {warning}", file=sys.stderr)
    if args.open:
        _open(organizer, round_)


def _open(organizer: User, round_: Round) -> None:
    from mlcontest.contest import rounds
    from mlcontest.contest.models import RoundState

    if round_.state == RoundState.OPEN:
        print(f"round {round_.pk} {round_.name!r} is open already")
        return
    rounds.open_round(organizer, round_)
    print(f"opened round {round_.pk} {round_.name!r}")


@command
def cmd_round_open(args: argparse.Namespace) -> None:
    from mlcontest.contest.rounds import get_round

    _open(cli_organizer(), get_round(args.id))


@command
def cmd_round_close(args: argparse.Namespace) -> None:
    from mlcontest.contest.models import RoundState
    from mlcontest.contest.rounds import close_round, get_round

    round_ = get_round(args.id)
    if round_.state == RoundState.CLOSED:
        print(f"round {round_.pk} {round_.name!r} is closed already")
        return
    close_round(cli_organizer(), round_)
    print(f"closed round {round_.pk} {round_.name!r}")


@command
def cmd_round_reveal(args: argparse.Namespace) -> None:
    from mlcontest.contest import reveal_show
    from mlcontest.contest.rounds import get_round

    organizer = cli_organizer()
    round_ = get_round(args.id)
    if args.all:
        round_ = reveal_show.reveal_places(organizer, round_, None)
    elif args.places is not None:
        round_ = reveal_show.reveal_places(organizer, round_, args.places)
    else:
        round_ = reveal_show.reveal_next(organizer, round_)
    shown = reveal_show.status(round_)
    print(
        f"round {round_.pk} {round_.name!r}: {shown.places_revealed} of {shown.places} places "
        f"revealed ({shown.stage.value})"
    )


@command
def cmd_round_list(args: argparse.Namespace) -> None:
    from django.db.models import Count

    from mlcontest.contest.rounds import visible_rounds

    rows = [
        (
            round_.pk,
            round_.state,
            round_.name,
            round_.dataset.name,
            round_.metric,
            round_.n_groups,
            round_.n_jobs,
            shown_time(round_.starts_at),
            shown_time(round_.ends_at),
        )
        for round_ in visible_rounds(cli_organizer()).annotate(
            n_groups=Count("entries", distinct=True), n_jobs=Count("jobs", distinct=True)
        )
    ]
    headers = ("id", "state", "name", "dataset", "metric", "groups", "jobs", "starts", "ends")
    print_table(headers, rows, "no rounds yet")
