"""Datasets in their columnar form: Parquet pieces in the database, the seed's point list
streamed from them byte for byte, the workers' compact transfer without hidden labels, the
columnar CSV reader against the line-by-line reference, text columns and empty cells, and a
Titanic-like CSV from upload to a ranked job."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mlcontest.contest import dataset_sources as sources
from mlcontest.contest import dataset_store, datasets, leaderboard, queue, rounds
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import Dataset, DatasetChunk
from mlcontest.worker import dataset_files
from mlcontest.worker.run import for_job, prepare, run_job
from tests.conftest import Contest, result_fields
from tests.protocol_helpers import logged_in, ok_json, ping

TITANIC = Path(__file__).parent / "data" / "titanic_like.csv"


def streamed(response: Any) -> bytes:
    """The body of a streamed answer (the test client's response type does not declare it)."""
    return b"".join(response.streaming_content)


def seed_list(dataset: Dataset, hidden: bool) -> list[dict[str, Any]]:
    """The point list as the seed-era code built it: json.dumps of one list of dicts."""
    loaded = datasets.load_points(dataset)
    points = []
    for position, split, label, row in zip(
        loaded.positions, loaded.splits, loaded.labels, loaded.features, strict=True
    ):
        point: dict[str, Any] = {
            "id": position,
            "split": split,
            "label": label if hidden or split == "training" else None,
        }
        point.update(zip(loaded.feature_names, row, strict=True))
        points.append(point)
    return points


@pytest.mark.parametrize("hidden", [True, False])
def test_streamed_point_list_is_byte_for_byte_the_seed_list(
    contest: Contest, monkeypatch: pytest.MonkeyPatch, hidden: bool
) -> None:
    dataset = contest.dataset
    expected = json.dumps(seed_list(dataset, hidden)).encode()
    assert datasets.points_json(dataset, hidden) == expected
    monkeypatch.setattr(datasets, "CACHED_JSON_VALUES", 0)  # every dataset streamed
    assert b"".join(datasets.iter_points_json(dataset, hidden)) == expected
    # A slice boundary inside the list: pieces join with the list's own separator.
    monkeypatch.setattr(datasets.columnar, "ROW_GROUP_ROWS", 3)
    again = datasets.store_dataset(
        "again",
        datasets.DatasetTable(
            list(dataset.feature_names),
            [list(row) for row in datasets.load_points(dataset).features],
            list(datasets.load_points(dataset).labels),
            list(datasets.load_points(dataset).splits),
        ),
    )
    assert b"".join(datasets.iter_points_json(again, hidden)) == expected


def test_the_seed_view_streams_a_big_dataset(
    contest: Contest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datasets, "CACHED_JSON_VALUES", 0)
    response = logged_in(contest.walter).post(
        f"/actions/get_dataset_points/{contest.dataset.pk}.json/"
    )
    assert response.streaming
    points = json.loads(streamed(response))
    assert points == seed_list(contest.dataset, hidden=False)


def test_points_are_kept_in_pieces_and_a_new_version_replaces_them(
    contest: Contest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset_store, "CHUNK_BYTES", 100)
    table = sources.generate("moons", 200, 0.1, seed=1)
    stored = sources.store("moons", table)
    pieces = DatasetChunk.objects.filter(dataset=stored, part="features").count()
    size = dataset_store.part_size(stored.pk, stored.version, "features")
    assert pieces == math.ceil(size / 100) > 1
    # Read back through the seekable piece reader: the very numbers stored.
    loaded = datasets.load_points(stored)
    assert [list(row) for row in loaded.features] == table.features
    old = stored.version
    replaced = sources.store("moons", sources.generate("moons", 200, 0.1, seed=2), replace=True)
    assert replaced.version != old
    assert not DatasetChunk.objects.filter(dataset=stored, version=old).exists()


def test_metadata_comes_from_the_row(contest: Contest) -> None:
    described = datasets.describe_dataset(contest.dataset)
    assert described["size"] == 20 and sum(described["splits"].values()) == 20
    student = contest.client(contest.alice)
    with CaptureQueriesContext(connection) as queries:
        ok_json(logged_in(contest.walter).post("/actions/get_datasets.json/"))
        assert student.get(reverse("web:round", args=[contest.round.pk])).status_code == 200
    # Neither the list nor the round's page reads a single piece of the points.
    assert not [q for q in queries.captured_queries if "datasetchunk" in q["sql"].lower()]


def test_the_worker_file_has_features_only_and_the_splits_no_hidden_label(
    contest: Contest,
) -> None:
    worker = logged_in(contest.walter)
    file = worker.get(f"/actions/get_dataset_file/{contest.dataset.pk}/")
    assert file.status_code == 200
    assert file["X-Dataset-Version"] == contest.dataset.version
    table = pq.read_table(io.BytesIO(streamed(file)))
    assert table.column_names == ["x", "y"]  # no label, no split column at all
    splits = ok_json(worker.get(f"/actions/get_dataset_splits/{contest.dataset.pk}/"))
    truth = datasets.load_labels(contest.dataset)
    assert splits["splits"] == list(truth.splits)
    for split, label, true in zip(splits["splits"], splits["labels"], truth.labels, strict=True):
        assert label == (true if split == "training" else None)


def test_students_get_no_dataset_file_and_an_old_version_is_a_conflict(contest: Contest) -> None:
    pk = contest.dataset.pk
    for path in (f"/actions/get_dataset_file/{pk}/", f"/actions/get_dataset_splits/{pk}/"):
        assert logged_in(contest.alice).get(path).status_code == 403
        assert logged_in(contest.walter).get(path, {"version": "0ld"}).status_code == 409


def test_the_cached_files_give_the_arrays_of_the_seed_list(
    contest: Contest, tmp_path: Path
) -> None:
    worker = logged_in(contest.walter)
    pk = contest.dataset.pk
    features, splits = tmp_path / "f.parquet", tmp_path / "s.json"
    features.write_bytes(streamed(worker.get(f"/actions/get_dataset_file/{pk}/")))
    splits.write_bytes(worker.get(f"/actions/get_dataset_splits/{pk}/").content)
    from_files = dataset_files.read_prepared(features, splits)
    from_json = prepare(json.loads(datasets.points_json(contest.dataset, True)))
    for split in datasets.SPLITS:
        assert np.array_equal(from_files.X[split], from_json.X[split])
        assert from_files.y[split] == from_json.y[split]
    assert set(from_files.y["test"]) == {None}


def big_csv(rows: int = 4000) -> str:
    lines = ["id,x,colour,y,label"]
    for i in range(rows):
        colour = ("red", "green", "", "blue")[i % 4]
        y = "" if i % 7 == 0 else f"{(i * 37 % 101) / 7:.4f}"
        lines.append(f"{i},{i / 3:.3f},{colour},{y},{'ab'[i % 2]}")
    return "\n".join(lines) + "\n"


def test_the_columnar_reader_gives_the_reference_table() -> None:
    text = big_csv()
    fast = sources.from_csv(text, seed=3, reader="columnar")
    reference = sources.from_csv(text, seed=3, reader="python")
    assert isinstance(reference.features, list)
    assert (
        fast.feature_names
        == reference.feature_names
        == ["x", "colour=blue", "colour=green", "colour=red", "y"]
    )
    columns = np.column_stack([c.to_numpy() for c in fast.features.columns])  # type: ignore[union-attr]
    assert np.array_equal(columns, np.asarray(reference.features), equal_nan=True)
    assert fast.labels == reference.labels and fast.splits == reference.splits
    assert fast.description == reference.description
    assert "colour" in fast.description


FILLER = "".join(f"{i},{i},{'ab'[i % 2]}\n" for i in range(40))


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("3,oops,b", ["Line 4,", "column 'y'", "'oops'"]),
        ("3,b", ["Line 4 has 2 values"]),
        ("inf,4,a", ["Line 4", "column 'x'", "finite"]),
        ("nan,4,a", ["Line 4", "column 'x'", "finite"]),
        ("5,4,", ["Line 4", "label is empty"]),
    ],
)
def test_the_columnar_reader_leaves_refusals_to_the_reference(bad: str, words: list[str]) -> None:
    text = f"x,y,label\n1,2,a\n2,3,b\n{bad}\n{FILLER}"
    with pytest.raises(InvalidInput) as caught:
        sources.from_csv(text, reader="columnar")
    for word in words:
        assert word in caught.value.message


def test_a_file_that_is_not_utf8_is_refused_by_either_reader() -> None:
    text = ("x,name,label\n1,Gr\u00f6\u00dfe,a\n" + FILLER.replace(",", ",n,", 1)).encode("latin-1")
    with pytest.raises(InvalidInput) as caught:
        sources.from_csv(text, reader="columnar")
    assert "not UTF-8" in caught.value.message


def test_a_text_column_past_the_cap_is_refused_when_asked_for() -> None:
    text = "x,name,label\n" + "".join(f"{i},n{i},{'ab'[i % 2]}\n" for i in range(80))
    left_out = sources.from_csv(text)
    assert left_out.feature_names == ["x"] and "left out: name" in left_out.description
    for reader in ("python", "columnar"):
        with pytest.raises(InvalidInput) as caught:
            sources.from_csv(text, feature_columns=["x", "name"], reader=reader)
        assert "'name'" in caught.value.message and "80 different values" in caught.value.message


def test_a_titanic_like_csv_goes_from_upload_to_a_ranked_job(contest: Contest) -> None:
    client = contest.client(contest.olga)
    client.post(
        reverse("web:dataset_new"),
        {
            "name": "titanic",
            "source": "csv",
            "csv_file": SimpleUploadedFile("titanic.csv", TITANIC.read_bytes(), "text/csv"),
            "label_column": "Survived",
            "split_column": "",
            "feature_columns": "Pclass, Sex, Age, Fare, Embarked",
            "action": "save",
        },
    )
    dataset = Dataset.objects.get(name="titanic")
    assert dataset.feature_names == [
        "Pclass",
        "Sex=female",
        "Sex=male",
        "Age",
        "Fare",
        "Embarked=C",
        "Embarked=Q",
        "Embarked=S",
    ]
    assert dataset.missing_values > 0  # empty ages and fares
    round_ = rounds.create_round(
        contest.olga, name="Titanic", dataset=dataset, metric="accuracy", job_quota=5
    )
    rounds.open_round(contest.olga, round_)
    job = queue.submit_job(contest.alice, round_, "logistic_regression", {})
    worker = logged_in(contest.walter)
    assert ping(worker) == job.pk
    # The worker's side: the seed's point list (NaN for an empty cell), filled and fitted.
    points = worker.post(f"/actions/get_dataset_points/{dataset.pk}.json/").content
    data = prepare(json.loads(points))
    outcome, _ = run_job("logistic_regression", {}, for_job(data, {}))
    assert outcome.success and "empty cells were filled" in outcome.message
    fields = result_fields(outcome.labels, message=outcome.message)
    ok_json(worker.post(f"/actions/update_job_details/{job.pk}.json/", fields))
    job.refresh_from_db()
    assert job.state == "done" and job.score_test is not None and job.score_test > 0.6
    board = leaderboard.public_leaderboard(round_)
    assert [line.group for line in board.standings] == ["Alpha"]


def test_the_round_page_says_which_algorithms_a_big_dataset_is_too_big_for(
    contest: Contest,
) -> None:
    page = contest.client(contest.alice).get(reverse("web:round", args=[contest.round.pk]))
    assert "too big for some algorithms" not in page.content.decode()
    Dataset.objects.filter(pk=contest.dataset.pk).update(
        size=70_000,
        split_sizes={"training": 42_000, "test": 14_000, "validation": 14_000},
        feature_names=[f"f{i}" for i in range(784)],
    )
    html = contest.client(contest.alice).get(reverse("web:round", args=[contest.round.pk]))
    text = html.content.decode()
    assert "too big for some algorithms" in text
    assert "<strong>k-nearest neighbours</strong>" in text and "minutes" in text
    assert "<strong>Logistic regression</strong>" not in text


class ClientAPI:
    """Just enough of mlcontest.client.API for dataset_files.fetch, over Django's test client."""

    host = "http://testserver"
    timeout = 10.0

    def __init__(self, client: Any) -> None:
        self.client = client
        self.paths: list[str] = []

    def request(self, method: str, path: str, **options: Any) -> Any:
        self.paths.append(path)
        response = self.client.get("/" + path, options.get("params"))
        assert response.status_code == 200, response.content
        body = streamed(response) if response.streaming else response.content

        class Answer:
            def iter_content(self, chunk_size: int) -> list[bytes]:
                return [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]

            def close(self) -> None:
                pass

        return Answer()


def test_the_worker_fetches_a_version_once_and_forgets_older_ones(
    contest: Contest, tmp_path: Path
) -> None:
    api = ClientAPI(logged_in(contest.walter))
    first = dataset_files.fetch(api, tmp_path, contest.dataset.pk, contest.dataset.version)
    again = dataset_files.fetch(api, tmp_path, contest.dataset.pk, contest.dataset.version)
    assert first == again and len(api.paths) == 2  # the second came from the disk
    data = first.load()
    assert data.count("training") == contest.dataset.training_points
    newer = sources.store("tiny", sources.generate("moons", 60, 0.1), replace=True)
    dataset_files.fetch(api, tmp_path, newer.pk, newer.version)
    assert not Path(first.features_path).exists() and not Path(first.splits_path).exists()


@pytest.mark.django_db(transaction=True)
def test_migration_turns_seed_era_points_into_the_stored_files() -> None:
    executor = MigrationExecutor(connection)
    before = executor.loader.get_migration("contest", "0011_columnar_datasets").dependencies
    executor.migrate(before)
    old: Any = executor.loader.project_state(before).apps
    dataset = old.get_model("contest", "Dataset").objects.create(
        name="old", feature_names=["x", "y"], class_labels=["a", "b"], version="v-old"
    )
    rows: list[tuple[str, str, list[float]]] = [
        ("training", "a", [0.1, 2.0]),
        ("test", "b", [1.5, -3.25]),
        ("validation", "a", [2, 0]),
    ]
    rows += [("training", "b", [float(i), 1e-7 * i]) for i in range(5)]
    for position, (split, label, features) in enumerate(rows):
        old.get_model("contest", "Point").objects.create(
            dataset=dataset, position=position, split=split, label=label, features=features
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    migrated = Dataset.objects.get(name="old")
    assert migrated.version == "v-old" and migrated.size == 8  # workers' copies stay valid
    assert migrated.split_sizes == {"training": 6, "test": 1, "validation": 1}
    expected = [
        {"id": i, "split": split, "label": label, "x": float(f[0]), "y": float(f[1])}
        for i, (split, label, f) in enumerate(rows)
    ]
    assert json.loads(datasets.points_json(migrated, with_hidden_labels=True)) == expected
    assert datasets.load_labels(migrated).labels_of("test") == ["b"]
    assert len(migrated.preview["training"]) == 6


@pytest.mark.parametrize("part", ["training", "test-validation"])
def test_a_big_dataset_s_csv_download_is_streamed_with_the_same_bytes(
    contest: Contest, monkeypatch: pytest.MonkeyPatch, part: str
) -> None:
    from mlcontest.contest import training_data

    whole = training_data.dataset_csv(contest.dataset, part)
    monkeypatch.setattr(datasets, "CACHED_JSON_VALUES", 0)
    monkeypatch.setattr(datasets.columnar, "ROW_GROUP_ROWS", 3)
    response = contest.client(contest.alice).get(
        reverse("web:round_data", args=[contest.round.pk, part])
    )
    assert response.streaming and streamed(response) == whole
