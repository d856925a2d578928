"""Helpers for tests and benchmarks that run real workers against a live server: set-up through
the domain functions in the server's database, and ``mlcontest worker`` subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.live import REPO, LiveServer
from tests.live_db import drop_postgres, live_database_url

PASSWORD = "pw"

USERS = """
from mlcontest.contest.models import Group, Membership, Role, User

def user(name, role, group=None):
    found = User.objects.filter(username=name).first()
    if found is None:
        found = User.objects.create_user(name, password="pw", role=role)
    if group is not None:
        Membership.objects.get_or_create(user=found, defaults={"group": group})
    return found

olga = user("olga", Role.ORGANIZER)
walter = user("walter", Role.WORKER)
alpha, _ = Group.objects.get_or_create(name="Alpha", defaults={"public": True})
alice = user("alice", Role.STUDENT, alpha)
"""

# Tables built here with scikit-learn directly, split by the server's own stratified splitter.
TABLE = """
import numpy as np
from sklearn import datasets as sk
from mlcontest.contest import datasets

def table(kind, n=300, seed=0):
    if kind == "wine":
        X, y = sk.load_wine(return_X_y=True)
        names = [f"f{i}" for i in range(X.shape[1])]
    elif kind == "moons":
        X, y = sk.make_moons(n_samples=n, noise=0.25, random_state=seed)
        names = ["x", "y"]
    elif kind == "blobs":
        X, y = sk.make_blobs(n_samples=n, centers=3, random_state=seed)
        names = ["x", "y"]
    elif kind == "plane":  # a numeric label, for regression rounds
        X, y = sk.make_regression(n_samples=n, n_features=2, noise=10.0, random_state=seed)
        names = ["x", "y"]
        y = [round(float(v), 4) for v in y]
    else:
        raise ValueError(kind)
    labels = [str(v) for v in y]
    return datasets.DatasetTable(
        names, [[round(float(v), 6) for v in row] for row in X], labels,
        datasets.assign_splits(labels, seed))
"""


def setup_round(
    server: LiveServer,
    dataset: str,
    kind: str,
    metric: str = "accuracy",
    n: int = 300,
    time_limit: int = 60,
    memory_mb: int = 2048,
) -> dict[str, int]:
    """Users, a dataset and an open round; ``{"round": id, "dataset": id}``."""
    code = (
        USERS
        + TABLE
        + f"""
import contextlib
import json
from mlcontest.contest import rounds
from mlcontest.contest.models import Dataset
found = Dataset.objects.filter(name={dataset!r}).first()
if found is None:
    found = datasets.store_dataset({dataset!r}, table({kind!r}, {n}))
round_ = rounds.create_round(olga, name="R " + {dataset!r}, dataset=found, metric={metric!r},
    job_quota=1000, queued_quota=1000, time_limit_seconds={time_limit},
    memory_limit_mb={memory_mb})
rounds.open_round(olga, round_)
print(json.dumps({{"round": round_.pk, "dataset": found.pk}}))
"""
    )
    return dict(json.loads(server.run_python(code).strip().splitlines()[-1]))


def submit_jobs(server: LiveServer, round_id: int, jobs: list[tuple[str, dict[str, Any]]]) -> list:
    """Queue organizer baseline jobs (no quota) in one transaction; their ids in order."""
    code = f"""
import contextlib
import json
from django.db import transaction
from mlcontest.contest import queue
from mlcontest.contest.models import Round, User
olga = User.objects.get(username="olga")
round_ = Round.objects.get(pk={round_id})
with transaction.atomic():
    ids = [queue.submit_job(olga, round_, name, params, baseline=True).pk
           for name, params in {jobs!r}]
print(json.dumps(ids))
"""
    return list(json.loads(server.run_python(code).strip().splitlines()[-1]))


def job_rows(server: LiveServer, job_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored jobs, straight from the database."""
    code = f"""
import contextlib
import json
from mlcontest.contest.models import Job, JobPicture
rows = {{}}
for job in Job.objects.filter(pk__in={list(job_ids)!r}):
    rows[job.pk] = dict(state=job.state, success=job.success, score_test=job.score_test,
        score_validation=job.score_validation, attempts=job.attempts,
        worker_name=job.worker_name, message=job.message, labels_test=job.labels_test,
        worker_score_test=job.worker_score_test, score_mismatch=job.score_mismatch,
        worker_score_validation=job.worker_score_validation,
        extra_scores_test=job.extra_scores_test, result_digest=job.result_digest,
        pictures=sorted(JobPicture.objects.filter(job=job).values_list("filename", flat=True)))
print(json.dumps(rows))
"""
    raw = json.loads(server.run_python(code).strip().splitlines()[-1])
    return {int(key): value for key, value in raw.items()}


def worker_token(server: LiveServer, name: str) -> str:
    """A new API token of the worker account."""
    code = (
        USERS
        + f"""
from mlcontest.contest.models import ApiToken
print(ApiToken.issue(walter, {name!r})[1])
"""
    )
    return server.run_python(code).strip().splitlines()[-1]


@contextlib.contextmanager
def live_server(data_dir: Path, suffix: str, **options: Any) -> Iterator[LiveServer]:
    """A started server on the suite's database kind: its own SQLite file, or a scratch
    PostgreSQL database when the suite runs on PostgreSQL (dropped afterwards)."""
    database_url = live_database_url(suffix)
    server = LiveServer(data_dir, database_url=database_url, **options)
    try:
        yield server.start()
    finally:
        server.stop()
        if database_url:
            drop_postgres(database_url)


class WorkerProcess:
    """``mlcontest worker`` in a subprocess with its own process group."""

    def __init__(
        self,
        server_url: str,
        log_path: Path,
        processes: int = 1,
        pictures: bool = False,
        name: str = "w",
        extra: list[str] | None = None,
        token: str | None = None,
        password: str = PASSWORD,
    ) -> None:
        argv = [sys.executable, "-m", "mlcontest.cli", "worker", "--server", server_url]
        argv += ["--processes", str(processes), "--name", name, "--wait", "1", "--grace", "20"]
        if not pictures:
            argv.append("--no-pictures")
        argv += extra or []
        env = {**os.environ, "MLCONTEST_USERNAME": "walter", "MLCONTEST_PASSWORD": password}
        if token:
            env = {**os.environ, "MLCONTEST_TOKEN": token}
        env["PYTHONUNBUFFERED"] = "1"
        # The worker's dataset files beside its log, not in the user's cache folder.
        env.setdefault("MLCONTEST_WORKER_CACHE", str(log_path.parent / "worker-cache"))
        self.log_path = log_path
        self.process = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 40.0) -> int:
        """SIGTERM, then wait; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill_main(self) -> None:
        """SIGKILL the worker's main process only, as a crash would."""
        self.process.kill()
        self.process.wait(timeout=10)

    def cleanup(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def wait_until(predicate: Any, timeout: float, interval: float = 0.1, what: str = "") -> Any:
    """Poll ``predicate()`` until it returns something truthy; AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
