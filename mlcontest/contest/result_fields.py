"""Reading what a worker posts as a job's result: the seed's form fields (JSON lists and objects,
``True``/``False``, the string ``None``) parsed and type-checked into a :class:`ResultPayload`.
Checking it against the dataset and storing it is ``contest.results``'s job."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from mlcontest.algorithms import METRICS
from mlcontest.contest.dataset_choices import MAX_POINTS
from mlcontest.contest.datasets import SPLITS
from mlcontest.contest.diagnostics import parse_diagnostics
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.inputs import bad_text, loads_json
from mlcontest.core.booleans import parse_bool


@dataclass
class ResultPayload:
    """A worker's result, parsed and type-checked but not yet checked against the dataset."""

    success: bool
    score_test: float | None
    score_validation: float | None
    labels_training: list[Any] | None
    labels_test: list[Any] | None
    labels_validation: list[Any] | None
    extra_scores_test: dict[str, float] | None
    extra_scores_validation: dict[str, float] | None
    message: str
    timings: dict[str, float] | None = None
    diagnostics: dict[str, float] | None = None

    def digest(self) -> str:
        """What tells the same result posted again from another one."""
        # vars(), not asdict(): asdict deep-copies the label lists, 6 ms a post on 2,000 points.
        # The labels go in joined, not as JSON: encoding 2,000 of them took longer than all the
        # rest of the digest.
        fields = vars(self)
        rest = {name: value for name, value in fields.items() if not name.startswith("labels_")}
        digest = hashlib.sha256(json.dumps(rest, sort_keys=True).encode())
        for split in SPLITS:
            digest.update(f"\x1e{_joined(fields[f'labels_{split}'])}".encode())
        return digest.hexdigest()


def _joined(labels: list[Any] | None) -> str:
    if labels is None:
        return "-"
    try:
        text = "\x1f".join(labels)  # class names: strings already, joined at C speed
    except TypeError:
        text = "\x1f".join(map(str, labels))
    return f"{len(labels)}:{text}"


def _is_none(raw: Any) -> bool:
    # The seed's urlencode turns Python's None into the string "None".
    return raw is None or (isinstance(raw, str) and raw.strip() in {"", "None", "null"})


# Bounds of what a worker may post: the server knows every metric and step name, so anything
# else is a mistake or an attack, and every list is at most one label per point.
MAX_EXTRA_SCORES = len(METRICS)
TIMING_STEPS = frozenset({"load", "fit", "predict", "score", "pictures", "worker_total"})
MAX_TIMING_SECONDS = 7 * 24 * 3600.0
MAX_MESSAGE_LENGTH = 10_000


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("must be a number")
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a 400-digit integer
        raise ValueError("must be a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number, not NaN or infinity")
    return value


def _parse_score(raw: Any) -> float | None:
    if _is_none(raw):
        return None
    value = _number(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0 and 1")
    return value


def _parse_unbounded_score(raw: Any) -> float | None:
    # A regression round's score: an error (MAE, RMSE) has no upper bound and R² none below.
    return None if _is_none(raw) else _number(raw)


def _parse_json(raw: Any, kind: type) -> Any:
    if _is_none(raw):
        return None
    value = loads_json(raw) if isinstance(raw, str | bytes) else raw
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"must be a JSON {'list' if kind is list else 'object'}")
    return value


def _parse_labels(raw: Any) -> list[Any] | None:
    value = _parse_json(raw, list)
    if value is not None and len(value) > MAX_POINTS:
        raise ValueError(f"has more than {MAX_POINTS} labels")
    return value


def _parse_named_numbers(
    raw: Any, names: Collection[str], low: float, high: float
) -> dict[str, float] | None:
    """A flat JSON object of known names to numbers in [low, high]."""
    value = _parse_json(raw, dict)
    if value is None:
        return None
    if len(value) > len(names):
        raise ValueError(f"has {len(value)} entries; at most {len(names)}")
    clean: dict[str, float] = {}
    for name, number in value.items():
        if name not in names:
            raise ValueError(f"{str(name)[:64]!r} is not one of {', '.join(sorted(names))}")
        try:
            clean[name] = _number(number)
        except ValueError as error:
            raise ValueError(f"{name!r} {error}") from None
        if not low <= clean[name] <= high:
            raise ValueError(f"{name!r} must be between {low:g} and {high:g}")
    return clean


def _parse_extra_scores(raw: Any) -> dict[str, float] | None:
    return _parse_named_numbers(raw, METRICS, 0.0, 1.0)


def _parse_unbounded_extra_scores(raw: Any) -> dict[str, float] | None:
    # A regression round's extra scores (MAE, RMSE, R²): finite, without bounds.
    return _parse_named_numbers(raw, METRICS, -math.inf, math.inf)


def _parse_timings(raw: Any) -> dict[str, float] | None:
    return _parse_named_numbers(raw, TIMING_STEPS, 0.0, MAX_TIMING_SECONDS)


def _parse_success(raw: Any) -> bool:
    # No default: a missing or null success must not pass for one.
    return parse_bool(raw)


def parse_result(fields: Mapping[str, Any], metric: str = "") -> ResultPayload:
    """Read ``update_job_details`` fields as the seed encodes them; every bad field is named.
    The job's ``metric`` decides the scores' range: [0, 1], or any number for regression."""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    known = METRICS.get(metric)
    regression = known is not None and known.task == "regression"
    score = _parse_unbounded_score if regression else _parse_score
    extra = _parse_unbounded_extra_scores if regression else _parse_extra_scores
    parsers: dict[str, Any] = {
        "success": _parse_success,
        "score_test": score,
        "score_validation": score,
        "labels_training": _parse_labels,
        "labels_test": _parse_labels,
        "labels_validation": _parse_labels,
        "extra_scores_test": extra,
        "extra_scores_validation": extra,
        "timings": _parse_timings,  # our worker's seconds per step; the seed sends none
        # the CV score on the training split, in the round's metric
        "diagnostics": lambda raw: parse_diagnostics(raw, regression),
    }
    for name, parser in parsers.items():
        try:
            parsed[name] = parser(fields.get(name))
        except ValueError as error:
            errors[name] = str(error)
    message = fields.get("message")
    parsed["message"] = "" if _is_none(message) else str(message)[:MAX_MESSAGE_LENGTH]
    if bad_text(parsed["message"]):
        errors["message"] = "contains a NUL character or a lone surrogate"
    if errors:
        raise InvalidInput("The result is not valid.", fields=errors)
    return ResultPayload(**parsed)
