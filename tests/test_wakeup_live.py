"""A worker's ping that waits on one server process is woken by a job submitted through
another (mlcontest/contest/wakeup.py), on SQLite and on PostgreSQL.

Two ``mlcontest serve`` instances of one process each share one database; the safety poll is
turned off (an hour), so that only the wake-up can answer the ping before its HTTP request
times out (the ping itself would wait 30 s, then claim once more)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlcontest.client import API
from tests.live import LiveServer
from tests.live_db import drop_postgres, scratch_postgres_for
from tests.worker_support import PASSWORD, setup_round, wait_until

QUIET = {"MLCONTEST_WAIT_POLL_MS": str(3600 * 1000)}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_servers(request: Any, tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer, str]]:
    url = None
    if request.param == "postgres":
        url = scratch_postgres_for("wake")
        if url is None:
            pytest.skip("PostgreSQL is not reachable")
    first = LiveServer(tmp_path, database_url=url, processes=1, extra_env=QUIET)
    second = LiveServer(tmp_path, database_url=url, processes=1, extra_env=QUIET)
    try:
        first.start()
        second.start()  # after the first: it has migrated the database
        yield first, second, request.param
    finally:
        second.stop()
        first.stop()
        if url:
            drop_postgres(url)


def listening(server: LiveServer, kind: str) -> bool:
    """Whether a server process has its wake-up listener (it starts at the first wait)."""
    if kind == "sqlite":
        folder = server.data_dir / "mlcontest.sqlite3.wakeup"
        return folder.is_dir() and any(folder.iterdir())
    code = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %%'")
    print(cursor.fetchone()[0])
"""
    return int(server.run_python(code).strip().splitlines()[-1]) > 0


@pytest.mark.live
def test_a_ping_waiting_on_one_server_gets_a_job_submitted_through_another(
    two_servers: tuple[LiveServer, LiveServer, str],
) -> None:
    first, second, kind = two_servers
    round_id = setup_round(first, "moons", "moons")["round"]
    worker = API("walter", PASSWORD, first.url, retries=0)
    answers: list[Any] = []

    def waiting_ping() -> None:
        answers.append(worker.load("actions/ping/", wait=30, timeout=15))

    ping = threading.Thread(target=waiting_ping, daemon=True)
    ping.start()
    wait_until(lambda: listening(first, kind), 30, 0.1, "the first server's listener")
    student = API("alice", PASSWORD, second.url)
    job = student.submit_job(round_id, "knn", {"n_neighbors": 3})
    ping.join(20)
    assert answers == [job["id"]]
