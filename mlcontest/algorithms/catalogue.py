"""The algorithms a round may allow, as scikit-learn estimators behind typed parameters, in one
module per family: classifiers, clustering, regressors; and the preprocessing steps a job may
put before its model (``steps``).

Every algorithm takes ``scaling`` (none, standard, min-max) and ``steps``. ``random_state`` is
offered only where it changes the result (trees, forests, boosting, MLP, k-means, Gaussian
mixtures): SVC uses it only with ``probability=True``, logistic regression only with the sag,
saga and liblinear solvers (ours is lbfgs), and kNN, naive Bayes, DBSCAN and agglomerative
clustering draw nothing at random. Old jobs of those algorithms carry it: it is ``retired``
there. A parameter with ``per_training_point`` cannot exceed the round's training points
(scikit-learn refuses more neighbours, clusters or components than points); submit checks it.
"""

from mlcontest.algorithms import classifiers, clustering, regressors, steps

__all__ = ["classifiers", "clustering", "regressors", "steps"]
