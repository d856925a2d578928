"""What waiting workers cost the server, and how soon a queued job reaches one of them.

One ``mlcontest serve`` (2 processes) on SQLite, or on PostgreSQL with ``--postgres``; 60
workers long-poll (``ping`` with ``wait=30``, or ``--wait``; each its own worker name) and
nothing is queued.

1. ``idle_cpu_percent``: the CPU of every server process over 20 s, in % of one core; on
   PostgreSQL also ``db_xact_per_s``, the database's transactions a second meanwhile.
2. ``claim_p50_s`` / ``claim_p95_s``: 30 jobs submitted one at a time through the JSON API;
   from the submission's start until a waiting ping answers the job (the part of a job's
   turnaround that waiting costs; the submission and the ping may be served by different
   processes).

Last line: ``{"database": ..., "idle_cpu_percent": ..., "claim_p50_s": ..., ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlcontest.client import API
from tests.live import LiveServer
from tests.worker_support import PASSWORD, setup_round, worker_token

WORKERS = 60
IDLE_SECONDS = 20.0
SAMPLES = 30


def group_cpu_seconds(group: int) -> float:
    """User and system CPU of the processes of a process group (gunicorn and its workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            total += sum(int(value) for value in fields[11:15])
    return total / ticks


class Pingers:
    """WORKERS threads that long-poll until stopped, noting when each job reached one."""

    def __init__(self, url: str, token: str, wait: float) -> None:
        self.wait = wait
        self.claimed: dict[int, float] = {}
        self.errors = 0
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self.run, args=(url, token, index), daemon=True)
            for index in range(WORKERS)
        ]
        for thread in self.threads:
            thread.start()

    def run(self, url: str, token: str, index: int) -> None:
        api = API(host=url, token=token, worker_name=f"idle-{index}", retries=0)
        while not self.stopping.is_set():
            try:
                job = api.ping(wait=self.wait)
            except Exception:
                self.errors += 1
                time.sleep(1)
                continue
            if job is not None:
                self.claimed[int(job)] = time.monotonic()


def database_transactions(server: LiveServer) -> int:
    code = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    print(cursor.fetchone()[0])
"""
    return int(server.run_python(code).strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="a PostgreSQL URL (its database is used as is)")
    parser.add_argument("--wait", type=float, default=30.0, help="each ping's wait, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = LiveServer(Path(folder), database_url=args.postgres, processes=2).start()
        assert server.process is not None
        try:
            round_id = setup_round(server, "moons", "moons")["round"]
            pingers = Pingers(server.url, worker_token(server, "idle"), args.wait)
            time.sleep(5)  # every ping is waiting
            xact = database_transactions(server) if args.postgres else 0
            cpu = group_cpu_seconds(server.process.pid)
            time.sleep(IDLE_SECONDS)
            idle_cpu = (group_cpu_seconds(server.process.pid) - cpu) / IDLE_SECONDS * 100
            result: dict[str, Any] = {
                "database": "postgresql" if args.postgres else "sqlite",
                "wait_s": args.wait,
                "idle_cpu_percent": round(idle_cpu, 1),
            }
            if args.postgres:
                # Less the one transaction of the reading command itself.
                count = database_transactions(server) - xact - 1
                result["db_xact_per_s"] = round(count / IDLE_SECONDS, 1)
            student = API("alice", PASSWORD, server.url)
            delays = []
            for _ in range(SAMPLES):
                start = time.monotonic()
                job_id = student.submit_job(round_id, "knn", {"n_neighbors": 3})["id"]
                while job_id not in pingers.claimed:
                    time.sleep(0.002)
                delays.append(pingers.claimed[job_id] - start)
                time.sleep(0.3)
            result["claim_p50_s"] = round(statistics.median(delays), 3)
            result["claim_p95_s"] = round(statistics.quantiles(delays, n=20)[-1], 3)
            result["ping_errors"] = pingers.errors
            pingers.stopping.set()
        finally:
            server.stop()
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
