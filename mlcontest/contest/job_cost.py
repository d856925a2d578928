"""What a job costs on a round's dataset, estimated before it runs (issue 13, item 4): the round
page names the algorithms its dataset is too big for at their default settings, and a job whose
parameters are clearly impossible within the round's limits is refused at submit, in the
student's terms (what, why, what would fit).

The model: each algorithm's work in *units* (``units``: a count of the arithmetic it does, from
the training points, all points, features after the job's steps, classes and its parameters),
times the seconds one unit took when measured (``SECONDS_PER_UNIT``), on one core of a shared
2-core machine (load average 2-6, so a quiet machine is faster: the estimates err on the slow
side). Memory: what the algorithm holds beyond the dataset (``memory_bytes``).

- **Named on the round page** (``too_big``): the estimate at default settings is over
  ``NAMED_AT`` of the time limit, or the memory over the memory limit. The measurement below
  decided where the line is: what is named failed, what is not finished.
- **Refused at submit** (``refusal``, called by ``queue.submit_job``): the estimate for the
  submitted parameters is over ``REFUSE_AT`` (10) times the time limit, an order of magnitude,
  so that an estimate off by a factor of a few never refuses a job that would have run; or the
  memory over ``REFUSE_MEMORY_AT`` (2) times the memory limit (memory is counted, not timed).
  Jobs between the limit and that are accepted and may stop at the limit, as before. The
  message says what (the estimate, the data's size, the limit) and whether the algorithm's
  default settings would fit.

Measured with bench/big_algorithms.py (the worker's job process, 60 s and 2048 MB, pictures on,
one job at a time, the dataset written as the server writes it). Seconds as measured on the
shared machine (load average 2-6 while it ran), from submit to result, reading the dataset in
the job process included (about 3 s); peak RSS of the job process, which holds the dataset's
arrays (0.44 GB); the estimate is this module's at default settings (minutes beyond 2):

=====================  ============  =======  ========  =====================
algorithm              outcome       seconds  peak GB   estimate
=====================  ============  =======  ========  =====================
knn                    time limit    60       0.79      136 s
svm                    time limit    60       0.99      46 min (refused)
decision_tree          time limit    60       0.87      79 s
random_forest          time limit    60       0.87      393 s
gradient_boosting      time limit    60       0.84      351 min (refused)
logistic_regression    done          17.4     1.03      14.5 s
naive_bayes            done          11.8     1.21      6 s
mlp                    time limit    60       0.80      562 s
kmeans                 done          42.3     1.23      39 s
dbscan                 time limit    60       0.80      136 s
agglomerative          memory limit  6.4      0.79      6.6 GB (refused)
gaussian_mixture       time limit    60       1.55      56 s
=====================  ============  =======  ========  =====================

The three that finished predicted all 70,000 points and drew their pictures (regions and
confusion matrix, or clusters) in 0.5-5 s after the result; none failed in prediction or in a
picture, so nothing there needed chunks. A first run, with the table in one Parquet row group,
gave the same outcomes. The page's line is ``NAMED_AT`` of the limit (48 s): k-means (39 s)
is not named, the Gaussian mixture (56 s) is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext

from mlcontest.algorithms import ParameterError, get_algorithm, validate_params
from mlcontest.algorithms.steps import STEPS

if TYPE_CHECKING:
    from mlcontest.contest.models import Dataset

# An estimate over this many times the time limit refuses the job at submit.
REFUSE_AT = 10.0
# Memory is counted, not timed (scipy's distance matrix is exactly n(n-1)/2 numbers): twice
# the limit is far enough over.
REFUSE_MEMORY_AT = 2.0
MB = 1024 * 1024


@dataclass(frozen=True)
class Shape:
    """What a job's cost depends on in the data."""

    train: int  # training points (the fit)
    total: int  # all points (every split is predicted)
    features: int
    classes: int

    @classmethod
    def of(cls, dataset: Dataset) -> Shape:
        return cls(
            train=dataset.training_points,
            total=int(dataset.size),
            features=max(len(dataset.feature_names), 1),
            classes=max(min(len(dataset.class_labels), 1000), 2),
        )


def _log(n: float) -> float:
    return math.log2(max(n, 2.0))


def _depth(p: Mapping[str, Any], n: float) -> float:
    # An unlimited tree grows about log2(n) levels deep on such data (more on noisy data).
    chosen = p.get("max_depth")
    return float(min(chosen, 2 * _log(n))) if chosen else 2 * _log(n)


def _units(algorithm: str, p: Mapping[str, Any], s: Shape, d: int) -> float | None:
    """The algorithm's work on the data (None: not modelled). ``d``: features after steps."""
    n, m, c = float(s.train), float(s.total), float(s.classes)
    if algorithm == "knn":
        return n * m * d  # every point (training ones too) against every training point
    if algorithm == "svm":
        return n * n * d + n * m * d / 2  # the kernel's pairs, then support vectors x points
    if algorithm == "decision_tree":
        return n * d * _log(n) * _depth(p, n)
    if algorithm == "random_forest":
        return p["n_estimators"] * n * math.sqrt(d) * _log(n) * _depth(p, n)
    if algorithm == "gradient_boosting":
        trees = p["n_estimators"] * (c if c > 2 else 1)
        return trees * n * d * _log(n) * p["max_depth"]
    if algorithm == "logistic_regression":
        return min(p["max_iter"], 100) * n * d * c
    if algorithm == "naive_bayes":
        return m * d * c
    if algorithm == "mlp":
        width = p["hidden_units"]
        weights = d * width + (p["hidden_layers"] - 1) * width * width + width * c
        return min(p["max_iter"], 100) * n * weights
    if algorithm == "kmeans":
        return p["n_init"] * n * p["n_clusters"] * d
    if algorithm == "dbscan":
        return n * n * d + n * m * d  # the neighbourhoods, then the nearest training point
    if algorithm == "agglomerative":
        return n * n * d
    if algorithm == "gaussian_mixture":
        k = p["n_components"]
        per_point = {"full": d * d, "tied": d * d, "diag": d, "spherical": d}[p["covariance_type"]]
        # Two EM iterations (the measured table converged in two), then every point's
        # likelihood under each component.
        return k * (2 * n + m) * per_point
    return None


# Seconds per unit on one loaded core. The three that finish at full size: their fit and
# predict seconds in the job process (the docstring's table); the others: bench/big_algorithms.py
# --calibrate, on parts of the table small enough to take seconds (load average 4-5 then).
SECONDS_PER_UNIT: dict[str, float] = {
    "logistic_regression": 4.4e-10,
    "naive_bayes": 1.09e-8,
    "kmeans": 3.96e-8,
    "knn": 5.9e-11,
    "svm": 1.1e-09,
    "decision_tree": 5.06e-09,
    "random_forest": 7.09e-09,
    "gradient_boosting": 1.39e-08,
    "mlp": 5.27e-09,
    "dbscan": 3.69e-11,
    "agglomerative": 3.84e-10,
    "gaussian_mixture": 1.96e-10,
}
# Named on the round page from this share of the time limit: the job process reads the dataset
# first (about 5 s for the 70,000 x 784 table) and a busier machine is slower.
NAMED_AT = 0.8


def memory_bytes(algorithm: str, p: Mapping[str, Any], s: Shape, d: int) -> float:
    """What the job holds beyond the dataset's arrays: the table its steps make, and what
    the algorithm keeps."""
    held = 0.0
    if d > s.features:
        held += 8.0 * s.total * d  # the wider table, every split as it is predicted
    n = float(s.train)
    if algorithm == "agglomerative":
        held += 8.0 * n * n / 2  # scipy's condensed distance matrix
    if algorithm == "svm":
        held += 200 * MB  # libsvm's kernel cache
    if algorithm == "gaussian_mixture":
        held += 8.0 * p["n_components"] * (n + d * d) * 2
    return held


def features_after_steps(params: Mapping[str, Any], features: int) -> int:
    """The features the estimator gets after the job's preprocessing steps."""
    width: int | None = features
    for step in params.get("steps") or []:
        found = STEPS.get(step.get("step", ""))
        if found is None:
            continue
        values = {key: value for key, value in step.items() if key != "step"}
        width = found.width(width, values)
        if width is None:
            width = features  # one-hot: known once fitted; no wider than the estimate needs
    return max(int(width or features), 1)


@dataclass(frozen=True)
class Cost:
    seconds: float | None
    memory: float
    features: int


def cost(algorithm: str, params: Mapping[str, Any], shape: Shape) -> Cost:
    d = features_after_steps(params, shape.features)
    units = _units(algorithm, params, shape, d)
    rate = SECONDS_PER_UNIT.get(algorithm)
    seconds = None if units is None or rate is None else units * rate
    return Cost(seconds, memory_bytes(algorithm, params, shape, d), d)


def _why(shape: Shape, found: Cost, time_limit_s: float, memory_limit_mb: float) -> str:
    if found.memory > memory_limit_mb * MB:
        return gettext(
            "needs about %(gb).1f GB of memory for %(n)s training points (limit %(mb)s MB)"
        ) % {"gb": found.memory / 1024**3, "n": shape.train, "mb": memory_limit_mb}
    seconds = found.seconds or 0.0
    if seconds >= 120:
        how_long = gettext("about %(n).0f minutes") % {"n": seconds / 60}
    else:
        how_long = gettext("about %(n).0f s") % {"n": seconds}
    return gettext(
        "would take %(how_long)s on %(n)s points with %(d)s features (time limit %(limit)s s)"
    ) % {"how_long": how_long, "n": shape.total, "d": found.features, "limit": time_limit_s}


def too_big(
    dataset: Dataset, algorithms: Sequence[str], time_limit_s: float, memory_limit_mb: float
) -> dict[str, str]:
    """Algorithm name -> why this dataset is too big for it at its default settings."""
    shape = Shape.of(dataset)
    said: dict[str, str] = {}
    for name in algorithms:
        found = cost(name, get_algorithm(name).defaults(), shape)
        over_time = found.seconds is not None and found.seconds > NAMED_AT * time_limit_s
        if over_time or found.memory > memory_limit_mb * MB:
            said[name] = _why(shape, found, time_limit_s, memory_limit_mb)
    return said


def refusal(
    shape: Shape,
    algorithm: str,
    params: Mapping[str, Any],
    time_limit_s: float,
    memory_limit_mb: float,
) -> str | None:
    """Why a job with these (validated) parameters cannot finish on this data within the
    round's limits, by an order of magnitude; None when it may."""
    found = cost(algorithm, params, shape)
    far_in_time = found.seconds is not None and found.seconds > REFUSE_AT * time_limit_s
    far_in_memory = found.memory > REFUSE_MEMORY_AT * memory_limit_mb * MB
    if not (far_in_time or far_in_memory):
        return None
    why = _why(shape, found, time_limit_s, memory_limit_mb)
    hint = _what_fits(algorithm, params, shape, time_limit_s, memory_limit_mb)
    return f"{why}; {hint}" if hint else why


def _what_fits(
    algorithm: str,
    params: Mapping[str, Any],
    shape: Shape,
    time_limit_s: float,
    memory_limit_mb: float,
) -> str:
    """A sentence on what would fit: the default settings when they do, else smaller data."""
    defaults = get_algorithm(algorithm).defaults()
    if "steps" in params:
        defaults["steps"] = params["steps"]
    try:
        validate_params(get_algorithm(algorithm), defaults)
    except ParameterError:
        return ""
    plain = cost(algorithm, defaults, shape)
    if plain.memory > memory_limit_mb * MB:
        return gettext(
            "even its default settings do not fit: its memory grows with the square of the "
            "training points; choose another algorithm"
        )
    if (plain.seconds or 0.0) <= NAMED_AT * time_limit_s:
        return gettext("its default settings fit within the limits")
    return gettext(
        "even its default settings do not fit: choose another algorithm, or reduce the features "
        "with a PCA or select-k-best step"
    )
