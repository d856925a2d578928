"""Breaking things on purpose: a worker killed mid-job, a worker told to stop, a server that goes
away during a run. Each test asserts that no job is lost and none is run or stored twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcontest.client import API
from tests.live import LiveServer
from tests.worker_support import (
    WorkerProcess,
    job_rows,
    live_server,
    setup_round,
    submit_jobs,
    wait_until,
)

pytestmark = pytest.mark.live

LONG_FOREST = {"n_estimators": 1000}  # a few seconds on 300 points
SLOW_SVM = {"kernel": "poly", "degree": 10, "C": 10000, "gamma": 1000}  # minutes on moons


@pytest.fixture(scope="module")
def short_lease_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("short-lease")
    lease = {"MLCONTEST_LEASE_SECONDS": "3"}
    with live_server(data_dir, "worker_lease", extra_env=lease) as live:
        yield live


def state_of(api: API, job_id: int) -> str:
    return str(api.get_job(job_id)["state"])


def live_members(group_id: int) -> list[int]:
    """Processes of a process group that are still alive (zombies do not count)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group_id and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def test_a_worker_killed_mid_job_loses_nothing(
    short_lease_server: LiveServer, tmp_path: Path
) -> None:
    server = short_lease_server
    ids = setup_round(server, "moons-kill", "moons")
    (job,) = submit_jobs(server, ids["round"], [("random_forest", LONG_FOREST)])
    api = API("olga", "pw", server.url)
    first = WorkerProcess(server.url, tmp_path / "first.log", name="first")
    second = None
    try:
        wait_until(lambda: state_of(api, job) == "running", 90, 0.05, "the claim")
        first.kill_main()
        # Its job process dies with it instead of computing on as an orphan.
        wait_until(lambda: not live_members(first.process.pid), 20, 0.2, "the job process")
        row = job_rows(server, [job])[job]
        assert row["state"] == "running" and row["worker_name"].startswith("first/")
        second = WorkerProcess(server.url, tmp_path / "second.log", name="second")
        wait_until(lambda: state_of(api, job) == "done", 120, 0.2, "the job to be redone")
        assert second.terminate() == 0
    finally:
        first.cleanup()
        if second is not None:
            second.cleanup()
    row = job_rows(server, [job])[job]
    assert row["state"] == "done" and row["success"] is True
    assert row["attempts"] == 2 and row["worker_name"].startswith("second/")
    assert f"job {job} " not in first.log()
    assert second.log().count(f"job {job} ") == 1


def test_sigterm_hands_back_or_finishes_the_running_job(
    short_lease_server: LiveServer, tmp_path: Path
) -> None:
    server = short_lease_server
    ids = setup_round(server, "moons-term", "moons")
    (job,) = submit_jobs(server, ids["round"], [("random_forest", LONG_FOREST)])
    api = API("olga", "pw", server.url)
    impatient = WorkerProcess(server.url, tmp_path / "a.log", name="a", extra=["--grace", "0"])
    patient = None
    try:
        wait_until(lambda: state_of(api, job) == "running", 90, 0.05, "the claim")
        assert impatient.terminate() == 0
        # Handed back at once, not after the lease: queued again, the attempt not counted.
        row = job_rows(server, [job])[job]
        assert row["state"] == "queued" and row["attempts"] == 0
        assert "handed back" in impatient.log()

        patient = WorkerProcess(server.url, tmp_path / "b.log", name="b")
        wait_until(lambda: state_of(api, job) == "running", 90, 0.05, "the second claim")
        assert patient.terminate() == 0  # waits for the job to finish
        row = job_rows(server, [job])[job]
        assert row["state"] == "done" and row["attempts"] == 1
        assert row["worker_name"].startswith("b/")
    finally:
        impatient.cleanup()
        if patient is not None:
            patient.cleanup()


@pytest.mark.timeout(600)  # its own bounded waits add up to 420 s
def test_a_server_stopped_while_jobs_finish_loses_nothing(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    with live_server(tmp_path / "server", "worker_outage") as server:
        ids = setup_round(server, "moons-outage", "moons")
        jobs = submit_jobs(server, ids["round"], [("random_forest", {"n_estimators": 300})] * 6)
        api = API("olga", "pw", server.url)
        worker = WorkerProcess(server.url, tmp_path / "worker.log", processes=2)
        try:
            wait_until(lambda: state_of(api, jobs[0]) == "done", 120, 0.05, "the first result")
            running = [job for job in jobs if state_of(api, job) == "running"]
            assert running, "no job was running when the server stopped: the test proves nothing"
            server.stop()
            # Down until a job has finished and its result waits in the worker: the case to
            # prove (a fixed pause would prove it only when the job happened to finish in it).
            wait_until(
                lambda: "post result: server unreachable" in worker.log(),
                120,
                0.2,
                "a result held back while the server is down",
            )
            server.start()
            wait_until(
                lambda: all(state_of(api, job) in ("done", "failed") for job in jobs),
                180,
                0.3,
                "every job",
            )
            assert worker.process.poll() is None
            assert worker.terminate() == 0
        finally:
            worker.cleanup()
        rows = job_rows(server, jobs)  # straight from the database
    for job in jobs:
        assert rows[job]["state"] == "done" and rows[job]["success"] is True
        assert rows[job]["attempts"] == 1  # nothing was run twice
    log = worker.log()
    assert "server unreachable" in log and "server is back" in log
    assert sum(log.count(f"job {job} ") for job in jobs) == len(jobs)


def test_a_job_longer_than_its_lease_keeps_its_worker(
    short_lease_server: LiveServer, tmp_path: Path
) -> None:
    """The job runs 8 s (then hits its time limit) under a 3 s lease while a second worker
    pings all along: without renewals the second one would take the job over."""
    server = short_lease_server
    ids = setup_round(server, "moons-lease", "moons", time_limit=8)
    (job,) = submit_jobs(server, ids["round"], [("svm", SLOW_SVM)])
    api = API("olga", "pw", server.url)
    runner = WorkerProcess(server.url, tmp_path / "runner.log", name="runner")
    watcher = None
    try:
        wait_until(lambda: state_of(api, job) == "running", 90, 0.05, "the claim")
        watcher = WorkerProcess(server.url, tmp_path / "watcher.log", name="watcher")
        wait_until(lambda: state_of(api, job) == "failed", 60, 0.2, "the time limit")
    finally:
        runner.cleanup()
        if watcher is not None:
            watcher.cleanup()
    row = job_rows(server, [job])[job]
    assert "time limit of 8 s" in row["message"]
    assert row["attempts"] == 1 and row["worker_name"].startswith("runner/")
    assert "watcher" in watcher.log() and f"job {job} " not in watcher.log()


def test_a_worker_with_a_wrong_password_stops_with_a_clear_error(
    short_lease_server: LiveServer, tmp_path: Path
) -> None:
    worker = WorkerProcess(short_lease_server.url, tmp_path / "w.log", password="wrong")
    try:
        assert worker.process.wait(timeout=120) == 1
    finally:
        worker.cleanup()
    assert "refused the sign-in" in worker.log()
