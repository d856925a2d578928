"""Text columns of a CSV file as features: one 0/1 column per value (one-hot).

A column is text when none of its cells is a number. Each of its values becomes a feature named
``<column>=<value>`` (sorted by value); an empty cell is 0 in all of them. Past
``MAX_CATEGORIES`` values a column is no category but free text (names, ticket numbers): left
out when the features are chosen automatically, refused when the organizer asked for it.

This is the dataset's raw preparation at import; a one-hot step a student picks for a job
belongs to the job's pipeline (the algorithm registry), not here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.utils.translation import gettext

from mlcontest.contest.errors import InvalidInput

MAX_CATEGORIES = 30


def too_many(column: str, count: int) -> InvalidInput:
    return InvalidInput(
        gettext(
            "Column %(column)s holds text with %(n)s different values; a text column can be "
            "a feature with at most %(max)s (one 0/1 feature per value). Leave it out of the "
            "features."
        )
        % {"column": repr(column), "n": count, "max": MAX_CATEGORIES},
        fields={column: f"{count} different values, at most {MAX_CATEGORIES}"},
    )


def is_category(found: Sequence[str], points: int) -> bool:
    """Text worth one-hot features when chosen automatically: few values, and values that
    repeat (a column of names or ticket numbers, nearly all different, is left out)."""
    return 0 < len(found) <= MAX_CATEGORIES and 2 * len(found) <= points


def categories_of(values: Sequence[str | None]) -> list[str]:
    return sorted({value for value in values if value})


def feature_names(column: str, categories: Sequence[str]) -> list[str]:
    return [f"{column}={category}" for category in categories]


def one_hot(values: Sequence[str | None], categories: Sequence[str]) -> np.ndarray:
    """A (points x categories) matrix of 0.0 and 1.0."""
    index = {category: number for number, category in enumerate(categories)}
    matrix = np.zeros((len(values), len(categories)), dtype=np.float64)
    for row, value in enumerate(values):
        if value in index:
            matrix[row, index[value]] = 1.0
    return matrix
