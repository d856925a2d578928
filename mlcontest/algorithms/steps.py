"""The preprocessing steps a job may put before its model: an ordered list in the job's ``steps``
parameter, each ``{"step": <name>, <param>: value, ...}``, fitted on the training points only
(inside the job's scikit-learn pipeline, so the test and validation points are transformed with
what the training points taught, never fitted on).

A job without ``steps`` stores none (old jobs and the seed's ``get_job_params`` answer keep their
shape). The older ``scaling`` parameter stays: it is applied first, before the steps.

Some ranges depend on the round's data (``DataShape``): PCA keeps at most as many components as
there are features and training points, select-k-best keeps at most the features it is given,
and polynomial features may not blow the table up beyond ``MAX_FEATURES_OUT`` columns. The
features each step hands on are counted along the list, so a ``k`` after a PCA is checked
against the PCA's components.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from math import comb
from typing import Any

from mlcontest.algorithms.params import DataShape, Param, _
from mlcontest.core.marks import gettext_noop

MAX_STEPS = 6
# Polynomial features grow fast (degree 3 on 30 features: 5,455 columns); beyond this a job
# would spend its time limit building the table.
MAX_FEATURES_OUT = 2000
# Where a step's output width is unknown before fitting (one-hot: it depends on the values).
UNKNOWN = None


@dataclass(frozen=True)
class Step:
    """One registered preprocessing step: typed parameters, a builder and its output width."""

    name: str
    label: str
    params: tuple[Param, ...]
    build: Callable[[dict[str, Any]], Any] = field(repr=False, compare=False)
    help: str = ""
    # The features after the step, from the features before it (None: known only once fitted).
    width: Callable[[int | None, dict[str, Any]], int | None] = field(
        default=lambda features, p: features, repr=False, compare=False
    )
    # Needs the training labels (select-k-best scores each feature against them).
    supervised: bool = False

    def schema(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "help": self.help,
            "supervised": self.supervised,
            "params": [param.schema() for param in self.params],
        }

    def shown(self, values: Mapping[str, Any]) -> str:
        """The step as the job page shows it: ``PCA (n_components=2)``."""
        known = {param.name: param for param in self.params}
        inner = ", ".join(
            f"{known[name].shown_name}={known[name].shown_value(value)}"
            for name, value in values.items()
            if name in known
        )
        return f"{_(self.label)} ({inner})" if inner else _(self.label)


def _scale(p: dict[str, Any]) -> Any:
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

    return {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}[
        p["method"]
    ]()


def _pca(p: dict[str, Any]) -> Any:
    from sklearn.decomposition import PCA

    return PCA(n_components=p["n_components"], whiten=p["whiten"], random_state=0)


def _polynomial(p: dict[str, Any]) -> Any:
    from sklearn.preprocessing import PolynomialFeatures

    return PolynomialFeatures(
        degree=p["degree"], interaction_only=p["interaction_only"], include_bias=False
    )


def _select_k_best(p: dict[str, Any]) -> Any:
    from sklearn.feature_selection import SelectKBest, f_classif, f_regression

    score = {"f_classif": f_classif, "f_regression": f_regression}[p["score_func"]]
    return SelectKBest(score, k=p["k"])


def _impute(p: dict[str, Any]) -> Any:
    from sklearn.impute import SimpleImputer

    return SimpleImputer(strategy=p["strategy"])


def _one_hot(p: dict[str, Any]) -> Any:
    from mlcontest.algorithms.one_hot import OneHotFew

    return OneHotFew(max_values=p["max_values"])


def polynomial_width(features: int | None, p: dict[str, Any]) -> int | None:
    """PolynomialFeatures' n_output_features_ without the bias column."""
    if features is None:
        return None
    degree = p["degree"]
    if p["interaction_only"]:
        return sum(comb(features, d) for d in range(1, min(degree, features) + 1))
    return comb(features + degree, degree) - 1


STEPS: dict[str, Step] = {
    step.name: step
    for step in (
        Step(
            "scale",
            gettext_noop("Scaling"),
            (
                Param(
                    "method",
                    "choice",
                    "standard",
                    choices=("standard", "minmax", "robust"),
                    help=gettext_noop(
                        "standard: mean 0, variance 1; minmax: 0..1; robust: median 0, "
                        "interquartile range 1 (outliers pull less)."
                    ),
                ),
            ),
            _scale,
            help=gettext_noop("Rescales every feature."),
        ),
        Step(
            "pca",
            gettext_noop("PCA"),
            (
                Param(
                    "n_components",
                    "int",
                    2,
                    minimum=1,
                    maximum=1000,
                    help=gettext_noop(
                        "How many principal components to keep; at most the number of "
                        "features (and of training points)."
                    ),
                ),
                Param(
                    "whiten",
                    "bool",
                    False,
                    help=gettext_noop("Scale every component to variance 1."),
                ),
            ),
            _pca,
            help=gettext_noop("Replaces the features by their main directions of variation."),
            width=lambda features, p: p["n_components"],
        ),
        Step(
            "polynomial",
            gettext_noop("Polynomial features"),
            (
                Param(
                    "degree",
                    "int",
                    2,
                    minimum=1,
                    maximum=5,
                    help=gettext_noop("Highest power (and product) of features added."),
                ),
                Param(
                    "interaction_only",
                    "bool",
                    False,
                    help=gettext_noop("Only products of different features, no powers."),
                ),
            ),
            _polynomial,
            help=gettext_noop(
                "Adds powers and products of the features: curves for linear models."
            ),
            width=polynomial_width,
        ),
        Step(
            "select_k_best",
            gettext_noop("Select k best features"),
            (
                Param(
                    "k",
                    "int",
                    2,
                    minimum=1,
                    maximum=1000,
                    help=gettext_noop(
                        "How many features to keep: those that tell most about the label "
                        "(on the training points). At most the features the step gets."
                    ),
                ),
                Param(
                    "score_func",
                    "choice",
                    None,
                    nullable=True,
                    choices=("f_classif", "f_regression"),
                    empty=gettext_noop("the task's F-test"),
                    help=gettext_noop(
                        "How a feature is scored: f_classif (classification) or f_regression "
                        "(regression); empty picks the round's."
                    ),
                ),
            ),
            _select_k_best,
            help=gettext_noop("Keeps the k features most related to the label."),
            width=lambda features, p: p["k"],
            supervised=True,
        ),
        Step(
            "impute",
            gettext_noop("Imputation"),
            (
                Param(
                    "strategy",
                    "choice",
                    "mean",
                    choices=("mean", "median", "most_frequent"),
                    help=gettext_noop("What a missing value becomes."),
                ),
            ),
            _impute,
            help=gettext_noop("Fills missing values from the training points."),
        ),
        Step(
            "one_hot",
            gettext_noop("One-hot encoding"),
            (
                Param(
                    "max_values",
                    "int",
                    10,
                    minimum=2,
                    maximum=100,
                    help=gettext_noop(
                        "A feature with at most this many distinct training values is a "
                        "category: it becomes one 0/1 feature per value."
                    ),
                ),
            ),
            _one_hot,
            help=gettext_noop("Turns category-like features into 0/1 columns."),
            width=lambda features, p: UNKNOWN,
        ),
    )
}


def build_steps(steps: list[dict[str, Any]]) -> list[Any]:
    """The scikit-learn transformers of validated steps, in order."""
    return [STEPS[step["step"]].build(step) for step in steps]


def shown_steps(steps: Any) -> str:
    """A stored ``steps`` value as the job page shows it: ``PCA (n_components=2) → Scaling
    (method=standard)``."""
    if not isinstance(steps, list):
        return str(steps)
    shown = []
    for step in steps:
        known = STEPS.get(str(step.get("step"))) if isinstance(step, dict) else None
        shown.append(str(step) if known is None else known.shown(step))
    return " → ".join(shown) if shown else _("none")


def validate_steps(raw: Any, task: str, shape: DataShape | None = None) -> list[dict[str, Any]]:
    """The steps, each completed with its defaults and coerced, or ValueError with one message
    naming the step (by its place and name) and what is wrong, in the student's terms."""
    if isinstance(raw, str):
        import json

        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError:
            raise ValueError(_("must be a list of steps")) from None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError(_("must be a list of steps"))
    if len(raw) > MAX_STEPS:
        raise ValueError(_("at most %(n)s steps") % {"n": MAX_STEPS})
    features = None if shape is None else shape.features
    clean: list[dict[str, Any]] = []
    for place, item in enumerate(raw, start=1):
        name = item.get("step") if isinstance(item, dict) else item
        step = STEPS.get(name) if isinstance(name, str) else None
        where = _("step %(place)s") % {"place": place}
        if step is None:
            raise ValueError(
                _("%(where)s: must be one of %(names)s")
                % {"where": where, "names": ", ".join(STEPS)}
            )
        where = f"{where} ({name})"
        given = item if isinstance(item, dict) else {"step": name}
        values = _step_values(step, given, where)
        if step.supervised and task == "clustering":
            raise ValueError(
                _("%(where)s needs the training labels, and clustering has none") % {"where": where}
            )
        if step.name == "select_k_best" and values["score_func"] is None:
            values["score_func"] = "f_regression" if task == "regression" else "f_classif"
        _check_against_data(step, values, features, shape, where)
        features = step.width(features, values)
        clean.append({"step": name, **values})
    return clean


def _step_values(step: Step, given: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(given) - {"step"} - {param.name for param in step.params})
    if unknown:
        raise ValueError(
            _("%(where)s: unknown parameter %(name)s") % {"where": where, "name": unknown[0]}
        )
    values: dict[str, Any] = {}
    for param in step.params:
        if param.name not in given:
            values[param.name] = param.default
            continue
        try:
            values[param.name] = param.coerce(given[param.name])
        except ValueError as error:
            raise ValueError(f"{where}: {param.name} {error}") from None
    return values


def _check_against_data(
    step: Step,
    values: dict[str, Any],
    features: int | None,
    shape: DataShape | None,
    where: str,
) -> None:
    """Refuse a value this round's data cannot allow (scikit-learn would refuse it only when
    the job runs, and the job would cost a turn of the group's quota)."""
    if shape is None:
        return
    if step.name == "pca":
        limit = shape.training_points if features is None else min(features, shape.training_points)
        if values["n_components"] > limit:
            raise ValueError(
                _(
                    "%(where)s: n_components must be at most %(limit)s: the step gets "
                    "%(features)s features from %(points)s training points"
                )
                % {
                    "where": where,
                    "limit": limit,
                    "features": "?" if features is None else features,
                    "points": shape.training_points,
                }
            )
    if step.name == "select_k_best" and features is not None and values["k"] > features:
        raise ValueError(
            _("%(where)s: k must be at most %(n)s, the number of features the step gets")
            % {"where": where, "n": features}
        )
    if step.name == "polynomial":
        width = polynomial_width(features, values)
        if width is not None and width > MAX_FEATURES_OUT:
            raise ValueError(
                _(
                    "%(where)s: degree %(degree)s on %(features)s features makes %(width)s "
                    "features, more than %(limit)s: lower the degree or select features first"
                )
                % {
                    "where": where,
                    "degree": values["degree"],
                    "features": features,
                    "width": width,
                    "limit": MAX_FEATURES_OUT,
                }
            )
