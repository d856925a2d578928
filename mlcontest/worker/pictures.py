"""Pictures of a finished job (matplotlib's Agg canvas, no pyplot, no display needed).

Every picture is drawn from the training labels and the job's own predictions, never from the
labels of test or validation points (the worker does not have them: ``run.prepare`` drops
them). A picture that showed a hidden label, even as a colour, would let students read the
answers back.

Classification: the decision regions with the training points in their true class and the
test points in their predicted class; and a confusion matrix by cross-validation of the job's
model on the training split. Clustering: the clusters found. Data with more than two features
is shown in the plane of its first two principal components (fitted on the training points),
without regions. Large datasets are drawn from a subsample; each PNG is kept under
``MAX_BYTES`` by lowering the resolution if needed. The same job on the same data gives the
same bytes.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from mlcontest.worker.run import ContestModel, PreparedData

MAX_BYTES = 150_000
MAX_POINTS = 1500
BOUNDS_POINTS = 20_000  # the points a picture's axes are fitted to
CV_MAX_POINTS = 2000  # bounds the cost of the cross-validated confusion matrix
CV_FOLDS = 5
GRID_STEPS = 150
PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
NOISE_COLOUR = "#bbbbbb"


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def subsample(n: int, limit: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """Indices of at most ``limit`` of ``n`` points, the same ones every time."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.RandomState(seed).choice(n, size=limit, replace=False))


def stacked_rows(data: PreparedData, indices: np.ndarray) -> np.ndarray:
    """The rows at sorted ``indices`` of the splits stacked in order, without stacking them
    all (a big dataset's matrix is not copied for a picture of a few thousand points)."""
    parts = []
    start = 0
    for X in data.X.values():
        chosen = indices[(indices >= start) & (indices < start + len(X))] - start
        parts.append(X[chosen])
        start += len(X)
    return np.vstack(parts)


class Plane:
    """Where points are drawn: the two features themselves, or two principal components of
    the features as the model sees them (after the job's scaling)."""

    def __init__(self, data: PreparedData, model: ContestModel) -> None:
        training = data.X["training"]
        self.features = training.shape[1]
        self.model = model
        self.pca: Any = None
        if self.features > 2:
            from sklearn.decomposition import PCA

            sample = model.transform(training[subsample(len(training), 5000)])
            self.pca = PCA(n_components=2, random_state=0).fit(sample)
            ratio = self.pca.explained_variance_ratio_
            self.labels = (f"PC 1 ({ratio[0]:.0%})", f"PC 2 ({ratio[1]:.0%})")
        elif self.features == 2:
            self.labels = data.feature_names[0], data.feature_names[1]
        else:
            self.labels = data.feature_names[0], ""

    def project(self, X: np.ndarray) -> np.ndarray:
        if self.pca is not None:
            return np.asarray(self.pca.transform(self.model.transform(X)))
        if self.features == 1:
            return np.column_stack([X[:, 0], np.zeros(len(X))])
        return X

    @property
    def exact(self) -> bool:
        """Whether a point of the picture is a point of the feature space (so regions exist)."""
        return self.features == 2


def to_png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    for dpi in (100, 80, 60, 45):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi)
        if buffer.tell() <= MAX_BYTES:
            break
    return buffer.getvalue()


def _new_figure(title: str, plane: Plane | None = None) -> tuple[Figure, Any]:
    figure = Figure(figsize=(5.6, 4.4), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=10)
    if plane is not None:
        axes.set_xlabel(plane.labels[0], fontsize=9)
        axes.set_ylabel(plane.labels[1], fontsize=9)
    axes.tick_params(labelsize=8)
    return figure, axes


def _scatter_classes(
    axes: Any,
    points: np.ndarray,
    labels: Sequence[Any],
    classes: Sequence[str],
    **style: Any,
) -> None:
    index = {label: position for position, label in enumerate(classes)}
    names = np.array([str(label) for label in labels])
    for label in classes:
        mask = names == label
        if mask.any():
            axes.scatter(points[mask, 0], points[mask, 1], color=colour(index[label]), **style)


def decision_regions(
    model: ContestModel,
    data: PreparedData,
    predicted_test: Sequence[Any],
    classes: Sequence[str],
    plane: Plane,
) -> bytes:
    """Training points in their true class (circles), test points in the class the job
    predicted for them (triangles), over the model's decision regions when the plane is the
    feature space."""
    index = {label: position for position, label in enumerate(classes)}
    X_train, X_test = data.X["training"], data.X["test"]
    train_shown, test_shown = subsample(len(X_train)), subsample(len(X_test))
    title = "Decision regions" if plane.exact else "PCA projection"
    figure, axes = _new_figure(title, plane)
    # The axes hold every point of a small dataset; a big one's from a sample (projecting all
    # 70,000 x 784 would copy the matrix twice) and the points drawn.
    total = sum(len(X) for X in data.X.values())
    everything = plane.project(
        np.vstack(
            [
                stacked_rows(data, subsample(total, BOUNDS_POINTS)),
                X_train[train_shown],
                X_test[test_shown],
            ]
        )
    )
    low, high = everything.min(axis=0), everything.max(axis=0)
    margin = np.maximum((high - low) * 0.05, 1e-6)
    low, high = low - margin, high + margin
    if plane.exact:
        xs = np.linspace(low[0], high[0], GRID_STEPS)
        ys = np.linspace(low[1], high[1], GRID_STEPS)
        grid = np.array(np.meshgrid(xs, ys)).reshape(2, -1).T
        regions = np.array([index.get(str(label), 0) for label in model.predict(grid)])
        axes.imshow(
            regions.reshape(GRID_STEPS, GRID_STEPS),
            origin="lower",
            extent=(low[0], high[0], low[1], high[1]),
            aspect="auto",
            cmap=ListedColormap([colour(i) for i in range(len(classes))]),
            vmin=-0.5,
            vmax=len(classes) - 0.5,
            alpha=0.25,
            interpolation="nearest",
        )
    training_labels = [data.y["training"][i] for i in train_shown]
    _scatter_classes(
        axes,
        plane.project(X_train[train_shown]),
        training_labels,
        classes,
        s=14,
        marker="o",
        edgecolors="white",
        linewidths=0.3,
    )
    _scatter_classes(
        axes,
        plane.project(X_test[test_shown]),
        [predicted_test[i] for i in test_shown],
        classes,
        s=26,
        marker="^",
        edgecolors="black",
        linewidths=0.5,
    )
    axes.set_xlim(low[0], high[0])
    axes.set_ylim(low[1], high[1])
    axes.legend(handles=_legend(classes), fontsize=7, loc="best", framealpha=0.8)
    return to_png(figure)


def _legend(classes: Sequence[str]) -> list[Any]:
    """One entry per class (its colour), then what the two markers mean."""
    from matplotlib.lines import Line2D

    def entry(label: str, marker: str, face: str, edge: str) -> Any:
        return Line2D(
            [],
            [],
            linestyle="",
            marker=marker,
            markerfacecolor=face,
            markeredgecolor=edge,
            markersize=6,
            label=label,
        )

    handles = [entry(label, "s", colour(i), colour(i)) for i, label in enumerate(classes)]
    handles.append(entry("training point (its class)", "o", "white", "#444444"))
    handles.append(entry("test point (predicted class)", "^", "white", "black"))
    return handles


def confusion_sample(data: PreparedData) -> tuple[np.ndarray, np.ndarray, int, str]:
    """The training points the confusion matrix is cross-validated on (a subsample of at most
    ``CV_MAX_POINTS``), the number of stratified folds, and why it cannot be drawn ("" when
    it can)."""
    shown = subsample(data.count("training"), CV_MAX_POINTS)
    X = data.X["training"][shown]
    y = np.array([str(data.y["training"][i]) for i in shown])
    counts = Counter(y.tolist())
    smallest = min(counts.values(), default=0)
    if len(counts) < 2:
        return X, y, 0, "confusion matrix skipped: the training split has only one class"
    if smallest < 2:
        rare = min(counts, key=lambda label: (counts[label], _label_order(label)))
        reason = f"confusion matrix skipped: class {rare} has only {smallest} training point"
        return X, y, 0, reason
    return X, y, min(CV_FOLDS, smallest), ""


def confusion_matrix_picture(
    model: ContestModel, data: PreparedData, classes: Sequence[str]
) -> bytes:
    """The confusion matrix of the job's model by stratified cross-validation on the training
    split: a fresh copy of the model is fitted on each fold's rest and predicts the fold."""
    from sklearn.base import clone
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X, y, folds, reason = confusion_sample(data)
    if reason:
        raise ValueError(reason)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    predicted = cross_val_predict(clone(model), X, y, cv=cv)
    matrix = confusion_matrix(y, [str(p) for p in predicted], labels=list(classes))
    figure, axes = _new_figure(f"Confusion matrix ({folds}-fold cross-validation, training)")
    axes.imshow(matrix, cmap="Blues")
    ticks = np.arange(len(classes))
    axes.set_xticks(ticks, labels=classes, rotation=45 if len(classes) > 5 else 0)
    axes.set_yticks(ticks, labels=classes)
    axes.set_xlabel("predicted label", fontsize=9)
    axes.set_ylabel("true label (training point)", fontsize=9)
    if len(classes) <= 15:
        threshold = matrix.max() / 2 if matrix.size else 0
        for (row, column), count in np.ndenumerate(matrix):
            axes.text(
                column,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if count > threshold else "black",
            )
    return to_png(figure)


def clusters_picture(data: PreparedData, labels: dict[str, list[Any]], plane: Plane) -> bytes:
    found = np.concatenate([np.asarray(labels[split], dtype=int) for split in data.X])
    shown = subsample(len(found))
    projected = plane.project(stacked_rows(data, shown))
    found = found[shown]
    where = "" if plane.exact else " (PCA projection)"
    figure, axes = _new_figure(f"Clusters found{where}", plane)
    for cluster in sorted(set(found.tolist())):
        mask = found == cluster
        noise = cluster < 0
        axes.scatter(
            projected[mask, 0],
            projected[mask, 1],
            s=10 if noise else 14,
            color=NOISE_COLOUR if noise else colour(cluster),
            edgecolors="white",
            linewidths=0.3,
            label="noise" if noise else f"cluster {cluster}",
        )
    if len(set(found.tolist())) <= 12:
        axes.legend(fontsize=7, loc="best", framealpha=0.8)
    return to_png(figure)


def picture_note(model: ContestModel, data: PreparedData) -> str:
    """What the job's message should say about a picture that cannot be drawn ("" if none):
    known before drawing, so that it goes with the result."""
    if model.task_ != "classification":
        return ""
    return confusion_sample(data)[3]


def draw_pictures(
    model: ContestModel, data: PreparedData, labels: dict[str, list[Any]]
) -> list[tuple[str, bytes]]:
    """The job's pictures as ``(filename, png bytes)``."""
    return draw_pictures_noting(model, data, labels)[0]


def draw_pictures_noting(
    model: ContestModel, data: PreparedData, labels: dict[str, list[Any]]
) -> tuple[list[tuple[str, bytes]], str]:
    """The job's pictures, and what went wrong with one that was left out ("" if nothing).
    The cross-validation refits the model on smaller training sets, which may fail where the
    job's own fit did not (say k nearest neighbours with k above a fold's size): the other
    pictures are kept."""
    plane = Plane(data, model)
    if model.task_ == "clustering":
        return [("clusters.png", clusters_picture(data, labels, plane))], ""
    # The classes: the dataset's list, the training labels and the job's predictions.
    known = set(data.classes)
    known.update(str(label) for label in data.y["training"] if label is not None)
    known.update(str(label) for split in labels.values() for label in split)
    classes = sorted(known, key=_label_order)
    pictures = [("regions.png", decision_regions(model, data, labels["test"], classes, plane))]
    if picture_note(model, data):
        return pictures, ""  # said in the job's message already
    try:
        pictures.append(("confusion.png", confusion_matrix_picture(model, data, classes)))
    except MemoryError:
        raise
    except Exception as error:  # the model's own failure on a fold
        return pictures, f"confusion matrix skipped: {type(error).__name__}: {error}"[:300]
    return pictures, ""


def _label_order(label: str) -> tuple[int, float, str]:
    # The server's order: numbers by value, then names.
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)
