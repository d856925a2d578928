"""Datasets: storing a table of points, splitting it reproducibly, and reading it back.

Where the points come from (CSV, scikit-learn, generators) is in ``dataset_sources``; this
module only knows the table.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import pyarrow as pa
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext, ngettext

from mlcontest.algorithms.registry import DataShape
from mlcontest.contest import columnar, dataset_store
from mlcontest.contest.errors import Conflict, InvalidInput, NotFound
from mlcontest.contest.inputs import as_id
from mlcontest.contest.models import Dataset, DatasetChunk, Split, User
from mlcontest.contest.permissions import sees_everything
from mlcontest.contest.regression import label_ranges, numeric_target
from mlcontest.contest.rounds import visible_rounds

RESERVED_NAMES = {"id", "split", "label"}
SPLITS = (Split.TRAINING.value, Split.TEST.value, Split.VALIDATION.value)
Fractions = tuple[float, float, float]
DEFAULT_FRACTIONS: Fractions = (0.6, 0.2, 0.2)
# A class this big has a point in every split; a smaller one at least one training point.
MIN_PER_SPLIT_CLASS = 3


@dataclass
class DatasetTable:
    """Points before they are stored: one row of features, one label, one split per point."""

    feature_names: list[str]
    # A list of rows, or (from the columnar CSV reader) an Arrow table of the feature columns.
    # NaN (or an Arrow null) is a missing value, which each job fills in.
    features: list[list[float]] | pa.Table
    labels: list[str]
    splits: list[str]

    def __len__(self) -> int:
        return len(self.labels)


def split_sizes(total: int, fractions: Fractions = DEFAULT_FRACTIONS) -> tuple[int, int, int]:
    """How many of ``total`` points go to training, test and validation: largest remainder
    (Hamilton) rounding, so the sizes add up to ``total`` and each is its exact share rounded
    down or up. Equal remainders go to the earlier split."""
    quotas = [total * share for share in _shares(fractions)]
    sizes = [math.floor(quota) for quota in quotas]
    by_remainder = sorted(range(3), key=lambda s: (-(quotas[s] - sizes[s]), s))
    for split in by_remainder[: total - sum(sizes)]:
        sizes[split] += 1
    return sizes[0], sizes[1], sizes[2]


def check_fractions(fractions: Sequence[float]) -> None:
    # A zero share would leave a split empty, and an empty test or validation split is refused.
    if (
        len(fractions) != 3
        or not all(math.isfinite(fraction) and fraction > 0 for fraction in fractions)
        or not math.isclose(sum(fractions), 1.0)
    ):
        raise InvalidInput(
            gettext(
                "Split fractions must be three positive numbers (training, test, validation) "
                "that add up to 1."
            ),
            fields={"fractions": "three positive shares that add up to 1"},
        )


def _shares(fractions: Sequence[float]) -> list[Fraction]:
    """The fractions as exact shares that add up to exactly 1: in binary floating point
    ``0.6 * 10`` rounds down to 5 and the remainders compare by their rounding errors."""
    check_fractions(fractions)
    shares = [Fraction(fraction).limit_denominator(10**6) for fraction in fractions]
    return [share / sum(shares) for share in shares]


def assign_splits(
    labels: Sequence[str], seed: int = 0, fractions: Fractions = DEFAULT_FRACTIONS
) -> list[str]:
    """A reproducible split, stratified by label.

    The split sizes are ``split_sizes(len(labels))``; within them each class gets its share of
    every split, rounded by largest remainder. Every class has a training point, and a class
    of ``MIN_PER_SPLIT_CLASS`` points or more has a point in every split (even where its share
    would round to nothing), which may move a split's size off its share by a point or two."""
    check_fractions(fractions)
    if numeric_target(labels):  # a regression target: stratified by ranges of the number
        labels = label_ranges(labels)
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    rng = random.Random(seed)
    classes = sorted(by_label, key=_label_order)
    # Equal remainders are common (classes of equal size): a seeded order of the classes
    # decides them, so that no class is always the one that gets the extra test point.
    tie_order = {label: rank for rank, label in enumerate(rng.sample(classes, len(classes)))}
    counts = _class_counts({label: len(by_label[label]) for label in classes}, fractions, tie_order)
    splits = [SPLITS[0]] * len(labels)
    for label in classes:
        indices = by_label[label]
        rng.shuffle(indices)
        n_test, n_validation = counts[label][1], counts[label][2]
        for index in indices[:n_test]:
            splits[index] = SPLITS[1]
        for index in indices[n_test : n_test + n_validation]:
            splits[index] = SPLITS[2]
    return splits


def _class_counts(
    sizes: dict[str, int], fractions: Fractions, tie_order: dict[str, int]
) -> dict[str, list[int]]:
    """Points per class and split: each class's shares rounded down (raised to its minimums),
    then the points left over (at most two per class) handed out by largest remainder among
    the splits still short of ``split_sizes``."""
    shares = _shares(fractions)
    quotas = {label: [size * share for share in shares] for label, size in sizes.items()}
    counts: dict[str, list[int]] = {}
    for label, size in sizes.items():
        minimum = [1, 1, 1] if size >= MIN_PER_SPLIT_CLASS else [1, 0, 0]
        cell = [
            max(low, math.floor(quota)) for low, quota in zip(minimum, quotas[label], strict=True)
        ]
        while sum(cell) > size:  # the minimums overshot (a tiny share): take the surplus back
            split = min(
                (s for s in range(3) if cell[s] > minimum[s]),
                key=lambda s: (quotas[label][s] - cell[s], -s),
            )
            cell[split] -= 1
        counts[label] = cell
    targets = split_sizes(sum(sizes.values()), fractions)
    short = [targets[s] - sum(cell[s] for cell in counts.values()) for s in range(3)]
    left = {label: size - sum(counts[label]) for label, size in sizes.items()}
    by_remainder = sorted(
        ((label, s) for label in sizes if left[label] for s in range(3)),
        key=lambda cell: (
            -(quotas[cell[0]][cell[1]] - counts[cell[0]][cell[1]]),
            cell[1],
            tie_order[cell[0]],
        ),
    )
    # First a point for each split that has none, then the splits still short, then (where
    # the minimums have overfilled a split) any split.
    fits = (
        lambda s: 0 < short[s] == targets[s],
        lambda s: short[s] > 0,
        lambda s: True,
    )
    for fit in fits:
        handed_out = True
        while handed_out:  # a class with two points left may give both to one split
            handed_out = False
            for label, split in by_remainder:
                if left[label] and fit(split):
                    counts[label][split] += 1
                    left[label] -= 1
                    short[split] -= 1
                    handed_out = True
    return counts


def validate_table(table: DatasetTable) -> None:
    names = table.feature_names
    if not names:
        raise InvalidInput(
            gettext("A dataset needs at least one feature."), fields={"features": "empty"}
        )
    if len(set(names)) != len(names):
        raise InvalidInput(
            gettext("Feature names must be unique."), fields={"features": "duplicates"}
        )
    clash = RESERVED_NAMES.intersection(names)
    if clash:
        raise InvalidInput(
            gettext("Feature names may not be %(names)s.") % {"names": ", ".join(sorted(clash))},
            fields={"features": "reserved name"},
        )
    if not table.labels:
        raise InvalidInput(
            gettext("A dataset needs at least one point."), fields={"points": "empty"}
        )
    rows = table.features.num_rows if isinstance(table.features, pa.Table) else len(table.features)
    if not (rows == len(table.labels) == len(table.splits)):
        raise InvalidInput(gettext("Features, labels and splits differ in length."))
    if isinstance(table.features, pa.Table):
        if table.features.num_columns != len(names):
            raise InvalidInput(
                gettext("Point %(n)s has %(values)s values, not %(features)s.")
                % {"n": 1, "values": table.features.num_columns, "features": len(names)}
            )
        infinite = columnar.first_infinite(table.features)
        if infinite is not None:
            raise InvalidInput(
                gettext("Point %(n)s has a value that is not a finite number.")
                % {"n": infinite[0] + 1}
            )
    listed: Sequence[Sequence[float]] = (
        [] if isinstance(table.features, pa.Table) else table.features
    )
    for row_number, row in enumerate(listed, start=1):
        if len(row) != len(names):
            raise InvalidInput(
                gettext("Point %(n)s has %(values)s values, not %(features)s.")
                % {"n": row_number, "values": len(row), "features": len(names)}
            )
        if any(math.isinf(value) for value in row):
            raise InvalidInput(
                gettext("Point %(n)s has a value that is not a finite number.") % {"n": row_number}
            )
    unknown = set(table.splits) - set(SPLITS)
    if unknown:
        raise InvalidInput(
            gettext("Unknown split %(split)s: use training, test or validation.")
            % {"split": repr(sorted(unknown)[0])},
            fields={"split": "unknown value"},
        )
    _check_splits_are_fair(table)


def _check_splits_are_fair(table: DatasetTable) -> None:
    """Every split has points and every class can be learnt: a round on a dataset without test
    or validation points cannot rank anyone, and a class no training point shows can only be
    guessed. A CSV file's own split column can break this, so every source is checked here."""
    sizes = {split: 0 for split in SPLITS}
    trained: set[str] = set()
    for label, split in zip(table.labels, table.splits, strict=True):
        sizes[split] += 1
        if split == SPLITS[0]:
            trained.add(label)
    for split, size in sizes.items():
        if size == 0:
            raise InvalidInput(
                gettext(
                    "The %(split)s split would be empty: every dataset needs training, test and "
                    "validation points (more points, or larger shares for the small splits)."
                )
                % {"split": split},
                fields={"split": f"no {split} points"},
            )
    untrained = sorted(set(table.labels) - trained, key=_label_order)
    if untrained and not numeric_target(table.labels):  # a number needs no training twin
        shown = ", ".join(repr(label) for label in untrained[:5])
        if len(untrained) > 5:
            shown = gettext("%(shown)s and %(n)s more") % {
                "shown": shown,
                "n": len(untrained) - 5,
            }
        raise InvalidInput(
            ngettext(
                "Class %(classes)s would have no training point: every class needs at least "
                "one, or no job could learn it.",
                "Classes %(classes)s would have no training point: every class needs at least "
                "one, or no job could learn it.",
                len(untrained),
            )
            % {"classes": shown},
            fields={"split": f"no training point for class {untrained[0]!r}"},
        )


def store_dataset(
    name: str, table: DatasetTable, description: str = "", source: str = "", replace: bool = False
) -> Dataset:
    """Save ``table`` as dataset ``name``; with ``replace`` an existing one gets new points.

    The points become the version's two Parquet files (``contest.columnar``) in the database
    (``contest.dataset_store``); the version is a hash of both, so it changes exactly when the
    points do and workers know when their copy is stale."""
    name = name.strip()
    if not name:
        raise InvalidInput(gettext("A dataset needs a name."), fields={"name": "required"})
    validate_table(table)
    features = columnar.features_table(table.feature_names, table.features)
    features = _with_nan_for_missing(features)
    labels_file = columnar.parquet_bytes(columnar.labels_table(table.splits, table.labels))
    with transaction.atomic():
        dataset = Dataset.objects.filter(name=name).first()
        if dataset is not None and not replace:
            raise Conflict(
                gettext("A dataset named %(name)s exists already.") % {"name": repr(name)},
                fields={"name": "taken"},
            )
        if dataset is None:
            try:
                dataset = Dataset.objects.create(name=name)
            except IntegrityError:
                raise Conflict(
                    gettext("A dataset named %(name)s exists already.") % {"name": repr(name)}
                ) from None
        # Written into Arrow's own buffer (a Python file object costs a call per page: 28,000
        # calls, seconds, for 784 columns), hashed, then saved in pieces under that version
        # (saving first and renaming after rewrote every piece: 4.5 s for 157 MB on SQLite).
        features_file = columnar.parquet_buffer(features)
        digest = hashlib.sha256(memoryview(features_file))
        digest.update(hashlib.sha256(labels_file).digest())
        digest.update(json.dumps(list(table.feature_names)).encode())
        version = digest.hexdigest()[:16]
        DatasetChunk.objects.filter(dataset=dataset).delete()
        dataset_store.save_part(dataset, version, columnar.FEATURES, features_file)
        dataset_store.save_part(dataset, version, columnar.LABELS, labels_file)
        dataset.description = description
        dataset.source = source
        dataset.feature_names = list(table.feature_names)
        # A numeric label has no classes, and the set of its values would tell the test and
        # validation labels (everyone may read the class list): it stays empty.
        dataset.class_labels = (
            [] if numeric_target(table.labels) else sorted(set(table.labels), key=_label_order)
        )
        dataset.version = version
        dataset.size = len(table.labels)
        dataset.split_sizes = {split: 0 for split in SPLITS} | dict(Counter(table.splits))
        dataset.missing_values = columnar.missing_cells(features)
        dataset.preview = columnar.preview(features, table.splits, table.labels)
        dataset.save()
    return dataset


def _with_nan_for_missing(features: pa.Table) -> pa.Table:
    """Every column as float64, an empty cell (a null from a CSV reader) as NaN."""
    columns = []
    for column in features.columns:
        if column.type != pa.float64():
            column = column.cast(pa.float64())
        if column.null_count:
            column = column.fill_null(math.nan)
        columns.append(column)
    return pa.table(columns, names=features.column_names)


def _label_order(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def get_dataset(dataset_id: int) -> Dataset:
    number = as_id(dataset_id)  # None beyond 64 bits: no such dataset, not an overflow
    dataset = None if number is None else Dataset.objects.filter(pk=number).first()
    if dataset is None:
        raise NotFound(gettext("No dataset %(id)s.") % {"id": dataset_id})
    return dataset


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset's points in memory, in their stored order. Only what needs every feature value
    (the training CSV, tests) loads them; scoring needs the labels alone (``load_labels``)."""

    version: str
    feature_names: tuple[str, ...]
    positions: tuple[int, ...]
    splits: tuple[str, ...]
    labels: tuple[str, ...]
    features: tuple[tuple[float, ...], ...]

    def labels_of(self, split: str) -> list[str]:
        return [
            label for label, where in zip(self.labels, self.splits, strict=True) if where == split
        ]

    def count(self, split: str) -> int:
        return self.splits.count(split)


@dataclass(frozen=True)
class DatasetLabels:
    """Every point's split and label, in the stored order: what scoring needs (small)."""

    version: str
    splits: tuple[str, ...]
    labels: tuple[str, ...]
    labels_by_split: dict[str, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Every result post asks for these; work them out once per loaded version.
        by_split: dict[str, list[str]] = {split: [] for split in SPLITS}
        for label, where in zip(self.labels, self.splits, strict=True):
            by_split[where].append(label)
        object.__setattr__(self, "labels_by_split", by_split)

    def labels_of(self, split: str) -> list[str]:
        return list(self.labels_by_split[split])

    def count(self, split: str) -> int:
        return len(self.labels_by_split[split])


def load_labels(dataset: Dataset) -> DatasetLabels:
    """The dataset's splits and labels, cached per process by version."""
    return _load_labels(dataset.pk, dataset.version)


@lru_cache(maxsize=32)
def _load_labels(dataset_id: int, version: str) -> DatasetLabels:
    splits, labels = dataset_store.labels_of_version(dataset_id, version)
    return DatasetLabels(version, splits, labels)


def load_points(dataset: Dataset) -> LoadedDataset:
    """The dataset's points with every feature value, cached per process by version (a new
    version is a new entry). About 30 bytes a value: for small datasets and downloads only."""
    return _load_points(dataset.pk, dataset.version)


@lru_cache(maxsize=4)
def _load_points(dataset_id: int, version: str) -> LoadedDataset:
    dataset = Dataset.objects.get(pk=dataset_id)
    splits, labels = dataset_store.labels_of_version(dataset_id, version)
    rows: list[tuple[float, ...]] = []
    for _, batch in columnar.iter_point_batches(dataset_store.features_file(dataset)):
        rows.extend(tuple(row) for row in batch)
    return LoadedDataset(
        version=version,
        feature_names=tuple(dataset.feature_names),
        positions=tuple(range(len(labels))),
        splits=splits,
        labels=labels,
        features=tuple(rows),
    )


# The seed's point list is kept whole in memory below this many values (a class's worker
# fetches it again and again); a bigger one is streamed from the stored file each time.
CACHED_JSON_VALUES = 200_000


def data_shape(dataset: Dataset) -> DataShape:
    """What the round's data allows a job's parameters: training points and features, read
    off the dataset's row (loading the points would hold a big dataset whole at each submit)."""
    return DataShape(dataset.training_points, len(dataset.feature_names))


def points_json(dataset: Dataset, with_hidden_labels: bool) -> bytes:
    """The seed's point list as JSON bytes: ``{"id", "split", "label", <feature>: value}``.

    Without ``with_hidden_labels`` the labels of test and validation points are null."""
    return b"".join(iter_points_json(dataset, with_hidden_labels))


def points_json_is_small(dataset: Dataset) -> bool:
    """Whether the point list is answered from memory (else it is streamed)."""
    return dataset.size * max(len(dataset.feature_names), 1) <= CACHED_JSON_VALUES


def iter_points_json(dataset: Dataset, with_hidden_labels: bool) -> Iterator[bytes]:
    """The same bytes in pieces, for a streamed answer: the same text as ``json.dumps`` of the
    whole list (its separators, Python's float repr), built a few hundred points at a time."""
    if points_json_is_small(dataset):
        yield _points_json(dataset, dataset.version, with_hidden_labels)
        return
    yield from _stream_points_json(dataset, with_hidden_labels)


@lru_cache(maxsize=32)
def _points_json(dataset: Dataset, version: str, with_hidden_labels: bool) -> bytes:
    # A model instance hashes by its primary key: the key is the dataset's id and version.
    return b"".join(_stream_points_json(dataset, with_hidden_labels))


def _stream_points_json(dataset: Dataset, with_hidden_labels: bool) -> Iterator[bytes]:
    splits, labels = dataset_store.labels_of_version(dataset.pk, dataset.version)
    names = list(dataset.feature_names)
    training = SPLITS[0]
    first = True
    yield b"["
    for start, rows in columnar.iter_point_batches(dataset_store.features_file(dataset)):
        pieces = []
        for offset, row in enumerate(rows):
            position = start + offset
            split = splits[position]
            point: dict[str, Any] = {
                "id": position,
                "split": split,
                "label": labels[position] if with_hidden_labels or split == training else None,
            }
            point.update(zip(names, row, strict=True))
            pieces.append(json.dumps(point))
        if pieces:
            yield (("" if first else ", ") + ", ".join(pieces)).encode()
            first = False
    yield b"]"


def describe_dataset(dataset: Dataset) -> dict[str, Any]:
    """What lists and the seed's ``get_datasets`` say of a dataset: from its row alone, so
    the answer costs the same for any number of points."""
    return {
        "id": dataset.pk,
        "name": dataset.name,
        "description": dataset.description,
        "source": dataset.source,
        "features": list(dataset.feature_names),
        "labels": list(dataset.class_labels),
        "size": dataset.size,
        "splits": {split: int(dataset.split_sizes.get(split, 0)) for split in SPLITS},
        "version": dataset.version,
        "url": f"/actions/get_dataset_points/{dataset.pk}.json/",
    }


def visible_datasets(viewer: User) -> QuerySet[Dataset]:
    """Workers and organizers see every dataset; students those of the rounds they can see.
    The one rule for the seed's ``get_datasets``, the JSON API and their points."""
    # The plot's preview is for the dataset's page only: lists need not parse it.
    if sees_everything(viewer):
        return Dataset.objects.defer("preview")
    used = visible_rounds(viewer).values_list("dataset_id", flat=True)
    return Dataset.objects.filter(pk__in=used).defer("preview")


def find_visible_dataset(viewer: User, dataset_id: int | str) -> Dataset:
    """A dataset the viewer may see; one they may not is answered as a missing one."""
    number = as_id(dataset_id)
    dataset = None if number is None else visible_datasets(viewer).filter(pk=number).first()
    if dataset is None:
        raise NotFound(f"No dataset {dataset_id}.")
    return dataset
