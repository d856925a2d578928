"""Several server machines on one PostgreSQL database (mlcontest/core/machines.py): one secret
key for all, required for a public deployment; Django's connection pool, from which a waiting
worker's ping takes no connection while it sleeps."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from mlcontest.client import API, ConnectionFailed
from mlcontest.core.machines import secret_key, use_pool
from tests.live import LiveServer
from tests.live_db import drop_postgres, scratch_postgres_for
from tests.worker_support import PASSWORD, setup_round, wait_until


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("SECRET_KEY", "SECRET_KEY_FILE", "MLCONTEST_PUBLIC_URL", "MLCONTEST_DB_POOL_SIZE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_one_machine_generates_its_key_once(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = secret_key(tmp_path)
    assert len(key) > 40 and secret_key(tmp_path) == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_every_machine_reads_the_key_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "key").write_text("the-shared-key\n", encoding="utf-8")
    clean_env.setenv("SECRET_KEY_FILE", str(tmp_path / "key"))
    clean_env.setenv("MLCONTEST_PUBLIC_URL", "https://contest.example.org")
    for machine in ("one", "two"):
        (tmp_path / machine).mkdir()
        assert secret_key(tmp_path / machine) == "the-shared-key"
        assert not (tmp_path / machine / "secret_key").exists()


def test_a_public_server_without_a_key_file_refuses_to_start(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("MLCONTEST_PUBLIC_URL", "https://contest.example.org")
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY_FILE"):
        secret_key(tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_the_pool_is_off_unless_sized(clean_env: pytest.MonkeyPatch) -> None:
    config: dict[str, Any] = {"CONN_MAX_AGE": 600, "OPTIONS": {}}
    use_pool(config)
    assert config == {"CONN_MAX_AGE": 600, "OPTIONS": {}}
    clean_env.setenv("MLCONTEST_DB_POOL_SIZE", "4")
    use_pool(config)
    assert config["CONN_MAX_AGE"] == 0  # Django refuses a pool with persistent connections
    assert config["OPTIONS"]["pool"]["max_size"] == 4


@pytest.mark.live
@pytest.mark.postgres
def test_waiting_pings_hold_no_pooled_connection(tmp_path: Path) -> None:
    """A pool of one connection, three pings waiting for jobs: a student's request still gets
    the connection (it would wait the pool's 60 s, past its own 10 s, if a sleeping ping held
    it)."""
    url = scratch_postgres_for("pool")
    if url is None:
        pytest.skip("PostgreSQL is not reachable")
    pool = {"MLCONTEST_DB_POOL_SIZE": "1", "MLCONTEST_DB_POOL_TIMEOUT": "60"}
    server = LiveServer(tmp_path, database_url=url, processes=1, threads=8, extra_env=pool)
    try:
        server.start()
        setup_round(server, "moons", "moons")
        answers: list[Any] = []

        def waiting_ping(worker: API) -> None:
            with contextlib.suppress(ConnectionFailed):  # the server stops before the wait ends
                answers.append(worker.ping(wait=25))

        for index in range(3):
            worker = API("walter", PASSWORD, server.url, worker_name=f"w{index}")
            threading.Thread(target=waiting_ping, args=(worker,), daemon=True).start()
        code = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %%'")
    print(cursor.fetchone()[0])
"""
        wait_until(lambda: int(server.run_python(code).split()[-1]), 30, 0.2, "a waiting ping")
        alice = API("alice", PASSWORD, server.url, retries=0, timeout=10)
        assert alice.get_me()["username"] == "alice"
        assert answers == []  # the pings still wait
    finally:
        server.stop()
        drop_postgres(url)
