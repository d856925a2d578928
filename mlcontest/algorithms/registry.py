"""The one algorithm registry: names, typed parameter schemas, task types and builders.

The server validates submitted parameters with it, the web forms are generated from it and
the worker builds its scikit-learn estimators from it, so a parameter exists in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Param and DataShape live in params (the steps use them too); imported from here as before.
from mlcontest.algorithms.params import DataShape as DataShape
from mlcontest.algorithms.params import Param as Param
from mlcontest.algorithms.params import ParamKind as ParamKind
from mlcontest.algorithms.params import _
from mlcontest.algorithms.steps import shown_steps, validate_steps
from mlcontest.core.marks import gettext_noop

TASKS = ("classification", "clustering", "regression")
# The tasks' names as the web shows them (translated there with gettext).
TASK_NAMES = (
    gettext_noop("classification"),
    gettext_noop("clustering"),
    gettext_noop("regression"),
)


Builder = Callable[[dict[str, Any]], Any]

# The parameter that holds a job's preprocessing steps (``algorithms.steps``): every algorithm
# takes it; a job without steps stores none, so old jobs keep their shape.
STEPS_PARAM = "steps"


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
