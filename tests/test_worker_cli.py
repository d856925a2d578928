"""``mlcontest worker``: options and where the credentials come from (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcontest.cli.main import build_parser
from mlcontest.worker import cli as worker_cli
from mlcontest.worker.loop import WorkerConfig


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[WorkerConfig]:
    """The configurations the worker would have started with."""
    configs: list[WorkerConfig] = []

    class FakeWorker:
        def __init__(self, config: WorkerConfig) -> None:
            configs.append(config)

        def run(self) -> int:
            return 0

    monkeypatch.setattr("mlcontest.worker.loop.Worker", FakeWorker)
    for name in ("TOKEN", "USERNAME", "PASSWORD", "SERVER", "PASSWORD_FILE", "TOKEN_FILE"):
        monkeypatch.delenv(f"MLCONTEST_{name}", raising=False)
    return configs


def run(*argv: str) -> int:
    args = build_parser().parse_args(["worker", *argv])
    return int(args.handler(args))


def test_credentials_from_the_environment(
    started: list[WorkerConfig], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLCONTEST_USERNAME", "walter")
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("MLCONTEST_PASSWORD_FILE", str(secret))
    empty = tmp_path / "empty.env"
    empty.write_text("")
    argv = ["--server", "http://h:1", "--processes", "3", "--no-pictures"]
    assert run(*argv, "--credentials", str(empty)) == 0
    config = started[0]
    assert (config.username, config.password, config.token) == ("walter", "s3cret", None)
    assert config.server == "http://h:1" and config.processes == 3 and not config.pictures
    with pytest.raises(SystemExit, match="no credentials file"):
        run("--credentials", str(tmp_path / "none.env"))


def test_credentials_from_a_file(started: list[WorkerConfig], tmp_path: Path) -> None:
    path = tmp_path / "worker.env"
    path.write_text("# the lab's worker\nMLCONTEST_SERVER=http://lab:8000\nMLCONTEST_TOKEN='abc'\n")
    assert run("--credentials", str(path)) == 0
    assert started[0].token == "abc" and started[0].server == "http://lab:8000"


def test_no_credentials_is_a_clear_error(
    started: list[WorkerConfig], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(worker_cli, "DEFAULT_CREDENTIALS", tmp_path / "missing.env")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(SystemExit, match="no credentials"):
        run("--credentials", str(worker_cli.DEFAULT_CREDENTIALS))
    assert started == []
