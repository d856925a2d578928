"""Which algorithms a round's dataset is too big for, said on the round's page before a
student submits (issue 13: say up front what a dataset of this size cannot take, and why).

A rough count of the arithmetic a job does at its default settings, against what one job
process manages within the round's time limit (``OPERATIONS_PER_SECOND``, one core), and of
the memory it needs against the round's memory limit. Only what is far over is named: the
estimate is an order of magnitude, and a student may still try smaller settings.

Measured on the 70,000 x 784 table (bench/big_dataset.py): a default logistic regression fits
and predicts in about 25 s on one loaded core; kNN would compare 70,000 points with 42,000
(2.3e12 operations), an RBF SVM's kernel is quadratic in the training points, and
agglomerative clustering and DBSCAN hold a distance per pair of training points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.utils.translation import gettext

from mlcontest.contest.models import Dataset

OPERATIONS_PER_SECOND = 1e9
# Named only when the estimate is this many times over the limit.
MARGIN = 3.0

Estimate = Callable[[int, int, int], tuple[float, float]]  # (operations, bytes)


def _knn(train: int, total: int, features: int) -> tuple[float, float]:
    return float(train) * total * features, 8.0 * total * 2


def _svm(train: int, total: int, features: int) -> tuple[float, float]:
    return 5.0 * train * train * features, 200e6


def _pairwise(train: int, total: int, features: int) -> tuple[float, float]:
    return float(train) * train * features, 8.0 * train * train


def _boosting(train: int, total: int, features: int) -> tuple[float, float]:
    # 100 stages, one tree per class and stage, each tree sorts every feature.
    return 100.0 * 10 * train * features * 20, 0.0


ESTIMATES: dict[str, Estimate] = {
    "knn": _knn,
    "svm": _svm,
    "gradient_boosting": _boosting,
    "agglomerative": _pairwise,
    "dbscan": _pairwise,
}


def too_big(
    dataset: Dataset, algorithms: Sequence[str], time_limit_s: float, memory_limit_mb: float
) -> dict[str, str]:
    """Algorithm name -> why this dataset is too big for it at its default settings."""
    train = int(dataset.split_sizes.get("training", 0))
    total = int(dataset.size)
    features = max(len(dataset.feature_names), 1)
    said: dict[str, str] = {}
    for name in algorithms:
        estimate = ESTIMATES.get(name)
        if estimate is None:
            continue
        operations, memory = estimate(train, total, features)
        seconds = operations / OPERATIONS_PER_SECOND
        if memory > MARGIN * memory_limit_mb * 1024 * 1024:
            said[name] = gettext(
                "needs about %(gb).0f GB of memory for %(n)s training points (limit %(mb)s MB)"
            ) % {"gb": memory / 1024**3, "n": train, "mb": memory_limit_mb}
        elif seconds > MARGIN * time_limit_s:
            said[name] = gettext(
                "would take about %(minutes).0f minutes on %(n)s points with %(d)s features "
                "(time limit %(limit)s s)"
            ) % {"minutes": seconds / 60, "n": total, "d": features, "limit": time_limit_s}
    return said
