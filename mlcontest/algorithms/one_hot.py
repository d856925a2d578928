"""The one-hot step's transformer (scikit-learn is imported here, not where steps are checked:
the server validates a job's steps without importing scikit-learn)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class OneHotFew(TransformerMixin, BaseEstimator):
    """One-hot encodes the features with at most ``max_values`` distinct training values (the
    ones that look like categories: a CSV's codes 1, 2, 3); the other features pass as they are.

    A ColumnTransformer whose columns are chosen at fit time, from the training points; a value
    never seen in training becomes all zeros. The tests compare it with scikit-learn's
    ColumnTransformer and OneHotEncoder called directly on the same columns."""

    def __init__(self, max_values: int = 10) -> None:
        self.max_values = max_values

    def fit(self, X: np.ndarray, y: Any = None) -> OneHotFew:
        from sklearn.compose import ColumnTransformer
        from sklearn.preprocessing import OneHotEncoder

        self.columns_ = categorical_columns(X, self.max_values)
        self.encoder_ = ColumnTransformer(
            [
                (
                    "one_hot",
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    self.columns_,
                )
            ],
            remainder="passthrough",
        ).fit(X)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.encoder_.transform(X), dtype=float)


def categorical_columns(X: np.ndarray, max_values: int) -> list[int]:
    """The columns of ``X`` with at most ``max_values`` distinct values."""
    return [column for column in range(X.shape[1]) if len(np.unique(X[:, column])) <= max_values]
