"""The worker's computation without a server: fit, predict, pictures, limits."""

from __future__ import annotations

import io
import time
from multiprocessing import Pipe
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sklearn import datasets as sk
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlcontest.algorithms import REGISTRY
from mlcontest.worker.child import JobSpec, run_one
from mlcontest.worker.pictures import (
    MAX_BYTES,
    confusion_sample,
    draw_pictures,
    draw_pictures_noting,
)
from mlcontest.worker.run import ContestModel, PreparedData, prepare, run_job
from mlcontest.worker.sandbox import JobProcess, wait_for

SPLIT_CYCLE = ("training", "training", "training", "test", "validation")


def points_of(X: np.ndarray, y: np.ndarray, names: list[str] | None = None) -> list[dict]:
    names = names or [f"f{i}" for i in range(X.shape[1])]
    return [
        {
            "id": index,
            "split": SPLIT_CYCLE[index % len(SPLIT_CYCLE)],
            "label": str(label),
            **{name: float(value) for name, value in zip(names, row, strict=True)},
        }
        for index, (row, label) in enumerate(zip(X, y, strict=True))
    ]


@pytest.fixture(scope="module")
def moons() -> PreparedData:
    X, y = sk.make_moons(n_samples=200, noise=0.25, random_state=0)
    return prepare(points_of(X, y, ["x", "y"]), version="m")


@pytest.fixture(scope="module")
def wine() -> PreparedData:
    X, y = sk.load_wine(return_X_y=True)
    return prepare(points_of(X, y), version="w")


def wine_test_labels() -> list[str]:
    """The true test labels, which ``prepare`` keeps from the worker: read here directly."""
    X, y = sk.load_wine(return_X_y=True)
    return [point["label"] for point in points_of(X, y) if point["split"] == "test"]


@pytest.mark.parametrize("algorithm", sorted(REGISTRY))
def test_every_algorithm_labels_every_split(algorithm: str, moons: PreparedData) -> None:
    outcome, model = run_job(algorithm, {}, moons)
    assert outcome.success
    for split in ("training", "test", "validation"):
        assert len(outcome.labels[split]) == moons.count(split)
    # The server computes every score: the worker posts none.
    assert outcome.score_test is None and outcome.score_validation is None
    assert outcome.extra_scores_test is None and outcome.extra_scores_validation is None
    assert set(outcome.timings) == {"fit", "predict"}
    assert outcome.message.startswith("Fitted in ")
    assert model.pipeline_ is not None and model.n_features_in_ == 2


def test_prepare_drops_hidden_labels_it_was_sent() -> None:
    """An organizer's account gets the hidden labels; the worker must not keep them."""
    X, y = sk.make_moons(n_samples=50, noise=0.1, random_state=0)
    data = prepare(points_of(X, y, ["x", "y"]), classes=["0", "1"])
    assert set(data.y["training"]) == {"0", "1"}
    assert data.y["test"] and set(data.y["test"] + data.y["validation"]) == {None}
    assert data.classes == ("0", "1")


@pytest.mark.parametrize("scaling", ["none", "standard"])
def test_knn_predictions_equal_scikit_learn_called_directly(
    scaling: str, wine: PreparedData
) -> None:
    outcome, _ = run_job("knn", {"n_neighbors": 5, "scaling": scaling}, wine)
    knn = KNeighborsClassifier(n_neighbors=5)
    direct = make_pipeline(StandardScaler(), knn) if scaling == "standard" else knn
    direct.fit(wine.X["training"], list(wine.y["training"]))
    for split in ("training", "test", "validation"):
        assert outcome.labels[split] == direct.predict(wine.X[split]).tolist()


def test_scaling_matters_on_wine(wine: PreparedData) -> None:
    truth = wine_test_labels()
    unscaled, _ = run_job("knn", {"scaling": "none"}, wine)
    scaled, _ = run_job("knn", {"scaling": "standard"}, wine)
    assert accuracy_score(truth, scaled.labels["test"]) > (
        accuracy_score(truth, unscaled.labels["test"]) + 0.1
    )


def test_clusterers_without_predict_label_new_points_by_nearest_training_point(
    moons: PreparedData,
) -> None:
    params = {"n_clusters": 2, "linkage": "average", "scaling": "standard"}
    outcome, _ = run_job("agglomerative", params, moons)
    scaler = StandardScaler().fit(moons.X["training"])
    train = scaler.transform(moons.X["training"])
    direct = AgglomerativeClustering(n_clusters=2, linkage="average").fit_predict(train)
    assert outcome.labels["training"] == direct.tolist()
    for split in ("test", "validation"):
        points = scaler.transform(moons.X[split])
        distances = ((points[:, None, :] - train[None, :, :]) ** 2).sum(axis=2)
        assert outcome.labels[split] == direct[distances.argmin(axis=1)].tolist()


def test_dbscan_noise_stays_noise(moons: PreparedData) -> None:
    outcome, _ = run_job("dbscan", {"eps": 0.05, "min_samples": 10}, moons)
    assert set(outcome.labels["training"]) == {-1}
    assert set(outcome.labels["test"]) == {-1}
    assert "noise points" in outcome.message


@pytest.mark.parametrize("algorithm", ["random_forest", "mlp", "kmeans", "gaussian_mixture"])
def test_a_fixed_seed_makes_a_job_reproducible(algorithm: str, moons: PreparedData) -> None:
    first, _ = run_job(algorithm, {"random_state": 7}, moons)
    again, _ = run_job(algorithm, {"random_state": 7}, moons)
    assert first.labels == again.labels


def test_model_follows_estimator_conventions(moons: PreparedData) -> None:
    model = ContestModel("knn", {"n_neighbors": "3"})
    assert model.get_params() == {"algorithm": "knn", "params": {"n_neighbors": "3"}}
    assert not hasattr(model, "params_")
    model.fit(moons.X["training"], [str(label) for label in moons.y["training"]])
    assert model.params_["n_neighbors"] == 3
    with pytest.raises(ValueError):
        ContestModel("knn", {"n_neighbors": 0}).fit(moons.X["training"], ["0"])


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_pictures_for_classification_and_clustering(
    moons: PreparedData, wine: PreparedData
) -> None:
    outcome, model = run_job("svm", {}, moons)
    names = [name for name, _ in draw_pictures(model, moons, outcome.labels)]
    assert names == ["regions.png", "confusion.png"]
    outcome, model = run_job("knn", {"scaling": "standard"}, wine)  # 13-D: PCA
    pictures = draw_pictures(model, wine, outcome.labels)
    assert [name for name, _ in pictures] == ["regions.png", "confusion.png"]
    outcome, model = run_job("kmeans", {"n_clusters": 2}, moons)
    pictures += draw_pictures(model, moons, outcome.labels)
    for _, png in pictures:
        assert len(png) <= MAX_BYTES
        assert png_size(png)[0] > 200


def test_pictures_of_a_large_dataset_stay_small() -> None:
    X, y = sk.make_blobs(n_samples=20_000, centers=5, random_state=0)
    data = prepare(points_of(X, y, ["x", "y"]))
    for algorithm in ("decision_tree", "kmeans"):
        outcome, model = run_job(
            algorithm, {"n_clusters": 5} if algorithm == "kmeans" else {}, data
        )
        drawn = draw_pictures(model, data, outcome.labels)
        assert drawn, algorithm  # no picture at all would pass the loop below
        for _, png in drawn:
            assert len(png) <= MAX_BYTES


def spec(algorithm: str, params: dict[str, Any], memory_mb: int = 2048) -> JobSpec:
    return JobSpec(1, algorithm, params, "accuracy", "moons", True, memory_mb)


def test_job_process_runs_jobs_and_survives_limits(moons: PreparedData) -> None:
    process = JobProcess()
    try:
        process.start()
        process.submit(spec("knn", {}), moons)
        result = wait_for(process, "result", time.monotonic() + 60)
        pictures, _note = wait_for(process, "pictures", time.monotonic() + 60)
        assert result.success and [name for name, _ in pictures] == ["regions.png", "confusion.png"]

        # 5 layers of 512 units need MBs of weights: over a 1 MB limit.
        process.submit(spec("mlp", {"hidden_units": 512, "hidden_layers": 5}, memory_mb=1), moons)
        result = wait_for(process, "result", time.monotonic() + 60)
        assert not result.success and "memory" in result.message and "1 MB" in result.message
        wait_for(process, "pictures", time.monotonic() + 60)
        assert not process.alive  # a MemoryError leaves a suspect heap: the process ends

        slow = {"kernel": "poly", "degree": 10, "C": 10000, "gamma": 1000}
        process.submit(spec("svm", slow), moons)
        with pytest.raises(TimeoutError):
            wait_for(process, "result", time.monotonic() + 1.0)
        process.kill()

        process.submit(spec("decision_tree", {}), moons)  # a new process takes over
        assert wait_for(process, "result", time.monotonic() + 60).success
    finally:
        process.stop()


def test_fast_classification_metrics_equal_scikit_learns() -> None:
    """metrics.py computes accuracy, balanced accuracy and macro F1 from one confusion matrix;
    the results must be scikit-learn's, to the last bit, absent classes included."""
    import random
    import warnings

    from mlcontest.algorithms import METRICS, all_scores

    reference = {
        "accuracy": accuracy_score,
        "balanced_accuracy": balanced_accuracy_score,
        "f1_macro": lambda t, p: f1_score(t, p, average="macro", zero_division=0),
    }
    rng = random.Random(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns about classes never predicted
        for _ in range(500):
            n, true_classes, predicted_classes = (
                rng.randint(1, 50),
                rng.randint(1, 5),
                rng.randint(1, 6),
            )
            truth = [str(rng.randrange(true_classes)) for _ in range(n)]
            predicted = [str(rng.randrange(predicted_classes)) for _ in range(n)]
            together = all_scores("classification", truth, predicted)  # one shared matrix
            for name, compute in reference.items():
                expected = float(compute(truth, predicted))
                assert METRICS[name].compute(truth, predicted) == expected
                assert together[name] == expected


def test_the_confusion_matrix_is_cross_validated_on_at_most_2000_training_points() -> None:
    X, y = sk.make_blobs(n_samples=6000, centers=3, random_state=0)
    data = prepare(points_of(X, y, ["x", "y"]))
    sample_X, sample_y, folds, reason = confusion_sample(data)
    assert len(sample_X) == len(sample_y) == 2000 and folds == 5 and reason == ""
    assert set(sample_y) <= set(data.y["training"])  # training labels, nothing else


def test_a_confusion_matrix_that_cannot_be_made_is_skipped_with_a_note() -> None:
    """One training point of class "c": no stratified fold can hold it out and train on it."""
    X, y = sk.make_moons(n_samples=60, noise=0.2, random_state=0)
    points = points_of(X, y, ["x", "y"])
    points[0]["label"] = "c"  # a training point (SPLIT_CYCLE starts with training)
    data = prepare(points, classes=["0", "1", "c"])
    spec = JobSpec(1, "knn", {"n_neighbors": 1}, "accuracy", "moons", True, 2048)
    parent_end, child_end = Pipe()
    run_one(spec, data, child_end)
    kind, outcome = parent_end.recv()
    assert kind == "result" and outcome.success
    assert "confusion matrix skipped: class c has only 1 training point" in outcome.message
    kind, (drawn, note, healthy) = parent_end.recv()
    assert [name for name, _ in drawn] == ["regions.png"] and note == "" and healthy


def test_a_model_that_fails_on_a_fold_loses_only_the_confusion_matrix(moons: PreparedData) -> None:
    """k = every training point fits the job, but not the smaller cross-validation folds."""
    everyone = moons.count("training")
    outcome, model = run_job("knn", {"n_neighbors": everyone}, moons)
    assert outcome.success
    drawn, note = draw_pictures_noting(model, moons, outcome.labels)
    assert [name for name, _ in drawn] == ["regions.png"]
    assert note.startswith("confusion matrix skipped: ValueError")
