"""Which way a round's metric ranks: every ranking (public board, baselines, reveal, history,
ties, the best job of a group) asks here, so that an error metric (MAE, RMSE: lower is better)
is ranked the right way round everywhere."""

from __future__ import annotations

from mlcontest.algorithms.metrics import METRICS


def higher_is_better(metric: str) -> bool:
    """True for scores (accuracy, R², ...), False for errors (MAE, RMSE). An unknown metric (a
    round whose metric left the registry) ranks as a score, as every metric once did."""
    known = METRICS.get(metric)
    return True if known is None else known.higher_is_better


def rank_value(score: float, metric: str) -> float:
    """A value that sorts best first in ascending order."""
    return -score if higher_is_better(metric) else score


def beats(score: float, other: float, metric: str) -> bool:
    """Whether ``score`` is strictly better than ``other`` under the metric."""
    return score > other if higher_is_better(metric) else score < other
