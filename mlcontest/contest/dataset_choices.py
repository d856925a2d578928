"""Which datasets can be made and how big: the one list that the domain (``dataset_sources``),
the web form and the command line all read. Free of Django so the command line can read it
before Django is set up."""

from __future__ import annotations

SKLEARN_DATASETS = ("iris", "wine", "breast_cancer", "digits")
GENERATORS = ("moons", "circles", "blobs", "xor", "spirals")
# Generators whose number of classes is a parameter; the others always make two.
MULTI_CLASS_GENERATORS = ("blobs", "spirals")
MIN_POINTS, MAX_POINTS = 10, 100_000
MAX_CLASSES = 20
