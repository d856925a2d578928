"""The pictures of a regression job, from the training split only (the worker has no other
labels): predicted against true by cross-validation (a fresh copy of the job's model fitted on
each fold's rest predicts the fold, so the picture shows how the model does on points it has
not seen, as the test score will), and the residuals of those same predictions.
"""

from __future__ import annotations

import numpy as np

from mlcontest.worker.pictures import CV_FOLDS, CV_MAX_POINTS, _new_figure, subsample, to_png
from mlcontest.worker.run import ContestModel, PreparedData


def cross_validated(model: ContestModel, data: PreparedData) -> tuple[np.ndarray, np.ndarray, int]:
    """True and cross-validated predicted labels of (a subsample of) the training points, and
    the number of folds; ValueError when the split is too small to fold."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold, cross_val_predict

    shown = subsample(data.count("training"), CV_MAX_POINTS)
    X = data.X["training"][shown]
    y = np.array([float(data.y["training"][i] or 0.0) for i in shown])
    folds = min(CV_FOLDS, len(y))
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 training points")
    cv = KFold(n_splits=folds, shuffle=True, random_state=0)
    predicted = np.asarray(cross_val_predict(clone(model), X, y, cv=cv), dtype=float)
    return y, predicted, folds


def predicted_vs_true(truth: np.ndarray, predicted: np.ndarray, folds: int) -> bytes:
    figure, axes = _new_figure(f"Predicted against true ({folds}-fold cross-validation, training)")
    low = float(min(truth.min(), predicted.min()))
    high = float(max(truth.max(), predicted.max()))
    axes.plot([low, high], [low, high], color="#888888", linewidth=1, label="perfect")
    axes.scatter(truth, predicted, s=12, color="#1f77b4", edgecolors="white", linewidths=0.3)
    axes.set_xlabel("true label (training point)", fontsize=9)
    axes.set_ylabel("predicted label", fontsize=9)
    axes.legend(fontsize=7, loc="upper left")
    return to_png(figure)


def residuals(truth: np.ndarray, predicted: np.ndarray, folds: int) -> bytes:
    figure, axes = _new_figure(f"Residuals ({folds}-fold cross-validation, training)")
    axes.axhline(0.0, color="#888888", linewidth=1)
    axes.scatter(
        predicted, truth - predicted, s=12, color="#d62728", edgecolors="white", linewidths=0.3
    )
    axes.set_xlabel("predicted label", fontsize=9)
    axes.set_ylabel("true - predicted", fontsize=9)
    return to_png(figure)


def regression_pictures(
    model: ContestModel, data: PreparedData
) -> tuple[list[tuple[str, bytes]], str]:
    """The two pictures, or none and what went wrong (a model that fails on a fold)."""
    try:
        truth, predicted, folds = cross_validated(model, data)
    except MemoryError:
        raise
    except Exception as error:
        return [], f"regression pictures skipped: {type(error).__name__}: {error}"[:300]
    return [
        ("predicted.png", predicted_vs_true(truth, predicted, folds)),
        ("residuals.png", residuals(truth, predicted, folds)),
    ], ""
