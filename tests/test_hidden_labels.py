"""Hidden labels stay on the server (issue 10, item 1): every path that shows points, jobs or
their exports, walked as a student, a worker account, a worker's API token and an organizer.
Only the organizer ever receives the label of a test or validation point."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mlcontest.contest.exports import ROUND_COLUMNS as EXPORT_COLUMNS
from mlcontest.contest.models import ApiToken, Job, User
from tests.conftest import Contest, result_fields, submit, true_labels
from tests.protocol_helpers import logged_in, ok_json, ping

Get = Callable[..., Any]
ROLES = ("student", "worker", "worker_token")


def as_role(contest: Contest, role: str) -> tuple[Get, Get]:
    """``(get, post)`` for the role: a signed-in session, or the worker's API token."""
    if role == "worker_token":
        _, key = ApiToken.issue(contest.walter)
        client = Client(headers={"Authorization": f"Token {key}"})
        return client.get, client.post
    user: User = {"student": contest.alice, "worker": contest.walter, "organizer": contest.olga}[
        role
    ]
    client = logged_in(user)
    return client.get, client.post


def point_paths(contest: Contest) -> list[tuple[str, str]]:
    """Every way to read a dataset's points: the seed's (GET and POST) and the JSON API's."""
    seed = f"/actions/get_dataset_points/{contest.dataset.pk}.json/"
    return [("get", seed), ("post", seed), ("get", f"/api/datasets/{contest.dataset.pk}/points/")]


def assert_labels(points: list[dict[str, Any]], hidden_visible: bool) -> None:
    # Counted by split: the checks below must see hidden points, not only training ones.
    splits = [point["split"] for point in points]
    assert {split: splits.count(split) for split in set(splits)} == {
        "training": 12,
        "test": 4,
        "validation": 4,
    }
    for point in points:
        if point["split"] == "training" or hidden_visible:
            assert point["label"] in ("a", "b")
        else:
            assert point["label"] is None, point
            # Nor is the label anywhere else in the point.
            assert {value for key, value in point.items() if key != "split"} & {"a", "b"} == set()


@pytest.mark.parametrize("role", ROLES)
def test_points_have_null_hidden_labels_for_everyone_but_organizers(
    contest: Contest, role: str
) -> None:
    get, post = as_role(contest, role)
    for method, path in point_paths(contest):
        call = get if method == "get" else post
        assert_labels(ok_json(call(path)), hidden_visible=False)


def test_organizers_get_every_label(contest: Contest) -> None:
    get, post = as_role(contest, "organizer")
    for method, path in point_paths(contest):
        points = ok_json((get if method == "get" else post)(path))
        assert_labels(points, hidden_visible=True)
        truth = true_labels(contest.dataset)
        for split in ("test", "validation"):
            assert [p["label"] for p in points if p["split"] == split] == truth[split]


@pytest.mark.parametrize("role", [*ROLES, "organizer"])
def test_the_round_page_plots_hidden_points_only_for_organizers(
    contest: Contest, role: str
) -> None:
    get, _ = as_role(contest, role)
    page = get(f"/rounds/{contest.round.pk}/")
    assert page.status_code == 200
    plot = page.content.decode().split('<svg class="scatter"', 1)[1].split("</svg>", 1)[0]
    shown = plot.count("<circle")
    # The dataset card: training points for everyone, the hidden ones for organizers only.
    assert shown == (20 if role == "organizer" else 12)


@pytest.mark.parametrize("role", ROLES)
def test_the_csv_export_is_for_organizers_only(contest: Contest, role: str) -> None:
    get, _ = as_role(contest, role)
    response = get(f"/manage/rounds/{contest.round.pk}/export.csv")
    assert response.status_code in (302, 403)
    assert not response.get("Content-Type", "").startswith("text/csv")


def finished_job(contest: Contest) -> tuple[Job, dict[str, list[str]]]:
    """A job whose stored predictions differ from the truth: every point predicted "a"."""
    job = submit(contest, contest.alice)
    worker = logged_in(contest.walter)
    assert ping(worker) == job.pk
    truth = true_labels(contest.dataset)
    predicted = {split: ["a"] * len(labels) for split, labels in truth.items()}
    answer = worker.post(f"/actions/update_job_details/{job.pk}.json/", result_fields(predicted))
    assert ok_json(answer)["stored"] is True
    return Job.objects.get(pk=job.pk), predicted


def test_the_organizers_export_holds_scores_not_labels(contest: Contest) -> None:
    job, _ = finished_job(contest)
    get, _ = as_role(contest, "organizer")
    response = get(f"/manage/rounds/{contest.round.pk}/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == EXPORT_COLUMNS and not [c for c in rows[0] if "label" in c]
    assert [row[0] for row in rows[1:]] == [str(job.pk)]


@pytest.mark.parametrize("role", ["worker", "worker_token"])
def test_a_worker_reads_no_job_at_all(contest: Contest, role: str) -> None:
    """The visibility policy shows a worker no group's jobs: not their JSON, not their page."""
    job, _ = finished_job(contest)
    get, _ = as_role(contest, role)
    for path in (f"/api/jobs/{job.pk}/?labels=1", f"/jobs/{job.pk}/"):
        response = get(path)
        assert response.status_code == 404, path
        for split, labels in true_labels(contest.dataset).items():
            assert ", ".join(labels) not in response.content.decode(), split


@pytest.mark.parametrize("role", ["student", "organizer"])
def test_job_json_and_page_carry_predictions_never_the_truth(contest: Contest, role: str) -> None:
    job, predicted = finished_job(contest)
    truth = true_labels(contest.dataset)
    assert truth["test"] != predicted["test"]
    get, _ = as_role(contest, role)
    body = ok_json(get(f"/api/jobs/{job.pk}/?labels=1"))
    assert body["labels_test"] == predicted["test"]
    assert body["labels_training"] == predicted["training"]
    assert body.get("labels_validation", predicted["validation"]) == predicted["validation"]
    page = get(f"/jobs/{job.pk}/")
    assert page.status_code == 200
    for text in (json.dumps(body), page.content.decode()):
        for split in ("test", "validation"):
            assert json.dumps(truth[split]) not in text
            assert ", ".join(truth[split]) not in text


def test_a_refused_result_names_no_true_label(contest: Contest) -> None:
    job = submit(contest, contest.alice)
    worker = logged_in(contest.walter)
    assert ping(worker) == job.pk
    truth = true_labels(contest.dataset)
    wrong = dict(truth, test=truth["test"][:-1], validation=["zzz"] * len(truth["validation"]))
    response = worker.post(f"/actions/update_job_details/{job.pk}.json/", result_fields(wrong))
    assert response.status_code == 400
    body = json.loads(response.content)
    assert set(body["fields"]) == {"labels_test", "labels_validation"}
    text = json.dumps(body)
    assert "zzz" in text  # the worker's own label is named ...
    for split in ("test", "validation"):  # ... the server's are not
        assert json.dumps(truth[split]) not in text and ", ".join(truth[split]) not in text
    assert Job.objects.get(pk=job.pk).state == "running"


@pytest.mark.parametrize("with_labels", [False, True])
def test_a_job_read_without_its_labels_leaves_their_columns_in_the_database(
    contest: Contest, with_labels: bool
) -> None:
    """Students' pages and scripts poll a job while it runs: the answer without labels reads
    neither the three label lists nor the dataset's preview (most of the rows' bytes)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job, predicted = finished_job(contest)
    get, _ = as_role(contest, "student")
    with CaptureQueriesContext(connection) as queries:
        body = ok_json(get(f"/api/jobs/{job.pk}/?labels={int(with_labels)}"))
    read = " ".join(query["sql"] for query in queries.captured_queries)
    assert ("labels_test" in read) is with_labels
    assert '"preview"' not in read
    assert body.get("labels_test") == (predicted["test"] if with_labels else None)
    assert body["score_test"] == Job.objects.get(pk=job.pk).score_test
