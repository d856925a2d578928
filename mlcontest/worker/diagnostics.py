"""Honest diagnostics of a job, computed on the training split only (issue 15, item 3).

A round whose organizer switches them on (``Round.diagnostics``) asks its jobs for more than
the public test score: a k-fold cross-validation score of the job's model on the training
points (posted with the result, shown as "CV 0.91 / test 0.94"), and pictures that teach
not to overfit the public board: a learning curve, a validation curve of the algorithm's main
parameter, feature importances, a small tree's diagram, the MLP's loss curve, ROC and
precision-recall curves for two classes, and the silhouette of a clustering.

Everything here sees what the worker has: the training labels and the job's own model. The
hidden labels never reach a worker (``run.prepare`` drops them), so nothing here can leak one.

Cost: every diagnostic refits the model several times. Each one first estimates its cost from
the job's own fit time and runs only if that fits in what is left of the job's time budget
(``Budget``), so that a diagnostic never makes a job go over its time limit; what was skipped
is said in the job's message.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlcontest.worker.pictures import _new_figure, colour, subsample, to_png
from mlcontest.worker.run import ContestModel, PreparedData

FOLDS = 5
CV_MAX_POINTS = 2000
CURVE_MAX_POINTS = 1000  # learning and validation curves refit many times: a smaller sample
CURVE_FOLDS = 3
TREE_MAX_DEPTH = 4  # deeper trees do not fit in a readable picture
# The share of the job's time limit diagnostics may use, counted from the job's start.
TIME_SHARE = 0.8
# Seconds for the diagnostic pictures, after the usual ones: the worker waits 30 s for all the
# pictures of a job (``posting.PICTURE_SECONDS``).
PICTURE_BUDGET = 20.0
# The parameter each algorithm's validation curve varies, and on what scale.
CURVE_PARAMETERS: dict[str, tuple[str, str]] = {
    "knn": ("n_neighbors", "int"),
    "svm": ("C", "log"),
    "decision_tree": ("max_depth", "int"),
    "random_forest": ("max_depth", "int"),
    "gradient_boosting": ("learning_rate", "log"),
    "logistic_regression": ("C", "log"),
    "naive_bayes": ("var_smoothing", "log"),
    "mlp": ("alpha", "log"),
    "ridge": ("alpha", "log"),
    "lasso": ("alpha", "log"),
    "knn_regressor": ("n_neighbors", "int"),
    "decision_tree_regressor": ("max_depth", "int"),
    "random_forest_regressor": ("max_depth", "int"),
    "gradient_boosting_regressor": ("learning_rate", "log"),
    "svr": ("C", "log"),
    "mlp_regressor": ("alpha", "log"),
}


@dataclass
class Budget:
    """What is left of the job's time for diagnostics."""

    deadline: float  # time.monotonic()
    fit_seconds: float  # the job's own fit: the unit every estimate counts in

    @classmethod
    def for_job(cls, started: float, time_limit: float, fit_seconds: float) -> Budget:
        return cls(started + TIME_SHARE * time_limit, max(fit_seconds, 0.001))

    def allows(self, fits: float) -> bool:
        """Whether ``fits`` more fits of the model (with a margin) end before the deadline."""
        return time.monotonic() + 1.5 * fits * self.fit_seconds <= self.deadline


def _training(data: PreparedData, limit: int) -> tuple[np.ndarray, np.ndarray]:
    shown = subsample(data.count("training"), limit)
    X = data.X["training"][shown]
    y = np.array([str(data.y["training"][i]) for i in shown])
    return X, y


def _folds(y: np.ndarray, wanted: int, task: str) -> int:
    """Folds the training labels allow: stratified for classes (0: none, a class has one point
    only); plain for a numeric target (0: fewer than 4 points)."""
    if task == "regression":
        folds = min(wanted, len(y) // 2)
        return folds if folds >= 2 else 0
    counts = Counter(y.tolist())
    if len(counts) < 2:
        return 0
    folds = min(wanted, min(counts.values()))
    return folds if folds >= 2 else 0


def _cv(folds: int, task: str) -> Any:
    from sklearn.model_selection import KFold, StratifiedKFold

    if task == "regression":
        return KFold(n_splits=folds, shuffle=True, random_state=0)
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)


# scikit-learn's scorers are higher-is-better: an error is scored negated, and shown as it is.
ERROR_SCORERS = {"mae": "neg_mean_absolute_error", "rmse": "neg_root_mean_squared_error"}


def _scoring(metric: str) -> tuple[str, float]:
    """scikit-learn's name for the round's metric, and the sign that turns its scores back."""
    if metric in ERROR_SCORERS:
        return ERROR_SCORERS[metric], -1.0
    return metric, 1.0


def cv_scores(
    model: ContestModel, data: PreparedData, metric: str, budget: Budget
) -> tuple[dict[str, float] | None, str]:
    """The diagnostics posted with the result (``cv_score``, ``cv_std``, ``cv_folds`` for
    classification; ``silhouette`` for clustering), and what was skipped ("" if nothing)."""
    if model.task_ == "clustering":
        return _silhouette_score(model, data)
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    X, y = _training(data, CV_MAX_POINTS)
    folds = _folds(y, FOLDS, model.task_)
    if not folds:
        return None, "cross-validation skipped: too few training points for 2 folds"
    if not budget.allows(folds):
        return None, "cross-validation skipped: it would not fit in the time limit"
    scorer, sign = _scoring(metric)
    with warnings.catch_warnings():  # the refits' warnings are the job's own, said once
        warnings.simplefilter("ignore")
        scores = sign * cross_val_score(
            clone(model), X, y, cv=_cv(folds, model.task_), scoring=scorer
        )
    return {
        "cv_score": float(np.mean(scores)),
        "cv_std": float(np.std(scores)),
        "cv_folds": float(folds),
    }, ""


def _silhouette_score(
    model: ContestModel, data: PreparedData
) -> tuple[dict[str, float] | None, str]:
    from sklearn.metrics import silhouette_score

    labels = np.asarray(model.training_labels_)
    found = len(set(labels.tolist()))
    if not 2 <= found < len(labels):
        return None, "silhouette skipped: it needs at least 2 clusters and fewer than the points"
    X = model.transform(data.X["training"])
    size = min(len(labels), CV_MAX_POINTS)
    return {"silhouette": float(silhouette_score(X, labels, sample_size=size, random_state=0))}, ""


# Pictures ----------------------------------------------------------------------------------


def learning_curve_picture(
    model: ContestModel, data: PreparedData, metric: str, budget: Budget
) -> bytes | None:
    from sklearn.base import clone
    from sklearn.model_selection import learning_curve

    X, y = _training(data, CURVE_MAX_POINTS)
    folds = _folds(y, CURVE_FOLDS, model.task_)
    sizes = np.linspace(0.3, 1.0, 5)
    if not folds or not budget.allows(folds * len(sizes)):
        return None
    scorer, sign = _scoring(metric)
    counts, train, test = learning_curve(
        clone(model),
        X,
        y,
        train_sizes=sizes,
        cv=_cv(folds, model.task_),
        scoring=scorer,
        shuffle=True,
        random_state=0,
    )
    train, test = sign * train, sign * test
    figure, axes = _new_figure(f"Learning curve ({folds}-fold cross-validation, training)")
    _band(axes, counts, train, colour(0), "score on the points it learned from")
    _band(axes, counts, test, colour(1), "cross-validation score")
    axes.set_xlabel("training points used", fontsize=9)
    axes.set_ylabel(metric, fontsize=9)
    axes.legend(fontsize=8, loc="lower right")
    return to_png(figure)


def _band(axes: Any, x: Any, scores: np.ndarray, shade: str, label: str) -> None:
    mean, std = scores.mean(axis=1), scores.std(axis=1)
    axes.plot(x, mean, "o-", color=shade, label=label, markersize=4)
    axes.fill_between(x, mean - std, mean + std, color=shade, alpha=0.15)


def curve_values(model: ContestModel) -> tuple[str, list[Any]] | None:
    """The parameter the validation curve varies, and its values: around the job's own
    value, inside the registry's range."""
    from mlcontest.algorithms import get_algorithm

    chosen = CURVE_PARAMETERS.get(model.algorithm)
    if chosen is None:
        return None
    name, scale = chosen
    spec = next(param for param in get_algorithm(model.algorithm).params if param.name == name)
    value = model.params_.get(name)
    low = spec.minimum if spec.minimum is not None else 0.0
    high = spec.maximum if spec.maximum is not None else 1e6
    values: list[Any]
    if scale == "int":
        centre = int(value) if value is not None else 5
        values = sorted({max(int(low), min(int(high), v)) for v in _spread(centre)})
    else:
        centre_f = float(value) if value else max(low, 1e-6)
        values = sorted(
            {min(high, max(low, centre_f * factor)) for factor in (0.01, 0.1, 1, 10, 100)}
        )
    return (name, values) if len(values) > 1 else None


def _spread(centre: int) -> list[int]:
    return [1, max(1, centre // 4), max(1, centre // 2), centre, centre * 2, centre * 4]


def validation_curve_picture(
    model: ContestModel, data: PreparedData, metric: str, budget: Budget
) -> bytes | None:
    from sklearn.base import clone
    from sklearn.model_selection import validation_curve

    chosen = curve_values(model)
    X, y = _training(data, CURVE_MAX_POINTS)
    folds = _folds(y, CURVE_FOLDS, model.task_)
    if chosen is None or not folds:
        return None
    name, values = chosen
    if not budget.allows(folds * len(values) * _cost_factor(model, name, values)):
        return None
    candidates = [{**(model.params_ or {}), name: value} for value in values]
    scorer, sign = _scoring(metric)
    # ContestModel takes its parameters as one dict: vary that dict.
    train, test = validation_curve(
        clone(model),
        X,
        y,
        param_name="params",
        param_range=candidates,
        cv=_cv(folds, model.task_),
        scoring=scorer,
    )
    train, test = sign * train, sign * test
    figure, axes = _new_figure(f"Validation curve of {name} ({folds}-fold CV, training)")
    _band(axes, values, train, colour(0), "score on the points it learned from")
    _band(axes, values, test, colour(1), "cross-validation score")
    own = model.params_.get(name)
    if own is not None:
        axes.axvline(own, color="#555555", linestyle=":", linewidth=1, label="this job")
    if CURVE_PARAMETERS[model.algorithm][1] == "log":
        axes.set_xscale("log")
    axes.set_xlabel(name, fontsize=9)
    axes.set_ylabel(metric, fontsize=9)
    axes.legend(fontsize=8, loc="best")
    return to_png(figure)


def _cost_factor(model: ContestModel, name: str, values: list[Any]) -> float:
    """How much dearer than the job's own fit the curve's dearest value may be."""
    own = model.params_.get(name)
    if name == "max_depth" and own:
        return max(1.0, max(values) / float(own))
    return 1.0


def importances_picture(model: ContestModel, data: PreparedData) -> bytes | None:
    estimator = model.estimator_
    if hasattr(estimator, "feature_importances_"):
        values = np.asarray(estimator.feature_importances_, dtype=float)
        what = "impurity decrease (training)"
    elif hasattr(estimator, "coef_") and model.algorithm == "logistic_regression":
        values = np.abs(np.asarray(estimator.coef_, dtype=float)).mean(axis=0)
        what = "mean |coefficient| (after scaling)"
    else:
        return None
    names = list(data.feature_names)
    order = np.argsort(values)[::-1][:15][::-1]
    figure, axes = _new_figure("Feature importances")
    axes.barh([names[i] for i in order], values[order], color=colour(0))
    axes.set_xlabel(what, fontsize=9)
    return to_png(figure)


def tree_picture(model: ContestModel, data: PreparedData) -> bytes | None:
    estimator = model.estimator_
    if model.algorithm != "decision_tree" or estimator.get_depth() > TREE_MAX_DEPTH:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from sklearn.tree import plot_tree

    figure = Figure(figsize=(9, 5.5), layout="constrained")
    FigureCanvasAgg(figure)  # plot_tree measures its boxes with the canvas's renderer
    axes = figure.add_subplot()
    plot_tree(
        estimator,
        feature_names=list(data.feature_names),
        class_names=[str(c) for c in estimator.classes_],
        filled=True,
        impurity=False,
        fontsize=7,
        ax=axes,
    )
    axes.set_title(f"The tree (depth {estimator.get_depth()})", fontsize=10)  # after: it clears
    return to_png(figure)


def loss_curve_picture(model: ContestModel) -> bytes | None:
    curve = getattr(model.estimator_, "loss_curve_", None)
    if model.algorithm != "mlp" or not curve:
        return None
    figure, axes = _new_figure("MLP training loss per epoch")
    axes.plot(np.arange(1, len(curve) + 1), curve, color=colour(0))
    axes.set_xlabel("epoch", fontsize=9)
    axes.set_ylabel("loss (training)", fontsize=9)
    return to_png(figure)


def roc_pr_picture(model: ContestModel, data: PreparedData, budget: Budget) -> bytes | None:
    """ROC and precision-recall curves from cross-validated scores on the training points:
    two classes only, the second (in sorted order) as the positive one."""
    from sklearn.base import clone
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve
    from sklearn.model_selection import cross_val_predict

    if model.task_ != "classification":
        return None
    X, y = _training(data, CV_MAX_POINTS)
    classes = sorted(set(y.tolist()))
    folds = _folds(y, FOLDS, model.task_)
    if len(classes) != 2 or not folds or not budget.allows(folds):
        return None
    pipeline = clone(model.pipeline_)
    method = "predict_proba" if hasattr(pipeline, "predict_proba") else "decision_function"
    try:
        scores = cross_val_predict(pipeline, X, y, cv=_cv(folds, model.task_), method=method)
    except AttributeError:  # an SVM without probabilities has a decision function only
        scores = cross_val_predict(
            pipeline, X, y, cv=_cv(folds, model.task_), method="decision_function"
        )
    if scores.ndim == 2:
        scores = scores[:, 1]
    positive = y == classes[1]
    fpr, tpr, _ = roc_curve(positive, scores)
    precision, recall, _ = precision_recall_curve(positive, scores)
    figure = _pair_figure(f"Positive class {classes[1]} ({folds}-fold CV, training)")
    left, right = figure.axes
    left.plot(fpr, tpr, color=colour(0), label=f"AUC {auc(fpr, tpr):.3f}")
    left.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1)
    left.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    right.plot(
        recall,
        precision,
        color=colour(1),
        label=f"AP {average_precision_score(positive, scores):.3f}",
    )
    right.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    for axes in (left, right):
        axes.legend(fontsize=8, loc="lower center")
        axes.tick_params(labelsize=8)
    return to_png(figure)


def _pair_figure(title: str) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4), layout="constrained")
    figure.suptitle(title, fontsize=10)
    figure.add_subplot(1, 2, 1)
    figure.add_subplot(1, 2, 2)
    return figure


def silhouette_picture(model: ContestModel, data: PreparedData) -> bytes | None:
    from sklearn.metrics import silhouette_samples

    labels = np.asarray(model.training_labels_)
    shown = subsample(len(labels), CV_MAX_POINTS)
    labels = labels[shown]
    if not 2 <= len(set(labels.tolist())) < len(labels):
        return None
    values = silhouette_samples(model.transform(data.X["training"][shown]), labels)
    figure, axes = _new_figure("Silhouette of each training point, by cluster")
    bottom = 0
    for cluster in sorted(set(labels.tolist())):
        ordered = np.sort(values[labels == cluster])
        shade = "#bbbbbb" if int(cluster) < 0 else colour(int(cluster))
        axes.fill_betweenx(np.arange(bottom, bottom + len(ordered)), 0, ordered, color=shade)
        bottom += len(ordered) + 5
    axes.axvline(float(values.mean()), color="#555555", linestyle=":", label="mean")
    axes.set_xlabel("silhouette", fontsize=9)
    axes.set_yticks([])
    axes.legend(fontsize=8)
    return to_png(figure)


def diagnostic_pictures(
    model: ContestModel, data: PreparedData, metric: str, budget: Budget
) -> tuple[list[tuple[str, bytes]], str]:
    """The round's diagnostic pictures that fit in the budget, and what was left out."""
    drawers: list[tuple[str, Callable[[], bytes | None]]]
    if model.task_ == "clustering":
        drawers = [("silhouette.png", lambda: silhouette_picture(model, data))]
    else:
        drawers = [
            ("learning_curve.png", lambda: learning_curve_picture(model, data, metric, budget)),
            ("validation_curve.png", lambda: validation_curve_picture(model, data, metric, budget)),
            ("importances.png", lambda: importances_picture(model, data)),
            ("tree.png", lambda: tree_picture(model, data)),
            ("loss_curve.png", lambda: loss_curve_picture(model)),
            ("roc_pr.png", lambda: roc_pr_picture(model, data, budget)),
        ]
    pictures: list[tuple[str, bytes]] = []
    skipped: list[str] = []
    for name, draw in drawers:
        if time.monotonic() >= budget.deadline:
            skipped.append(name)
            continue
        try:
            with warnings.catch_warnings():  # the refits' warnings are the job's own, said once
                warnings.simplefilter("ignore")
                png = draw()
        except MemoryError:
            raise
        except Exception as error:  # a refit on a fold may fail where the job's fit did not
            skipped.append(f"{name} ({type(error).__name__})")
            continue
        if png is not None:
            pictures.append((name, png))
    note = f"diagnostics skipped: {', '.join(skipped)}" if skipped else ""
    return pictures, note
