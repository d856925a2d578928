"""Honest diagnostics (issue 15, item 3): in rounds that switch them on, the worker computes a
cross-validation score and diagnostic pictures on the training split only, within the job's
time limit; the server bounds and stores the score and shows it beside the test score on the
job page and the leaderboard ("CV 0.91 / test 0.94")."""

from __future__ import annotations

import json
import time
from multiprocessing import Pipe
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.urls import reverse
from sklearn import datasets as sk
from sklearn.cluster import KMeans
from sklearn.linear_model import Ridge
from sklearn.metrics import silhouette_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from mlcontest.client import API
from mlcontest.contest import rounds
from mlcontest.contest.models import Job, JobState
from mlcontest.worker.child import JobSpec, run_one
from mlcontest.worker.diagnostics import Budget, cv_scores, diagnostic_pictures
from mlcontest.worker.run import PreparedData, prepare, run_job
from tests.conftest import Contest, result_fields, submit, true_labels
from tests.protocol_helpers import assert_error, logged_in, ok_json, ping
from tests.test_worker_run import points_of
from tests.worker_support import (
    WorkerProcess,
    live_server,
    setup_round,
    submit_jobs,
    wait_until,
)

PLENTY = Budget(deadline=float("inf"), fit_seconds=0.001)


def training_of(data: PreparedData) -> tuple[np.ndarray, np.ndarray]:
    return data.X["training"], np.array([str(label) for label in data.y["training"]])


@pytest.fixture(scope="module")
def cancer() -> PreparedData:
    X, y = sk.load_breast_cancer(return_X_y=True)
    return prepare(points_of(X[:300], y[:300]), version="c")


@pytest.fixture(scope="module")
def blobs() -> PreparedData:
    X, y = sk.make_blobs(n_samples=150, centers=3, random_state=1)
    return prepare(points_of(X, y, ["x", "y"]), version="b")


def test_the_cv_score_is_scikit_learns(cancer: PreparedData) -> None:
    _, model = run_job("knn", {"n_neighbors": 7}, cancer)
    found, skipped = cv_scores(model, cancer, "balanced_accuracy", PLENTY)
    X, y = training_of(cancer)
    direct = cross_val_score(
        KNeighborsClassifier(n_neighbors=7),
        X,
        y,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="balanced_accuracy",
    )
    assert skipped == "" and found is not None
    assert found["cv_score"] == pytest.approx(direct.mean())
    assert found["cv_std"] == pytest.approx(direct.std())
    assert found["cv_folds"] == 5


@pytest.mark.parametrize("metric", ["r2", "mae", "rmse"])
def test_a_regression_cv_score_is_scikit_learns_in_the_rounds_own_terms(metric: str) -> None:
    X, y = sk.load_diabetes(return_X_y=True)
    diabetes = prepare(points_of(X[:240], y[:240]), version="d")
    _, model = run_job("ridge", {"alpha": 0.5}, diabetes)
    found, skipped = cv_scores(model, diabetes, metric, PLENTY)
    scorer = {"r2": "r2", "mae": "neg_mean_absolute_error", "rmse": "neg_root_mean_squared_error"}
    direct = cross_val_score(
        Ridge(alpha=0.5),
        diabetes.X["training"],
        np.array([float(str(label)) for label in diabetes.y["training"]]),
        cv=KFold(5, shuffle=True, random_state=0),
        scoring=scorer[metric],
    )
    sign = 1.0 if metric == "r2" else -1.0  # an error is shown as an error, not negated
    assert skipped == "" and found is not None
    assert found["cv_score"] == pytest.approx(sign * direct.mean())
    assert (found["cv_score"] > 0) == (metric != "r2" or direct.mean() > 0)
    pictures, note = diagnostic_pictures(model, diabetes, metric, PLENTY)
    assert note == ""
    assert [name for name, _ in pictures] == ["learning_curve.png", "validation_curve.png"]


def test_the_silhouette_is_scikit_learns(blobs: PreparedData) -> None:
    _, model = run_job("kmeans", {"n_clusters": 3}, blobs)
    found, _ = cv_scores(model, blobs, "nmi", PLENTY)
    X = blobs.X["training"]
    labels = KMeans(n_clusters=3, n_init=10, random_state=0).fit_predict(X)
    assert found == {"silhouette": pytest.approx(silhouette_score(X, labels))}


def test_diagnostics_never_look_at_the_hidden_points(cancer: PreparedData) -> None:
    """The test and validation points changed beyond recognition: the same diagnostics."""
    shuffled = PreparedData(
        cancer.version,
        cancer.feature_names,
        {**cancer.X, "test": -cancer.X["test"], "validation": cancer.X["validation"] * 7},
        cancer.y,
    )
    results = []
    for data in (cancer, shuffled):
        _, model = run_job("decision_tree", {"max_depth": 3}, data)
        results.append(
            (
                cv_scores(model, data, "accuracy", PLENTY),
                diagnostic_pictures(model, data, "accuracy", PLENTY),
            )
        )
    assert results[0] == results[1]


def test_the_pictures_of_each_kind_of_model(cancer: PreparedData, blobs: PreparedData) -> None:
    _, tree = run_job("decision_tree", {"max_depth": 3}, cancer)
    pictures, note = diagnostic_pictures(tree, cancer, "accuracy", PLENTY)
    names = [name for name, _ in pictures]
    assert names == [
        "learning_curve.png",
        "validation_curve.png",
        "importances.png",
        "tree.png",
        "roc_pr.png",
    ]
    assert note == "" and all(png.startswith(b"\x89PNG") for _, png in pictures)
    _, deep = run_job("decision_tree", {}, cancer)
    assert "tree.png" not in [
        name for name, _ in diagnostic_pictures(deep, cancer, "accuracy", PLENTY)[0]
    ]
    _, mlp = run_job("mlp", {"max_iter": 30}, cancer)
    assert "loss_curve.png" in [
        name for name, _ in diagnostic_pictures(mlp, cancer, "accuracy", PLENTY)[0]
    ]
    _, kmeans = run_job("kmeans", {"n_clusters": 3}, blobs)
    assert [name for name, _ in diagnostic_pictures(kmeans, blobs, "nmi", PLENTY)[0]] == [
        "silhouette.png"
    ]


def test_the_tree_importances_are_the_models(cancer: PreparedData) -> None:
    _, model = run_job("decision_tree", {"max_depth": 3}, cancer)
    X, y = training_of(cancer)
    direct = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    assert np.allclose(model.estimator_.feature_importances_, direct.feature_importances_)


def test_nothing_runs_past_the_budget(cancer: PreparedData) -> None:
    _, model = run_job("knn", {}, cancer)
    spent = Budget(deadline=time.monotonic() - 1, fit_seconds=0.01)
    found, skipped = cv_scores(model, cancer, "accuracy", spent)
    assert found is None and "time limit" in skipped
    pictures, note = diagnostic_pictures(model, cancer, "accuracy", spent)
    assert pictures == [] and "learning_curve.png" in note


def test_the_job_process_posts_the_cv_score_with_the_result(cancer: PreparedData) -> None:
    spec = JobSpec(1, "knn", {}, "accuracy", "c", True, 2048, diagnostics=True, time_limit=60)
    parent_end, child_end = Pipe()
    run_one(spec, cancer, child_end)
    kind, outcome = parent_end.recv()
    assert kind == "result" and outcome.success
    assert set(outcome.diagnostics) == {"cv_score", "cv_std", "cv_folds"}
    kind, (drawn, _note, healthy) = parent_end.recv()
    assert healthy
    names = [name for name, _ in drawn]
    assert names[:2] == ["regions.png", "confusion.png"] and "learning_curve.png" in names
    # Off (the default): no refits at all.
    plain = JobSpec(2, "knn", {}, "accuracy", "c", True, 2048)
    run_one(plain, cancer, child_end)
    assert parent_end.recv()[1].diagnostics is None
    assert [name for name, _ in parent_end.recv()[1][0]] == ["regions.png", "confusion.png"]


# The server -------------------------------------------------------------------------------


def claimed(contest: Contest) -> tuple[Any, int]:
    worker = logged_in(contest.walter)
    job_id = ping(worker)
    assert job_id is not None
    return worker, job_id


def post(worker: Any, job_id: int, **fields: Any) -> Any:
    return worker.post(f"/actions/update_job_details/{job_id}.json/", fields)


def test_the_round_asks_the_worker_and_the_server_keeps_the_score(contest: Contest) -> None:
    rounds.update_round(contest.olga, contest.round, diagnostics=True)
    queue_job = submit(contest, contest.alice)
    worker, job_id = claimed(contest)
    assert job_id == queue_job.pk
    params = ok_json(worker.post(f"/actions/get_job_params/{job_id}.json/"))
    assert params["diagnostics"] is True
    labels = true_labels(contest.dataset)
    diagnostics = {"cv_score": 0.91, "cv_std": 0.02, "cv_folds": 5}
    ok_json(post(worker, job_id, **result_fields(labels, diagnostics=json.dumps(diagnostics))))
    job = Job.objects.get(pk=job_id)
    assert job.state == JobState.DONE and job.diagnostics == diagnostics
    student = logged_in(contest.alice)
    assert ok_json(student.get(f"/api/jobs/{job_id}/"))["diagnostics"] == diagnostics
    page = student.get(reverse("web:job", args=[job_id])).content.decode()
    assert "CV 0.910 / test 1.000" in page
    board = student.get(reverse("web:round", args=[contest.round.pk])).content.decode()
    assert "CV 0.910 / test" in board
    standings = ok_json(student.get(f"/api/rounds/{contest.round.pk}/leaderboard/"))["standings"]
    assert [(line["job"], line["score_cv"]) for line in standings] == [(job_id, 0.91)]


@pytest.mark.parametrize(
    "bad",
    [
        {"cv_score": 1.5},
        {"cv_score": "high"},
        {"accuracy_on_validation": 0.9},
        {"cv_folds": 1},
        {"silhouette": float("nan")},
        [0.9],
    ],
)
def test_made_up_diagnostics_are_refused(contest: Contest, bad: Any) -> None:
    submit(contest, contest.alice)
    worker, job_id = claimed(contest)
    labels = true_labels(contest.dataset)
    response = post(worker, job_id, **result_fields(labels, diagnostics=json.dumps(bad)))
    assert_error(response, 400, fields=("diagnostics",))
    assert Job.objects.get(pk=job_id).state == JobState.RUNNING


def test_a_failed_job_keeps_no_diagnostics(contest: Contest) -> None:
    submit(contest, contest.alice)
    worker, job_id = claimed(contest)
    fields = result_fields(
        true_labels(contest.dataset), success="False", diagnostics=json.dumps({"cv_score": 0.5})
    )
    ok_json(post(worker, job_id, **fields))
    assert Job.objects.get(pk=job_id).diagnostics is None


def test_the_organizer_switches_diagnostics(contest: Contest) -> None:
    organizer = logged_in(contest.olga)
    switch = reverse("web:round_diagnostics", args=[contest.round.pk])
    organizer.post(switch)
    contest.round.refresh_from_db()
    assert contest.round.diagnostics is True
    page = organizer.get(reverse("web:manage_round", args=[contest.round.pk]))
    assert b'data-diagnostics="on"' in page.content
    assert ok_json(organizer.get(f"/api/rounds/{contest.round.pk}/"))["diagnostics"] is True
    assert logged_in(contest.alice).post(switch).status_code == 403


# A real worker against a real server --------------------------------------------------------


@pytest.mark.live
def test_a_real_worker_computes_diagnostics_inside_the_time_limit(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    with live_server(tmp_path / "server", "diagnostics") as server:
        ids = setup_round(server, "moons-diag", "moons", n=200)
        server.run_python(
            "from mlcontest.contest.models import Round\n"
            f"Round.objects.filter(pk={ids['round']}).update(diagnostics=True)"
        )
        jobs = submit_jobs(
            server,
            ids["round"],
            [("decision_tree", {"max_depth": 3}), ("knn", {"n_neighbors": 5})],
        )
        worker = WorkerProcess(server.url, tmp_path / "worker.log", processes=1, pictures=True)
        try:
            api = API("olga", "pw", server.url)
            wait_until(
                lambda: all(len(api.get_job(job)["pictures"]) >= 4 for job in jobs),
                120,
                0.3,
                "the diagnostic pictures",
            )
            described = {job: api.get_job(job) for job in jobs}
        finally:
            worker.terminate()
            worker.cleanup()
    tree, knn = (described[job] for job in jobs)
    for job in (tree, knn):
        assert job["state"] == "done" and 0 <= job["diagnostics"]["cv_score"] <= 1
        assert job["diagnostics"]["cv_folds"] == 5
    tree_pictures = {picture["filename"] for picture in tree["pictures"]}
    assert {"learning_curve.png", "validation_curve.png", "importances.png", "tree.png"} <= (
        tree_pictures
    )
    assert "roc_pr.png" in tree_pictures  # moons: two classes
