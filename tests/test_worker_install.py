"""The worker's install: ``pip install "mlcontest[worker]"`` brings no Django and no database
driver, and the worker imports and runs without them; the server's install has no matplotlib.

The worker runs in a subprocess whose ``sitecustomize`` refuses to import the server's packages
(every process it starts, its job processes too, loads the same refusal): as on a lab PC where
they are not installed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.live import REPO, LiveServer
from tests.worker_support import (
    PASSWORD,
    job_rows,
    live_server,
    setup_round,
    submit_jobs,
    wait_until,
)

SERVER_ONLY = [
    "django",
    "psycopg",
    "psycopg_pool",
    "psycopg2",
    "gunicorn",
    "whitenoise",
    "ninja",
    "dj_database_url",
    "pydantic",
]
SERVER_DISTRIBUTIONS = {
    "django",
    "psycopg",  # with its pool, as psycopg[binary,pool]
    "gunicorn",
    "whitenoise",
    "django-ninja",
    "dj-database-url",
    "pydantic",
}

SITECUSTOMIZE = f"""
import sys

class RefuseServerPackages:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {SERVER_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in a worker's install)")
        return None

sys.meta_path.insert(0, RefuseServerPackages())
"""


def without_server_packages(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python processes cannot import the server's packages."""
    folder = tmp_path / "refuse"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(REPO)])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def python(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower() for line in requirements}


def test_the_worker_install_holds_no_server_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    worker = names(project["dependencies"]) | names(project["optional-dependencies"]["worker"])
    server = names(project["dependencies"]) | names(project["optional-dependencies"]["server"])
    assert worker & SERVER_DISTRIBUTIONS == set()
    assert "matplotlib" in worker and "scikit-learn" in worker
    assert "matplotlib" not in server
    assert server >= SERVER_DISTRIBUTIONS


def test_the_worker_imports_without_the_server_packages(tmp_path: Path) -> None:
    env = without_server_packages(tmp_path)
    refused = python(env, "import django")
    assert refused.returncode != 0 and "not in a worker's install" in refused.stderr
    done = python(
        env,
        "import sys\n"
        "import mlcontest.worker.loop, mlcontest.worker.preload, mlcontest.client\n"
        "from mlcontest.cli.main import main\n"
        "code = main(['worker', '--help'])\n"
        f"assert not set(sys.modules) & set({SERVER_ONLY!r}), sorted(sys.modules)\n"
        "sys.exit(code)\n",
    )
    assert done.returncode == 0, done.stderr
    assert "--processes" in done.stdout


@pytest.mark.live
def test_the_worker_runs_a_job_without_the_server_packages(tmp_path: Path) -> None:
    env = without_server_packages(tmp_path)
    env.update(MLCONTEST_USERNAME="walter", MLCONTEST_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1")
    log = tmp_path / "worker.log"
    (tmp_path / "server").mkdir()
    with live_server(tmp_path / "server", "worker_install") as server:
        round_id = setup_round(server, "moons", "moons")["round"]
        job_ids = submit_jobs(server, round_id, [("knn", {"n_neighbors": 3})])
        argv = [sys.executable, "-m", "mlcontest.cli", "worker", "--server", server.url]
        argv += ["--name", "lab", "--wait", "1", "--grace", "5"]
        worker = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        try:
            rows = wait_until(lambda: done(server, job_ids), 120, 0.5, "the job to finish")
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    text = log.read_text(errors="replace")
    assert rows[job_ids[0]]["state"] == "done", text
    assert rows[job_ids[0]]["success"], text
    assert rows[job_ids[0]]["pictures"], text  # drawn with matplotlib, without Django
    assert "not in a worker's install" not in text


def done(server: LiveServer, job_ids: list[int]) -> dict[int, dict] | None:
    """The jobs once each has failed, or is done with its pictures (posted after the result)."""
    rows = job_rows(server, job_ids)
    finished = [row["state"] == "failed" or row["pictures"] for row in rows.values()]
    return rows if all(finished) else None
