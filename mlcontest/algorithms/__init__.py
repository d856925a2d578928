"""The algorithm registry and metrics, shared by server, forms and worker."""

from mlcontest.algorithms import catalogue as _catalogue  # noqa: F401  (fills the registry)
from mlcontest.algorithms.metrics import METRICS, Metric, all_scores, metrics_for
from mlcontest.algorithms.registry import (
    REGISTRY,
    Algorithm,
    Param,
    ParameterError,
    algorithms_for,
    get_algorithm,
    validate_params,
)

__all__ = [
    "METRICS",
    "REGISTRY",
    "Algorithm",
    "Metric",
    "Param",
    "ParameterError",
    "algorithms_for",
    "all_scores",
    "get_algorithm",
    "metrics_for",
    "validate_params",
]
