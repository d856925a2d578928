"""Organizer set-up traps (issue 11, item 6): a superuser made by ``createsuperuser`` is shown as
an organizer everywhere; a closed standard output ends a command quietly; the demo's data
folder is ignored by git."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from mlcontest.cli.main import main
from mlcontest.contest.models import Role, User
from tests.live import REPO
from tests.protocol_helpers import logged_in, ok_json


def test_createsuperuser_makes_an_organizer(
    db: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As docs/cli.md shows it for a shell without a terminal.
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-enough-secret-42")
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "r@x.org")
    root = User.objects.get(username="root")
    assert root.is_superuser and root.role == Role.ORGANIZER and root.is_organizer
    assert ok_json(logged_in(root).get("/api/me/"))["role"] == "organizer"
    capsys.readouterr()
    assert main(["user", "list"]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("root ")]
    assert row.split()[1] == "organizer"


def test_a_staff_row_saved_as_a_student_is_shown_as_an_organizer(
    db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A superuser saved before roles followed staff: ``is_organizer`` already counts it."""
    old = User.objects.create_user("old-root", password="pw")
    User.objects.filter(pk=old.pk).update(is_superuser=True, is_staff=True)
    old.refresh_from_db()
    assert old.role == Role.STUDENT
    capsys.readouterr()
    main(["user", "list"])
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("old-root")]
    assert row.split()[1] == "organizer"
    old.refresh_from_db()
    assert old.role == Role.STUDENT  # shown, not stored, until its next save:
    # a sign-in saves last_login, and the role with it.
    assert ok_json(logged_in(old).get("/api/me/"))["role"] == "organizer"
    old.refresh_from_db()
    assert old.role == Role.ORGANIZER


def test_a_closed_standard_output_ends_quietly(tmp_path: Path) -> None:
    env = {**os.environ, "MLCONTEST_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO)}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    script = [sys.executable, "-m", "mlcontest.cli"]
    subprocess.run([*script, "manage", "migrate", "-v", "0"], env=env, check=True, cwd=REPO)
    # The reader is gone before the command writes a byte: every write hits a closed pipe.
    reader = subprocess.Popen(
        [*script, "user", "list"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()
    errors = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 141  # as a shell reports a command ended by SIGPIPE
    assert errors == ""


def test_the_demo_folder_is_ignored_by_git() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "mlcontest-demo/mlcontest.sqlite3"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert ignored.returncode == 0, ignored
