"""Throughput of the seed's ``ping`` (authenticated, each call claiming a job) against a bare
Django endpoint that runs one query, both served by the same ``mlcontest serve`` (gunicorn,
2 processes, gthread) in the same run, on SQLite and, when reachable, on PostgreSQL.

The load comes from ``wrk`` (Debian package ``wrk``) where installed, so that the load
generator costs little CPU next to the server; otherwise from Python threads (the ratio is then
still measured side by side, but both figures are lower).

Last line: ``{"ping_rps": ..., "bare_rps": ..., "ratio": ...}`` (SQLite, the default database),
with the PostgreSQL figures under "postgresql" when it was reachable.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import LiveServer, login

DURATION_S = 8
CONNECTIONS = 32
QUEUED_JOBS = 60_000
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/mlcontest_bench_ping"

SETUP = f"""
from mlcontest.contest import datasets, rounds
from mlcontest.contest.models import Job, User
olga = User.objects.create_user("olga", "", "pw", role="organizer")
User.objects.create_user("walter", "", "pw", role="worker")
labels = ["a", "b"] * 50
table = datasets.DatasetTable(["x", "y"], [[float(i), float(i % 2)] for i in range(100)],
                              labels, datasets.assign_splits(labels))
dataset = datasets.store_dataset("bench", table)
round_ = rounds.create_round(olga, name="bench", dataset=dataset, metric="accuracy")
rounds.open_round(olga, round_)
Job.objects.bulk_create([Job(round=round_, user=olga, algorithm="knn", params={{}})
                         for _ in range({QUEUED_JOBS})], batch_size=5000)
"""

WRK_POST = """
wrk.method = "POST"
wrk.body = "csrfmiddlewaretoken={token}&api=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "{cookie}"
wrk.headers["X-CSRFToken"] = "{token}"
"""


def measure_wrk(url: str, session: requests.Session, post: bool, workdir: Path) -> float:
    cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    argv = ["wrk", f"-t{min(2, CONNECTIONS)}", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency"]
    if post:
        script = workdir / "post.lua"
        script.write_text(WRK_POST.format(token=session.cookies["csrftoken"], cookie=cookie))
        argv += ["-s", str(script)]
    else:
        argv += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"errors under load:\n{output}")
    line = next(line for line in output.splitlines() if line.startswith("Requests/sec"))
    return float(line.split()[1])


def measure_threads(url: str, session: requests.Session, post: bool) -> float:
    count = 0
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + DURATION_S
    data = {"csrfmiddlewaretoken": session.cookies["csrftoken"], "api": "1"}

    def hammer() -> None:
        nonlocal count, errors
        own = requests.Session()
        own.cookies.update(session.cookies)
        while time.monotonic() < deadline:
            answer = own.post(url, data=data, timeout=10) if post else own.get(url, timeout=10)
            with lock:
                count += 1
                errors += answer.status_code != 200

    threads = [threading.Thread(target=hammer) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{errors} errors under load")
    return count / DURATION_S


def bench(database_url: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        server = LiveServer(
            Path(folder),
            database_url=database_url,
            processes=2,
            extra_env={"MLCONTEST_BENCH_ENDPOINTS": "1"},
        )
        with server:
            server.run_python(SETUP)
            session = login(server.url, "walter", "pw")
            measure = measure_wrk if shutil.which("wrk") else None

            def run(path: str, post: bool) -> float:
                url = f"{server.url}{path}"
                if measure is not None:
                    return measure(url, session, post, Path(folder))
                return measure_threads(url, session, post)

            run("/__bench__/one-query/", False)  # warm both up: imports, connections
            bare_rps = run("/__bench__/one-query/", False)
            ping_rps = run("/actions/ping/", True)
            claimed = server.run_python(
                "from mlcontest.contest.models import Job\n"
                "print(Job.objects.filter(state='running').count())"
            )
    return {
        "ping_rps": round(ping_rps, 1),
        "bare_rps": round(bare_rps, 1),
        "ratio": round(ping_rps / bare_rps, 3),
        "jobs_claimed": int(claimed),
    }


def postgres_database() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=3) as connection:
            connection.execute("DROP DATABASE IF EXISTS mlcontest_bench_ping")
            connection.execute("CREATE DATABASE mlcontest_bench_ping")
    except Exception as error:  # any failure means: no PostgreSQL to measure here
        print(f"PostgreSQL skipped: {error}", file=sys.stderr)
        return None
    return POSTGRES_URL


def main() -> None:
    print(
        f"load: {'wrk' if shutil.which('wrk') else 'python threads'}, "
        f"{CONNECTIONS} connections, {DURATION_S} s per endpoint",
        flush=True,
    )
    figures: dict[str, Any] = bench(None)
    print(f"sqlite: {figures}", flush=True)
    postgres_url = postgres_database()
    if postgres_url:
        figures["postgresql"] = bench(postgres_url)
        print(f"postgresql: {figures['postgresql']}", flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
