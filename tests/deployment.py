"""deploy/'s files, run for real: Debian's nginx with deploy/nginx/mlcontest.conf, and servers and
workers started from the systemd units' own ``Environment=`` and ``ExecStart=`` lines.

Only what must differ on a test machine is replaced, and each replacement must find its text
exactly (a changed site file fails here, loudly, instead of being tested in an old form):
ports, the certificate, the static folder, log paths, the upstream lines, and the install
path ``/opt/mlcontest/venv/bin/mlcontest`` (this interpreter's ``-m mlcontest.cli``).
Used by tests/test_deploy_nginx.py and bench/cluster.py.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.live import REPO, LiveServer, count_server, free_port

NGINX = Path(os.environ.get("MLCONTEST_NGINX", "/usr/sbin/nginx"))
SITE = REPO / "deploy" / "nginx" / "mlcontest.conf"
SERVER_UNIT = REPO / "deploy" / "systemd" / "mlcontest@.service"
WORKER_UNIT = REPO / "deploy" / "systemd" / "mlcontest-worker.service"
INSTALLED = "/opt/mlcontest/venv/bin/mlcontest"
PUBLIC_HOST = "contest.example.org"


def _replace(text: str, old: str, new: str, count: int | None = None) -> str:
    found = text.count(old)
    if not found or (count is not None and found != count):
        raise AssertionError(f"{old!r} is {found} times in {SITE.name}, not {count or '1+'}")
    return text.replace(old, new)


def render_site(
    upstreams: list[str],
    https_port: int,
    http_port: int,
    certificate: Path,
    key: Path,
    static_dir: Path,
    log_dir: Path,
    host: str = "localhost",
) -> str:
    """deploy/nginx/mlcontest.conf for this machine: the instances at ``upstreams``
    (``host:port``), TLS on ``https_port`` with the given certificate, no IPv6 listeners."""
    text = SITE.read_text(encoding="utf-8")
    upstream_line = re.compile(r"^    server 127\.0\.0\.1:8000 (.*?;).*$", re.MULTILINE)
    match = upstream_line.search(text)
    if match is None:
        raise AssertionError(f"no upstream server line in {SITE}")
    servers = "\n".join(f"    server {address} {match.group(1)}" for address in upstreams)
    text = text[: match.start()] + servers + text[match.end() :]
    text = _replace(text, "    listen [::]:80;\n", "", 1)
    text = _replace(text, "    listen [::]:443 ssl http2;\n", "", 1)
    text = _replace(text, "listen 80;", f"listen 127.0.0.1:{http_port};", 1)
    text = _replace(text, "listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;", 1)
    text = _replace(text, f"server_name {PUBLIC_HOST};", f"server_name {host};", 2)
    text = _replace(text, "/etc/ssl/mlcontest/fullchain.pem", str(certificate), 1)
    text = _replace(text, "/etc/ssl/mlcontest/privkey.pem", str(key), 1)
    text = _replace(text, "/var/lib/mlcontest/8000/static/", f"{static_dir}/", 1)
    return _replace(text, "/var/log/nginx/", f"{log_dir}/", 2)


def self_signed_certificate(folder: Path, host: str = "localhost") -> tuple[Path, Path]:
    """A certificate for ``host`` and 127.0.0.1, made by openssl; (certificate, key)."""
    folder.mkdir(parents=True, exist_ok=True)
    certificate, key = folder / "fullchain.pem", folder / "privkey.pem"
    argv = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    argv += ["-keyout", str(key), "-out", str(certificate), "-subj", f"/CN={host}"]
    argv += ["-addext", f"subjectAltName=DNS:{host},IP:127.0.0.1"]
    subprocess.run(
        argv,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return certificate, key


class Nginx:
    """Debian's nginx as a child process (``daemon off``) with deploy's site in a main
    configuration of its own: every path (pid, logs, temporary files) in ``folder``."""

    def __init__(
        self, folder: Path, upstreams: list[str], static_dir: Path, workers: int = 1
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.https_port, self.http_port = free_port(), free_port()
        self.url = f"https://localhost:{self.https_port}"
        self.certificate, self.key = self_signed_certificate(folder / "tls")
        site = render_site(
            upstreams,
            self.https_port,
            self.http_port,
            self.certificate,
            self.key,
            static_dir,
            folder,
        )
        temporary = "\n".join(
            f"    {kind}_temp_path {folder / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # As root, nginx's workers would run as nobody, who cannot read a test's folders.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        self.config = folder / "nginx.conf"
        self.config.write_text(
            f"{user}daemon off;\nworker_processes {workers};\npid {folder / 'nginx.pid'};\n"
            f"error_log {folder / 'error.log'} warn;\n"
            "events { worker_connections 8192; }\n"
            f"http {{\n    include /etc/nginx/mime.types;\n{temporary}\n"
            f"    access_log off;\n{site}\n}}\n",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> Nginx:
        count_server()
        argv = [str(NGINX), "-p", str(self.folder), "-c", str(self.config)]
        test = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=30)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t: {test.stderr}")
        log = (self.folder / "nginx.out").open("ab")
        # A process group of its own: its workers' CPU can be told apart (bench/cluster.py).
        self.process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not start: {self.error_log()}")

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def unit_lines(unit: Path, key: str) -> list[str]:
    """The values of ``key=`` lines in the unit's [Service] section."""
    values, section = [], ""
    for raw in unit.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line.startswith(f"{key}="):
            values.append(line[len(key) + 1 :])
    return values


def unit_command(
    unit: Path, key: str = "ExecStart", instance: str = "", root: Path | None = None
) -> tuple[list[str], dict[str, str]]:
    """The unit's command (``ExecStart`` or ``ExecStartPre``) and ``Environment=`` values, with
    ``%i`` as ``instance``, the install path as this interpreter, /var/lib/ under ``root``."""

    def expand(text: str) -> str:
        text = text.replace("%i", instance)
        return text.replace("/var/lib/", f"{root}/") if root is not None else text

    (command,) = unit_lines(unit, key)
    argv = shlex.split(expand(command))
    if argv[0] != INSTALLED:
        raise AssertionError(f"{unit.name}'s {key} does not run {INSTALLED}: {argv[0]}")
    argv = [sys.executable, "-m", "mlcontest.cli", *argv[1:]]
    env = {}
    for assignment in unit_lines(unit, "Environment"):
        name, _, value = expand(assignment).partition("=")
        env[name] = value
    return argv, env


def unit_flag(unit: Path, flag: str) -> str:
    """The value of ``flag`` on the unit's ExecStart line (e.g. the worker's ``--wait``)."""
    argv, _ = unit_command(unit)
    return argv[argv.index(flag) + 1]


def server_env(root: Path, public_url: str, **more: str) -> dict[str, str]:
    """/etc/mlcontest/server.env as docs/deploy.md writes it, for servers behind ``public_url``:
    the public URL and one secret key file (``root``/etc/mlcontest/secret_key) that every
    instance reads, which a server with a public URL requires."""
    key = root / "etc" / "mlcontest" / "secret_key"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key.chmod(0o640)
    return {"MLCONTEST_PUBLIC_URL": public_url, "SECRET_KEY_FILE": str(key), **more}


def unit_server(
    root: Path, database_url: str | None, settings: dict[str, str], port: int | None = None
) -> LiveServer:
    """A server started as deploy/systemd/mlcontest@.service starts it, as instance ``port``,
    with ``settings`` in place of /etc/mlcontest/server.env (``server_env``); its data folder
    under ``root``. The unit's ExecStartPre (``mlcontest migrate``) runs first."""
    port = port or free_port()
    argv, env = unit_command(SERVER_UNIT, instance=str(port), root=root)
    data_dir = Path(env["MLCONTEST_DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    server = LiveServer(data_dir, database_url, extra_env={**env, **settings}, port=port, argv=argv)
    pre, _ = unit_command(SERVER_UNIT, "ExecStartPre", instance=str(port), root=root)
    done = subprocess.run(pre, env=server.env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{SERVER_UNIT.name}'s ExecStartPre failed: {done.stderr[-3000:]}")
    return server


def unit_worker(settings: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``mlcontest worker`` as deploy/systemd/mlcontest-worker.service starts it, with
    ``settings`` in place of /etc/mlcontest/worker.env."""
    argv, env = unit_command(WORKER_UNIT)
    env["MPLCONFIGDIR"] = str(log_path.parent / "matplotlib")
    return subprocess.Popen(
        argv,
        cwd=REPO,
        env={**os.environ, **env, **settings, "PYTHONUNBUFFERED": "1"},
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
