"""A real ``mlcontest serve`` (gunicorn) in a subprocess, for tests that must talk HTTP to the
server as deployed, and stop or restart it on purpose.

The server gets its own data folder (SQLite file, media) or the database in ``database_url``;
``run_python`` executes set-up code with Django configured exactly as the server is.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent

# Servers started by tests in this process (the app, stubs, proxies): tests/conftest.py fails a
# test that starts one without the ``live`` mark, which is what ``-m "not live"`` leaves out.
servers_started = 0


def count_server() -> None:
    global servers_started
    servers_started += 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(
        self,
        data_dir: Path,
        database_url: str | None = None,
        processes: int = 2,
        extra_env: dict[str, str] | None = None,
        threads: int | None = None,
        port: int | None = None,
        argv: list[str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        # The command, when not the default ``mlcontest serve`` (tests/deployment.py: a unit's).
        self.argv = argv
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes = processes
        self.threads = threads
        self.env = {
            **os.environ,
            "MLCONTEST_DATA_DIR": str(data_dir),
            "MLCONTEST_ACCESS_LOG": "",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        else:
            self.env.pop("DATABASE_URL", None)
        self.env.update(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    def start(self, timeout: float = 60.0) -> LiveServer:
        count_server()
        argv = [sys.executable, "-m", "mlcontest.cli", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--processes", str(self.processes)]
        if self.threads:
            argv += ["--threads", str(self.threads)]
        argv = self.argv or argv
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            argv,
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                # /healthz answers any host name over plain HTTP (a server behind nginx with
                # MLCONTEST_PUBLIC_URL refuses its own address elsewhere, or redirects).
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:  # refused, or too slow while it starts
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def run_python(self, code: str) -> str:
        """Run ``code`` with Django set up against this server's database; its stdout."""
        script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
        env = {**self.env, "DJANGO_SETTINGS_MODULE": "mlcontest.settings"}
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"set-up failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
