"""Training data for students: a round's points as CSV files to download (docs/rules.md).

Two files, because the hidden labels must not travel even as an empty column:

- ``training``: ``id, split, <features>, label``, the training points with their labels;
- ``test-validation``: ``id, split, <features>``, the test and validation points, no label
  column at all.

``id`` is the point's id in the seed's point list (``get_dataset_points``), so that a student's
predictions can be matched back. Everyone who may see the round gets the same files: nothing in
them depends on the role, so an organizer's download holds no hidden label either.

The bytes are UTF-8 with a byte order mark, comma separated, quoted as RFC 4180 says (a field
with a comma, a quote or a line break in double quotes, quotes doubled) and with CRLF line
ends. Excel reads a CSV without the mark in the machine's ANSI code page, so "Größe" arrives as
"GrÃ¶ÃŸe"; with it, Excel and LibreOffice (which picks UTF-8 in its import dialog when it sees
the mark) show the umlauts. Python reads it with ``encoding="utf-8-sig"`` and pandas as it is;
``mlcontest dataset import-csv`` and the dataset upload read it back too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext

from mlcontest.contest import columnar, dataset_store, datasets, rounds
from mlcontest.contest.datasets import SPLITS, load_labels, load_points
from mlcontest.contest.errors import NotFound
from mlcontest.contest.models import Dataset, User
from mlcontest.contest.permissions import require_user

TRAINING = "training"
UNLABELLED = "test-validation"
PARTS = (TRAINING, UNLABELLED)
BOM = "\ufeff"


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV file that spreadsheets open correctly: UTF-8 with BOM, RFC 4180 quoting, CRLF."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def dataset_csv(dataset: Dataset, part: str) -> bytes:
    """One of the two files (``PARTS``) of the dataset, never with a hidden label."""
    if part not in PARTS:
        raise NotFound(
            gettext("No download %(part)s: there are %(parts)s.")
            % {"part": repr(part), "parts": " and ".join(PARTS)}
        )
    return _dataset_csv(dataset, dataset.version, part)


# A class downloads at once: build each file once per process and dataset version (a model
# instance hashes by its primary key, so the key is the dataset's id and version).
@lru_cache(maxsize=8)
def _dataset_csv(dataset: Dataset, version: str, part: str) -> bytes:
    loaded = load_points(dataset)
    labelled = part == TRAINING
    wanted = {TRAINING} if labelled else set(SPLITS) - {TRAINING}
    header = ["id", "split", *loaded.feature_names] + (["label"] if labelled else [])
    rows = (
        # repr: the shortest text that reads back as the very same float.
        [position, split, *map(repr, features)] + ([label] if labelled else [])
        for position, split, label, features in zip(
            loaded.positions, loaded.splits, loaded.labels, loaded.features, strict=True
        )
        if split in wanted
    )
    return csv_bytes(header, rows)


def iter_dataset_csv(dataset: Dataset, part: str) -> Iterator[bytes]:
    """The same file in pieces, for a dataset too big to build in memory: its rows are read
    from the stored Parquet file a few hundred points at a time."""
    if part not in PARTS:
        raise NotFound(
            gettext("No download %(part)s: there are %(parts)s.")
            % {"part": repr(part), "parts": " and ".join(PARTS)}
        )
    return _stream_csv(dataset, part)


def _stream_csv(dataset: Dataset, part: str) -> Iterator[bytes]:
    loaded = load_labels(dataset)
    labelled = part == TRAINING
    wanted = {TRAINING} if labelled else set(SPLITS) - {TRAINING}
    header = ["id", "split", *dataset.feature_names] + (["label"] if labelled else [])
    yield csv_bytes(header, [])
    for start, batch in columnar.iter_point_batches(dataset_store.features_file(dataset)):
        rows = []
        for offset, features in enumerate(batch):
            position = start + offset
            split = loaded.splits[position]
            if split in wanted:
                label = [loaded.labels[position]] if labelled else []
                rows.append([position, split, *map(repr, features), *label])
        yield csv_bytes([], rows)[len(BOM.encode()) :]


@dataclass(frozen=True)
class Download:
    filename: str
    content: bytes
    content_type: str = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class DataFile:
    """A round's data file: whole, or in pieces streamed as they are made (a big dataset)."""

    filename: str
    content: bytes | Iterator[bytes]
    content_type: str = "text/csv; charset=utf-8"


def round_data(viewer: User, round_id: Any, part: str) -> DataFile:
    """The file ``part`` of the round's dataset, for anyone who may see the round (drafts:
    organizers only, as everywhere: ``rounds.find_round``)."""
    require_user(viewer)
    round_ = rounds.find_round(round_id, viewer)
    dataset = round_.dataset
    if datasets.points_json_is_small(dataset):
        content: bytes | Iterator[bytes] = dataset_csv(dataset, part)
    else:
        content = iter_dataset_csv(dataset, part)
    return DataFile(f"round-{round_.pk}-{part}.csv", content)
