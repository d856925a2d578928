"""The classifiers: labels learnt from the training points' classes."""

from __future__ import annotations

from typing import Any

from mlcontest.algorithms.registry import Algorithm, Param, register
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


def _knn(p: dict[str, Any]) -> Any:
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=p["n_neighbors"], weights=p["weights"], p=p["p"])


def _svm(p: dict[str, Any]) -> Any:
    from sklearn.svm import SVC

    gamma: Any = p["gamma"] if p["gamma"] is not None else "scale"
    return SVC(
        kernel=p["kernel"],
        C=p["C"],
        gamma=gamma,
        degree=p["degree"],
    )


_tree = passing("sklearn.tree.DecisionTreeClassifier", *TREE)


_forest = passing("sklearn.ensemble.RandomForestClassifier", *FOREST, n_jobs=1)


_boosting = passing("sklearn.ensemble.GradientBoostingClassifier", *BOOSTING)


def _logistic(p: dict[str, Any]) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=p["C"], max_iter=p["max_iter"])


def _naive_bayes(p: dict[str, Any]) -> Any:
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB(var_smoothing=p["var_smoothing"])


def _mlp(p: dict[str, Any]) -> Any:
    from sklearn.neural_network import MLPClassifier

    layers = tuple([p["hidden_units"]] * p["hidden_layers"])
    return MLPClassifier(
        hidden_layer_sizes=layers,
        activation=p["activation"],
        alpha=p["alpha"],
        learning_rate_init=p["learning_rate"],
        max_iter=p["max_iter"],
        random_state=p["random_state"],
    )


register(
    Algorithm(
        "knn",
        gettext_noop("k-nearest neighbours"),
        "classification",
        (
            Param(
                "n_neighbors",
                "int",
                5,
                minimum=1,
                maximum=200,
                per_training_point=True,
                help=gettext_noop(
                    "How many neighbours vote; at most the number of training points."
                ),
            ),
            Param(
                "weights",
                "choice",
                "uniform",
                choices=("uniform", "distance"),
                help=gettext_noop("Equal votes, or votes weighted by closeness."),
            ),
            Param(
                "p",
                "int",
                2,
                minimum=1,
                maximum=2,
                help=gettext_noop("1: Manhattan distance, 2: Euclidean."),
            ),
            SCALING,
        ),
        scaled(_knn),
        retired=NO_SEED,
        help=gettext_noop("Labels a point like most of its nearest training points."),
    )
)
register(
    Algorithm(
        "svm",
        gettext_noop("Support vector machine"),
        "classification",
        (
            Param(
                "kernel",
                "choice",
                "rbf",
                choices=("linear", "rbf", "poly", "sigmoid"),
                help=gettext_noop("Shape of the decision boundary."),
            ),
            Param(
                "C",
                "float",
                1.0,
                minimum=1e-4,
                maximum=1e4,
                help=gettext_noop(
                    "Penalty for mistakes: large C fits the training points more closely."
                ),
            ),
            Param(
                "gamma",
                "float",
                None,
                nullable=True,
                minimum=1e-5,
                maximum=1e3,
                empty="'scale'",
                help=gettext_noop(
                    "Reach of one training point (rbf, poly, sigmoid). scikit-learn's 'scale' "
                    "is 1 / (number of features * variance of the training points)."
                ),
            ),
            Param(
                "degree",
                "int",
                3,
                minimum=1,
                maximum=10,
                help=gettext_noop("Degree of the poly kernel."),
            ),
            SCALING,
        ),
        scaled(_svm),
        retired=NO_SEED,
        help=gettext_noop(
            "Separates the classes by the widest margin, in a space chosen by the kernel."
        ),
    )
)
register(
    Algorithm(
        "decision_tree",
        gettext_noop("Decision tree"),
        "classification",
        (
            MAX_DEPTH,
            Param(
                "criterion",
                "choice",
                "gini",
                choices=("gini", "entropy", "log_loss"),
                help=gettext_noop("How a split is judged."),
            ),
            MIN_LEAF,
            SCALING,
            SEED,
        ),
        scaled(_tree),
        help=gettext_noop("Splits the space by one feature at a time."),
    )
)
register(
    Algorithm(
        "random_forest",
        gettext_noop("Random forest"),
        "classification",
        (
            Param(
                "n_estimators",
                "int",
                100,
                minimum=1,
                maximum=1000,
                help=gettext_noop("How many trees vote."),
            ),
            MAX_DEPTH,
            MIN_LEAF,
            SCALING,
            SEED,
        ),
        scaled(_forest),
        help=gettext_noop("Many decision trees on random samples; the majority decides."),
    )
)
register(
    Algorithm(
        "gradient_boosting",
        gettext_noop("Gradient boosting"),
        "classification",
        (
            Param(
                "n_estimators",
                "int",
                100,
                minimum=1,
                maximum=1000,
                help=gettext_noop("How many boosting stages."),
            ),
            Param(
                "learning_rate",
                "float",
                0.1,
                minimum=1e-4,
                maximum=1.0,
                help=gettext_noop("How much each tree corrects the previous ones."),
            ),
            Param(
                "max_depth",
                "int",
                3,
                minimum=1,
                maximum=20,
                help=gettext_noop("Depth of each tree."),
            ),
            SCALING,
            SEED,
        ),
        scaled(_boosting),
        help=gettext_noop(
            "Small trees added one after another, each fixing the last ones' errors."
        ),
    )
)
register(
    Algorithm(
        "logistic_regression",
        gettext_noop("Logistic regression"),
        "classification",
        (
            Param(
                "C",
                "float",
                1.0,
                minimum=1e-4,
                maximum=1e4,
                help=gettext_noop("Inverse strength of the regularisation."),
            ),
            Param(
                "max_iter",
                "int",
                200,
                minimum=10,
                maximum=10000,
                help=gettext_noop("Most solver iterations."),
            ),
            SCALING,
        ),
        scaled(_logistic),
        retired=NO_SEED,
        help=gettext_noop("A linear boundary with class probabilities."),
    )
)
register(
    Algorithm(
        "naive_bayes",
        gettext_noop("Gaussian naive Bayes"),
        "classification",
        (
            Param(
                "var_smoothing",
                "float",
                1e-9,
                minimum=0.0,
                maximum=1.0,
                help=gettext_noop("Added to every variance for stability."),
            ),
            SCALING,
        ),
        scaled(_naive_bayes),
        retired=NO_SEED,
        help=gettext_noop("Assumes independent, normally distributed features per class."),
    )
)
register(
    Algorithm(
        "mlp",
        gettext_noop("Neural network (MLP)"),
        "classification",
        (
            Param(
                "hidden_layers",
                "int",
                1,
                minimum=1,
                maximum=5,
                help=gettext_noop("How many hidden layers."),
            ),
            Param(
                "hidden_units",
                "int",
                32,
                minimum=1,
                maximum=512,
                help=gettext_noop("Neurons per hidden layer."),
            ),
            Param(
                "activation",
                "choice",
                "relu",
                choices=("relu", "tanh", "logistic"),
                help=gettext_noop("The neurons' activation function."),
            ),
            Param(
                "alpha", "float", 1e-4, minimum=0.0, maximum=10.0, help=gettext_noop("L2 penalty.")
            ),
            # The key stays "learning_rate", as old jobs store it; it is scikit-learn's
            # learning_rate_init (its learning_rate is the schedule, which sgd alone uses).
            Param(
                "learning_rate",
                "float",
                1e-3,
                minimum=1e-5,
                maximum=1.0,
                label="learning_rate_init",
                help=gettext_noop(
                    "Initial step size of the weight updates (scikit-learn's "
                    "learning_rate_init; the parameter is sent as learning_rate)."
                ),
            ),
            Param(
                "max_iter",
                "int",
                300,
                minimum=10,
                maximum=5000,
                help=gettext_noop("Most training epochs."),
            ),
            SCALING,
            SEED,
        ),
        scaled(_mlp),
        help=gettext_noop("Layers of neurons trained by back-propagation."),
    )
)
