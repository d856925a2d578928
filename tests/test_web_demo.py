"""``mlcontest demo``: the seeding (idempotent, an open round, logins that work), the bots'
parameters (always valid for the registry), and the whole command against a real server."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from mlcontest.algorithms import REGISTRY, validate_params
from mlcontest.cli import demo
from mlcontest.contest.models import (
    Course,
    Dataset,
    Group,
    Job,
    Membership,
    Round,
    RoundState,
    User,
)
from tests.live import REPO, free_port


def test_seed_makes_a_class_and_is_idempotent(db: Any) -> None:
    logins = demo.seed()
    counts = (
        User.objects.count(),
        Group.objects.count(),
        Dataset.objects.count(),
        Round.objects.count(),
    )
    assert demo.seed() == logins
    assert counts == (
        User.objects.count(),
        Group.objects.count(),
        Dataset.objects.count(),
        Round.objects.count(),
    )
    teacher = User.objects.get(username=demo.ORGANIZER)
    assert teacher.is_organizer and teacher.check_password(demo.PASSWORD)
    assert User.objects.get(username=demo.WORKER).is_worker
    for login in logins:
        assert User.objects.get(username=login.username).check_password(login.password)
    assert Membership.objects.get(user__username="alice").group.name == "Red Pandas"
    assert not Group.objects.get(name="Green Geckos").public
    open_rounds = Round.objects.filter(state=RoundState.OPEN)
    assert {r.name for r in open_rounds} == {demo.MOONS_ROUND, demo.WINE_ROUND}
    later = Round.objects.get(name=demo.LATER_ROUND)
    assert later.state == RoundState.DRAFT and later.starts_at is not None
    # The demo's rounds are one course, made once.
    course = Course.objects.get()
    assert course.name == demo.COURSE
    assert {r.name for r in course.rounds.all()} == {
        demo.MOONS_ROUND,
        demo.WINE_ROUND,
        demo.LATER_ROUND,
    }


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_bot_parameters_are_always_valid(name: str) -> None:
    algorithm = REGISTRY[name]
    rng = random.Random(name)
    for _ in range(200):
        params = demo.random_params(algorithm, rng)
        assert validate_params(algorithm, params) == params


def test_bot_step_submits_for_a_bot_group(db: Any) -> None:
    demo.seed()
    happened = demo.bot_step(random.Random(1))
    assert happened is not None
    job = Job.objects.get()
    assert job.group is not None and job.group.name in demo.BOTS.values()
    assert job.round.state == RoundState.OPEN


def done_jobs(data: Path) -> int:
    code = (
        "import django; django.setup()\n"
        "from mlcontest.contest.models import Job\n"
        "print(Job.objects.filter(state='done').count())"
    )
    env = {
        **os.environ,
        "MLCONTEST_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "mlcontest.settings",
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


JOB_LINE = r"INFO job \d+ \w+ on dataset \d+: "


@pytest.mark.live
def test_demo_runs_serves_simulates_and_stops(tmp_path: Path) -> None:
    data, port = tmp_path / "demo", free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    output = (tmp_path / "demo.out").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlcontest.cli",
            "demo",
            "--data",
            str(data),
            "--port",
            str(port),
            "--workers",
            "1",
            "--simulate",
            "--bot-interval",
            "0.5",
        ],
        cwd=REPO,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 150
        text = ""
        while "Stop with Ctrl-C" not in text:
            assert process.poll() is None, text
            assert time.monotonic() < deadline, f"no banner in time:\n{text}"
            time.sleep(0.5)
            text = (tmp_path / "demo.out").read_text(errors="replace")
        assert f"running at {url}/" in text
        assert "teacher" in text and "alice" in text and "password for all: demo" in text
        assert requests.get(f"{url}/accounts/login/", timeout=10).status_code == 200
        # The bots' jobs are run by the demo's worker.
        while done_jobs(data) < 2:
            assert time.monotonic() < deadline, "the demo's worker ran no bot job in time"
            time.sleep(1)
        # One line per job in the worker's log (written once the job's pictures are posted),
        # so an organizer sees the workers at work.
        while not re.search(JOB_LINE, (data / "worker-1.log").read_text()):
            assert time.monotonic() < deadline, "no job line in the worker's log in time"
            time.sleep(0.5)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0
    text = (tmp_path / "demo.out").read_text(errors="replace")
    assert "stopping the server and the workers" in text
    # The workers stop first, while the server still takes what they post.
    assert "server unreachable" not in (data / "worker-1.log").read_text()
    # The server went down with the demo: nothing listens on its port any more.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/env.json/", timeout=5)
