"""The clustering algorithms: groups found without labels, scored against the true classes."""

from __future__ import annotations

from typing import Any

from mlcontest.algorithms.registry import Algorithm, Param, register
from mlcontest.algorithms.shared import N_CLUSTERS, NO_SEED, SCALING, SEED, scaled
from mlcontest.core.marks import gettext_noop


def _kmeans(p: dict[str, Any]) -> Any:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=p["n_clusters"], n_init=p["n_init"], random_state=p["random_state"])


def _dbscan(p: dict[str, Any]) -> Any:
    from sklearn.cluster import DBSCAN

    return DBSCAN(eps=p["eps"], min_samples=p["min_samples"])


def _agglomerative(p: dict[str, Any]) -> Any:
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(n_clusters=p["n_clusters"], linkage=p["linkage"])


def _gaussian_mixture(p: dict[str, Any]) -> Any:
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(
        n_components=p["n_components"],
        covariance_type=p["covariance_type"],
        random_state=p["random_state"],
    )


register(
    Algorithm(
        "kmeans",
        gettext_noop("k-means"),
        "clustering",
        (
            N_CLUSTERS,
            Param(
                "n_init",
                "int",
                10,
                minimum=1,
                maximum=100,
                help=gettext_noop("Restarts; the best one is kept."),
            ),
            SCALING,
            SEED,
        ),
        scaled(_kmeans),
        help=gettext_noop("k centres, each point joins the nearest."),
    )
)
register(
    Algorithm(
        "dbscan",
        gettext_noop("DBSCAN"),
        "clustering",
        (
            Param(
                "eps",
                "float",
                0.5,
                minimum=1e-5,
                maximum=1e4,
                help=gettext_noop("Radius of a point's neighbourhood."),
            ),
            Param(
                "min_samples",
                "int",
                5,
                minimum=1,
                maximum=1000,
                help=gettext_noop("Neighbours that make a point a core point."),
            ),
            SCALING,
        ),
        scaled(_dbscan),
        retired=NO_SEED,
        help=gettext_noop("Dense regions become clusters; sparse points are noise (-1)."),
        predicts_new_points=False,
    )
)
register(
    Algorithm(
        "agglomerative",
        gettext_noop("Agglomerative clustering"),
        "clustering",
        (
            N_CLUSTERS,
            Param(
                "linkage",
                "choice",
                "ward",
                choices=("ward", "complete", "average", "single"),
                help=gettext_noop("How the distance between two clusters is measured."),
            ),
            SCALING,
        ),
        scaled(_agglomerative),
        retired=NO_SEED,
        help=gettext_noop("Merges the two closest clusters until k are left."),
        predicts_new_points=False,
    )
)
register(
    Algorithm(
        "gaussian_mixture",
        gettext_noop("Gaussian mixture"),
        "clustering",
        (
            Param(
                "n_components",
                "int",
                3,
                minimum=1,
                maximum=100,
                per_training_point=True,
                help=gettext_noop("How many Gaussians; at most one per training point."),
            ),
            Param(
                "covariance_type",
                "choice",
                "full",
                choices=("full", "tied", "diag", "spherical"),
                help=gettext_noop("Shape of each Gaussian."),
            ),
            SCALING,
            SEED,
        ),
        scaled(_gaussian_mixture),
        help=gettext_noop("Points drawn from a few Gaussians; each point joins the likeliest."),
    )
)
