"""Set-up sub-commands (dataset, group, user, round), so that a class can be set up by a script
before the lecture. See docs/cli.md.

The organizer-only domain functions need an acting user: the commands act as the system account
``mlcontest-cli`` (role organizer, no usable password, so nobody can sign in as it), made on
first use. It is the name that round events and group creators show for what a script did.

Every command prints one line per action. A domain error (``ContestError``) goes to stderr as
``error: <message>`` with one line per field, and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mlcontest.algorithms import METRICS
from mlcontest.cli import setup_django
from mlcontest.contest.dataset_choices import GENERATORS, SKLEARN_DATASETS

if TYPE_CHECKING:
    from mlcontest.contest.dataset_sources import SourcedTable
    from mlcontest.contest.errors import ContestError
    from mlcontest.contest.models import Group, Round, User

CLI_USERNAME = "mlcontest-cli"
EXIT_ERROR = 2
# Repeated from dataset_sources because the parser is built before Django is set up, and that
# module needs Django; tests/test_cli.py checks that the lists agree.
SKLEARN_CHOICES = SKLEARN_DATASETS
GENERATOR_CHOICES = GENERATORS

Subcommands = argparse._SubParsersAction


def register_setup_commands(commands: Subcommands) -> None:
    from mlcontest.course_cli import register_course_commands
    from mlcontest.setup_users import register_user_commands

    _register_dataset(commands)
    _register_group(commands)
    register_user_commands(commands)
    _register_round(commands)
    register_course_commands(commands)


# --- running a command -----------------------------------------------------------------------


def command(run: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command: Django and the database ready first, domain errors reported plainly."""

    @functools.wraps(run)
    def handler(args: argparse.Namespace) -> int:
        setup_django()
        from django.db import OperationalError

        from mlcontest.contest.errors import ContestError

        try:
            prepare_database()
            run(args)
        except ContestError as error:
            report_error(error)
            return EXIT_ERROR
        except OperationalError as error:
            # A database that is down or locked is the set-up's problem, not a bug: say which.
            print(f"error: the database cannot be used: {error}", file=sys.stderr)
            return EXIT_ERROR
        return 0

    return handler


def prepare_database() -> None:
    """Set up Django and apply the migrations a fresh data folder still lacks."""
    setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)


def report_error(error: ContestError) -> None:
    print(f"error: {error.message}", file=sys.stderr)
    for field, problem in error.fields.items():
        print(f"  {field}: {problem}", file=sys.stderr)


def cli_organizer() -> User:
    """The system account the commands act as (see the module's docstring)."""
    from mlcontest.contest.models import Role, User

    user, created = User.objects.get_or_create(
        username=CLI_USERNAME, defaults={"role": Role.ORGANIZER}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif user.role != Role.ORGANIZER:
        user.role = Role.ORGANIZER
        user.save(update_fields=["role"])
    return user


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> None:
    cells = [[str(value) for value in row] for row in rows]
    if not cells:
        print(empty)
        return
    widths = [max(len(row[i]) for row in [list(headers), *cells]) for i in range(len(headers))]
    for row in [list(headers), *cells]:
        print(
            "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        )


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def fractions_arg(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(item) for item in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not three numbers: {text!r}") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError("give three fractions: training,test,validation")
    return values[0], values[1], values[2]


def iso_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date and time: {text!r}") from None


def aware(moment: datetime | None) -> datetime | None:
    """A time without a zone is read in the server's TIME_ZONE."""
    from django.utils import timezone

    if moment is None or timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment)


def shown_time(moment: datetime | None) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


# --- dataset ---------------------------------------------------------------------------------


def _register_dataset(commands: Subcommands) -> None:
    dataset = commands.add_parser("dataset", help="import, generate and list datasets")
    actions = dataset.add_subparsers(dest="action", required=True)

    def split_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
        parser.add_argument(
            "--fractions",
            type=fractions_arg,
            default=(0.6, 0.2, 0.2),
            help="training,test,validation shares (default 0.6,0.2,0.2)",
        )
        parser.add_argument("--replace", action="store_true", help="replace an existing dataset")

    import_csv = actions.add_parser("import-csv", help="import a CSV file with a header line")
    import_csv.add_argument("name")
    import_csv.add_argument("file", type=Path)
    import_csv.add_argument("--label-column", default="label")
    import_csv.add_argument(
        "--split-column",
        default="split",
        help="column of training/test/validation; without it the points are split by --seed",
    )
    import_csv.add_argument(
        "--features", type=comma_list, help="feature columns (default: every numeric column)"
    )
    split_options(import_csv)
    import_csv.set_defaults(handler=cmd_dataset_import_csv)

    sklearn = actions.add_parser("sklearn", help="a dataset that ships with scikit-learn")
    sklearn.add_argument("name")
    sklearn.add_argument("source", choices=SKLEARN_CHOICES)
    split_options(sklearn)
    sklearn.set_defaults(handler=cmd_dataset_sklearn)

    generate = actions.add_parser("generate", help="a generated 2-D dataset")
    generate.add_argument("name")
    generate.add_argument("kind", choices=GENERATOR_CHOICES)
    generate.add_argument("--points", type=int, default=300)
    generate.add_argument("--noise", type=float, default=0.1)
    generate.add_argument("--classes", type=int, help="blobs and spirals: number of classes")
    split_options(generate)
    generate.set_defaults(handler=cmd_dataset_generate)

    actions.add_parser("list", help="list the datasets").set_defaults(handler=cmd_dataset_list)


@command
def cmd_dataset_import_csv(args: argparse.Namespace) -> None:
    from mlcontest.contest import dataset_sources

    table = dataset_sources.from_csv(
        args.file,
        label_column=args.label_column,
        split_column=args.split_column,
        feature_columns=args.features,
        seed=args.seed,
        fractions=args.fractions,
    )
    _store_dataset(args.name, table, args.replace)


@command
def cmd_dataset_sklearn(args: argparse.Namespace) -> None:
    from mlcontest.contest import dataset_sources

    table = dataset_sources.from_sklearn(args.source, seed=args.seed, fractions=args.fractions)
    _store_dataset(args.name, table, args.replace)


@command
def cmd_dataset_generate(args: argparse.Namespace) -> None:
    from mlcontest.contest import dataset_sources

    table = dataset_sources.generate(
        args.kind,
        n_points=args.points,
        noise=args.noise,
        seed=args.seed,
        fractions=args.fractions,
        n_classes=args.classes,
    )
    _store_dataset(args.name, table, args.replace)


def _store_dataset(name: str, table: SourcedTable, replace: bool) -> None:
    from mlcontest.contest import dataset_sources
    from mlcontest.contest.models import Dataset

    existed = Dataset.objects.filter(name=name.strip()).exists()
    dataset = dataset_sources.store(name, table, replace=replace)
    counts = ", ".join(f"{split} {table.splits.count(split)}" for split in ("training", "test"))
    counts += f", validation {table.splits.count('validation')}"
    verb = "replaced" if existed else "created"
    print(f"{verb} dataset {dataset.name!r} (id {dataset.pk}; {counts}): {table.description}")


@command
def cmd_dataset_list(args: argparse.Namespace) -> None:
    from mlcontest.contest.datasets import SPLITS, describe_dataset
    from mlcontest.contest.models import Dataset

    rows = []
    for dataset in Dataset.objects.order_by("name"):
        described = describe_dataset(dataset)
        splits = "/".join(str(described["splits"][split]) for split in SPLITS)
        rows.append(
            (
                dataset.pk,
                dataset.name,
                described["size"],
                splits,
                len(described["features"]),
                len(described["labels"]),
                dataset.source,
            )
        )
    headers = ("id", "name", "points", "train/test/valid", "features", "classes", "source")
    print_table(headers, rows, "no datasets yet")


def find_user(username: str) -> User:
    from mlcontest.contest.errors import NotFound
    from mlcontest.contest.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"No user named {username!r}.", fields={"username": "unknown"})
    return user


# --- group -----------------------------------------------------------------------------------


def _register_group(commands: Subcommands) -> None:
    group = commands.add_parser("group", help="create groups and add members")
    actions = group.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create a group (public unless --private)")
    add.add_argument("name")
    add.add_argument("--private", action="store_true", help="joining needs the invite code")
    add.set_defaults(handler=cmd_group_add)
    actions.add_parser("list", help="list groups with invite codes").set_defaults(
        handler=cmd_group_list
    )
    add_member = actions.add_parser("add-member", help="put a user in a group")
    add_member.add_argument("group")
    add_member.add_argument("username")
    add_member.set_defaults(handler=cmd_group_add_member)


def group_words(group: Group) -> str:
    return "public" if group.public else f"private, invite code {group.invite_code}"


@command
def cmd_group_add(args: argparse.Namespace) -> None:
    from mlcontest.contest.groups import create_group

    group = create_group(cli_organizer(), args.name, public=not args.private)
    print(f"created group {group.name!r} ({group_words(group)})")


@command
def cmd_group_list(args: argparse.Namespace) -> None:
    from mlcontest.contest.groups import describe_group, visible_groups

    organizer = cli_organizer()
    rows = []
    for group in visible_groups(organizer):
        described = describe_group(group, organizer)
        access = "public" if group.public else "private"
        members = ", ".join(described["members"])
        rows.append(
            (group.name, access, described["invite_code"], len(described["members"]), members)
        )
    print_table(("group", "access", "invite code", "size", "members"), rows, "no groups yet")


@command
def cmd_group_add_member(args: argparse.Namespace) -> None:
    from mlcontest.contest.groups import add_member, find_group, group_of, is_placed

    group = find_group(args.group)
    user = find_user(args.username)
    before = group_of(user)
    if is_placed(user, group):
        print(f"{user.username} is in group {group.name!r} already")
        return
    add_member(cli_organizer(), group, user)
    if before == group:  # joined alone before: now the student cannot leave by themselves
        print(f"placed {user.username} in group {group.name!r}")
        return
    moved = f" (left {before.name!r})" if before else ""
    print(f"added {user.username} to group {group.name!r}{moved}")


# --- round -----------------------------------------------------------------------------------


def _register_round(commands: Subcommands) -> None:
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
