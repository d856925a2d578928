"""A body above ``MLCONTEST_MAX_BODY_BYTES`` is refused from its Content-Length, before it is
read: on a real ``mlcontest serve``, 30 parallel posts of 18.5 MB each get the JSON 413 and the
server's processes do not grow (before the limit they went from 0.7 to 2.0 GB and stayed).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.live import LiveServer

pytestmark = pytest.mark.live

N_POSTS = 30
POST_BYTES = int(18.5 * 1024 * 1024)
# What the server's processes together may grow by. Reading the posts into memory would take
# 30 x 18.5 MB = 555 MB at least (and, parsed, several times that).
RSS_GROWTH_BOUND = 64 * 1024 * 1024


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it (gunicorn's master and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process has gone meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path, processes=2)
    live.start()
    try:
        live.run_python(
            """
from mlcontest.contest.models import Role, User
User.objects.create_user("walter", password="pw", role=Role.WORKER)
"""
        )
        yield live
    finally:
        live.stop()


def signed_in(server: LiveServer) -> requests.Session:
    session = requests.Session()
    token = session.get(f"{server.url}/env.json/", timeout=30).json()["csrftoken"]
    answer = session.post(
        f"{server.url}/accounts/login/?next=/ok.json",
        data={"username": "walter", "password": "pw", "csrfmiddlewaretoken": token},
        timeout=30,
    )
    assert answer.json()["status"] == "ok"
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_parallel_big_posts_are_refused_without_growing_the_server(server: LiveServer) -> None:
    assert server.process is not None
    session = signed_in(server)
    url = f"{server.url}/actions/update_job_details/1.json/"
    body = b"labels_test=" + b"a" * (POST_BYTES - len(b"labels_test="))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def post(_: int) -> requests.Response:
        return session.post(url, data=body, headers=headers, timeout=120)

    # Every worker thread and process has served a refused post before the baseline is read.
    with ThreadPoolExecutor(4) as pool:
        assert {answer.status_code for answer in pool.map(post, range(4))} == {413}
    pids = process_tree(server.process.pid)
    assert len(pids) >= 3, pids  # the master and two workers
    before = rss_bytes(pids)
    with ThreadPoolExecutor(N_POSTS) as pool:
        answers = list(pool.map(post, range(N_POSTS)))
    after = rss_bytes(process_tree(server.process.pid))
    for answer in answers:
        assert answer.status_code == 413
        error = answer.json()
        assert error["status"] == "error" and error["code"] == "body_too_large"
        assert set(error) == {"status", "code", "message", "fields"}
    assert after - before < RSS_GROWTH_BOUND, (before, after)
    # The server still answers small requests of the same client.
    assert session.post(f"{server.url}/actions/get_groups.json/", timeout=30).status_code == 200


def test_a_chunked_body_is_refused_with_411(server: LiveServer) -> None:
    """Django reads a body only up to its Content-Length: a chunked one would be dropped
    unread, so it is refused plainly instead."""
    session = signed_in(server)

    def chunks() -> Iterator[bytes]:
        yield b"group_name=Gamma"

    answer = session.post(
        f"{server.url}/actions/get_groups.json/",
        data=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert answer.status_code == 411
    assert answer.json()["code"] == "length_required"
