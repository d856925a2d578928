"""``mlcontest serve``: migrate, then hand the process over to gunicorn."""

from __future__ import annotations

import argparse
import os
import resource
import sys

from mlcontest.cli.base import Subcommands, migrate_database, setup_django


def register_serve_command(commands: Subcommands) -> None:
    serve = commands.add_parser("serve", help="migrate the database and serve with gunicorn")
    serve.add_argument("--host", default=os.environ.get("MLCONTEST_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("MLCONTEST_PORT", "8000")))
    serve.add_argument("--processes", type=int, default=2, help="gunicorn processes")
    # Every long-polling worker holds a thread while it waits: leave room for a hall of them.
    serve.add_argument("--threads", type=int, default=48, help="threads per process")
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="skip migrating and collecting static files (`mlcontest migrate` did, before)",
    )
    serve.set_defaults(handler=cmd_serve)
    migrate = commands.add_parser(
        "migrate",
        help="apply the database migrations and collect the static files, then exit",
        description="Apply the migrations (one machine at a time on PostgreSQL: an advisory "
        "lock) and collect this machine's static files.",
    )
    migrate.set_defaults(handler=cmd_migrate)


def cmd_migrate(args: argparse.Namespace) -> int:
    migrate_database()
    print("database migrated", flush=True)
    return 0


def max_connections() -> int:
    """``MLCONTEST_MAX_CONNECTIONS``: open connections per server process."""
    from mlcontest.core.env import env_int

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
    # clients cannot hold the threads (mlcontest/core/serve_worker.py).
    argv = [sys.executable, "-m", "gunicorn", "mlcontest.wsgi:application"]
    argv += ["--bind", f"{host}:{port}", "--workers", str(processes)]
    argv += ["--worker-class", "mlcontest.core.serve_worker.BufferingThreadWorker"]
    argv += ["--threads", str(threads), "--worker-connections", str(max_connections())]
    argv += ["--timeout", "60", "--graceful-timeout", "10"]
    # A line per request is off unless asked for (MLCONTEST_ACCESS_LOG=- or a file): workers
    # and polling browsers make hundreds a second, and formatting them costs CPU.
    access_log = os.environ.get("MLCONTEST_ACCESS_LOG", "")
    if access_log:
        argv += ["--access-logfile", access_log]
    return argv


def cmd_serve(args: argparse.Namespace) -> int:
    if args.no_migrate:
        setup_django()  # the metrics files below are the models' business
    else:
        migrate_database()
    from mlcontest.http.metrics import reset_process_files

    reset_process_files()  # the request counters start again with the server
    argv = gunicorn_argv(args.host, args.port, args.processes, args.threads)
    # Each process's connections, plus its database, log and module files.
    raise_open_file_limit(max_connections() + 256)
    print(f"mlcontest serving on http://{args.host}:{args.port}/", flush=True)
    os.execv(sys.executable, argv)
    return 0  # not reached
