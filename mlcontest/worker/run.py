"""Running one job: fit on the training split, predict all three splits, describe.

The worker never scores: the server holds the true labels of the test and validation points
and computes every score from the posted predictions. ``prepare`` blanks those labels even
when the server sent them (a worker run with an organizer's account gets them), so that no
job, message or picture can be derived from them.

Pure computation, no HTTP and no Django: the worker's child process runs it, and so can a test
or a benchmark that wants the same numbers scikit-learn gives.

Clustering algorithms that cannot predict new points (DBSCAN, agglomerative) are fitted on the
training points; a test or validation point then gets the cluster of its nearest training point,
measured after the job's scaling (a noise point of DBSCAN passes on its noise label, -1).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from mlcontest.algorithms import get_algorithm, validate_params

SPLITS = ("training", "test", "validation")
RESERVED = ("id", "split", "label")


@dataclass(frozen=True)
class PreparedData:
    """A dataset's points as arrays, one per split, in the order of the server's point list.
    ``y`` holds the training labels; the test and validation ones are always None."""

    version: str
    feature_names: tuple[str, ...]
    X: Mapping[str, np.ndarray]
    y: Mapping[str, tuple[str | None, ...]]
    classes: tuple[str, ...] = ()  # the dataset's class list, as the server describes it
    note: str = ""  # what the preparation did to the data (missing values), for the message

    def count(self, split: str) -> int:
        return int(self.X[split].shape[0])


def imputes_itself(params: Mapping[str, Any]) -> bool:
    """Whether the job's own pipeline has an imputation step (the registry's ``impute``)."""
    steps = params.get("steps") or []
    return isinstance(steps, list) and any(
        isinstance(step, dict) and step.get("step") == "impute" for step in steps
    )


def for_job(data: PreparedData, params: Mapping[str, Any]) -> PreparedData:
    """The data as this job gets it. Empty cells (NaN) stay for a job whose pipeline imputes
    them itself; for every other job they get their feature's mean over the training points
    (0 where a feature has no training value at all), in copies, since the prepared data is
    kept for the next job. The note says which, on the job's page.

    The mean is the training split's alone, so no hidden point's value leaks into another's."""
    missing = {split: np.isnan(X) for split, X in data.X.items() if X.size}
    cells = sum(int(mask.sum()) for mask in missing.values())
    if not cells:
        return data
    if imputes_itself(params):
        note = f"{cells} empty cells were left to the job's imputation step."
        return dataclasses.replace(data, note=note)
    training = data.X[SPLITS[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column without any value
        means = np.nanmean(training, axis=0) if training.size else np.zeros(training.shape[1])
    means = np.where(np.isnan(means), 0.0, means)
    filled = dict(data.X)
    for split, mask in missing.items():
        if mask.any():
            filled[split] = np.where(mask, means, data.X[split])
    note = f"{cells} empty cells were filled with their feature's mean over the training points."
    return dataclasses.replace(data, X=filled, note=note)


def prepare(
    points: Sequence[Mapping[str, Any]],
    feature_names: Sequence[str] | None = None,
    version: str = "",
    classes: Sequence[Any] = (),
) -> PreparedData:
    """Arrays from the seed's point list (``{"id", "split", "label", <feature>: value}``).
    Only training labels are kept: a hidden label that reached the worker is dropped here."""
    if feature_names is None:
        feature_names = [key for key in (points[0] if points else {}) if key not in RESERVED]
    names = tuple(feature_names)
    rows: dict[str, list[list[float]]] = {split: [] for split in SPLITS}
    labels: dict[str, list[str | None]] = {split: [] for split in SPLITS}
    for point in points:
        split = point["split"]
        rows[split].append([float(point[name]) for name in names])
        label = point.get("label") if split == SPLITS[0] else None
        labels[split].append(None if label is None else str(label))
    X = {
        split: np.asarray(rows[split], dtype=float).reshape(len(rows[split]), len(names))
        for split in SPLITS
    }
    y = {split: tuple(labels[split]) for split in SPLITS}
    return PreparedData(version, names, X, y, tuple(str(label) for label in classes))


class ContestModel(BaseEstimator):
    """A registered algorithm as one scikit-learn estimator.

    ``algorithm`` and ``params`` are stored as given and validated in ``fit`` against the
    registry. ``fit`` learns from the training points only. ``predict`` works for every
    algorithm: clusterers without a ``predict`` of their own give a new point the cluster of its
    nearest training point.
    """

    def __init__(self, algorithm: str = "knn", params: Mapping[str, Any] | None = None) -> None:
        self.algorithm = algorithm
        self.params = params

    def fit(self, X: np.ndarray, y: Sequence[str] | None = None) -> ContestModel:
        spec = get_algorithm(self.algorithm)
        self.params_ = validate_params(spec, dict(self.params or {}))
        self.task_ = spec.task
        # Builders seed their estimators; numpy's global seed covers any that draw from it.
        np.random.seed(self.params_.get("random_state", 0) % 2**32)
        self.pipeline_ = spec.build(self.params_)  # a Pipeline when the job scales
        self.n_features_in_ = X.shape[1]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if spec.task == "classification":
                if y is None:
                    raise ValueError("classification needs the training labels")
                self.pipeline_.fit(X, np.asarray(y))
                self.training_labels_ = self.pipeline_.predict(X)
            elif spec.task == "regression":
                if y is None:
                    raise ValueError("regression needs the training labels")
                self.pipeline_.fit(X, np.asarray(y, dtype=float))
                self.training_labels_ = self.pipeline_.predict(X)
                self.training_truth_ = list(y)
            else:
                self.training_labels_ = self.pipeline_.fit_predict(X)
        self.warnings_ = sorted({f"{type(w.message).__name__}: {w.message}" for w in caught})
        self.nearest_ = None
        if spec.task == "clustering" and not spec.predicts_new_points:
            from sklearn.neighbors import KNeighborsClassifier

            self.nearest_ = KNeighborsClassifier(n_neighbors=1).fit(
                self.transform(X), self.training_labels_
            )
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """``X`` after the job's scaling (the pipeline's steps before the estimator)."""
        if not isinstance(self.pipeline_, Pipeline):
            return X
        return np.asarray(self.pipeline_[:-1].transform(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        if X.shape[0] == 0:
            return np.asarray(self.training_labels_[:0])
        if self.nearest_ is not None:
            return np.asarray(self.nearest_.predict(self.transform(X)))
        return np.asarray(self.pipeline_.predict(X))

    @property
    def estimator_(self) -> Any:
        return self.pipeline_[-1] if isinstance(self.pipeline_, Pipeline) else self.pipeline_


@dataclass
class Outcome:
    """What a job produced, ready for ``update_job_details``. The scores stay None: the
    server computes them (the seed's call still carries the fields)."""

    success: bool
    message: str
    labels: dict[str, list[Any]] = field(default_factory=dict)
    score_test: float | None = None
    score_validation: float | None = None
    extra_scores_test: dict[str, float] | None = None
    extra_scores_validation: dict[str, float] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # The round's diagnostics on the training split (``worker/diagnostics.py``), or None.
    diagnostics: dict[str, float] | None = None


def as_json_labels(labels: np.ndarray) -> list[Any]:
    if labels.dtype.kind == "f":  # a regressor's numbers, as JSON numbers (full precision)
        return [float(value) for value in labels.tolist()]
    if labels.dtype.kind in "Uiu":  # class names, cluster numbers: JSON types already
        return list(labels.tolist())
    return [item if isinstance(item, str) else int(item) for item in labels.tolist()]


def run_job(
    algorithm: str, params: Mapping[str, Any], data: PreparedData
) -> tuple[Outcome, ContestModel]:
    """Fit on the training labels and predict every split; exceptions propagate."""
    started = time.perf_counter()
    model = ContestModel(algorithm, params)
    train_labels = [label for label in data.y["training"] if label is not None]
    complete = len(train_labels) == data.count("training")
    model.fit(data.X["training"], train_labels if complete else None)
    fitted = time.perf_counter()
    predicted = {"training": as_json_labels(model.training_labels_)}
    for split in SPLITS[1:]:
        predicted[split] = as_json_labels(model.predict(data.X[split]))
    predicted_at = time.perf_counter()
    timings = {"fit": round(fitted - started, 6), "predict": round(predicted_at - fitted, 6)}
    message = f"Fitted in {timings['fit']:.3f} s. {describe(model)}"
    if data.note:
        message += f" {data.note}"
    if model.warnings_:
        message += " Warnings: " + "; ".join(model.warnings_)[:500]
    outcome = Outcome(success=True, message=message, labels=predicted, timings=timings)
    return outcome, model


def describe_regressor(model: ContestModel) -> str:
    """What a fitted regressor found: its shape, and its error on the training points."""
    from mlcontest.algorithms.metrics import numbers

    estimator = model.estimator_
    parts: list[str] = []
    coefficients = getattr(estimator, "coef_", None)
    if coefficients is not None:
        flat = np.ravel(coefficients)
        zero = int(np.sum(flat == 0))
        parts.append(f"{flat.size} coefficients" + (f", {zero} of them 0" if zero else ""))
    if hasattr(estimator, "tree_"):
        parts.append(f"tree of {_tree_shape([estimator])}")
    elif hasattr(estimator, "estimators_") and model.algorithm.startswith("random_forest"):
        parts.append(f"forest of {_tree_shape(estimator.estimators_)}")
    elif hasattr(estimator, "n_estimators_"):
        trees = [stage[0] for stage in estimator.estimators_]
        parts.append(f"{estimator.n_estimators_} boosting stages; {_tree_shape(trees)}")
    if hasattr(estimator, "support_"):
        parts.append(f"{len(estimator.support_)} support vectors")
    if hasattr(estimator, "n_neighbors"):
        parts.append(f"the mean of {estimator.n_neighbors} nearest training points")
    predicted = np.asarray(model.training_labels_, dtype=float)
    truth = getattr(model, "training_truth_", None)
    if truth is not None and len(truth):
        error = float(np.sqrt(np.mean((numbers(truth) - predicted) ** 2)))
        parts.append(f"training RMSE {error:.4g}")
    text = "; ".join(parts) or "fitted"
    return text[0].upper() + text[1:] + "."


def _tree_shape(trees: Sequence[Any]) -> str:
    # Read off the fitted structure: ``get_depth()`` and ``get_n_leaves()`` check each tree is
    # fitted and count leaves over arrays, 3 ms for a forest of 100 trees (more than the rest
    # of the job's description). Every split has two children, so a tree of n nodes has
    # (n + 1) / 2 leaves.
    depths = [int(tree.tree_.max_depth) for tree in trees]
    leaves = [(int(tree.tree_.node_count) + 1) // 2 for tree in trees]
    if len(trees) == 1:
        return f"depth {depths[0]}, {leaves[0]} leaves"
    return (
        f"{len(trees)} trees, depth {min(depths)}-{max(depths)} "
        f"(mean {np.mean(depths):.1f}), {np.mean(leaves):.0f} leaves on average"
    )


def describe(model: ContestModel) -> str:
    """What the fitted model found, in a sentence a student can read."""
    estimator = model.estimator_
    labels = model.training_labels_
    name = model.algorithm
    if name == "knn":
        return f"Each point is labelled by its {estimator.n_neighbors} nearest training points."
    if name == "svm":
        per_class = ", ".join(
            f"{label}: {count}"
            for label, count in zip(estimator.classes_, estimator.n_support_, strict=True)
        )
        return f"{int(sum(estimator.n_support_))} support vectors ({per_class})."
    if name == "decision_tree":
        return f"Tree of {_tree_shape([estimator])}."
    if name == "random_forest":
        return f"Forest of {_tree_shape(estimator.estimators_)}."
    if name == "gradient_boosting":
        trees = [stage[0] for stage in estimator.estimators_]
        return f"{estimator.n_estimators_} boosting stages; {_tree_shape(trees)}."
    if name == "logistic_regression":
        return f"Converged after {int(np.max(estimator.n_iter_))} solver iterations."
    if name == "naive_bayes":
        priors = ", ".join(
            f"{label}: {prior:.2f}"
            for label, prior in zip(estimator.classes_, estimator.class_prior_, strict=True)
        )
        return f"Class priors {priors}."
    if name in ("mlp", "mlp_regressor"):
        return f"Trained {estimator.n_iter_} epochs; final training loss {estimator.loss_:.4f}."
    if model.task_ == "regression":
        return describe_regressor(model)
    found = sorted({int(label) for label in labels if int(label) >= 0})
    text = f"Found {len(found)} clusters"
    if name == "dbscan":
        noise = int(np.sum(np.asarray(labels) == -1))
        return f"{text} and {noise} noise points among {len(labels)} training points."
    if name == "kmeans":
        return f"{text}; inertia {estimator.inertia_:.4g} after {estimator.n_iter_} iterations."
    if name == "gaussian_mixture":
        state = "converged" if estimator.converged_ else "did not converge"
        return f"{text}; EM {state} after {estimator.n_iter_} iterations."
    return f"{text} in the training points."
