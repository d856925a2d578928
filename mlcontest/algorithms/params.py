"""A typed hyper-parameter (``Param``) and what a round's data allows (``DataShape``): shared by
the algorithm registry and the preprocessing steps, which both describe their parameters so."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from mlcontest.core.booleans import parse_bool

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


@dataclass(frozen=True)
class DataShape:
    """What a round's data allows: the training points a job is fitted on and the features."""

    training_points: int
    features: int | None = None
