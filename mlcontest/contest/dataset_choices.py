"""Which datasets can be made and how big: the one list that the domain (``dataset_sources``),
the web form and the command line all read. Free of Django so the command line can read it
before Django is set up."""

from __future__ import annotations

SKLEARN_DATASETS = ("iris", "wine", "breast_cancer", "digits", "diabetes")
# diabetes' label is a number (a disease progression score): for regression rounds.
REGRESSION_SKLEARN_DATASETS = ("diabetes",)
GENERATORS = ("moons", "circles", "blobs", "xor", "spirals", "friedman", "linear")
# Generators of a numeric label, for regression rounds: Friedman's #1 curve on 5 features and
# scikit-learn's make_regression (a noisy plane) on 2.
REGRESSION_GENERATORS = ("friedman", "linear")
# Generators whose number of classes is a parameter; the others always make two.
MULTI_CLASS_GENERATORS = ("blobs", "spirals")
MIN_POINTS, MAX_POINTS = 10, 100_000
MAX_CLASSES = 20
