"""``mlcontest worker``: its options, and where credentials come from.

Credentials, first found wins: the command line, the environment (``MLCONTEST_TOKEN`` or
``MLCONTEST_USERNAME`` + ``MLCONTEST_PASSWORD``; each also as ``<NAME>_FILE``), then a
credentials file (``--credentials``, default ``~/.config/mlcontest/worker.env``) of
``NAME=value`` lines with the same names, plus ``MLCONTEST_SERVER``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
from pathlib import Path

from mlcontest.client import DEFAULT_SERVER

DEFAULT_CREDENTIALS = Path("~/.config/mlcontest/worker.env")


def read_credentials_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines; blank lines and ``#`` comments are skipped."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        values[name.strip()] = value.strip().strip("'\"")
    return values


def lookup(name: str, file_values: dict[str, str]) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name) or file_values.get(name) or None


def cmd_worker(args: argparse.Namespace) -> int:
    from mlcontest.worker.loop import Worker, WorkerConfig

    logging.basicConfig(
        level=logging.INFO if not args.quiet else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    path = Path(args.credentials).expanduser()
    file_values = read_credentials_file(path) if path.is_file() else {}
    if args.credentials != str(DEFAULT_CREDENTIALS) and not path.is_file():
        raise SystemExit(f"mlcontest worker: no credentials file {path}")
    token = args.token or lookup("MLCONTEST_TOKEN", file_values)
    username = args.username or lookup("MLCONTEST_USERNAME", file_values)
    password = lookup("MLCONTEST_PASSWORD", file_values)
    if not token and not (username and password):
        raise SystemExit(
            "mlcontest worker: no credentials. Set MLCONTEST_TOKEN, or MLCONTEST_USERNAME and "
            "MLCONTEST_PASSWORD, in the environment or in the credentials file."
        )
    server = args.server or lookup("MLCONTEST_SERVER", file_values) or DEFAULT_SERVER
    config = WorkerConfig(
        server=server,
        username=username,
        password=password,
        token=token,
        processes=args.processes,
        pictures=not args.no_pictures,
        name=args.name,
        wait=args.wait,
        grace=args.grace,
    )
    logging.getLogger("mlcontest.worker").info(
        "worker %s: %d processes on %s", config.name, config.processes, server
    )
    return Worker(config).run()


def register_worker_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    worker = commands.add_parser(
        "worker",
        help="run jobs for a server (see docs/worker.md)",
        description="Ask the server for queued jobs, run them, post the results.",
    )
    worker.add_argument("--server", help=f"the server's URL (default {DEFAULT_SERVER})")
    worker.add_argument("--username", help="a worker account (password from the environment)")
    worker.add_argument("--token", help="a worker token instead of username and password")
    worker.add_argument(
        "--credentials",
        default=str(DEFAULT_CREDENTIALS),
        help="file of NAME=value lines (MLCONTEST_SERVER, MLCONTEST_USERNAME, ...)",
    )
    worker.add_argument("--processes", type=int, default=1, help="jobs run at once")
    worker.add_argument("--no-pictures", action="store_true", help="post no pictures")
    worker.add_argument(
        "--name", default=socket.gethostname(), help="shown on the server (default: host name)"
    )
    worker.add_argument(
        "--wait", type=float, default=5.0, help="seconds each ping may wait for a job"
    )
    worker.add_argument(
        "--grace",
        type=float,
        default=30.0,
        help="on SIGTERM, seconds running jobs may take to finish before they are handed back",
    )
    worker.add_argument("--quiet", action="store_true", help="log only problems")
    worker.set_defaults(handler=cmd_worker)
