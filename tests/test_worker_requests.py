"""How many requests a busy worker makes, read from the server's access log: without pictures,
one per job (the result's post claims the next job); with pictures, a ping per job more, made
after the drawing so that a claimed job never waits behind it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlcontest.client import API
from tests.live import LiveServer
from tests.worker_support import WorkerProcess, live_server, setup_round, submit_jobs, wait_until

pytestmark = pytest.mark.live

JOBS = 8


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("worker-requests")
    access_log = folder / "access.log"
    options = {"extra_env": {"MLCONTEST_ACCESS_LOG": str(access_log)}}
    with live_server(folder, "worker_requests", **options) as live:
        yield live


def requests_while_busy(server: LiveServer, pictures: bool, tmp_path: Path) -> dict[str, int]:
    """Queue the jobs, then start one worker slot: the worker's pings and result posts up to
    its last result (the idle pings after it do not count)."""
    access_log = Path(server.env["MLCONTEST_ACCESS_LOG"])
    access_log.write_text("")
    ids = setup_round(server, f"moons-{pictures}", "moons", n=200)
    job_ids = submit_jobs(server, ids["round"], [("knn", {"n_neighbors": 3})] * JOBS)
    worker = WorkerProcess(server.url, tmp_path / "worker.log", pictures=pictures)
    olga = API("olga", "pw", server.url)
    try:
        wait_until(
            lambda: all(olga.get_job(job)["state"] == "done" for job in job_ids),
            timeout=120,
            interval=0.5,
            what="every job done",
        )
        if pictures:
            wait_until(lambda: olga.get_job(job_ids[-1])["pictures"], timeout=60)
    finally:
        worker.terminate()
        worker.cleanup()
    lines = access_log.read_text().splitlines()
    posts = [i for i, line in enumerate(lines) if "/actions/update_job_details/" in line]
    assert len(posts) == JOBS, "each result is posted once"
    before_last = lines[: posts[-1] + 1]
    return {
        "results": len(posts),
        "pings": sum("/actions/ping/" in line for line in before_last),
        "parameters": sum("/actions/get_job_params/" in line for line in before_last),
    }


def test_without_pictures_a_busy_worker_makes_one_request_per_job(
    server: LiveServer, tmp_path: Path
) -> None:
    counted = requests_while_busy(server, pictures=False, tmp_path=tmp_path)
    assert counted == {"results": JOBS, "pings": 1, "parameters": 0}


def test_with_pictures_the_next_job_is_claimed_after_the_drawing(
    server: LiveServer, tmp_path: Path
) -> None:
    counted = requests_while_busy(server, pictures=True, tmp_path=tmp_path)
    assert counted == {"results": JOBS, "pings": JOBS, "parameters": 0}
