"""A worker the server will not have (a bad token, a student's account) stops at once against a
real server with one line that says what is wrong, and a non-zero status: no thread traceback,
no exit 0 (issue 11, item 6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveServer
from tests.worker_support import USERS, WorkerProcess, live_server

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("worker-refusals"), "worker_refusals") as live:
        live.run_python(USERS)
        yield live


def token_of(server: LiveServer, username: str) -> str:
    code = f"""
from mlcontest.contest.models import ApiToken, User
print(ApiToken.issue(User.objects.get(username={username!r}), "test")[1])
"""
    return server.run_python(code).strip().splitlines()[-1]


def stopped(worker: WorkerProcess) -> tuple[int, list[str]]:
    """The exit status and the log's lines, once the worker has stopped by itself."""
    try:
        status = worker.process.wait(timeout=60)
    finally:
        worker.cleanup()
    return status, worker.log().strip().splitlines()


def error_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if " ERROR " in line]


def test_a_bad_token_stops_the_worker_with_one_clear_line(
    server: LiveServer, tmp_path: Path
) -> None:
    worker = WorkerProcess(server.url, tmp_path / "w.log", processes=2, token="not-a-token")
    status, lines = stopped(worker)
    assert status == 1
    assert not any("Traceback" in line for line in lines), lines
    (line,) = error_lines(lines)
    assert "mlcontest worker: the server refused the token" in line
    assert "MLCONTEST_TOKEN" in line


@pytest.mark.parametrize("by", ["password", "token"])
def test_a_students_account_stops_the_worker_with_one_clear_line(
    server: LiveServer, tmp_path: Path, by: str
) -> None:
    if by == "token":
        worker = WorkerProcess(server.url, tmp_path / "w.log", token=token_of(server, "alice"))
    else:
        # WorkerProcess signs in as walter: the environment it copies names alice instead.
        worker = WorkerProcess(server.url, tmp_path / "w.log", extra=["--username", "alice"])
    status, lines = stopped(worker)
    assert status == 1
    assert not any("Traceback" in line for line in lines), lines
    (line,) = error_lines(lines)
    assert "'alice' is a student account and may not run jobs" in line
    assert "--role worker" in line
