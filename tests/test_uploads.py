"""Bring your own predictions (issue 15, item 4): a group uploads a CSV of ``id, label`` for the
test and validation points; the server scores it like a worker's labels and stores it as a
finished job of the group, with the same quota, hidden validation score and leaderboard. Every
bad file is refused with a message naming its rows, and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from mlcontest.contest import dataset_store, datasets, leaderboard, queue, quotas, rounds, uploads
from mlcontest.contest.errors import Conflict, InvalidInput, QuotaExceeded
from mlcontest.contest.models import Dataset, Job, JobState, Round
from tests.conftest import Contest
from tests.protocol_helpers import assert_error, logged_in, ok_json


def hidden_points(dataset: Dataset) -> list[tuple[int, str, str]]:
    """(id, split, true label) of every test and validation point, in the dataset's order."""
    loaded = datasets.load_points(dataset)
    return [
        (position, split, label)
        for position, split, label in zip(
            loaded.positions, loaded.splits, loaded.labels, strict=True
        )
        if split != "training"
    ]


def training_ids(dataset: Dataset) -> list[int]:
    loaded = datasets.load_points(dataset)
    return [p for p, s in zip(loaded.positions, loaded.splits, strict=True) if s == "training"]


def flip(label: str) -> str:
    return "b" if label == "a" else "a"


def csv_of(rows: list[tuple[Any, Any]], header: str = "id,label", newline: str = "\n") -> bytes:
    lines = [header, *(f"{point_id},{label}" for point_id, label in rows)]
    return (newline.join(lines) + newline).encode()


def truthful(
    contest: Contest, wrong: frozenset[int] | set[int] = frozenset()
) -> list[tuple[int, str]]:
    """One row per hidden point, with its true label except for the ids in ``wrong``."""
    return [
        (point_id, flip(label) if point_id in wrong else label)
        for point_id, _, label in hidden_points(contest.dataset)
    ]


@pytest.fixture
def open_uploads(contest: Contest) -> Round:
    rounds.update_round(contest.olga, contest.round, prediction_uploads=True)
    return contest.round


def snapshot(contest: Contest) -> tuple[Any, ...]:
    """What a refused upload must leave as it was."""
    round_ = Round.objects.get(pk=contest.round.pk)
    return (
        list(Job.objects.values_list("id", "state", "score_test")),
        round_.leaderboard_version,
        quotas.quota_left(round_, contest.alpha),
    )


# The domain -------------------------------------------------------------------------------


def test_an_upload_is_scored_like_a_job(contest: Contest, open_uploads: Round) -> None:
    points = hidden_points(contest.dataset)
    test_ids = [p for p, split, _ in points if split == "test"]
    validation_ids = [p for p, split, _ in points if split == "validation"]
    wrong = {test_ids[0], validation_ids[0], validation_ids[1]}
    version = Round.objects.get(pk=open_uploads.pk).leaderboard_version
    # Rows in any order: the server puts them back in the dataset's order.
    rows = list(reversed(truthful(contest, wrong)))
    datasets._load_points.cache_clear()
    job = uploads.upload_predictions(contest.alice, open_uploads, csv_of(rows), "C:\\me\\p.csv")
    # Checked and scored from the labels alone: a big dataset's features stay on disk.
    assert datasets._load_points.cache_info().currsize == 0

    job.refresh_from_db()
    assert (job.state, job.success, job.group, job.user) == (
        JobState.DONE,
        True,
        contest.alpha,
        contest.alice,
    )
    assert job.algorithm == uploads.UPLOADED
    assert job.params == {"file": "p.csv", "rows": len(points)}
    assert job.worker is None and job.worker_key == "" and job.labels_training is None
    for split in ("test", "validation"):
        truth = [label for _, s, label in points if s == split]
        predicted = [flip(label) if p in wrong else label for p, s, label in points if s == split]
        assert getattr(job, f"labels_{split}") == predicted
        # Against scikit-learn called directly.
        assert getattr(job, f"score_{split}") == pytest.approx(accuracy_score(truth, predicted))
        extra = getattr(job, f"extra_scores_{split}")
        assert extra["balanced_accuracy"] == pytest.approx(
            balanced_accuracy_score(truth, predicted)
        )
        assert extra["f1_macro"] == pytest.approx(f1_score(truth, predicted, average="macro"))
    assert job.score_test is not None and job.score_validation is not None
    assert job.score_validation < job.score_test < 1.0
    # The same quota and the same leaderboard as any job; no worker ever sees it.
    assert quotas.quota_left(open_uploads, contest.alpha)["jobs_used"] == 1
    assert Round.objects.get(pk=open_uploads.pk).leaderboard_version > version
    board = leaderboard.public_leaderboard(Round.objects.get(pk=open_uploads.pk))
    assert [(line.group, line.score_test) for line in board.standings] == [
        ("Alpha", job.score_test)
    ]
    assert queue.claim_next(contest.walter, "worker-1") is None


def test_what_spreadsheets_and_pandas_write_is_read(contest: Contest, open_uploads: Round) -> None:
    """A German Excel's semicolons, a byte order mark, CRLF, quoted fields, a float id column
    and upper-case headers are all the same predictions."""
    rows = [(f"{point_id}.0", f'"{label}"') for point_id, label in truthful(contest)]
    content = "\ufeff".encode() + csv_of(rows, header="ID;Label", newline="\r\n").replace(
        b",", b";"
    )
    job = uploads.upload_predictions(contest.alice, open_uploads, content)
    assert (job.score_test, job.score_validation) == (1.0, 1.0)
    assert job.params["file"] == "predictions.csv"


def test_class_numbers_written_as_floats_count(db: Any, contest: Contest) -> None:
    table = datasets.DatasetTable(
        ["x"],
        [[float(i)] for i in range(20)],
        ["0", "1"] * 10,
        datasets.assign_splits(["0", "1"] * 10, 0),
    )
    dataset = datasets.store_dataset("numbers", table)
    round_ = rounds.create_round(
        contest.olga, name="Numbers", dataset=dataset, metric="accuracy", prediction_uploads=True
    )
    rounds.open_round(contest.olga, round_)
    rows = [(p, f"{label}.0") for p, _, label in hidden_points(dataset)]
    job = uploads.upload_predictions(contest.alice, round_, csv_of(rows))
    assert job.score_test == 1.0
    assert set(job.labels_test or []) <= {"0", "1"}


def bad_files(contest: Contest) -> dict[str, tuple[bytes, list[str]]]:
    """A hostile or careless file each, and what its refusal must say."""
    good = truthful(contest)
    first, second = good[0][0], good[1][0]
    training = training_ids(contest.dataset)[0]
    return {
        "pandas index": (csv_of(good, header=",id,label"), ["Row 1", "index=False"]),
        "no header": (csv_of(good[1:], header=f"{first},a"), ["Row 1", "id and label"]),
        "not a number": (csv_of([("seven", "a"), *good[1:]]), ["Row 2", "'seven'"]),
        "unknown id": (csv_of([(9999, "a"), *good[1:]]), ["Row 2", "9999"]),
        "training id": (csv_of([(training, "a"), *good[1:]]), ["Row 2", "training point"]),
        "duplicate": (
            csv_of([good[0], (first, "a"), *good[2:]]),
            ["Row 3", f"id {first} again (first in row 2)"],
        ),
        "missing": (csv_of(good[2:]), [f"2 test and validation points have no row: ids {first}"]),
        "unknown class": (
            csv_of([(first, "zebra"), *good[1:]]),
            ["Row 2", "'zebra'", "the classes: a, b"],
        ),
        "empty label": (csv_of([(first, ""), *good[1:]]), ["Row 2", "no label"]),
        "too many rows": (csv_of([*good, (first, "a")]), [f"Row {len(good) + 2}", "too many"]),
        "three fields": (csv_of([(first, "a,b"), *good[1:]]), ["Row 2", "3 fields"]),
        "open quote": (csv_of([(first, '"a'), *good[1:]]), ["not valid CSV"]),
        "latin-1": (
            csv_of([(first, "a"), (second, "\xe4")]).replace(b"\xc3\xa4", b"\xe4"),
            ["Row 3", "UTF-8"],
        ),
        "nul": (csv_of(good) + b"\x00", ["NUL"]),
        "huge": (b"id,label\n" + b"1," + b"a" * (uploads.max_bytes(len(good)) + 1), ["bytes"]),
        "empty": (b"", ["Row 1", "nothing"]),
        "labels only": (b"\n".join([b"label", *(b"a" for _ in good)]), ["Row 1"]),
    }


def test_every_bad_file_is_refused_naming_its_rows_and_stores_nothing(
    contest: Contest, open_uploads: Round
) -> None:
    before = snapshot(contest)
    for name, (content, said) in bad_files(contest).items():
        with pytest.raises(InvalidInput) as refused:
            uploads.upload_predictions(contest.alice, open_uploads, content, "p.csv")
        for part in said:
            assert part in refused.value.message, (name, refused.value.message)
        assert refused.value.fields["file"] in refused.value.message
        assert snapshot(contest) == before, name


def test_refusals_say_nothing_about_hidden_labels(
    contest: Contest, open_uploads: Round, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A student probing with bad files learns nothing: with every hidden label changed, every
    refusal reads the same."""
    files = bad_files(contest)

    def messages() -> dict[str, str]:
        said = {}
        for name, (content, _) in files.items():
            with pytest.raises(InvalidInput) as refused:
                uploads.upload_predictions(contest.alice, open_uploads, content)
            said[name] = refused.value.message
        return said

    before = messages()
    stored = dataset_store.labels_of_version

    def flipped(dataset_id: int, version: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        splits, labels = stored(dataset_id, version)
        hidden = [
            label if split == "training" else flip(label)
            for split, label in zip(splits, labels, strict=True)
        ]
        return splits, tuple(hidden)

    truth = datasets.load_points(contest.dataset).labels_of("test")
    monkeypatch.setattr(dataset_store, "labels_of_version", flipped)
    # What the process has read of this version goes, before and after, so that the flipped
    # labels are read here and nowhere else (a later test may store the same table again).
    forget_loaded_datasets()
    try:
        assert datasets.load_points(open_uploads.dataset).labels_of("test") == [
            flip(label) for label in truth
        ]
        assert messages() == before
    finally:
        forget_loaded_datasets()


def forget_loaded_datasets() -> None:
    datasets._load_points.cache_clear()
    datasets._load_labels.cache_clear()


def test_uploads_follow_the_rounds_rules(contest: Contest) -> None:
    content = csv_of(truthful(contest))
    with pytest.raises(Conflict) as refused:
        uploads.upload_predictions(contest.alice, contest.round, content)
    assert refused.value.code == "uploads_not_allowed"
    rounds.update_round(contest.olga, contest.round, prediction_uploads=True)
    with pytest.raises(Conflict) as refused:
        uploads.upload_predictions(contest.carol, contest.round, content)
    assert refused.value.code == "no_group"
    # The job quota counts uploads and jobs alike; the queued quota does not stop an upload.
    for _ in range(3):
        queue.submit_job(contest.alice, contest.round, "knn", {})
    uploads.upload_predictions(contest.alice, contest.round, content)
    uploads.upload_predictions(contest.alice, contest.round, content)
    with pytest.raises(QuotaExceeded):
        uploads.upload_predictions(contest.alice, contest.round, content)
    assert Job.objects.filter(algorithm=uploads.UPLOADED).count() == 2
    rounds.close_round(contest.olga, contest.round)
    with pytest.raises(Conflict) as refused:
        uploads.upload_predictions(contest.bob, contest.round, content)
    assert refused.value.code == "round_not_open"


# The JSON API ----------------------------------------------------------------------------


def api_path(round_: Round) -> str:
    return f"/api/rounds/{round_.pk}/predictions/"


@pytest.mark.parametrize("carrier", ["multipart", "json", "text/csv"])
def test_the_api_takes_a_file_and_answers_the_job(
    contest: Contest, open_uploads: Round, carrier: str
) -> None:
    client = logged_in(contest.alice)
    content = csv_of(truthful(contest, wrong={hidden_points(contest.dataset)[0][0]}))
    if carrier == "multipart":
        response = client.post(
            api_path(open_uploads), {"file": SimpleUploadedFile("mine.csv", content)}
        )
    elif carrier == "json":
        response = client.post(
            api_path(open_uploads),
            json.dumps({"csv": content.decode()}),
            content_type="application/json",
        )
    else:
        response = client.post(api_path(open_uploads), content, content_type="text/csv")
    answer = ok_json(response, 201)
    job = Job.objects.get()
    assert answer["id"] == job.pk and answer["algorithm"] == "uploaded"
    assert answer["state"] == "done" and answer["score_test"] == job.score_test
    assert job.score_test is not None and job.score_test < 1.0
    # The validation score stays hidden until the reveal, as for any job.
    assert "score_validation" not in answer and "extra_scores_validation" not in answer
    assert answer["quota"]["jobs_used"] == 1
    assert answer["params"]["file"] == ("mine.csv" if carrier == "multipart" else "predictions.csv")
    seen = ok_json(client.get(f"/api/jobs/{job.pk}/?labels=1"))
    assert "labels_validation" not in seen and seen["labels_test"] == job.labels_test


def test_the_api_refuses_a_bad_file_naming_the_row(contest: Contest, open_uploads: Round) -> None:
    client = logged_in(contest.alice)
    good = truthful(contest)
    before = snapshot(contest)
    response = client.post(
        api_path(open_uploads),
        {"file": SimpleUploadedFile("p.csv", csv_of([*good[:2], good[1], *good[3:]]))},
    )
    body = assert_error(response, 400, "invalid", fields=("file",))
    assert "Row 4" in body["message"] and "again" in body["fields"]["file"]
    assert_error(client.post(api_path(open_uploads), {}), 400, "invalid", fields=("file",))
    assert_error(client.post(api_path(open_uploads), "[1]", content_type="application/json"), 400)
    assert snapshot(contest) == before
    rounds.update_round(contest.olga, open_uploads, prediction_uploads=False)
    assert_error(
        client.post(api_path(open_uploads), csv_of(good), content_type="text/csv"),
        409,
        "uploads_not_allowed",
    )
    assert_error(logged_in(None).post(api_path(open_uploads), {}), 401)


def test_the_round_setting_in_the_api(contest: Contest) -> None:
    client = logged_in(contest.olga)
    path = f"/api/rounds/{contest.round.pk}/"
    assert ok_json(client.get(path))["prediction_uploads"] is False
    changed = ok_json(
        client.patch(path, json.dumps({"prediction_uploads": True}), "application/json")
    )
    assert changed["prediction_uploads"] is True
    assert Round.objects.get(pk=contest.round.pk).prediction_uploads is True
    created = ok_json(
        client.post(
            "/api/rounds/",
            json.dumps(
                {
                    "name": "Own",
                    "dataset": contest.dataset.pk,
                    "metric": "accuracy",
                    "prediction_uploads": True,
                }
            ),
            "application/json",
        ),
        201,
    )
    assert Round.objects.get(pk=created["id"]).prediction_uploads is True
    # Students read it, and may not change it.
    student = logged_in(contest.alice)
    assert ok_json(student.get(path))["prediction_uploads"] is True
    assert_error(
        student.patch(path, json.dumps({"prediction_uploads": False}), "application/json"), 403
    )


# The web pages ---------------------------------------------------------------------------


def test_a_student_uploads_from_the_round_page(contest: Contest, open_uploads: Round) -> None:
    client = logged_in(contest.alice)
    page = client.get(reverse("web:round", args=[open_uploads.pk]))
    assert b'id="upload-form"' in page.content
    good = truthful(contest)
    refused = client.post(
        reverse("web:round_predictions", args=[open_uploads.pk]),
        {"file": SimpleUploadedFile("p.csv", csv_of([(9999, "a"), *good[1:]]))},
        follow=True,
    )
    assert "Row 2: there is no test or validation point with id 9999." in refused.content.decode()
    assert not Job.objects.exists()
    client.post(
        reverse("web:round_predictions", args=[open_uploads.pk]),
        {"file": SimpleUploadedFile("mine.csv", csv_of(good))},
    )
    job = Job.objects.get()
    shown = client.get(reverse("web:job", args=[job.pk])).content.decode()
    assert "uploaded predictions" in shown and "mine.csv" in shown
    assert "Parameters" not in shown and "Submit again with changes" not in shown
    assert "Timings" not in shown and job.finished_at == job.created_at and job.claimed_at is None
    listed = client.get(reverse("web:round", args=[open_uploads.pk]) + f"?from_job={job.pk}")
    assert listed.status_code == 200 and "uploaded predictions" in listed.content.decode()


def test_no_upload_form_where_the_round_takes_none(contest: Contest) -> None:
    page = logged_in(contest.alice).get(reverse("web:round", args=[contest.round.pk]))
    assert b'id="upload-form"' not in page.content
    response = logged_in(contest.alice).post(
        reverse("web:round_predictions", args=[contest.round.pk]),
        {"file": SimpleUploadedFile("p.csv", csv_of(truthful(contest)))},
        follow=True,
    )
    assert "does not take uploaded predictions" in response.content.decode()
    assert not Job.objects.exists()


def test_the_organizer_switches_uploads_on_and_off(contest: Contest) -> None:
    organizer = logged_in(contest.olga)
    switch = reverse("web:round_uploads", args=[contest.round.pk])
    assert (
        b'data-uploads="off"'
        in organizer.get(reverse("web:manage_round", args=[contest.round.pk])).content
    )
    organizer.post(switch)
    assert Round.objects.get(pk=contest.round.pk).prediction_uploads is True
    assert (
        b'data-uploads="on"'
        in organizer.get(reverse("web:manage_round", args=[contest.round.pk])).content
    )
    organizer.post(switch)
    assert Round.objects.get(pk=contest.round.pk).prediction_uploads is False
    # Students cannot.
    assert logged_in(contest.alice).post(switch).status_code == 403
    assert Round.objects.get(pk=contest.round.pk).prediction_uploads is False
