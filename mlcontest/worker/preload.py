"""Imported once by the worker's fork server, so that every job process starts with
scikit-learn, numpy and matplotlib imported and warmed up (a fork costs milliseconds; importing
them costs about a second)."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")

import sklearn.cluster
import sklearn.decomposition
import sklearn.ensemble
import sklearn.linear_model
import sklearn.metrics
import sklearn.mixture
import sklearn.naive_bayes
import sklearn.neighbors
import sklearn.neural_network
import sklearn.pipeline
import sklearn.preprocessing
import sklearn.svm
import sklearn.tree  # noqa: F401

from mlcontest.core.booleans import parse_bool
from mlcontest.worker import child, pictures, run  # noqa: F401


def warm_up() -> None:
    """Run every algorithm and draw once on a tiny dataset: the first call of many
    scikit-learn and matplotlib functions loads more (threadpool inspection, fonts)."""
    import warnings

    import numpy as np

    from mlcontest.algorithms import REGISTRY

    rng = np.random.RandomState(0)
    points = [
        {
            "id": i,
            "split": ("training", "training", "test", "validation")[i % 4],
            "label": str(i % 2),
            "x": float(rng.normal() + 3 * (i % 2)),
            "y": float(rng.normal()),
        }
        for i in range(40)
    ]
    data = run.prepare(points)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, algorithm in REGISTRY.items():
            cheap = {"n_estimators": 2, "max_iter": 10, "n_init": 1}
            small = {key: value for key, value in cheap.items() if key in algorithm.defaults()}
            try:
                outcome, model = run.run_job(name, small, data)
                if name == "knn":
                    pictures.draw_pictures(model, data, outcome.labels)
            except Exception:  # a warm-up failure must not stop the worker
                continue


if parse_bool(os.environ.get("MLCONTEST_WORKER_WARM_UP"), True):
    warm_up()
