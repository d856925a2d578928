"""deploy/'s files are well-formed for the tools that read them: systemd's verifier finds no
unknown or wrong directive in the units, and nginx accepts the site (``nginx -t``). Running them
is tests/test_deploy_nginx.py's and bench/cluster.py's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deployment import INSTALLED, NGINX, SERVER_UNIT, WORKER_UNIT, Nginx, unit_command


@pytest.mark.parametrize(
    ("unit", "name"), [(SERVER_UNIT, "mlcontest@8000.service"), (WORKER_UNIT, WORKER_UNIT.name)]
)
def test_systemd_finds_nothing_wrong_in_the_units(unit: Path, name: str, tmp_path: Path) -> None:
    verifier = shutil.which("systemd-analyze")
    if verifier is None:
        pytest.skip("systemd-analyze not found (package systemd)")
    # The install path does not exist here: an executable stands in for it.
    (tmp_path / name).write_text(unit.read_text().replace(INSTALLED, "/bin/true"))
    done = subprocess.run(
        [verifier, "verify", str(tmp_path / name)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    if not NGINX.exists():
        pytest.skip(f"{NGINX} not found: apt-get install -y nginx-light")
    nginx = Nginx(tmp_path, ["127.0.0.1:8001", "127.0.0.1:8002"], tmp_path / "static")
    argv = [str(NGINX), "-p", str(tmp_path), "-c", str(nginx.config), "-t"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert nginx.config.read_text().count("server 127.0.0.1:800") == 2


def test_the_server_unit_migrates_in_a_step_of_its_own_then_serves_without_migrating() -> None:
    # Instances starting together take turns on the migration lock in ExecStartPre; a serve
    # that migrated again would take the lock once more at every start.
    pre, _ = unit_command(SERVER_UNIT, "ExecStartPre", instance="8000")
    serve, env = unit_command(SERVER_UNIT, instance="8000")
    assert pre[3:] == ["migrate"]
    assert serve[3] == "serve" and "--no-migrate" in serve
    assert env["MLCONTEST_DATA_DIR"] == "/var/lib/mlcontest/8000"
