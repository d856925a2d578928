"""The refusals of a CSV file's header and cells, in one wording for the line-by-line reader
(``dataset_sources.from_csv``) and the streaming one that finds a big file's fault
(``csv_faults``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.translation import gettext

from mlcontest.contest.datasets import RESERVED_NAMES, SPLITS
from mlcontest.contest.errors import InvalidInput


def check_header(header: list[str]) -> None:
    for number, name in enumerate(header, start=1):
        if not name:
            raise InvalidInput(
                gettext("Column %(n)s of the header has no name.") % {"n": number},
                fields={"file": "unnamed column"},
            )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InvalidInput(
                gettext("Column %(name)s appears twice in the header.") % {"name": repr(name)},
                fields={name: "duplicate"},
            )
        seen.add(name)


def number(cell: str, line: int, column: str) -> float:
    if not cell.strip():
        return math.nan  # a missing value: each job fills it in
    try:
        value = float(cell)
    except ValueError:
        shown = repr(cell.strip()) if cell.strip() else gettext("an empty value")
        if "," in cell:
            text = gettext(
                "Line %(line)s, column %(column)s: %(value)s is not a number (use a point as "
                "the decimal mark)."
            )
        else:
            text = gettext("Line %(line)s, column %(column)s: %(value)s is not a number.")
        raise InvalidInput(
            text % {"line": line, "column": repr(column), "value": shown},
            fields={column: f"line {line}: not a number"},
        ) from None
    if not math.isfinite(value):
        raise InvalidInput(
            gettext("Line %(line)s, column %(column)s: %(value)s is not a finite number.")
            % {"line": line, "column": repr(column), "value": repr(cell.strip())},
            fields={column: f"line {line}: not finite"},
        )
    return value


def split_value(cell: str, line: int, column: str) -> str:
    value = cell.strip().lower()
    if value not in SPLITS:
        raise InvalidInput(
            gettext("Line %(line)s, column %(column)s: unknown split %(value)s (use %(splits)s).")
            % {
                "line": line,
                "column": repr(column),
                "value": repr(cell.strip()),
                "splits": ", ".join(SPLITS),
            },
            fields={column: f"line {line}: unknown split"},
        )
    return value


def check_features(chosen: list[str], label_column: str) -> None:
    """The feature columns a file's header gave: none reserved, not the label, at least one."""
    for name in chosen:
        if name in RESERVED_NAMES:
            raise InvalidInput(
                gettext(
                    "Column %(name)s cannot be a feature: id, split and label are reserved names."
                )
                % {"name": repr(name)},
                fields={name: "reserved name"},
            )
        if name == label_column:
            raise InvalidInput(
                gettext("Column %(name)s is the label column and cannot be a feature too.")
                % {"name": repr(name)},
                fields={name: "is the label"},
            )
    if not chosen:
        raise InvalidInput(
            gettext("The CSV file has no numeric feature column."),
            fields={"feature_columns": "none"},
        )


def named_features(feature_columns: Sequence[str], header: Sequence[str]) -> list[str]:
    """The feature columns an organizer named, each one of the header's."""
    chosen = list(feature_columns)
    missing = [name for name in chosen if name not in header]
    if missing:
        raise InvalidInput(
            gettext("No column %(column)s: the columns are %(columns)s.")
            % {"column": repr(missing[0]), "columns": ", ".join(header)},
            fields={"feature_columns": f"unknown: {', '.join(missing)}"},
        )
    return chosen
