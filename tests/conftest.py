"""The base fixtures every test module builds on: named users, a small dataset, an open round.

Named users (as in healthchecks' BaseTestCase): ``alice`` and ``bob`` are students in the
groups ``Alpha`` and ``Beta``, ``carol`` is a student without a group, ``walter`` is a worker,
``olga`` an organizer. Each has the password ``pw``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client, override_settings

from mlcontest.contest import datasets, rounds
from mlcontest.contest.models import Dataset, Group, Job, Membership, Role, Round, User
from tests import live

PASSWORD = "pw"


@dataclass
class Contest:
    """The named objects of a small contest, made once per test."""

    alice: User
    bob: User
    carol: User
    walter: User
    olga: User
    alpha: Group
    beta: Group
    dataset: Dataset
    round: Round

    def client(self, user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client


def tiny_table(n_per_class: int = 10, seed: int = 0) -> datasets.DatasetTable:
    """Two well separated classes in 2-D: an easy, deterministic dataset."""
    features: list[list[float]] = []
    labels: list[str] = []
    for index in range(n_per_class):
        features.append([float(index), 0.0])
        labels.append("a")
        features.append([float(index), 10.0])
        labels.append("b")
    return datasets.DatasetTable(["x", "y"], features, labels, datasets.assign_splits(labels, seed))


def make_user(username: str, role: str = Role.STUDENT, group: Group | None = None) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", PASSWORD, role=role)
    if group is not None:
        Membership.objects.create(user=user, group=group)
    return user


@pytest.fixture
def contest(db: Any) -> Contest:
    olga = make_user("olga", Role.ORGANIZER)
    alpha = Group.objects.create(name="Alpha", public=True, created_by=olga)
    beta = Group.objects.create(name="Beta", public=False, created_by=olga)
    dataset = datasets.store_dataset("tiny", tiny_table(), description="Two lines of points.")
    round_ = rounds.create_round(
        olga, name="Round 1", dataset=dataset, metric="accuracy", job_quota=5, queued_quota=3
    )
    rounds.open_round(olga, round_)
    return Contest(
        alice=make_user("alice", group=alpha),
        bob=make_user("bob", group=beta),
        carol=make_user("carol"),
        walter=make_user("walter", Role.WORKER),
        olga=olga,
        alpha=alpha,
        beta=beta,
        dataset=dataset,
        round=round_,
    )


def true_labels(dataset: Dataset) -> dict[str, list[str]]:
    loaded = datasets.load_points(dataset)
    return {split: loaded.labels_of(split) for split in datasets.SPLITS}


def result_fields(labels: dict[str, list[str]], **overrides: Any) -> dict[str, Any]:
    """``update_job_details`` form fields encoded as the seed's client encodes them."""
    fields: dict[str, Any] = {
        "score_test": "1.0",
        "score_validation": "1.0",
        "labels_training": json.dumps(labels["training"]),
        "labels_test": json.dumps(labels["test"]),
        "labels_validation": json.dumps(labels["validation"]),
        "extra_scores_test": "null",
        "extra_scores_validation": "null",
        "message": "None",
        "success": "True",
    }
    fields.update(overrides)
    return fields


def submit(contest: Contest, user: User, algorithm: str = "knn", **params: Any) -> Job:
    from mlcontest.contest import queue

    return queue.submit_job(user, contest.round, algorithm, params)


@pytest.fixture(scope="session", autouse=True)
def own_media_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Job pictures go to a folder of this run's own, not ``MLCONTEST_DATA_DIR/media``: test
    processes running in parallel (pytest-xdist) each number their jobs from 1 in their own
    database, and would overwrite each other's pictures in one shared folder."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """MD5 hashing for the named users: the default hasher costs about a second per test."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        # Still checks the hashes that a subprocess (a real `mlcontest` command) made.
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture(autouse=True)
def fresh_auth_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Empty per-process session and user caches (``mlcontest.http.auth_cache``): on SQLite the
    next test's users get the same ids, so a user cached by the last test would stand in for a
    different one (and its session hash would not match)."""
    from mlcontest.http import auth_cache

    monkeypatch.setattr(auth_cache, "_users", auth_cache.TtlCache())
    monkeypatch.setattr(auth_cache, "_sessions", auth_cache.TtlCache())


@pytest.fixture(autouse=True)
def no_wakeup_listener_left() -> Iterator[None]:
    """A test whose ping waited started this process's wake-up listener; on PostgreSQL its
    LISTEN connection would keep the test database from being dropped at the end."""
    yield
    from mlcontest.contest import wakeup

    wakeup.stop()


def _must_be_marked_live(item: pytest.Item) -> Generator[None, object, object]:
    started = live.servers_started
    result = yield
    if live.servers_started > started and item.get_closest_marker("live") is None:
        pytest.fail(f"{item.nodeid} starts a server: mark it `live`", pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """A test whose fixtures start a server (tests/live.py counts them) is marked ``live``."""
    return (yield from _must_be_marked_live(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A test that starts a server itself is marked ``live`` too."""
    return (yield from _must_be_marked_live(item))


OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that passed has an outcome for every test it collected: a way of running the
    suite that quietly drops tests (as xdist's ``loadscope`` did with tests that share a node
    id) fails instead of passing on the rest."""
    if (
        exitstatus != 0
        or os.environ.get("PYTEST_XDIST_WORKER")  # a worker runs its share only
        or session.config.option.collectonly
    ):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    # One outcome per test: its call, or its set-up where that failed or skipped it.
    ran = sum(
        1
        for outcome in OUTCOMES
        for report in reporter.stats.get(outcome, [])
        if getattr(report, "when", None) == "call"
        or (getattr(report, "when", None) == "setup" and report.outcome != "passed")
    )
    if ran != session.testscollected:
        reporter.ensure_newline()
        reporter.write_line(
            f"{session.testscollected} tests collected, {ran} run: failing the run", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
