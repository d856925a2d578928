"""The seed's ``get_datasets`` and ``get_dataset_points``: the ``url`` is a path on this server
(the client joins it to its host); nobody but organizers sees the labels of test and validation
points, and students do not see datasets of rounds they cannot see."""

from __future__ import annotations

from typing import Any

import pytest

from mlcontest.contest import datasets, rounds
from mlcontest.contest.models import Dataset, Job
from tests.conftest import Contest, result_fields, submit, tiny_table, true_labels
from tests.protocol_helpers import assert_error, logged_in, ok_json, ping

LIST = "/actions/get_datasets.json/"


def points_path(dataset: Dataset) -> str:
    return f"/actions/get_dataset_points/{dataset.pk}.json/"


@pytest.fixture
def draft_only(contest: Contest) -> Dataset:
    """A dataset used only by a draft round: students must not see it."""
    dataset = datasets.store_dataset("hidden", tiny_table(seed=5))
    rounds.create_round(contest.olga, name="Next week", dataset=dataset, metric="accuracy")
    return dataset


@pytest.mark.parametrize("method", ["get", "post"])
def test_datasets_are_keyed_by_id_with_a_local_url(contest: Contest, method: str) -> None:
    body = ok_json(getattr(logged_in(contest.alice), method)(LIST))
    assert set(body) == {str(contest.dataset.pk)}
    info = body[str(contest.dataset.pk)]
    assert info["id"] == contest.dataset.pk and info["name"] == "tiny"
    assert info["features"] == ["x", "y"] and info["labels"] == ["a", "b"]
    assert info["size"] == 20 and sum(info["splits"].values()) == 20
    assert info["version"] == contest.dataset.version
    # A path, not an absolute URL: the seed joins it to its own host with normalize_url.
    assert info["url"] == points_path(contest.dataset)
    assert "://" not in info["url"] and "testserver" not in info["url"]


def test_students_do_not_see_datasets_of_draft_rounds(
    contest: Contest, draft_only: Dataset
) -> None:
    for who in (contest.alice, contest.carol):
        assert str(draft_only.pk) not in ok_json(logged_in(who).post(LIST))
        assert_error(logged_in(who).post(points_path(draft_only)), 404, "not_found")


def test_unused_dataset_is_hidden_from_students(contest: Contest) -> None:
    spare = datasets.store_dataset("spare", tiny_table(seed=2))
    assert str(spare.pk) not in ok_json(logged_in(contest.alice).post(LIST))
    assert str(spare.pk) in ok_json(logged_in(contest.walter).post(LIST))


def test_workers_and_organizers_see_every_dataset(contest: Contest, draft_only: Dataset) -> None:
    for who in (contest.walter, contest.olga):
        assert set(ok_json(logged_in(who).post(LIST))) == {
            str(contest.dataset.pk),
            str(draft_only.pk),
        }


def test_url_answers_the_points(contest: Contest) -> None:
    client = logged_in(contest.walter)
    url = ok_json(client.post(LIST))[str(contest.dataset.pk)]["url"]
    points = ok_json(client.post(url))
    assert len(points) == 20
    assert [point["id"] for point in points] == list(range(20))
    assert set(points[0]) == {"id", "split", "label", "x", "y"}


@pytest.mark.parametrize("method", ["get", "post"])
def test_students_get_no_hidden_labels(contest: Contest, method: str) -> None:
    points = ok_json(getattr(logged_in(contest.alice), method)(points_path(contest.dataset)))
    by_split: dict[str, list[Any]] = {}
    for point in points:
        by_split.setdefault(point["split"], []).append(point["label"])
    # Counted, so that the checks below cannot pass on an empty split.
    assert {split: len(labels) for split, labels in by_split.items()} == {
        "training": 12,
        "test": 4,
        "validation": 4,
    }
    assert all(label in ("a", "b") for label in by_split["training"])
    assert all(label is None for label in by_split["test"] + by_split["validation"])
    # Nor are they hidden somewhere else in the answer.
    for point in points:
        if point["split"] != "training":
            assert set(point.values()) & {"a", "b"} == set()


def test_only_organizers_get_every_label(contest: Contest) -> None:
    truth = true_labels(contest.dataset)
    points = ok_json(logged_in(contest.olga).post(points_path(contest.dataset)))
    assert len(points) == 20
    assert {split: [p["label"] for p in points if p["split"] == split] for split in truth} == truth
    # A worker fits on the training labels; the server scores the rest.
    worker_points = ok_json(logged_in(contest.walter).post(points_path(contest.dataset)))
    assert [point["label"] for point in worker_points] == [
        point["label"] if point["split"] == "training" else None for point in points
    ]


def test_labels_in_point_order_score_perfectly(contest: Contest) -> None:
    """The contract of update_job_details: each split's labels in the order of the point list
    (read here as the organizer, who gets the true labels)."""
    job = submit(contest, contest.alice)
    worker = logged_in(contest.walter)
    assert ping(worker) == job.pk
    points = ok_json(logged_in(contest.olga).post(points_path(contest.dataset)))
    labels: dict[str, list[str]] = {"training": [], "test": [], "validation": []}
    for point in points:
        labels[point["split"]].append(point["label"])
    ok_json(worker.post(f"/actions/update_job_details/{job.pk}.json/", result_fields(labels)))
    job = Job.objects.get(pk=job.pk)
    assert job.score_test == 1.0 and job.score_validation == 1.0


def test_unknown_dataset_is_404(contest: Contest) -> None:
    response = logged_in(contest.walter).post("/actions/get_dataset_points/999999.json/")
    assert_error(response, 404, "not_found")


def test_anonymous_gets_401(contest: Contest) -> None:
    client = logged_in(None)
    assert_error(client.post(LIST), 401, "not_authenticated")
    assert_error(client.post(points_path(contest.dataset)), 401, "not_authenticated")


def test_new_points_give_a_new_version_and_answer(contest: Contest) -> None:
    client = logged_in(contest.walter)
    before = ok_json(client.post(points_path(contest.dataset)))
    datasets.store_dataset("tiny", tiny_table(n_per_class=12), replace=True)
    after = ok_json(client.post(points_path(contest.dataset)))
    assert len(before) == 20 and len(after) == 24
    info = ok_json(client.post(LIST))[str(contest.dataset.pk)]
    assert info["size"] == 24 and info["version"] != contest.dataset.version
