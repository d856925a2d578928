#!/usr/bin/env python3
"""The project's task file: ``python3 tasks.py demo | serve | test | lint | bench | messages``.

Needs only Python 3.11: every task first makes ``.venv`` and installs the project into it
(again whenever pyproject.toml changes), then runs the tool from there.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".installed-from"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/mlcontest"


def run(*argv: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(part) for part in argv], cwd=ROOT, env=env)


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("Installing mlcontest and its development tools into .venv ...", flush=True)
    quiet = ["--quiet", "--disable-pip-version-check"]
    code = run(BIN / "python", "-m", "pip", "install", *quiet, "--upgrade", "pip")
    code = code or run(BIN / "python", "-m", "pip", "install", *quiet, "-e", ".[dev]")
    if code:
        sys.exit(code)
    STAMP.write_text(wanted)


def postgres_reachable() -> bool:
    probe = (
        "import psycopg; psycopg.connect("
        "'postgresql://postgres@127.0.0.1:5432/postgres', connect_timeout=3).close()"
    )
    return run(BIN / "python", "-c", probe) == 0


def task_test(args: argparse.Namespace) -> int:
    env = {**os.environ}
    env.setdefault("MLCONTEST_DATA_DIR", str(ROOT / "mlcontest-data" / "test"))
    if args.postgres:
        if not postgres_reachable():
            print("PostgreSQL is not reachable at 127.0.0.1:5432: the PostgreSQL run is skipped.")
            return 0
        env["DATABASE_URL"] = env.get("MLCONTEST_TEST_POSTGRES_URL", POSTGRES_URL)
        env["MLCONTEST_DATA_DIR"] += "-postgres"
    else:
        env.pop("DATABASE_URL", None)
    return run(BIN / "pytest", *args.pytest_args, env=env)


def task_lint(args: argparse.Namespace) -> int:
    return (
        run(BIN / "ruff", "check", "mlcontest", "tests", "bench", "tasks.py")
        or run(BIN / "ruff", "format", "--check", "mlcontest", "tests", "bench", "tasks.py")
        or run(BIN / "mypy", "mlcontest", "tests")
    )


def replace_with(*argv: str | Path) -> int:
    """Become the command, so that Ctrl-C and SIGTERM reach it (and it stops what it started)."""
    os.chdir(ROOT)
    os.execv(str(argv[0]), [str(part) for part in argv])
    return 0  # not reached


def task_serve(args: argparse.Namespace) -> int:
    return replace_with(BIN / "mlcontest", "serve", *args.rest)


def task_demo(args: argparse.Namespace) -> int:
    return replace_with(BIN / "mlcontest", "demo", *args.rest)


def task_messages(args: argparse.Namespace) -> int:
    """The German catalogue: new strings into django.po, django.po compiled to django.mo."""
    return run(BIN / "python", "-m", "mlcontest.translations", *args.rest)


def task_bench(args: argparse.Namespace) -> int:
    names = args.names or sorted(
        path.stem for path in (ROOT / "bench").glob("*.py") if not path.stem.startswith("_")
    )
    for name in names:
        print(f"== bench/{name}.py", flush=True)
        code = run(BIN / "python", ROOT / "bench" / f"{name}.py")
        if code:
            return code
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    tasks = parser.add_subparsers(dest="task", required=True)
    test = tasks.add_parser("test", help="run the test suite (SQLite; --postgres for PostgreSQL)")
    test.add_argument("--postgres", action="store_true")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(handler=task_test)
    tasks.add_parser("lint", help="ruff and mypy").set_defaults(handler=task_lint)
    for name, handler in (("serve", task_serve), ("demo", task_demo)):
        sub = tasks.add_parser(name, help=f"mlcontest {name}")
        sub.add_argument("rest", nargs=argparse.REMAINDER)
        sub.set_defaults(handler=handler)
    messages = tasks.add_parser(
        "messages", help="update mlcontest/locale/de/LC_MESSAGES/django.po and compile django.mo"
    )
    messages.add_argument("rest", nargs=argparse.REMAINDER)
    messages.set_defaults(handler=task_messages)
    bench = tasks.add_parser("bench", help="run the benchmarks in bench/")
    bench.add_argument("names", nargs="*")
    bench.set_defaults(handler=task_bench)
    # Options meant for pytest (`tasks.py test -k seed -x`) are passed through, not refused.
    args, unknown = parser.parse_known_args()
    if unknown and args.task != "test":
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        args.pytest_args = [*unknown, *args.pytest_args]
    ensure_venv()
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
