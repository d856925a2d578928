"""Real ``mlcontest worker`` processes against a real server: every algorithm end to end, scores
equal to scikit-learn's, limits, and a worker or a server that goes away on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlcontest.algorithms import REGISTRY
from mlcontest.client import API
from mlcontest.worker.run import prepare
from tests.live import LiveServer
from tests.worker_support import (
    TABLE,
    WorkerProcess,
    job_rows,
    live_server,
    setup_round,
    submit_jobs,
    wait_until,
    worker_token,
)

pytestmark = pytest.mark.live

SLOW_SVM = {"kernel": "poly", "degree": 10, "C": 10000, "gamma": 1000}  # minutes on moons
LONG_FOREST = {"n_estimators": 1000}  # a few seconds on 300 points


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("worker-live"), "worker_live") as live:
        yield live


@pytest.fixture
def worker_log(tmp_path: Path) -> Path:
    return tmp_path / "worker.log"


def finished(server: LiveServer, job_ids: list[int]) -> dict[int, dict] | None:
    """The stored jobs once all are finished (polled through the API: cheap), else None."""
    api = organizer(server)
    if not all(api.get_job(job_id)["state"] in ("done", "failed") for job_id in job_ids):
        return None
    return job_rows(server, job_ids)


_organizers: dict[str, API] = {}


def organizer(server: LiveServer) -> API:
    if server.url not in _organizers:
        _organizers[server.url] = API("olga", "pw", server.url)
    return _organizers[server.url]


def test_every_algorithm_end_to_end_with_pictures(server: LiveServer, worker_log: Path) -> None:
    classify = setup_round(server, "moons-all", "moons", metric="accuracy", n=200)
    cluster = setup_round(server, "blobs-all", "blobs", metric="nmi", n=200)
    regress = setup_round(server, "plane-all", "plane", metric="rmse", n=200)
    by_task = {
        "classification": classify["round"],
        "clustering": cluster["round"],
        "regression": regress["round"],
    }
    job_ids: dict[int, str] = {}
    for name, algorithm in sorted(REGISTRY.items()):
        small = {"n_estimators": 20} if "n_estimators" in algorithm.defaults() else {}
        (job_id,) = submit_jobs(server, by_task[algorithm.task], [(name, small)])
        job_ids[job_id] = name
    worker = WorkerProcess(server.url, worker_log, processes=2, pictures=True)
    try:
        rows = wait_until(lambda: finished(server, list(job_ids)), 120, 0.5, "every job")
        # Pictures come after the result: wait for them too.
        api = organizer(server)
        wait_until(
            lambda: all(api.get_job(job_id)["pictures"] for job_id in job_ids), 60, 0.3, "pictures"
        )
        rows = job_rows(server, list(job_ids))
        assert worker.terminate() == 0
    finally:
        worker.cleanup()
    for job_id, name in job_ids.items():
        row = rows[job_id]
        assert row["state"] == "done" and row["success"], (name, row["message"])
        assert row["score_test"] is not None and not row["score_mismatch"], name
        # The server computes every score: the worker claims none.
        assert row["worker_score_test"] is None and row["worker_score_validation"] is None
        expected = {
            "clustering": ["clusters.png"],
            "classification": ["confusion.png", "regions.png"],
            "regression": ["predicted.png", "residuals.png"],
        }[REGISTRY[name].task]
        assert row["pictures"] == expected, name
    log = worker.log()
    assert sum(f"job {job_id} " in log for job_id in job_ids) == len(job_ids)  # a line per job
    for job_id in job_ids:  # each line tells the score the server stored
        score = rows[job_id]["score_test"]
        assert any(
            f"job {job_id} " in line and f" {score:.4f} " in line for line in log.splitlines()
        ), job_id


def test_knn_scores_equal_scikit_learn_on_wine(server: LiveServer, worker_log: Path) -> None:
    ids = setup_round(server, "wine", "wine", metric="accuracy")
    scalings = ["none", "standard"]
    job_ids = submit_jobs(
        server, ids["round"], [("knn", {"n_neighbors": 5, "scaling": s}) for s in scalings]
    )
    # Signed in with a token: one token, so the claim holder is told apart by the worker name.
    token = worker_token(server, "wine-box")
    worker = WorkerProcess(server.url, worker_log, processes=2, token=token)
    try:
        rows = wait_until(lambda: finished(server, job_ids), 90, 0.3, "the jobs")
    finally:
        worker.cleanup()
    # The split as the server holds it, read by the organizer (a worker gets no hidden labels;
    # ``prepare`` would drop them anyway, so the truth is read from the points themselves).
    points = API("olga", "pw", server.url).get_dataset_points(ids["dataset"])
    data = prepare(points)
    truth = {
        split: [point["label"] for point in points if point["split"] == split]
        for split in ("test", "validation")
    }
    scores = []
    for job_id, scaling in zip(job_ids, scalings, strict=True):
        knn = KNeighborsClassifier(n_neighbors=5)
        direct = make_pipeline(StandardScaler(), knn) if scaling == "standard" else knn
        direct.fit(data.X["training"], list(data.y["training"]))
        row = rows[job_id]
        assert row["state"] == "done"
        test_labels = direct.predict(data.X["test"])
        assert row["labels_test"] == test_labels.tolist()
        assert row["score_test"] == accuracy_score(truth["test"], test_labels)
        assert row["score_validation"] == accuracy_score(
            truth["validation"], direct.predict(data.X["validation"])
        )
        scores.append(row["score_test"])
    assert scores[1] > scores[0] + 0.1  # the lesson: scaling matters on wine


def test_jobs_over_their_limits_fail_and_the_worker_goes_on(
    server: LiveServer, worker_log: Path
) -> None:
    short = setup_round(server, "moons-limits", "moons", time_limit=2)
    small = setup_round(server, "moons-limits", "moons", memory_mb=1)
    roomy = setup_round(server, "moons-limits", "moons")
    (slow,) = submit_jobs(server, short["round"], [("svm", SLOW_SVM)])
    (hungry,) = submit_jobs(
        server, small["round"], [("mlp", {"hidden_units": 512, "hidden_layers": 5})]
    )
    (quick,) = submit_jobs(server, roomy["round"], [("knn", {})])
    worker = WorkerProcess(server.url, worker_log, processes=1)
    try:
        rows = wait_until(lambda: finished(server, [slow, hungry, quick]), 90, 0.3, "the jobs")
        assert worker.process.poll() is None  # still running
        assert worker.terminate() == 0
    finally:
        worker.cleanup()
    assert rows[slow]["state"] == "failed" and rows[slow]["success"] is False
    assert "time limit of 2 s" in rows[slow]["message"]
    assert rows[hungry]["state"] == "failed"
    assert "memory limit of 1 MB" in rows[hungry]["message"]
    assert rows[quick]["state"] == "done" and rows[quick]["attempts"] == 1


def test_points_are_fetched_again_only_when_the_dataset_changes(
    server: LiveServer, worker_log: Path
) -> None:
    ids = setup_round(server, "moons-versions", "moons", n=100)
    worker = WorkerProcess(server.url, worker_log)
    try:
        first = submit_jobs(server, ids["round"], [("knn", {}), ("svm", {})])
        wait_until(lambda: finished(server, first), 90, 0.3, "the first jobs")
        server.run_python(
            TABLE
            + """
from mlcontest.contest import datasets
datasets.store_dataset("moons-versions", table("moons", 120, seed=1), replace=True)
"""
        )
        second = submit_jobs(server, ids["round"], [("knn", {}), ("decision_tree", {})])
        rows = wait_until(lambda: finished(server, second), 90, 0.3, "the later jobs")
    finally:
        worker.cleanup()
    fetches = [line for line in worker.log().splitlines() if "fetched the" in line]
    assert len(fetches) == 2, fetches
    assert "the 100 points" in fetches[0] and "the 120 points" in fetches[1]
    for row in rows.values():  # labelled for the new points, which the server accepted
        assert row["state"] == "done" and len(row["labels_test"]) == 24


def test_two_workers_share_a_busy_queue_and_run_each_job_once(
    server: LiveServer, tmp_path: Path
) -> None:
    """Claims ahead, results posted while the next job runs: with two workers of two processes
    each on 40 quick jobs, every job is run and stored exactly once."""
    ids = setup_round(server, "moons-busy", "moons", n=200)
    algorithms = ["knn", "decision_tree", "logistic_regression", "naive_bayes"]
    job_ids = submit_jobs(server, ids["round"], [(algorithms[i % 4], {}) for i in range(40)])
    workers = [
        WorkerProcess(server.url, tmp_path / f"{name}.log", processes=2, name=name)
        for name in ("left", "right")
    ]
    try:
        rows = wait_until(lambda: finished(server, job_ids), 120, 0.5, "every job")
        for worker in workers:
            assert worker.terminate() == 0
    finally:
        for worker in workers:
            worker.cleanup()
    logs = "".join(worker.log() for worker in workers)
    for job_id in job_ids:
        assert rows[job_id]["state"] == "done" and rows[job_id]["attempts"] == 1
        assert logs.count(f"job {job_id} ") == 1
    assert {row["worker_name"].split("/")[0] for row in rows.values()} <= {"left", "right"}
