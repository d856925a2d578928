"""The generated toy datasets' points: each maker gives the points and their targets (classes,
or numbers for the regression kinds), the same for the same seed; ``dataset_sources.generate``
turns them into a dataset."""

from __future__ import annotations

import math

import numpy as np
from django.utils.translation import gettext
from numpy.typing import NDArray

from mlcontest.contest.dataset_choices import (
    GENERATORS,
    MAX_CLASSES,
    MAX_POINTS,
    MIN_POINTS,
    MULTI_CLASS_GENERATORS,
)
from mlcontest.contest.errors import InvalidInput

DEFAULT_CLASSES = {"blobs": 3, "spirals": 2}


def check_generator_args(kind: str, n_points: int, noise: float, n_classes: int | None) -> int:
    """The number of classes, once the arguments are known to be sensible."""
    if kind not in GENERATORS:
        raise InvalidInput(
            gettext("Unknown generator %(kind)s: use one of %(kinds)s.")
            % {"kind": repr(kind), "kinds": ", ".join(GENERATORS)},
            fields={"kind": f"one of {', '.join(GENERATORS)}"},
        )
    fields: dict[str, str] = {}
    if not MIN_POINTS <= n_points <= MAX_POINTS:
        fields["n_points"] = gettext("between %(low)s and %(high)s") % {
            "low": MIN_POINTS,
            "high": MAX_POINTS,
        }
    if not (math.isfinite(noise) and noise >= 0):
        fields["noise"] = gettext("a number of 0 or more")
    classes = DEFAULT_CLASSES.get(kind, 2) if n_classes is None else n_classes
    if kind in MULTI_CLASS_GENERATORS:
        if not 2 <= classes <= MAX_CLASSES:
            fields["n_classes"] = gettext("between %(low)s and %(high)s") % {
                "low": 2,
                "high": MAX_CLASSES,
            }
    elif classes != 2:
        fields["n_classes"] = gettext("%(kind)s always has 2 classes") % {"kind": kind}
    if fields:
        raise InvalidInput(
            gettext("The %(kind)s generator's settings are not valid.") % {"kind": kind},
            fields=fields,
        )
    return classes


Points = tuple[NDArray[np.float64], NDArray[np.int_] | NDArray[np.float64]]


def _moons(n_points: int, noise: float, seed: int, classes: int) -> Points:
    from sklearn.datasets import make_moons

    points, targets = make_moons(n_samples=n_points, noise=noise, random_state=seed)
    return points, targets


def _circles(n_points: int, noise: float, seed: int, classes: int) -> Points:
    from sklearn.datasets import make_circles

    points, targets = make_circles(n_samples=n_points, noise=noise, factor=0.5, random_state=seed)
    return points, targets


def _blobs(n_points: int, noise: float, seed: int, classes: int) -> Points:
    from sklearn.datasets import make_blobs

    points, targets = make_blobs(
        n_samples=n_points, centers=classes, cluster_std=10 * noise, random_state=seed
    )
    return points, targets


def _xor(n_points: int, noise: float, seed: int, classes: int) -> Points:
    rng = np.random.default_rng(seed)
    corners = rng.uniform(-1.0, 1.0, size=(n_points, 2))
    # The class comes from the clean position; the noise then lets points stray over the axes.
    targets = (np.sign(corners[:, 0]) != np.sign(corners[:, 1])).astype(np.int_)
    return corners + rng.normal(0.0, noise, size=corners.shape), targets


def _spirals(n_points: int, noise: float, seed: int, classes: int) -> Points:
    rng = np.random.default_rng(seed)
    targets = np.arange(n_points) % classes
    # sqrt spreads the points evenly along the arm instead of crowding them at the centre.
    radius = np.sqrt(rng.uniform(0.0, 1.0, size=n_points))
    angle = 3 * np.pi * radius + 2 * np.pi * targets / classes
    points = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    points += rng.normal(0.0, noise, size=points.shape)
    order = rng.permutation(n_points)  # so the classes do not alternate in the point list
    return points[order], targets[order]


def _with_noise(clean: NDArray[np.float64], noise: float, seed: int) -> NDArray[np.float64]:
    """The target with Gaussian noise of ``noise`` times its own standard deviation: the same
    ``noise`` means about as hard a task on every regression generator."""
    rng = np.random.default_rng(seed + 1)
    return clean + rng.normal(0.0, noise * float(np.std(clean)), size=clean.shape)


def _friedman(n_points: int, noise: float, seed: int, classes: int) -> Points:
    from sklearn.datasets import make_friedman1

    points, clean = make_friedman1(n_samples=n_points, n_features=5, noise=0.0, random_state=seed)
    return points, _with_noise(clean, noise, seed)


def _linear(n_points: int, noise: float, seed: int, classes: int) -> Points:
    from sklearn.datasets import make_regression

    points, clean = make_regression(
        n_samples=n_points, n_features=2, n_informative=2, noise=0.0, random_state=seed
    )
    return points, _with_noise(clean, noise, seed)


POINT_MAKERS = {
    "friedman": _friedman,
    "linear": _linear,
    "moons": _moons,
    "circles": _circles,
    "blobs": _blobs,
    "xor": _xor,
    "spirals": _spirals,
}
