"""What the algorithm families share: the seed and tree parameters, and the pipeline a job's
builder returns (its ``scaling``, then its preprocessing ``steps``, then the estimator).

scikit-learn is imported inside the builders: the server validates parameters without paying
for the import.
"""

from __future__ import annotations

import importlib
from typing import Any

from mlcontest.algorithms.registry import Builder, Param
from mlcontest.core.marks import gettext_noop

SCALING = Param(
    "scaling",
    "choice",
    "none",
    choices=("none", "standard", "minmax"),
    help=gettext_noop(
        "Rescale every feature before fitting: standard (mean 0, variance 1) or min-max (0..1)."
    ),
)
SEED = Param(
    "random_state",
    "int",
    0,
    minimum=0,
    maximum=2**31 - 1,
    help=gettext_noop("Seed for every random choice, so that the job is reproducible."),
)


def with_scaling(estimator: Any, scaling: str, steps: list[Any] | None = None) -> Any:
    """The estimator behind the job's scaling and steps (``steps.build_steps``' transformers)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    first: list[Any] = []
    if scaling == "standard":
        first.append(StandardScaler())
    elif scaling == "minmax":
        first.append(MinMaxScaler())
    first.extend(steps or ())
    if first:
        return make_pipeline(*first, estimator)
    # No one-step pipeline: it would add its own checks to every fit and predict (about half a
    # millisecond each, on jobs of a few milliseconds).
    return estimator


def scaled(build: Builder) -> Builder:
    """The builder, wrapped so that it returns a pipeline with the job's scaling and steps
    first (the bare estimator when the scaling is "none" and there are no steps)."""

    def build_pipeline(p: dict[str, Any]) -> Any:
        from mlcontest.algorithms.steps import build_steps

        return with_scaling(build(p), p["scaling"], build_steps(p.get("steps") or []))

    build_pipeline.__name__ = build.__name__
    return build_pipeline


def passing(path: str, *names: str, **fixed: Any) -> Builder:
    """A builder of the scikit-learn estimator at ``path`` (e.g. ``sklearn.tree.Decision
    TreeClassifier``) that passes it the job's parameters ``names`` as they are, and ``fixed``:
    imported when a job is built, not when the registry is read."""
    module_name, _, class_name = path.rpartition(".")

    def build(p: dict[str, Any]) -> Any:
        estimator = getattr(importlib.import_module(module_name), class_name)
        return estimator(**{name: p[name] for name in names}, **fixed)

    build.__name__ = f"build_{class_name}"
    return build


# The tree families' parameters: the classifier and its regression twin take the same ones.
TREE = ("max_depth", "criterion", "min_samples_leaf", "random_state")
FOREST = ("n_estimators", "max_depth", "min_samples_leaf", "random_state")
BOOSTING = ("n_estimators", "learning_rate", "max_depth", "random_state")


MAX_DEPTH = Param(
    "max_depth",
    "int",
    None,
    nullable=True,
    empty=gettext_noop("no limit"),
    minimum=1,
    maximum=100,
    help=gettext_noop("Deepest split."),
)
MIN_LEAF = Param(
    "min_samples_leaf",
    "int",
    1,
    minimum=1,
    maximum=1000,
    help=gettext_noop("Fewest training points in a leaf."),
)
N_CLUSTERS = Param(
    "n_clusters",
    "int",
    3,
    minimum=1,
    maximum=100,
    per_training_point=True,
    help=gettext_noop("How many clusters; at most one per training point."),
)
NO_SEED = ("random_state",)  # retired where it changed nothing
