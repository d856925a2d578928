"""The one algorithm registry: names, typed parameter schemas, task types and builders.

The server validates submitted parameters with it, the web forms are generated from it and
the worker builds its scikit-learn estimators from it, so a parameter exists in one place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ParamKind = Literal["int", "float", "choice", "bool"]
TASKS = ("classification", "clustering")


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

    def schema(self) -> dict[str, Any]:
        described: dict[str, Any] = {"name": self.name, "type": self.kind, "default": self.default}
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
        return described

    def coerce(self, raw: Any) -> Any:
        """The value as this parameter's type, or ValueError saying what is wrong."""
        if self.nullable and (
            raw is None or (isinstance(raw, str) and raw.strip().lower() in {"", "none", "null"})
        ):
            return None
        if raw is None:
            raise ValueError("a value is required")
        if self.kind == "bool":
            return _as_bool(raw)
        if self.kind == "choice":
            value = str(raw)
            if value not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)}")
            return value
        number = _as_int(raw) if self.kind == "int" else _as_float(raw)
        if self.minimum is not None and number < self.minimum:
            raise ValueError(f"must be at least {_show(self.minimum)}")
        if self.maximum is not None and number > self.maximum:
            raise ValueError(f"must be at most {_show(self.maximum)}")
        return number


def _show(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _as_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _as_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("must be a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise ValueError("must be a whole number")
    try:
        return int(str(raw).strip())
    except ValueError:
        raise ValueError("must be a whole number") from None


def _as_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("must be a number")
    try:
        number = float(raw) if isinstance(raw, int | float) else float(str(raw).strip())
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


Builder = Callable[[dict[str, Any]], Any]


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

    def param(self, name: str) -> Param:
        for candidate in self.params:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

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


def validate_params(algorithm: Algorithm, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Complete ``raw`` with defaults and coerce each value; refuse unknown names."""
    errors: dict[str, str] = {}
    known = {param.name for param in algorithm.params}
    for name in raw:
        if name not in known:
            errors[name] = f"unknown parameter of {algorithm.name}"
    clean: dict[str, Any] = {}
    for param in algorithm.params:
        if param.name not in raw:
            clean[param.name] = param.default
            continue
        try:
            clean[param.name] = param.coerce(raw[param.name])
        except ValueError as error:
            errors[param.name] = str(error)
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
