"""The metrics a round may rank by, all in [0, 1], higher is better."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Labels = Sequence[str]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    task: str
    compute: Callable[[Labels, Labels], float]


# The classification metrics are computed from one confusion matrix with numpy, as scikit-learn
# computes them (same operations, same results), without its input validation: that costs about
# 1 ms a call, and every job is scored by the worker and again by the server.


def _confusion(y_true: Labels, y_pred: Labels) -> np.ndarray:
    """Rows: true labels, columns: predicted labels, both sorted (scikit-learn's order)."""
    true = np.asarray(y_true)
    predicted = np.asarray(y_pred)
    if true.shape != predicted.shape or true.ndim != 1:
        raise ValueError("the label lists differ in length")
    labels, codes = np.unique(np.concatenate([true, predicted]), return_inverse=True)
    k, n = len(labels), len(true)
    return np.bincount(codes[:n] * k + codes[n:], minlength=k * k).reshape(k, k)


def _accuracy(y_true: Labels, y_pred: Labels) -> float:
    matrix = _confusion(y_true, y_pred)
    return float(np.trace(matrix) / matrix.sum())


def _balanced_accuracy(y_true: Labels, y_pred: Labels) -> float:
    matrix = _confusion(y_true, y_pred)
    per_class = np.diag(matrix) / matrix.sum(axis=1)
    # A class never true (only predicted) has no recall: it is left out, as scikit-learn does.
    return float(np.mean(per_class[matrix.sum(axis=1) > 0]))


def _f1_macro(y_true: Labels, y_pred: Labels) -> float:
    matrix = _confusion(y_true, y_pred)
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


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("accuracy", "Accuracy", "classification", _accuracy),
        Metric("balanced_accuracy", "Balanced accuracy", "classification", _balanced_accuracy),
        Metric("f1_macro", "Macro F1", "classification", _f1_macro),
        Metric("nmi", "Normalized mutual information", "clustering", _nmi),
        Metric(
            "adjusted_rand", "Adjusted Rand index (clipped to 0..1)", "clustering", _adjusted_rand
        ),
        Metric("v_measure", "V-measure", "clustering", _v_measure),
    )
}


def metrics_for(task: str) -> list[Metric]:
    return [metric for metric in METRICS.values() if metric.task == task]


def score(metric_name: str, y_true: Labels, y_pred: Labels) -> float:
    return METRICS[metric_name].compute(y_true, y_pred)


def all_scores(task: str, y_true: Labels, y_pred: Labels) -> dict[str, float]:
    """Every metric of the task: the round's own one and the extra scores."""
    return {metric.name: metric.compute(y_true, y_pred) for metric in metrics_for(task)}
