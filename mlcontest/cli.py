"""The ``mlcontest`` command: serve, worker, demo, and the set-up commands for a class."""

from __future__ import annotations

import argparse
import os
import resource
import sys
from collections.abc import Callable, Sequence


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlcontest.settings")
    import django

    django.setup()


def cmd_manage(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["mlcontest manage", *args.rest])
    return 0


def cmd_migrate() -> None:
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def max_connections() -> int:
    """``MLCONTEST_MAX_CONNECTIONS``: open connections per server process."""
    from mlcontest.settings import env_int

    value = env_int("MLCONTEST_MAX_CONNECTIONS", 1000)
    if value < 1:
        raise ValueError("MLCONTEST_MAX_CONNECTIONS must be at least 1")
    return value


def raise_open_file_limit(needed: int) -> None:
    """Raise the soft limit on open files to ``needed`` (at most the hard limit): a process
    holds a descriptor per connection, and many systems start at 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def gunicorn_argv(host: str, port: int, processes: int, threads: int) -> list[str]:
    # Threads, not only processes: a long-polling worker holds a connection open, and with
    # plain sync workers a handful of them would block every process. gunicorn's threaded
    # worker, but one that gives a thread only requests that have fully arrived, so slow
    # clients cannot hold the threads (mlcontest/serve_worker.py).
    argv = [sys.executable, "-m", "gunicorn", "mlcontest.wsgi:application"]
    argv += ["--bind", f"{host}:{port}", "--workers", str(processes)]
    argv += ["--worker-class", "mlcontest.serve_worker.BufferingThreadWorker"]
    argv += ["--threads", str(threads), "--worker-connections", str(max_connections())]
    argv += ["--timeout", "60", "--graceful-timeout", "10"]
    # A line per request is off unless asked for (MLCONTEST_ACCESS_LOG=- or a file): workers
    # and polling browsers make hundreds a second, and formatting them costs CPU.
    access_log = os.environ.get("MLCONTEST_ACCESS_LOG", "")
    if access_log:
        argv += ["--access-logfile", access_log]
    return argv


def cmd_serve(args: argparse.Namespace) -> int:
    cmd_migrate()
    argv = gunicorn_argv(args.host, args.port, args.processes, args.threads)
    # Each process's connections, plus its database, log and module files.
    raise_open_file_limit(max_connections() + 256)
    print(f"mlcontest serving on http://{args.host}:{args.port}/", flush=True)
    os.execv(sys.executable, argv)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlcontest", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate the database and serve with gunicorn")
    serve.add_argument("--host", default=os.environ.get("MLCONTEST_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("MLCONTEST_PORT", "8000")))
    serve.add_argument("--processes", type=int, default=2, help="gunicorn processes")
    # Every long-polling worker holds a thread while it waits: leave room for a hall of them.
    serve.add_argument("--threads", type=int, default=48, help="threads per process")
    serve.set_defaults(handler=cmd_serve)

    manage = commands.add_parser("manage", help="run a Django management command", add_help=False)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(handler=cmd_manage)

    for register in extra_commands():
        register(commands)
    return parser


def extra_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Sub-commands that live in their own modules."""
    from mlcontest.announce_cli import register_announcement_commands
    from mlcontest.demo import register_demo_command
    from mlcontest.setup_cli import register_setup_commands
    from mlcontest.worker.cli import register_worker_command

    return [
        register_setup_commands,
        register_announcement_commands,
        register_worker_command,
        register_demo_command,
    ]


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
