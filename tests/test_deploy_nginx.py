"""deploy/ as a university would run it: Debian's nginx with deploy/nginx/mlcontest.conf and a
self-signed certificate in front of a server started from deploy/systemd/mlcontest@.service
with docs/deploy.md's settings (``MLCONTEST_PUBLIC_URL``, ``SECRET_KEY_FILE``), a worker started
from mlcontest-worker.service, and Chromium (``--ignore-certificate-errors``): a student signs
in, submits a job, the worker runs it, and its picture shows, all over HTTPS through nginx
(tests/deployment.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.browser import browser, skip_without_browser
from tests.deployment import NGINX, Nginx, server_env, unit_server, unit_worker
from tests.live import LiveServer, free_port
from tests.live_db import drop_postgres, live_database_url
from tests.worker_support import setup_round, worker_token

pytestmark = [pytest.mark.live]


@dataclass
class Site:
    nginx: Nginx
    server: LiveServer
    round_id: int


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    skip_without_browser()
    if not NGINX.exists():
        pytest.skip(f"{NGINX} not found: apt-get install -y nginx-light")
    port = free_port()
    root = tmp_path / "srv"
    static = root / "mlcontest" / str(port) / "static"
    database_url = live_database_url("deploy_nginx")
    with Nginx(tmp_path / "nginx", [f"127.0.0.1:{port}"], static) as nginx:
        server = unit_server(root, database_url, server_env(tmp_path, nginx.url), port=port)
        try:
            server.start()
            round_id = setup_round(server, "moons", "moons", n=120)["round"]
            yield Site(nginx, server, round_id)
        finally:
            server.stop()
            if database_url:
                drop_postgres(database_url)


def test_https_through_nginx_sign_in_a_job_and_its_picture(site: Site, tmp_path: Path) -> None:
    nginx, url = site.nginx, site.nginx.url
    https = requests.Session()
    https.trust_env = False  # the environment's CA bundle would replace the test's own
    https.verify = str(nginx.certificate)

    # Plain HTTP is redirected to HTTPS; HTTPS answers with HSTS; nginx serves static files
    # itself (its hour of caching, not WhiteNoise's minute); /healthz goes through.
    plain = requests.get(f"http://127.0.0.1:{nginx.http_port}/rounds/", allow_redirects=False)
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://localhost/rounds/"
    login_page = https.get(f"{url}/accounts/login/")
    assert login_page.status_code == 200
    assert "max-age=31536000" in login_page.headers["Strict-Transport-Security"]
    static = https.get(f"{url}/static/web/favicon.svg")
    assert static.status_code == 200 and "max-age=3600" in static.headers["Cache-Control"]
    assert https.get(f"{url}/healthz").json()["status"] == "ok"

    token = worker_token(site.server, "lab-pc-1")
    worker = unit_worker(
        {
            "MLCONTEST_SERVER": url,
            "MLCONTEST_TOKEN": token,
            "REQUESTS_CA_BUNDLE": str(nginx.certificate),
        },
        tmp_path / "worker.log",
    )
    try:
        with browser(url, flags=("--ignore-certificate-errors",)) as student:
            student.sign_in("alice", "pw")
            assert student.driver.current_url.startswith(f"{url}/")
            cookies = {cookie["name"]: cookie for cookie in student.driver.get_cookies()}
            assert cookies["sessionid"]["secure"] and cookies["csrftoken"]["secure"]

            student.get(f"/rounds/{site.round_id}/")
            student.select("#id_algorithm", "knn")
            student.fill("#id_knn-n_neighbors", "5")
            student.submit_and_wait("#submit-form button[type=submit]")
            student.wait_for("[data-part=jobs] tr[data-state=done]", timeout=90)
            student.click("[data-part=jobs] tr[data-state=done] a")
            student.wait_for("h1")
            picture = student.wait_for(".pictures img", timeout=60)
            student.wait(
                lambda d: d.execute_script(
                    "return arguments[0].complete && arguments[0].naturalWidth", picture
                ),
                "the picture to load",
            )
            assert picture.get_attribute("src").startswith(f"{url}/media/jobs/")
            assert not student.read_console() and not student.console_errors
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
