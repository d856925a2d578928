"""The database's side of a metric's direction (``algorithms.direction``): the ordering that
puts a round's best score first, highest for a score, lowest for an error (MAE, RMSE)."""

from __future__ import annotations

from django.db.models import F, OrderBy

from mlcontest.algorithms.direction import higher_is_better


def best_first(field: str, metric: str) -> OrderBy:
    """``field`` ordered best first under ``metric`` (an unknown metric: highest first)."""
    return F(field).desc() if higher_is_better(metric) else F(field).asc()
