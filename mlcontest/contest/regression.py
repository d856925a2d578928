"""What regression changes in the contest's rules, in one place: a label is a number (stored as
text, as every label is, so the seed protocol carries it unchanged), a posted prediction is a
finite number, a regression round needs a dataset whose labels are all numbers, and a split of
numeric labels is stratified by ranges of the label rather than by its (all different) values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcontest.contest.models import Dataset

# Splits of a numeric target are stratified by this many ranges of equal counts, so that the
# test and validation splits span the label's range as the training split does.
SPLIT_BINS = 10
# More distinct numeric labels than this is a numeric target, not a list of class codes: the
# split stratifies by ranges (a class needs several points to land in every split).
MAX_CODES = 20


def regression_labels(posted: list[Any]) -> list[str]:
    """Posted predictions as stored labels (``repr`` of the float), or ValueError naming the
    first one that is not a finite number."""
    # A worker posts floats: those are checked and written at C speed (2,000 of them in 1.3 ms
    # instead of 3.8); anything else (ints, text) goes through the checks one by one.
    if set(map(type, posted)) <= {float} and all(map(math.isfinite, posted)):
        return list(map(float.__repr__, posted))
    clean: list[str] = []
    for index, label in enumerate(posted):
        try:
            if isinstance(label, bool) or label is None or isinstance(label, dict | list):
                raise ValueError
            number = float(label)
        except (TypeError, ValueError):
            raise ValueError(f"label {index + 1}: {label!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"label {index + 1}: {label!r} is not a finite number")
        clean.append(repr(number))
    return clean


def is_number(label: str) -> bool:
    try:
        return math.isfinite(float(label))
    except ValueError:
        return False


def numeric_target(labels: Sequence[str]) -> bool:
    """Whether the labels are a numeric target (every one a number, too many distinct values to
    be class codes), whose split is stratified by ranges."""
    return len(set(labels)) > MAX_CODES and all(map(is_number, labels))


def label_ranges(labels: Sequence[str], bins: int = SPLIT_BINS) -> list[str]:
    """Each label replaced by the name of its range (``r0`` lowest .. ``r9``): ranges of equal
    counts by rank, so that a stratified split by range spreads every split over the target."""
    order = sorted(range(len(labels)), key=lambda index: (float(labels[index]), index))
    ranges = [""] * len(labels)
    for rank, index in enumerate(order):
        ranges[index] = f"r{rank * bins // len(labels)}"
    return ranges


def metric_fits_labels(metric: str, labels: Sequence[str]) -> str:
    """What keeps a round with this metric off a dataset with these labels ("" if nothing): a
    regression metric needs numbers; a classification metric cannot rank a numeric target
    (every value a class of its own)."""
    from django.utils.translation import gettext

    from mlcontest.algorithms import METRICS

    known = METRICS.get(metric)
    if known is None or not labels:
        return ""
    if known.task == "regression":
        wrong = [label for label in labels if not is_number(label)]
        if wrong:
            return gettext(
                "a regression metric needs a dataset whose labels are numbers; this one has "
                "labels such as %(label)s"
            ) % {"label": repr(wrong[0])}
    elif known.task == "classification" and numeric_target(labels):
        return gettext(
            "this dataset's label is a number with %(n)s different values: use a regression "
            "metric (R², MAE or RMSE)"
        ) % {"n": len(set(labels))}
    return ""


def dataset_labels(dataset: Dataset) -> list[str]:
    """The dataset's distinct labels, for the server's own checks: its class list, or, for a
    numeric label (whose class list stays empty, see ``datasets.store_dataset``), the values."""
    if dataset.class_labels:
        return list(dataset.class_labels)
    from mlcontest.contest.dataset_store import labels_of_version

    return sorted(set(labels_of_version(dataset.pk, dataset.version)[1]))
