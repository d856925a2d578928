"""The one algorithm registry: names, typed parameter schemas, task types and builders.

The server validates submitted parameters with it, the web forms are generated from it and
the worker builds its scikit-learn estimators from it, so a parameter exists in one place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mlcontest.core.booleans import parse_bool
from mlcontest.core.marks import gettext_noop

ParamKind = Literal["int", "float", "choice", "bool"]


def _(message: str) -> str:
    """The message in the request's language on the server (German pages show the registry's
    refusals in German; the API and the seed protocol are answered in English); unchanged where
    Django is not set up, as in the worker, which checks parameters with this registry too."""
    from django.apps import apps

    if not apps.ready:
        return message
    from django.utils.translation import gettext

    return gettext(message)


TASKS = ("classification", "clustering", "regression")
# The tasks' names as the web shows them (translated there with gettext).
TASK_NAMES = (
    gettext_noop("classification"),
    gettext_noop("clustering"),
    gettext_noop("regression"),
)


@dataclass(frozen=True)
class Param:
    """One typed hyper-parameter. ``nullable`` admits ``None`` (e.g. an unlimited depth)."""

    name: str
    kind: ParamKind
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False
    # What an empty value means to the estimator (shown in the form and on the job page).
    empty: str = "none"
    # The name shown to people, when the key (kept for old jobs) is not scikit-learn's name.
    label: str = ""
    # At most one per training point: scikit-learn refuses more (neighbours, clusters, ...).
    per_training_point: bool = False

    @property
    def shown_name(self) -> str:
        return self.label or self.name

    def upper_bound(self, training_points: int | None = None) -> float | None:
        """The largest value the round's data allows (``maximum`` without a dataset)."""
        if not self.per_training_point or training_points is None:
            return self.maximum
        if self.maximum is None:
            return training_points
        return min(self.maximum, training_points)

    def shown_value(self, value: Any) -> str:
        """A stored value as the job page shows it: an empty one says what it means."""
        return _(self.empty) if value is None else str(value)

    def schema(self) -> dict[str, Any]:
        described: dict[str, Any] = {"name": self.name, "type": self.kind, "default": self.default}
        if self.label:
            described["label"] = self.label
        if self.help:
            described["help"] = self.help
        if self.minimum is not None:
            described["minimum"] = self.minimum
        if self.maximum is not None:
            described["maximum"] = self.maximum
        if self.choices:
            described["choices"] = list(self.choices)
        if self.nullable:
            described["nullable"] = True
            described["empty"] = self.empty
        if self.per_training_point:
            described["at_most_training_points"] = True
        return described

    def coerce(self, raw: Any) -> Any:
        """The value as this parameter's type, or ValueError saying what is wrong."""
        if self.nullable and (
            raw is None or (isinstance(raw, str) and raw.strip().lower() in {"", "none", "null"})
        ):
            return None
        if raw is None:
            raise ValueError(_("a value is required"))
        if self.kind == "bool":
            return _as_bool(raw)
        if self.kind == "choice":
            value = str(raw)
            if value not in self.choices:
                raise ValueError(
                    _("must be one of %(choices)s") % {"choices": ", ".join(self.choices)}
                )
            return value
        number = _as_int(raw) if self.kind == "int" else _as_float(raw)
        if self.minimum is not None and number < self.minimum:
            raise ValueError(_("must be at least %(bound)s") % {"bound": _show(self.minimum)})
        if self.maximum is not None and number > self.maximum:
            raise ValueError(_("must be at most %(bound)s") % {"bound": _show(self.maximum)})
        return number


def _show(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _as_bool(raw: Any) -> bool:
    try:
        return parse_bool(raw)
    except ValueError:
        # The one parser's spellings, with the refusal in the page's language.
        raise ValueError(_("must be true or false")) from None


def _as_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(_("must be a whole number"))
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise ValueError(_("must be a whole number"))
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValueError(_("must be a whole number")) from None


def _as_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError(_("must be a number"))
    try:
        number = float(raw) if isinstance(raw, int | float) else float(str(raw).strip())
    except ValueError:
        raise ValueError(_("must be a number")) from None
    if not math.isfinite(number):
        raise ValueError(_("must be a finite number"))
    return number


Builder = Callable[[dict[str, Any]], Any]

# The parameter that holds a job's preprocessing steps (``algorithms.steps``): every algorithm
# takes it; a job without steps stores none, so old jobs keep their shape.
STEPS_PARAM = "steps"


@dataclass(frozen=True)
class DataShape:
    """What a round's data allows: the training points a job is fitted on and the features."""

    training_points: int
    features: int | None = None


@dataclass(frozen=True)
class Algorithm:
    name: str
    label: str
    task: str
    params: tuple[Param, ...]
    build: Builder = field(repr=False, compare=False)
    help: str = ""
    # Clustering algorithms without predict() label new points by their nearest training point.
    predicts_new_points: bool = True
    # Parameters no longer offered (they changed nothing) that old jobs still carry: accepted
    # and dropped, so that those jobs run and new ones from old scripts are not refused.
    retired: tuple[str, ...] = ()

    def param(self, name: str) -> Param:
        for candidate in self.params:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    def shown_params(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """A stored job's parameters as people read them: scikit-learn's names, what an empty
        value means, and a retired parameter (of an old job) marked as changing nothing."""
        known = {param.name: param for param in self.params}
        shown: list[tuple[str, str]] = []
        for name, value in params.items():
            param = known.get(name)
            if name == STEPS_PARAM:
                from mlcontest.algorithms.steps import shown_steps

                shown.append((name, shown_steps(value)))
            elif param is not None:
                shown.append((param.shown_name, param.shown_value(value)))
            elif name in self.retired:
                shown.append(
                    (
                        name,
                        _("%(value)s (changes nothing for %(algorithm)s)")
                        % {"value": value, "algorithm": _(self.label)},
                    )
                )
            else:
                shown.append((name, _("none") if value is None else str(value)))
        return shown

    def defaults(self) -> dict[str, Any]:
        return {param.name: param.default for param in self.params}

    def schema(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "task": self.task,
            "help": self.help,
            "params": [param.schema() for param in self.params],
        }


class ParameterError(ValueError):
    """Bad parameters, one message per offending field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in errors.items()))
        self.errors = errors


def validate_params(
    algorithm: Algorithm,
    raw: Mapping[str, Any],
    training_points: int | DataShape | None = None,
) -> dict[str, Any]:
    """Complete ``raw`` with defaults and coerce each value; refuse unknown names, drop retired
    ones. With ``training_points`` (a number, or the round's ``DataShape``), also refuse a
    value the data cannot allow, which scikit-learn would refuse only when the job runs.
    ``steps`` (preprocessing before the model) is checked by ``algorithms.steps`` and kept
    only when there are some."""
    shape = DataShape(training_points) if isinstance(training_points, int) else training_points
    points = None if shape is None else shape.training_points
    errors: dict[str, str] = {}
    known = {param.name for param in algorithm.params} | {STEPS_PARAM}
    for name in raw:
        if name not in known and name not in algorithm.retired:
            errors[name] = _("unknown parameter of %(algorithm)s") % {"algorithm": algorithm.name}
    clean: dict[str, Any] = {}
    for param in algorithm.params:
        if param.name not in raw:
            clean[param.name] = param.default
            continue
        try:
            clean[param.name] = param.coerce(raw[param.name])
        except ValueError as error:
            errors[param.name] = str(error)
            continue
        if param.per_training_point and points is not None:
            value = clean[param.name]
            if value is not None and value > points:
                errors[param.name] = _(
                    "must be at most %(n)s: this round's dataset has %(n)s training points"
                ) % {"n": points}
    if STEPS_PARAM in raw:
        from mlcontest.algorithms.steps import validate_steps

        try:
            steps = validate_steps(raw[STEPS_PARAM], algorithm.task, shape)
        except ValueError as error:
            errors[STEPS_PARAM] = str(error)
        else:
            if steps:
                clean[STEPS_PARAM] = steps
    if errors:
        raise ParameterError(errors)
    return clean


REGISTRY: dict[str, Algorithm] = {}


def register(algorithm: Algorithm) -> Algorithm:
    if algorithm.name in REGISTRY:
        raise ValueError(f"algorithm {algorithm.name!r} is registered twice")
    if algorithm.task not in TASKS:
        raise ValueError(f"unknown task {algorithm.task!r}")
    REGISTRY[algorithm.name] = algorithm
    return algorithm


def get_algorithm(name: str) -> Algorithm:
    """The registered algorithm, or KeyError."""
    return REGISTRY[name]


def algorithms_for(task: str) -> list[Algorithm]:
    return [algorithm for algorithm in REGISTRY.values() if algorithm.task == task]
