"""Many claimers at once on one queue: every job is claimed exactly once and none is lost.

Three layers, each on SQLite and on PostgreSQL:
- threads in this process, each with its own connection to the suite's test database
  (``transactional_db``; set ``DATABASE_URL=postgres://...`` to run it on PostgreSQL);
- separate processes calling ``queue.claim_next`` on a scratch database of each backend;
- separate processes pinging a real gunicorn server with the seed's own client.
The PostgreSQL cases of the last two reach the local server themselves and skip with a reason
when it is not there. Processes start together: each says "ready", then waits for "go".
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from mlcontest.contest import datasets, queue, rounds
from mlcontest.contest.models import Job, JobState, Role
from tests.conftest import make_user, tiny_table
from tests.live import REPO, LiveServer
from tests.live_db import drop_postgres, scratch_postgres_for

N_JOBS = 200
N_CLAIMERS = 8
N_PINGERS = 6

# Threads on the suite's own database.


def make_queue(count: int) -> list[int]:
    """``count`` queued baseline jobs, oldest first, in one open round."""
    olga = make_user("olga", Role.ORGANIZER)
    dataset = datasets.store_dataset("tiny", tiny_table())
    round_ = rounds.create_round(olga, name="Race", dataset=dataset, metric="accuracy")
    rounds.open_round(olga, round_)
    start = timezone.now() - timedelta(hours=1)
    jobs = Job.objects.bulk_create(
        Job(
            round=round_,
            user=olga,
            algorithm="knn",
            params={},
            created_at=start + timedelta(microseconds=index),
        )
        for index in range(count)
    )
    return [job.pk for job in jobs]


def claim_until_empty(worker: Any, key: str, barrier: threading.Barrier) -> list[int]:
    """One claimer: take jobs until the queue is empty, on this thread's own connection."""
    try:
        barrier.wait()
        claimed: list[int] = []
        while True:
            job_id = queue.claim_next(worker, key, key)
            if job_id is not None:
                claimed.append(job_id)
            elif not Job.objects.filter(state=JobState.QUEUED).exists():
                return claimed
    finally:
        connections.close_all()  # this thread's connections; the test's own stays open


def check_claims(
    job_ids: list[int], claims: dict[str, list[int]], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Each job claimed by exactly one claimer, and stored as held by that one."""
    taken = Counter(job_id for claimed in claims.values() for job_id in claimed)
    assert sorted(taken) == sorted(job_ids), "a job was lost or an unknown id came back"
    twice = [job_id for job_id, count in taken.items() if count > 1]
    assert twice == [], f"claimed more than once: {twice}"
    holder = {job_id: key for key, claimed in claims.items() for job_id in claimed}
    for stored in rows:
        assert stored["state"] == JobState.RUNNING, stored
        assert stored["attempts"] == 1, stored
        assert stored["worker_key"] == holder[stored["id"]], stored


@pytest.mark.django_db(transaction=True)
def test_threads_claim_each_job_once() -> None:
    job_ids = make_queue(N_JOBS)
    worker = make_user("walter", Role.WORKER)
    barrier = threading.Barrier(N_CLAIMERS)
    keys = [f"thread-{index}" for index in range(N_CLAIMERS)]
    with ThreadPoolExecutor(N_CLAIMERS) as pool:
        futures = {key: pool.submit(claim_until_empty, worker, key, barrier) for key in keys}
        claims = {key: future.result(timeout=300) for key, future in futures.items()}
    rows = list(Job.objects.values("id", "state", "attempts", "worker_key"))
    check_claims(job_ids, claims, rows)
    assert not Job.objects.filter(state=JobState.QUEUED).exists()


@pytest.mark.django_db(transaction=True)
def test_threads_requeue_expired_jobs_once() -> None:
    """Claimers racing over expired leases: each lost job is taken back by exactly one."""
    job_ids = make_queue(60)
    worker = make_user("walter", Role.WORKER)
    for job_id in job_ids:
        assert queue.claim_next(worker, "crashed") == job_id
    Job.objects.update(lease_expires_at=timezone.now() - timedelta(minutes=5))
    barrier = threading.Barrier(N_CLAIMERS)
    keys = [f"thread-{index}" for index in range(N_CLAIMERS)]
    with ThreadPoolExecutor(N_CLAIMERS) as pool:
        futures = {key: pool.submit(claim_until_empty, worker, key, barrier) for key in keys}
        claims = {key: future.result(timeout=300) for key, future in futures.items()}
    taken = Counter(job_id for claimed in claims.values() for job_id in claimed)
    assert sorted(taken) == sorted(job_ids) and set(taken.values()) == {1}
    assert set(Job.objects.values_list("attempts", flat=True)) == {2}
    assert not Job.objects.filter(worker_key="crashed").exists()


@pytest.mark.django_db(transaction=True)
def test_postgres_skip_locked_passes_over_a_locked_job() -> None:
    """While another transaction holds the oldest queued job, a claim takes the next one at
    once instead of waiting for it (FOR UPDATE SKIP LOCKED)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run the suite with DATABASE_URL=postgres://...")
    first, second = make_queue(2)
    worker = make_user("walter", Role.WORKER)
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold_first() -> None:
        try:
            with transaction.atomic():
                Job.objects.select_for_update().get(pk=first)
                locked.set()
                release.wait(timeout=60)
        finally:
            connections.close_all()
            done.set()

    holder = threading.Thread(target=hold_first)
    holder.start()
    try:
        assert locked.wait(timeout=60)
        assert queue.claim_next(worker, "passer-by") == second
        assert Job.objects.get(pk=first).state == JobState.QUEUED
    finally:
        release.set()
        holder.join(timeout=60)
    assert done.is_set()
    assert queue.claim_next(worker, "passer-by") == first


# Processes on a scratch database of each backend.


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def scratch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """A server definition (not started) whose database is fresh and migrated."""
    database_url = None
    if request.param == "postgresql":
        database_url = scratch_postgres_for("race")
        if database_url is None:
            pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    server = LiveServer(tmp_path, database_url=database_url)
    try:
        yield server
    finally:
        server.stop()
        if database_url:
            drop_postgres(database_url)


SETUP = """
import json
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
from mlcontest.contest import datasets, rounds
from mlcontest.contest.models import Job, Role, User

call_command("migrate", verbosity=0)
olga = User.objects.create_user("olga", password="pw", role=Role.ORGANIZER)
User.objects.create_user("walter", password="pw", role=Role.WORKER)
features = [[float(i), float(i % 2)] for i in range(20)]
labels = ["a", "b"] * 10
table = datasets.DatasetTable(["x", "y"], features, labels, datasets.assign_splits(labels, 0))
round_ = rounds.create_round(
    olga, name="Race", dataset=datasets.store_dataset("tiny", table), metric="accuracy"
)
rounds.open_round(olga, round_)
start = timezone.now() - timedelta(hours=1)
jobs = Job.objects.bulk_create(
    Job(round=round_, user=olga, algorithm="knn", params={},
        created_at=start + timedelta(microseconds=index))
    for index in range({count})
)
print(json.dumps([job.pk for job in jobs]))
"""

ROWS = """
import json
from mlcontest.contest.models import Job
print(json.dumps(list(Job.objects.values("id", "state", "attempts", "worker_key"))))
"""

CLAIMER = """
import json, sys
import django
django.setup()
from mlcontest.contest import queue
from mlcontest.contest.models import Job, JobState, User

worker = User.objects.get(username="walter")
key = sys.argv[1]
print("ready", flush=True)
sys.stdin.readline()
claimed = []
while True:
    job_id = queue.claim_next(worker, key, key)
    if job_id is not None:
        claimed.append(job_id)
    elif not Job.objects.filter(state=JobState.QUEUED).exists():
        break
print(json.dumps(claimed), flush=True)
"""


def run_together(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, Any]:
    """Start every command, wait until each says "ready", say "go" to all, and collect the
    JSON each prints last."""
    processes = {
        name: subprocess.Popen(
            argv,
            env=env,
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, argv in commands.items()
    }
    try:
        for name, process in processes.items():
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.strip() == "ready", (name, line, process.stderr and process.stderr.read())
        for process in processes.values():
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        results: dict[str, Any] = {}
        for name, process in processes.items():
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, (name, err[-3000:])
            results[name] = json.loads(out.strip().splitlines()[-1])
        return results
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.live
def test_processes_claim_each_job_once(scratch: LiveServer) -> None:
    job_ids = json.loads(scratch.run_python(SETUP.replace("{count}", str(N_JOBS))))
    env = {**scratch.env, "DJANGO_SETTINGS_MODULE": "mlcontest.settings"}
    commands = {
        f"process-{index}": [sys.executable, "-c", CLAIMER, f"process-{index}"]
        for index in range(N_CLAIMERS)
    }
    claims = run_together(commands, env)
    check_claims(job_ids, claims, json.loads(scratch.run_python(ROWS)))


# Processes pinging a real server with the seed's client.

PINGER = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import api  # the seed's client; its settings.py is in argv[1]

client = api.API()
print("ready", flush=True)
sys.stdin.readline()
claimed = []
while True:
    answer = client.ping()
    if answer is None:
        break
    if not isinstance(answer, int):
        sys.exit("ping answered %r" % (answer,))
    claimed.append(answer)
print(json.dumps(claimed), flush=True)
"""


@pytest.mark.live
def test_http_pingers_claim_each_job_once(scratch: LiveServer, tmp_path: Path) -> None:
    job_ids = json.loads(scratch.run_python(SETUP.replace("{count}", str(N_JOBS))))
    scratch.start()
    settings_dir = tmp_path / "seed-settings"
    settings_dir.mkdir()
    (settings_dir / "settings.py").write_text(
        f'BACKEND_USERNAME = "walter"\nBACKEND_PASSWORD = "pw"\nSERVER_URI = "{scratch.url}"\n'
    )
    seed_dir = Path(__file__).parent / "seed_client"
    argv = [sys.executable, "-c", PINGER, str(settings_dir), str(seed_dir)]
    claims = run_together({f"pinger-{index}": argv for index in range(N_PINGERS)}, scratch.env)
    rows = json.loads(scratch.run_python(ROWS))
    # Each pinger is one session, so one worker key: map each pinger to the key of its jobs.
    key_of = {}
    for name, claimed in claims.items():
        keys = {row["worker_key"] for row in rows if row["id"] in set(claimed)}
        assert len(keys) <= 1, (name, keys)
        key_of[name] = keys.pop() if keys else f"none:{name}"
    check_claims(job_ids, {key_of[name]: claimed for name, claimed in claims.items()}, rows)
    assert len(set(key_of.values())) == N_PINGERS
