#!/usr/bin/env python3
"""The project's task file: ``python3 tasks.py demo | serve | test | lint | bench | messages |
lock``.

Needs only Python 3.11: every task first makes ``.venv`` and installs into it the exact versions
that requirements.lock lists, each checked against its hash, then the project itself (again
whenever pyproject.toml or the lock changes), then runs the tool from there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".installed-from"
LOCK = ROOT / "requirements.lock"
# The lock's line that names the pyproject.toml requirements it was made from.
LOCKED_FROM = "# locked from pyproject.toml requirements "
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/mlcontest"


def run(*argv: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(part) for part in argv], cwd=ROOT, env=env)


def requirements() -> dict[str, list[str]]:
    """What pyproject.toml asks for: the lock must be made from exactly this."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {
        "build": pyproject["build-system"]["requires"],
        "run": pyproject["project"]["dependencies"],
        **pyproject["project"]["optional-dependencies"],  # dev, and the server's and worker's
    }


def requirements_digest() -> str:
    return hashlib.sha256(json.dumps(requirements(), sort_keys=True).encode()).hexdigest()


def lock_is_current() -> bool:
    return f"{LOCKED_FROM}{requirements_digest()}" in LOCK.read_text(encoding="utf-8")


def ensure_venv(check_lock: bool = True) -> None:
    if check_lock and not lock_is_current():
        sys.exit(
            "requirements.lock was made from other requirements than pyproject.toml's: "
            "run `python3.11 tasks.py lock` and commit requirements.lock."
        )
    installed = (ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes()
    wanted = hashlib.sha256(installed).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("Installing mlcontest and its development tools into .venv ...", flush=True)
    pip = [BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # The lock holds every package (pip, setuptools and wheel too) with its hashes, so no
    # resolution happens here and nothing but the locked files can be installed.
    code = run(*pip, "--require-hashes", "--no-deps", "-r", LOCK)
    # The project itself, editable, built with the locked setuptools (which warns, at length,
    # that an editable install is one: that is what is wanted here).
    quiet = {**os.environ, "PYTHONWARNINGS": "ignore:Editable installation"}
    code = code or run(*pip, "--no-deps", "--no-build-isolation", "-e", ".", env=quiet)
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
            if os.environ.get("CI"):  # CI must run both suites, not pass on half of them
                print("PostgreSQL is not reachable at 127.0.0.1:5432.", flush=True)
                return 1
            print("PostgreSQL is not reachable at 127.0.0.1:5432: the PostgreSQL run is skipped.")
            return 0
        env["DATABASE_URL"] = env.get("MLCONTEST_TEST_POSTGRES_URL", POSTGRES_URL)
        env["MLCONTEST_DATA_DIR"] += "-postgres"
    else:
        env.pop("DATABASE_URL", None)
    return run(BIN / "pytest", *parallel(args.pytest_args), *args.pytest_args, env=env)


def parallel(given: list[str]) -> list[str]:
    """pytest-xdist, a process per core, unless the command says otherwise (``-n 0`` runs the
    suite in one process). Work stealing: each process starts on one half of the files in
    order, so a module's live server mostly starts once, and an idle process takes tests
    from the other's queue. (``loadscope`` would keep modules whole, but runs only one of
    several tests that share a node id, as schemathesis's generated tests do.)"""
    told = "no:xdist" in given or "-pno:xdist" in given
    told = told or any(arg.startswith(("-n", "--numprocesses", "--dist")) for arg in given)
    return [] if told else ["--numprocesses", "auto", "--dist", "worksteal"]


def task_lock(args: argparse.Namespace) -> int:
    """Resolve pyproject.toml's requirements (and the build's, and pip) into requirements.lock:
    exact versions with hashes, for Python 3.11 to 3.13 on any platform. Versions already in
    the lock are kept unless --upgrade is given."""
    wanted = requirements()
    argv = [BIN / "uv", "pip", "compile", "pyproject.toml", "-", "--all-extras"]
    argv += ["--universal", "--python-version", "3.11", "--generate-hashes", "--quiet"]
    argv += ["--custom-compile-command", "python3.11 tasks.py lock", "--output-file", LOCK]
    if args.upgrade:
        argv.append("--upgrade")
    extra = "\n".join(["pip", *wanted["build"]]) + "\n"
    done = subprocess.run([str(part) for part in argv], cwd=ROOT, input=extra, text=True)
    if done.returncode:
        return done.returncode
    text = LOCK.read_text(encoding="utf-8")
    LOCK.write_text(f"{LOCKED_FROM}{requirements_digest()}\n{text}", encoding="utf-8")
    print(f"{LOCK.name} written; install it with any command of tasks.py", flush=True)
    return 0


def task_lint(args: argparse.Namespace) -> int:
    return (
        run(BIN / "ruff", "check", "mlcontest", "tests", "bench", "tasks.py")
        or run(BIN / "ruff", "format", "--check", "mlcontest", "tests", "bench", "tasks.py")
        or run(BIN / "mypy", "mlcontest", "tests")
        # The direction of imports between the packages (pyproject.toml, docs/architecture.md).
        or run(BIN / "lint-imports", "--no-cache")
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
    return run(BIN / "python", "-m", "mlcontest.core.translations", *args.rest)


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
    tasks.add_parser("lint", help="ruff, mypy and the import contracts").set_defaults(
        handler=task_lint
    )
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
    lock = tasks.add_parser("lock", help="write requirements.lock from pyproject.toml (uv)")
    lock.add_argument("--upgrade", action="store_true", help="the newest allowed versions")
    lock.set_defaults(handler=task_lock)
    # Options meant for pytest (`tasks.py test -k seed -x`) are passed through, not refused.
    args, unknown = parser.parse_known_args()
    if unknown and args.task != "test":
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        args.pytest_args = [*unknown, *args.pytest_args]
    # The lock task installs what the old lock has (uv comes from it), then writes the new one.
    ensure_venv(check_lock=args.task != "lock")
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
