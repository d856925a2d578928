"""What every sub-command shares: Django set up on demand, the acting account, errors
reported plainly, tables and times printed alike.

The organizer-only domain functions need an acting user: the commands act as the system account
``mlcontest-cli`` (role organizer, no usable password, so nobody can sign in as it), made on
first use. It is the name that round events and group creators show for what a script did.

Every command prints one line per action. A domain error (``ContestError``) goes to stderr as
``error: <message>`` with one line per field, and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlcontest.contest.errors import ContestError
    from mlcontest.contest.models import Group, User

CLI_USERNAME = "mlcontest-cli"
EXIT_ERROR = 2

Subcommands = argparse._SubParsersAction


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlcontest.settings")
    import django

    django.setup()


def migrate_database() -> None:
    """Apply the migrations and collect the static files (``serve`` and ``demo`` at start,
    ``mlcontest migrate``). Several machines that start at once take turns on PostgreSQL."""
    setup_django()
    from django.core.management import call_command

    with migration_lock():
        call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # this machine's folder


# Any fixed number, the same on every machine: pg_advisory_lock's key for migrating.
MIGRATION_LOCK_KEY = 0x6D6C636F6E74  # "mlcont"
MIGRATION_LOCK_WAIT_SECONDS = 600


@contextlib.contextmanager
def migration_lock() -> Iterator[None]:
    """On PostgreSQL, one migrating process at a time: two machines that migrate together
    would both create the same tables, and one would fail half-way. A session lock, taken by
    trying every half second (a plain ``pg_advisory_lock`` would end at the statement timeout
    while another machine's long migration runs). SQLite's own write lock serialises it."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield
        return
    deadline = time.monotonic() + MIGRATION_LOCK_WAIT_SECONDS
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
            if cursor.fetchone()[0]:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("another process has been migrating for 10 minutes")
            time.sleep(0.5)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])


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


def find_user(username: str) -> User:
    from mlcontest.contest.errors import NotFound
    from mlcontest.contest.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"No user named {username!r}.", fields={"username": "unknown"})
    return user


def group_words(group: Group) -> str:
    return "public" if group.public else f"private, invite code {group.invite_code}"
