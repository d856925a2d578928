"""Several machines that start at once: ``mlcontest migrate`` (and ``serve``, which migrates
first) take turns on PostgreSQL (an advisory lock), so that none fails half-way; ``serve
--no-migrate`` then serves what ``migrate`` made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.live import REPO, LiveServer
from tests.live_db import drop_postgres, scratch_postgres_for

pytestmark = pytest.mark.live


def migrate(url: str, data_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": url, "MLCONTEST_DATA_DIR": str(data_dir)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "mlcontest.cli", "migrate"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.postgres
def test_three_machines_migrating_one_fresh_database_at_once_all_succeed(tmp_path: Path) -> None:
    url = scratch_postgres_for("migrate")
    if url is None:
        pytest.skip("PostgreSQL is not reachable")
    try:
        machines = [migrate(url, tmp_path / f"machine{index}") for index in range(3)]
        outputs = [machine.communicate(timeout=240)[0] for machine in machines]
        assert [machine.returncode for machine in machines] == [0, 0, 0], outputs
        assert all(output.strip().endswith("database migrated") for output in outputs)
        again = migrate(url, tmp_path / "machine0")
        assert again.communicate(timeout=120)[0].strip().endswith("database migrated")
    finally:
        drop_postgres(url)


def test_mlcontest_migrate_makes_the_sqlite_database_and_serve_no_migrate_serves_it(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "MLCONTEST_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-m", "mlcontest.cli", "migrate"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "mlcontest.sqlite3").exists()
    # deploy/systemd/mlcontest@.service's ExecStart: the server that does not migrate again.
    server = LiveServer(tmp_path, None)
    server.argv = [sys.executable, "-m", "mlcontest.cli", "serve", "--no-migrate"]
    server.argv += ["--host", "127.0.0.1", "--port", str(server.port), "--processes", "1"]
    try:
        server.start()
        assert requests.get(f"{server.url}/healthz", timeout=30).json()["database"] == "ok"
    finally:
        server.stop()
    assert "Traceback" not in server.log_path.read_text(errors="replace")
