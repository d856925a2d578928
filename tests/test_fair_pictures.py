"""A job's pictures and pages do not depend on the hidden labels (issue 10, item 2).

The same job is run twice, each time in a database of its own: the two datasets are identical
except that the labels of the test and validation points are permuted among themselves. The
job goes through the real code paths: claimed, its parameters and points read through the seed
protocol, run by the job process's ``run_one`` (fit, predict, pictures), its result and
pictures posted to ``update_job_details`` and ``add_job_picture`` and stored by the server.

The points are read with an organizer's account, the worst case: the hidden labels reach the
worker, which must drop them itself. Then the stored PNG bytes must be equal, and so must the
student's job page (web) and the job's JSON, once the round's own score values are masked:
on the page every value computed from the hidden labels carries a ``data-score`` attribute
(see ``web/parts/job_body.html``) and only those elements' text is replaced; in the JSON only
the values of ``score_*`` and ``extra_scores_*`` are. Both are compared with the round open and
again once it is closed (validation scores shown).

What is not derived from labels but would differ between two runs is pinned: the database is
flushed with its sequences reset between the runs (same ids), each run stores pictures in its
own media folder, the job's timestamps are set to the same instants, the worker's stopwatch is
a counter, and the CSRF tokens in the page are made from a fixed random source.

The test can fail: it checks that the two datasets really differ in their hidden labels, that
the server's scores differ between the runs (so the masked values hide a real difference), and
that a picture which coloured the test points by the labels the worker was sent (what
``regions.png`` used to do) would differ.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import Pipe
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import numpy as np
import pytest
from django.core.management import call_command
from django.middleware import csrf
from django.template import defaulttags
from django.utils import timezone
from sklearn import datasets as sk

from mlcontest.contest import datasets, queue, rounds
from mlcontest.contest import pictures as stored_pictures
from mlcontest.contest.models import Group, Job, JobPicture, Role
from mlcontest.http import auth_cache
from mlcontest.worker import child, pictures, run
from tests.conftest import make_user
from tests.protocol_helpers import logged_in, ok_json, ping

pytestmark = pytest.mark.django_db(transaction=True)

PINNED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SCORE_KEYS = ("score_test", "score_validation", "extra_scores_test", "extra_scores_validation")


@dataclass
class Shapes:
    """A dataset's points before they are stored."""

    name: str
    table: datasets.DatasetTable
    algorithm: str
    params: dict[str, Any]


def shapes(kind: str) -> Shapes:
    """2-D moons (decision regions) or 4-D blobs (PCA projection), noisy enough for mistakes."""
    if kind == "moons":
        X, y = sk.make_moons(n_samples=120, noise=0.35, random_state=3)
        names, algorithm, params = ["x", "y"], "svm", {"C": 1.0}
    else:
        X, y = sk.make_blobs(
            n_samples=150, centers=3, n_features=4, cluster_std=3.0, random_state=4
        )
        names, algorithm, params = ["a", "b", "c", "d"], "knn", {"n_neighbors": 3}
    labels = [str(value) for value in y]
    features = [[round(float(v), 6) for v in row] for row in X]
    table = datasets.DatasetTable(names, features, labels, datasets.assign_splits(labels, 1))
    return Shapes(kind, table, algorithm, params)


def shuffled_hidden(table: datasets.DatasetTable) -> datasets.DatasetTable:
    """The same table with the test and validation labels permuted among themselves."""
    hidden = [i for i, split in enumerate(table.splits) if split != "training"]
    order = np.random.RandomState(0).permutation(len(hidden))
    labels = list(table.labels)
    for target, source in zip(hidden, order, strict=True):
        labels[target] = table.labels[hidden[source]]
    return datasets.DatasetTable(table.feature_names, table.features, labels, table.splits)


@dataclass
class Run:
    """What one run of the job left behind."""

    organizer_points: list[dict[str, Any]]
    sent_to_worker: list[dict[str, Any]]
    pictures: dict[str, bytes]
    stored_pictures: dict[str, bytes]
    pages: list[str]
    documents: list[dict[str, Any]]
    scores: list[float | None]


def counting_clock() -> SimpleNamespace:
    ticks = itertools.count()
    return SimpleNamespace(perf_counter=lambda: next(ticks) * 0.001)


def run_the_job(shape: Shapes, table: datasets.DatasetTable, media: Path, settings: Any) -> Run:
    settings.MEDIA_ROOT = str(media)
    olga = make_user("olga", Role.ORGANIZER)
    alpha = Group.objects.create(name="Alpha", public=True, created_by=olga)
    alice = make_user("alice", group=alpha)
    dataset = datasets.store_dataset(shape.name, table)
    round_ = rounds.create_round(olga, name="Round", dataset=dataset, metric="accuracy")
    rounds.open_round(olga, round_)
    job = queue.submit_job(alice, round_, shape.algorithm, dict(shape.params))

    worker = logged_in(olga)  # an organizer's worker: the hidden labels reach it
    assert ping(worker) == job.pk
    params = ok_json(worker.post(f"/actions/get_job_params/{job.pk}.json/"))
    info = ok_json(worker.post("/actions/get_datasets.json/"))[str(params["dataset"])]
    points = ok_json(worker.post(info["url"]))
    data = run.prepare(points, info["features"], info["version"], info["labels"])
    spec = child.JobSpec(job.pk, params["algorithm"], params["params"], "accuracy", "k", True, 2048)
    parent_end, child_end = Pipe()
    child.run_one(spec, data, child_end)
    kind, outcome = parent_end.recv()
    assert kind == "result" and outcome.success, outcome.message
    kind, (drawn, note, healthy) = parent_end.recv()
    assert kind == "pictures" and healthy and not note
    body = {
        "score_test": outcome.score_test,
        "score_validation": outcome.score_validation,
        "labels_training": outcome.labels["training"],
        "labels_test": outcome.labels["test"],
        "labels_validation": outcome.labels["validation"],
        "extra_scores_test": outcome.extra_scores_test,
        "extra_scores_validation": outcome.extra_scores_validation,
        "message": outcome.message,
        "success": outcome.success,
        "timings": outcome.timings,
    }
    path = f"/actions/update_job_details/{job.pk}.json/"
    assert ok_json(worker.post(path, json.dumps(body), content_type="application/json"))["stored"]
    for filename, png in drawn:
        data_field = base64.b64encode(png).decode("ascii")
        answer = worker.post(
            f"/actions/add_job_picture/{job.pk}.json/", {"filename": filename, "data": data_field}
        )
        assert ok_json(answer)["filename"] == filename
    Job.objects.filter(pk=job.pk).update(
        created_at=PINNED, claimed_at=PINNED + timedelta(seconds=1), finished_at=PINNED
    )

    student = logged_in(alice)
    pages, documents = [], []
    for _ in ("open", "closed"):
        with pinned_clock():  # the page tells the server's time, for its countdowns
            page = student.get(f"/jobs/{job.pk}/")
        assert page.status_code == 200
        pages.append(page.content.decode())
        documents.append(ok_json(student.get(f"/api/jobs/{job.pk}/")))
        rounds.close_round(olga, round_)
    stored = Job.objects.get(pk=job.pk)
    saved: dict[str, bytes] = {}
    for picture in JobPicture.objects.filter(job=stored):
        image = stored_pictures.picture_bytes(picture)
        assert image is not None
        saved[picture.filename] = image
    return Run(
        organizer_points=ok_json(logged_in(olga).post(info["url"])),
        sent_to_worker=points,
        pictures=dict(drawn),
        stored_pictures=saved,
        pages=pages,
        documents=documents,
        scores=[stored.score_test, stored.score_validation],
    )


class PinnedDatetime(datetime):
    """``datetime`` whose ``now`` is one fixed instant (for the ``{% now %}`` tag)."""

    @classmethod
    def now(cls, tz: Any = None) -> PinnedDatetime:
        return cls.fromtimestamp((PINNED + timedelta(hours=1)).timestamp(), tz)


@contextlib.contextmanager
def pinned_clock() -> Iterator[None]:
    with (
        mock.patch.object(timezone, "now", lambda: PINNED + timedelta(hours=1)),
        mock.patch.object(defaulttags, "datetime", PinnedDatetime),
    ):
        yield


def fresh_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything gone and every id sequence back at its start, as in a new database."""
    call_command("flush", interactive=False, verbosity=0)
    monkeypatch.setattr(auth_cache, "_users", auth_cache.TtlCache())
    monkeypatch.setattr(auth_cache, "_sessions", auth_cache.TtlCache())


def mask_page(html: str) -> str:
    masked, count = re.subn(r"(<[^>]*\sdata-score[\s>][^<]*)", _masked_element, html)
    assert count, "the page shows no score: nothing to mask?"
    return masked


def _masked_element(match: re.Match[str]) -> str:
    tag_end = match.group(1).index(">") + 1
    return match.group(1)[:tag_end] + "#"


def mask_document(document: dict[str, Any]) -> dict[str, Any]:
    masked = dict(document)
    for key in SCORE_KEYS:
        value = masked.get(key)
        if isinstance(value, dict):
            masked[key] = dict.fromkeys(value, "#")
        elif key in masked:
            masked[key] = "#"
    return masked


def features_of_test_points(points: list[dict[str, Any]], features: list[str]) -> np.ndarray:
    return np.array([[p[name] for name in features] for p in points if p["split"] == "test"])


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(run, "time", counting_clock())
    monkeypatch.setattr(csrf, "get_random_string", lambda length, **_: "k" * length)
    yield


@pytest.mark.parametrize("kind", ["moons", "blobs"])
def test_pictures_and_pages_do_not_depend_on_hidden_labels(
    kind: str, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pinned: None
) -> None:
    shape = shapes(kind)
    fresh_database(monkeypatch)  # an earlier test's teardown leaves the sequences advanced
    original = run_the_job(shape, shape.table, tmp_path / "a", settings)
    fresh_database(monkeypatch)
    monkeypatch.setattr(run, "time", counting_clock())
    shuffled = run_the_job(shape, shuffled_hidden(shape.table), tmp_path / "b", settings)

    # The two datasets differ, and only in the hidden labels.
    pairs = list(zip(original.organizer_points, shuffled.organizer_points, strict=True))
    changed = [a for a, b in pairs if a["label"] != b["label"]]
    assert len(changed) >= 5 and {point["split"] for point in changed} == {"test", "validation"}
    assert all({**a, "label": None} == {**b, "label": None} for a, b in pairs)
    assert original.sent_to_worker != shuffled.sent_to_worker  # they reached the worker
    assert original.scores != shuffled.scores  # the masked values hide a real difference

    # The pictures: drawn, stored, byte for byte the same.
    names = ["confusion.png", "regions.png"]
    assert sorted(original.pictures) == sorted(original.stored_pictures) == names
    assert original.stored_pictures == original.pictures
    assert shuffled.stored_pictures == original.stored_pictures

    # The student's page and the job's JSON, open and closed, the same once scores are masked.
    assert [mask_page(page) for page in shuffled.pages] == [
        mask_page(page) for page in original.pages
    ]
    assert [mask_document(doc) for doc in shuffled.documents] == [
        mask_document(doc) for doc in original.documents
    ]
    assert "score_validation" in original.documents[1]  # the closed round shows it

    # The check is not blind: a picture coloured by the labels the worker was sent differs.
    features = list(shape.table.feature_names)
    assert true_label_picture(original.sent_to_worker, features) != true_label_picture(
        shuffled.sent_to_worker, features
    )


def true_label_picture(points: list[dict[str, Any]], features: list[str]) -> bytes:
    """What ``regions.png`` used to show: the test points in their true class."""
    test = [p for p in points if p["split"] == "test"]
    X = features_of_test_points(points, features)[:, :2]
    figure, axes = pictures._new_figure("test points by true class")
    classes = sorted({str(p["label"]) for p in test})
    pictures._scatter_classes(axes, X, [p["label"] for p in test], classes, s=14)
    return pictures.to_png(figure)
