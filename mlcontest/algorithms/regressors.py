"""The regressors: a number learnt from the training points' numeric labels.

``random_state`` is retired (accepted, dropped) where it changes nothing, as for the
classifiers, so that a script sending it to every algorithm is not refused.

Where a classifier has a regression twin (kNN, tree, forest, boosting, MLP), the twin takes the
same parameters (the classifier's, read from the registry, so the two cannot drift apart),
except where scikit-learn's differ (a tree's split criterion).
"""

from __future__ import annotations

from typing import Any

from mlcontest.algorithms import classifiers  # noqa: F401  (the twins' parameters)
from mlcontest.algorithms.registry import REGISTRY, Algorithm, Param, register
from mlcontest.algorithms.shared import (
    BOOSTING,
    FOREST,
    MAX_DEPTH,
    MIN_LEAF,
    NO_SEED,
    SCALING,
    SEED,
    TREE,
    passing,
    scaled,
)
from mlcontest.core.marks import gettext_noop


def _twin(name: str, *left_out: str) -> tuple[Param, ...]:
    return tuple(param for param in REGISTRY[name].params if param.name not in left_out)


def _linear(p: dict[str, Any]) -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression()


def _ridge(p: dict[str, Any]) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=p["alpha"])


def _lasso(p: dict[str, Any]) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(alpha=p["alpha"], max_iter=p["max_iter"])


def _knn(p: dict[str, Any]) -> Any:
    from sklearn.neighbors import KNeighborsRegressor

    return KNeighborsRegressor(n_neighbors=p["n_neighbors"], weights=p["weights"], p=p["p"])


_tree = passing("sklearn.tree.DecisionTreeRegressor", *TREE)


_forest = passing("sklearn.ensemble.RandomForestRegressor", *FOREST, n_jobs=1)


_boosting = passing("sklearn.ensemble.GradientBoostingRegressor", *BOOSTING)


def _svr(p: dict[str, Any]) -> Any:
    from sklearn.svm import SVR

    gamma: Any = p["gamma"] if p["gamma"] is not None else "scale"
    return SVR(kernel=p["kernel"], C=p["C"], epsilon=p["epsilon"], gamma=gamma, degree=p["degree"])


def _mlp(p: dict[str, Any]) -> Any:
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(
        hidden_layer_sizes=tuple([p["hidden_units"]] * p["hidden_layers"]),
        activation=p["activation"],
        alpha=p["alpha"],
        learning_rate_init=p["learning_rate"],
        max_iter=p["max_iter"],
        random_state=p["random_state"],
    )


ALPHA = Param(
    "alpha",
    "float",
    1.0,
    minimum=0.0,
    maximum=1e4,
    help=gettext_noop("Strength of the penalty on large coefficients: larger is simpler."),
)

for algorithm in (
    Algorithm(
        "linear_regression",
        gettext_noop("Linear regression"),
        "regression",
        (SCALING,),
        scaled(_linear),
        help=gettext_noop("The straight line (plane) with the least squared error."),
        retired=NO_SEED,
    ),
    Algorithm(
        "ridge",
        gettext_noop("Ridge regression"),
        "regression",
        (ALPHA, SCALING),
        scaled(_ridge),
        help=gettext_noop("Linear regression with a squared (L2) penalty on the coefficients."),
        retired=NO_SEED,
    ),
    Algorithm(
        "lasso",
        gettext_noop("Lasso regression"),
        "regression",
        (
            ALPHA,
            Param(
                "max_iter",
                "int",
                1000,
                minimum=10,
                maximum=100000,
                help=gettext_noop("Most solver iterations."),
            ),
            SCALING,
        ),
        scaled(_lasso),
        help=gettext_noop(
            "Linear regression with an absolute (L1) penalty: some coefficients become 0."
        ),
        retired=NO_SEED,
    ),
    Algorithm(
        "knn_regressor",
        gettext_noop("k-nearest neighbours (regression)"),
        "regression",
        _twin("knn"),
        scaled(_knn),
        help=gettext_noop("The mean label of a point's nearest training points."),
        retired=NO_SEED,
    ),
    Algorithm(
        "decision_tree_regressor",
        gettext_noop("Decision tree (regression)"),
        "regression",
        (
            MAX_DEPTH,
            Param(
                "criterion",
                "choice",
                "squared_error",
                choices=("squared_error", "absolute_error", "friedman_mse", "poisson"),
                help=gettext_noop("How a split is judged."),
            ),
            MIN_LEAF,
            SCALING,
            SEED,
        ),
        scaled(_tree),
        help=gettext_noop("Splits the space by one feature at a time; a leaf predicts its mean."),
    ),
    Algorithm(
        "random_forest_regressor",
        gettext_noop("Random forest (regression)"),
        "regression",
        _twin("random_forest"),
        scaled(_forest),
        help=gettext_noop("Many trees on random samples; their mean is the prediction."),
    ),
    Algorithm(
        "gradient_boosting_regressor",
        gettext_noop("Gradient boosting (regression)"),
        "regression",
        _twin("gradient_boosting"),
        scaled(_boosting),
        help=gettext_noop("Small trees added one after another, each fixing the last errors."),
    ),
    Algorithm(
        "svr",
        gettext_noop("Support vector regression"),
        "regression",
        (
            *_twin("svm", "scaling"),
            Param(
                "epsilon",
                "float",
                0.1,
                minimum=0.0,
                maximum=1e4,
                help=gettext_noop("Errors smaller than this cost nothing (the tube's width)."),
            ),
            SCALING,
        ),
        scaled(_svr),
        help=gettext_noop("A function as flat as possible with errors inside a tube."),
        retired=NO_SEED,
    ),
    Algorithm(
        "mlp_regressor",
        gettext_noop("Neural network (MLP, regression)"),
        "regression",
        _twin("mlp"),
        scaled(_mlp),
        help=gettext_noop("Layers of neurons trained by back-propagation on the squared error."),
    ),
):
    register(algorithm)
