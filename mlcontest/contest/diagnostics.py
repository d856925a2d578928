"""The diagnostics a worker posts with a result, in rounds that ask for them (issue 15, item 3).

A worker computes them on the training split only (``worker/diagnostics.py``): a k-fold
cross-validation score of the job's model, its spread and the number of folds, or the
silhouette of a clustering. The server cannot recompute them (it would have to refit the
model), so they are the worker's figures, like its pictures: bounded here, shown beside the
server's own scores ("CV 0.91 / test 0.94"), never ranked. They are computed from training
labels, which every student may download, so they tell nothing about a hidden label
(docs/rules.md, "Diagnostics").
"""

from __future__ import annotations

import math
from typing import Any

from mlcontest.contest.inputs import loads_json

# name -> (lowest, highest): what each may be.
BOUNDS = {
    "cv_score": (0.0, 1.0),
    "cv_std": (0.0, 1.0),
    "cv_folds": (2.0, 20.0),
    "silhouette": (-1.0, 1.0),
}
# A regression round's CV score is in the round's own terms: an R² may be far below 0, and an
# error (MAE, RMSE) is in the label's units, so only its sign is known.
REGRESSION_BOUNDS = {
    **BOUNDS,
    "cv_score": (-math.inf, math.inf),
    "cv_std": (0.0, math.inf),
}


def parse_diagnostics(raw: Any, regression: bool = False) -> dict[str, float] | None:
    """A flat JSON object of known names to finite numbers in their bounds; None when absent."""
    bounds = REGRESSION_BOUNDS if regression else BOUNDS
    if raw is None or (isinstance(raw, str) and raw.strip() in {"", "None", "null"}):
        return None
    value = loads_json(raw) if isinstance(raw, str | bytes) else raw
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    clean: dict[str, float] = {}
    for name, number in value.items():
        if name not in bounds:
            raise ValueError(f"{str(name)[:64]!r} is not one of {', '.join(sorted(bounds))}")
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError(f"{name!r} must be a number")
        low, high = bounds[name]
        if not math.isfinite(number):
            raise ValueError(f"{name!r} must be a finite number")
        if not low <= number <= high:
            raise ValueError(f"{name!r} must be between {low:g} and {high:g}")
        clean[name] = float(number)
    return clean


def cv_score(diagnostics: Any) -> float | None:
    """The cross-validation score of a job's stored diagnostics, if it has one."""
    if isinstance(diagnostics, dict):
        value = diagnostics.get("cv_score")
        if isinstance(value, int | float):
            return float(value)
    return None
