"""The metrics a round may rank by, all in [0, 1], higher is better."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Labels = Sequence[str]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    task: str
    compute: Callable[[Labels, Labels], float]


def _accuracy(y_true: Labels, y_pred: Labels) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(y_true, y_pred))


def _balanced_accuracy(y_true: Labels, y_pred: Labels) -> float:
    import warnings

    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():
        # A class missing from the predictions is a poor job, not an error.
        warnings.simplefilter("ignore")
        return float(balanced_accuracy_score(y_true, y_pred))


def _f1_macro(y_true: Labels, y_pred: Labels) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


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
