"""The ``mlcontest`` command: serve, worker, demo, and the set-up commands for a class.

Each group of sub-commands lives in its own module of this package and registers itself here;
they share ``cli.base`` and never import each other.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from mlcontest.cli.announcements import register_announcement_commands
from mlcontest.cli.backup import register_backup_commands
from mlcontest.cli.base import Subcommands, setup_django
from mlcontest.cli.courses import register_course_commands
from mlcontest.cli.datasets import register_dataset_commands
from mlcontest.cli.demo import register_demo_command
from mlcontest.cli.groups import register_group_commands
from mlcontest.cli.rounds import register_round_commands
from mlcontest.cli.serve import register_serve_command
from mlcontest.cli.users import register_user_commands
from mlcontest.worker.cli import register_worker_command

REGISTRARS: list[Callable[[Subcommands], None]] = [
    register_serve_command,
    register_dataset_commands,
    register_group_commands,
    register_user_commands,
    register_round_commands,
    register_course_commands,
    register_announcement_commands,
    register_worker_command,
    register_demo_command,
    register_backup_commands,
]


def cmd_manage(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["mlcontest manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlcontest", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    REGISTRARS[0](commands)
    manage = commands.add_parser("manage", help="run a Django management command", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(handler=cmd_manage)
    for register in REGISTRARS[1:]:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        code = handler(args) or 0
        sys.stdout.flush()  # here, not at exit: a closed pipe must raise where it is caught
        return code
    except BrokenPipeError:
        return quiet_broken_pipe()


def quiet_broken_pipe() -> int:
    """The reader went away (``mlcontest user list | head``): stop without a traceback. Standard
    output goes to /dev/null, so that flushing it at exit does not raise again; the status is
    a shell's for a command ended by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 128 + 13  # SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
