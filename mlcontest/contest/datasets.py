"""Datasets: storing a table of points, splitting it reproducibly, and reading it back.

Where the points come from (CSV, scikit-learn, generators) is in ``dataset_sources``; this
module only knows the table.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import IntegrityError, transaction

from mlcontest.contest.errors import Conflict, InvalidInput, NotFound
from mlcontest.contest.inputs import as_id
from mlcontest.contest.models import Dataset, Point, Split

RESERVED_NAMES = {"id", "split", "label"}
SPLITS = (Split.TRAINING.value, Split.TEST.value, Split.VALIDATION.value)


@dataclass
class DatasetTable:
    """Points before they are stored: one row of features, one label, one split per point."""

    feature_names: list[str]
    features: list[list[float]]
    labels: list[str]
    splits: list[str]

    def __len__(self) -> int:
        return len(self.labels)


def assign_splits(
    labels: Sequence[str], seed: int = 0, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
) -> list[str]:
    """A reproducible split, stratified by label so every split sees every class."""
    if any(fraction < 0 for fraction in fractions) or not math.isclose(sum(fractions), 1.0):
        raise InvalidInput(
            "Split fractions must be non-negative and add up to 1.",
            fields={"fractions": "must add up to 1"},
        )
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    rng = random.Random(seed)
    splits = [SPLITS[0]] * len(labels)
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        n_test = round(len(indices) * fractions[1])
        n_validation = round(len(indices) * fractions[2])
        for position, index in enumerate(indices):
            if position < n_test:
                splits[index] = SPLITS[1]
            elif position < n_test + n_validation:
                splits[index] = SPLITS[2]
    return splits


def validate_table(table: DatasetTable) -> None:
    names = table.feature_names
    if not names:
        raise InvalidInput("A dataset needs at least one feature.", fields={"features": "empty"})
    if len(set(names)) != len(names):
        raise InvalidInput("Feature names must be unique.", fields={"features": "duplicates"})
    clash = RESERVED_NAMES.intersection(names)
    if clash:
        raise InvalidInput(
            f"Feature names may not be {', '.join(sorted(clash))}.",
            fields={"features": "reserved name"},
        )
    if not table.labels:
        raise InvalidInput("A dataset needs at least one point.", fields={"points": "empty"})
    if not (len(table.features) == len(table.labels) == len(table.splits)):
        raise InvalidInput("Features, labels and splits differ in length.")
    for row_number, row in enumerate(table.features, start=1):
        if len(row) != len(names):
            raise InvalidInput(f"Point {row_number} has {len(row)} values, not {len(names)}.")
        if not all(math.isfinite(value) for value in row):
            raise InvalidInput(f"Point {row_number} has a value that is not a finite number.")
    unknown = set(table.splits) - set(SPLITS)
    if unknown:
        raise InvalidInput(
            f"Unknown split {sorted(unknown)[0]!r}: use training, test or validation.",
            fields={"split": "unknown value"},
        )
    if SPLITS[0] not in table.splits:
        raise InvalidInput("A dataset needs training points.", fields={"split": "no training"})


def table_version(table: DatasetTable) -> str:
    digest = hashlib.sha256()
    digest.update(
        json.dumps([table.feature_names, table.features, table.labels, table.splits]).encode()
    )
    return digest.hexdigest()[:16]


def store_dataset(
    name: str, table: DatasetTable, description: str = "", source: str = "", replace: bool = False
) -> Dataset:
    """Save ``table`` as dataset ``name``; with ``replace`` an existing one gets new points."""
    name = name.strip()
    if not name:
        raise InvalidInput("A dataset needs a name.", fields={"name": "required"})
    validate_table(table)
    with transaction.atomic():
        dataset = Dataset.objects.filter(name=name).first()
        if dataset is not None and not replace:
            raise Conflict(f"A dataset named {name!r} exists already.", fields={"name": "taken"})
        if dataset is None:
            try:
                dataset = Dataset.objects.create(name=name)
            except IntegrityError:
                raise Conflict(f"A dataset named {name!r} exists already.") from None
        dataset.points.all().delete()
        dataset.description = description
        dataset.source = source
        dataset.feature_names = list(table.feature_names)
        dataset.class_labels = sorted(set(table.labels), key=_label_order)
        dataset.version = table_version(table)
        dataset.save()
        Point.objects.bulk_create(
            Point(
                dataset=dataset,
                position=position,
                split=split,
                label=label,
                features=[float(value) for value in row],
            )
            for position, (row, label, split) in enumerate(
                zip(table.features, table.labels, table.splits, strict=True)
            )
        )
    return dataset


def _label_order(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def get_dataset(dataset_id: int) -> Dataset:
    number = as_id(dataset_id)  # None beyond 64 bits: no such dataset, not an overflow
    dataset = None if number is None else Dataset.objects.filter(pk=number).first()
    if dataset is None:
        raise NotFound(f"No dataset {dataset_id}.")
    return dataset


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset's points in memory, in their stored order."""

    version: str
    feature_names: tuple[str, ...]
    positions: tuple[int, ...]
    splits: tuple[str, ...]
    labels: tuple[str, ...]
    features: tuple[tuple[float, ...], ...]
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


def load_points(dataset: Dataset) -> LoadedDataset:
    """The dataset's points, cached per process by version (a new version is a new entry)."""
    return _load_points(dataset.pk, dataset.version)


@lru_cache(maxsize=16)
def _load_points(dataset_id: int, version: str) -> LoadedDataset:
    rows = list(
        Point.objects.filter(dataset_id=dataset_id)
        .order_by("position")
        .values_list("position", "split", "label", "features")
    )
    feature_names = Dataset.objects.values_list("feature_names", flat=True).get(pk=dataset_id)
    return LoadedDataset(
        version=version,
        feature_names=tuple(feature_names),
        positions=tuple(row[0] for row in rows),
        splits=tuple(row[1] for row in rows),
        labels=tuple(row[2] for row in rows),
        features=tuple(tuple(row[3]) for row in rows),
    )


def points_json(dataset: Dataset, with_hidden_labels: bool) -> bytes:
    """The seed's point list as JSON bytes: ``{"id", "split", "label", <feature>: value}``.

    Without ``with_hidden_labels`` the labels of test and validation points are null."""
    return _points_json(dataset.pk, dataset.version, with_hidden_labels)


@lru_cache(maxsize=32)
def _points_json(dataset_id: int, version: str, with_hidden_labels: bool) -> bytes:
    loaded = _load_points(dataset_id, version)
    points: list[dict[str, Any]] = []
    for position, split, label, row in zip(
        loaded.positions, loaded.splits, loaded.labels, loaded.features, strict=True
    ):
        point: dict[str, Any] = {
            "id": position,
            "split": split,
            "label": label if with_hidden_labels or split == SPLITS[0] else None,
        }
        point.update(zip(loaded.feature_names, row, strict=True))
        points.append(point)
    return json.dumps(points).encode()


def describe_dataset(dataset: Dataset) -> dict[str, Any]:
    loaded = load_points(dataset)
    return {
        "id": dataset.pk,
        "name": dataset.name,
        "description": dataset.description,
        "source": dataset.source,
        "features": list(dataset.feature_names),
        "labels": list(dataset.class_labels),
        "size": len(loaded.positions),
        "splits": {split: loaded.count(split) for split in SPLITS},
        "version": dataset.version,
        "url": f"/actions/get_dataset_points/{dataset.pk}.json/",
    }
