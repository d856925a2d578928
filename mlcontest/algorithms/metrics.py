"""The metrics a round may rank by. Classification and clustering metrics are in [0, 1], higher
is better; of the regression metrics R² is higher-better (at most 1, unbounded below) and MAE
and RMSE are errors, lower-better. ``Metric.higher_is_better`` says which, and every ranking
reads it through ``mlcontest.algorithms.direction``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mlcontest.core.marks import gettext_noop

Labels = Sequence[str]


# The classification metrics are computed from one confusion matrix with numpy, as scikit-learn
# computes them (same operations, same results), without its input validation: that costs about
# 1 ms a call, and every job is scored by the worker and again by the server. ``all_scores``
# builds the matrix once for all of them.


def confusion(y_true: Labels, y_pred: Labels) -> np.ndarray:
    """Rows: true labels, columns: predicted labels, both sorted (scikit-learn's order)."""
    if len(y_true) != len(y_pred):
        raise ValueError("the label lists differ in length")
    # Codes through a dict: 2.5 times quicker than np.unique over arrays of strings.
    classes = sorted(set(y_true).union(y_pred))
    code = {label: index for index, label in enumerate(classes)}.__getitem__
    k, n = len(classes), len(y_true)
    true = np.fromiter(map(code, y_true), dtype=np.intp, count=n)
    predicted = np.fromiter(map(code, y_pred), dtype=np.intp, count=n)
    return np.bincount(true * k + predicted, minlength=k * k).reshape(k, k)


def _accuracy(matrix: np.ndarray) -> float:
    return float(np.trace(matrix) / matrix.sum())


def _balanced_accuracy(matrix: np.ndarray) -> float:
    per_class = np.diag(matrix) / matrix.sum(axis=1)
    # A class never true (only predicted) has no recall: it is left out, as scikit-learn does.
    return float(np.mean(per_class[matrix.sum(axis=1) > 0]))


def _f1_macro(matrix: np.ndarray) -> float:
    denominator = matrix.sum(axis=1).astype(float) + matrix.sum(axis=0).astype(float)
    empty = denominator == 0
    denominator[empty] = 1.0
    f1 = 2.0 * np.diag(matrix).astype(float) / denominator
    f1[empty] = 0.0  # zero_division=0
    return float(np.mean(f1))


def _nmi(y_true: Labels, y_pred: Labels) -> float:
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(y_true, y_pred))


def _adjusted_rand(y_true: Labels, y_pred: Labels) -> float:
    from sklearn.metrics import adjusted_rand_score

    # ARI can fall below 0 for worse-than-chance clusterings; every metric here is in [0, 1].
    return min(1.0, max(0.0, float(adjusted_rand_score(y_true, y_pred))))


def _v_measure(y_true: Labels, y_pred: Labels) -> float:
    from sklearn.metrics import v_measure_score

    return float(v_measure_score(y_true, y_pred))


def numbers(labels: Labels) -> np.ndarray:
    """Regression labels (numbers, stored and posted as text or as numbers) as floats."""
    return np.fromiter(map(float, labels), dtype=float, count=len(labels))


# As scikit-learn computes r2_score, mean_absolute_error and root_mean_squared_error (the
# tests compare them), without its input checks, on the labels read as numbers once for all
# three (each reading its own took three times as long as the arithmetic).
def _r2(truth: np.ndarray, predicted: np.ndarray) -> float:
    residual = float(np.sum((truth - predicted) ** 2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    if total == 0.0:  # a constant truth: scikit-learn's answer (1 if perfect, else 0)
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


def _mae(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(truth - predicted)))


def _rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((truth - predicted) ** 2)))


def _both_numbers(y_true: Labels, y_pred: Labels) -> tuple[np.ndarray, np.ndarray]:
    if len(y_true) != len(y_pred):
        raise ValueError("the label lists differ in length")
    return numbers(y_true), numbers(y_pred)


@dataclass(frozen=True)
class Metric:
    """A metric reads the confusion matrix (classification), the two label lists as numbers
    (regression) or the two label lists (clustering)."""

    name: str
    label: str
    task: str
    of_confusion: Callable[[np.ndarray], float] | None = None
    of_labels: Callable[[Labels, Labels], float] | None = None
    higher_is_better: bool = True
    of_numbers: Callable[[np.ndarray, np.ndarray], float] | None = None

    def compute(self, y_true: Labels, y_pred: Labels) -> float:
        if self.of_confusion is not None:
            return self.of_confusion(confusion(y_true, y_pred))
        if self.of_numbers is not None:
            return self.of_numbers(*_both_numbers(y_true, y_pred))
        assert self.of_labels is not None
        return self.of_labels(y_true, y_pred)


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("accuracy", gettext_noop("Accuracy"), "classification", of_confusion=_accuracy),
        Metric(
            "balanced_accuracy",
            gettext_noop("Balanced accuracy"),
            "classification",
            of_confusion=_balanced_accuracy,
        ),
        Metric("f1_macro", gettext_noop("Macro F1"), "classification", of_confusion=_f1_macro),
        Metric("nmi", gettext_noop("Normalized mutual information"), "clustering", of_labels=_nmi),
        Metric(
            "adjusted_rand",
            gettext_noop("Adjusted Rand index (clipped to 0..1)"),
            "clustering",
            of_labels=_adjusted_rand,
        ),
        Metric("v_measure", gettext_noop("V-measure"), "clustering", of_labels=_v_measure),
        Metric(
            "r2", gettext_noop("R² (coefficient of determination)"), "regression", of_numbers=_r2
        ),
        Metric(
            "mae",
            gettext_noop("Mean absolute error (lower is better)"),
            "regression",
            of_numbers=_mae,
            higher_is_better=False,
        ),
        Metric(
            "rmse",
            gettext_noop("Root mean squared error (lower is better)"),
            "regression",
            of_numbers=_rmse,
            higher_is_better=False,
        ),
    )
}


def metrics_for(task: str) -> list[Metric]:
    return [metric for metric in METRICS.values() if metric.task == task]


def all_scores(task: str, y_true: Labels, y_pred: Labels) -> dict[str, float]:
    """Every metric of the task: the round's own one and the extra scores."""
    metrics = metrics_for(task)
    if task == "classification":
        matrix = confusion(y_true, y_pred)
        return {
            metric.name: metric.of_confusion(matrix)
            for metric in metrics
            if metric.of_confusion is not None
        }
    if task == "regression":
        truth, predicted = _both_numbers(y_true, y_pred)
        return {
            metric.name: metric.of_numbers(truth, predicted)
            for metric in metrics
            if metric.of_numbers is not None
        }
    return {metric.name: metric.compute(y_true, y_pred) for metric in metrics}
