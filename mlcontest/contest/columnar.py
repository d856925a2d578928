"""A dataset version's compact binary form: two Parquet files, no Django here.

- ``features``: one float64 column per feature, one row per point in the dataset's order (the
  point's id is its row number). Nothing about labels or splits: this is the file every worker
  downloads, so a hidden label cannot travel in it even by mistake. A missing value is NaN.
- ``labels``: columns ``split`` and ``label`` for every point, hidden labels included: it stays
  on the server (scoring, the seed's point list for organizers) and is small.

Measured on a 70,000 x 784 table (make_classification, 3 decimals, a 357 MB CSV), one 2-core
machine: Parquet with zstd and no dictionaries is 157 MB (with dictionaries 161 MB and twice
the writing time, snappy 198 MB, uncompressed 286 MB, a float64 .npy 439 MB); pyarrow's CSV
reader takes 2.4-3.2 s against pandas.read_csv's 3.5-4.4 s, its streaming reader 8 s
(conversion is serial there), so a file is read whole. Parquet keeps float64 exactly, so the
seed's point list gives back the very floats imported.
"""

from __future__ import annotations

import atexit
import gc
import io
import math
from collections.abc import Iterator, Sequence
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

FEATURES = "features"
LABELS = "labels"
PARTS = (FEATURES, LABELS)
# Rows per row group: a reader that streams (the seed's JSON list) holds one group at a time.
ROW_GROUP_ROWS = 8192
COMPRESSION = "zstd"
# The scatter plot of a dataset page shows at most this many points (web.plots.MAX_POINTS).
PREVIEW_POINTS = 2000

# Cyclic garbage is collected at exit while Arrow is still whole: a Parquet reader left to the
# interpreter's last collection (run by whichever thread is alive, e.g. http/db_outage.py's
# daemon) is destroyed after Arrow's thread pool, and the process aborts ("terminate called
# without an active exception", status 134) after its work is done (apache/arrow#34314).
atexit.register(gc.collect)


def features_table(feature_names: Sequence[str], features: Any) -> pa.Table:
    """The features as an Arrow table: ``features`` is already one (its columns in the order of
    ``feature_names``), or a matrix (a list of rows, or a numpy array)."""
    if isinstance(features, pa.Table):
        return features.rename_columns(list(feature_names))
    matrix = np.asarray(features, dtype=np.float64).reshape(len(features), len(feature_names))
    return pa.table({name: matrix[:, i] for i, name in enumerate(feature_names)})


def labels_table(splits: Sequence[str], labels: Sequence[str]) -> pa.Table:
    return pa.table(
        {
            "split": pa.array(splits, pa.string()).dictionary_encode(),
            "label": pa.array(labels, pa.string()),
        }
    )


def write_parquet(table: pa.Table, sink: IO[bytes] | pa.NativeFile) -> None:
    # Without dictionaries: measured on the 70,000 x 784 table, as small (157 MB against 161)
    # and written twice as fast.
    pq.write_table(
        table,
        sink,
        compression=COMPRESSION,
        row_group_size=ROW_GROUP_ROWS,
        use_dictionary=False,
    )


def parquet_buffer(table: pa.Table) -> pa.Buffer:
    out = pa.BufferOutputStream()
    write_parquet(table, out)
    return out.getvalue()


def parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    write_parquet(table, out)
    return out.getvalue()


def read_labels(data: bytes) -> tuple[list[str], list[str]]:
    """Splits and labels, in point order, from a ``labels`` file."""
    table = pq.read_table(pa.BufferReader(data))
    splits = table.column("split").cast(pa.string()).to_pylist()
    labels = table.column("label").to_pylist()
    return splits, labels


def missing_cells(table: pa.Table) -> int:
    return sum(column.null_count + _nan_count(column) for column in table.columns)


def _nan_count(column: pa.ChunkedArray) -> int:
    if all_finite(column):
        return 0
    return int(pc.sum(pc.is_nan(column)).as_py() or 0)


def all_finite(column: pa.ChunkedArray) -> bool:
    """True when no value is infinite or NaN (nulls aside), in one pass: a finite sum says so
    (a sum that overflows only sends the column to the slower check)."""
    if not pa.types.is_floating(column.type):
        return True
    total = pc.sum(column).as_py()
    return total is None or math.isfinite(total)


def first_infinite(table: pa.Table) -> tuple[int, str] | None:
    """(row index, column) of the first infinite value, or None."""
    found: tuple[int, str] | None = None
    for name, column in zip(table.column_names, table.columns, strict=True):
        if all_finite(column):
            continue
        flags = pc.is_inf(column)
        if pc.any(flags).as_py():
            row = int(np.flatnonzero(flags.to_numpy(zero_copy_only=False))[0])
            if found is None or row < found[0]:
                found = (row, name)
    return found


def preview(
    features: pa.Table, splits: Sequence[str], labels: Sequence[str]
) -> dict[str, list[list[Any]]]:
    """The points a dataset page plots, projected once when the dataset is stored so that the
    page costs the same for 150 points and for 70,000: ``all`` (the first points, for
    organizers) and ``training`` (the first training points, for students), each a list of
    ``[x, y, label]``. More than two features are projected on the first two principal axes
    of the points shown (web.plots.project did this on every page load before)."""
    first = list(range(min(PREVIEW_POINTS, len(splits))))
    training: list[int] = []
    for index, split in enumerate(splits):
        if split == "training":
            training.append(index)
            if len(training) == PREVIEW_POINTS:
                break
    return {
        "all": _projected(features, first, labels),
        "training": _projected(features, training, labels),
    }


def _projected(features: pa.Table, rows: list[int], labels: Sequence[str]) -> list[list[Any]]:
    if not rows:
        return []
    # Only the head of the table holds the rows: take from it, not from every chunk.
    head = features.slice(0, rows[-1] + 1)
    taken = head.take(pa.array(rows, pa.int64()))
    matrix = np.column_stack([column.to_numpy(zero_copy_only=False) for column in taken.columns])
    matrix = np.nan_to_num(matrix.astype(np.float64), nan=0.0)
    if matrix.shape[1] == 1:
        coords = np.column_stack([matrix[:, 0], np.zeros(len(rows))])
    elif matrix.shape[1] == 2:
        coords = matrix
    else:
        centred = matrix - matrix.mean(axis=0)
        scale = centred.std(axis=0)
        centred = centred / np.where(scale > 0, scale, 1.0)
        coords = centred @ _two_axes(centred).T
    return [
        [_finite(x), _finite(y), labels[row]]
        for (x, y), row in zip(coords.tolist(), rows, strict=True)
    ]


def _two_axes(matrix: np.ndarray) -> np.ndarray:
    """The first two principal axes (rows) of a centred matrix, by a randomized range finder
    on the features' covariance (12 directions, 8 power steps, then a 12 x 12 eigenproblem):
    the full SVD of 2,000 x 784, or the full eigendecomposition, took seconds; this takes
    a fraction of that and finds the same axes where the data has leading directions (on data
    without any, every projection looks alike anyway). Signs fixed: the largest entry
    of each axis is positive."""
    covariance = matrix.T @ matrix
    width = min(12, covariance.shape[0])
    basis = np.random.default_rng(0).standard_normal((covariance.shape[0], width))
    for _ in range(8):
        basis, _ = np.linalg.qr(covariance @ basis)
    values, small = np.linalg.eigh(basis.T @ covariance @ basis)
    axes = (basis @ small[:, np.argsort(values)[::-1][:2]]).T
    signs = np.where(axes[np.arange(2), np.abs(axes).argmax(axis=1)] < 0, -1.0, 1.0)
    return np.asarray(axes * signs[:, None])


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def iter_point_batches(
    features: pq.ParquetFile, rows: int = 500
) -> Iterator[tuple[int, list[list[float]]]]:
    """(first row, rows as lists of floats) in slices of ``rows`` points: Python floats cost
    about 30 bytes each, so a slice, not the file, is ever turned into them."""
    start = 0
    for group in range(features.num_row_groups):
        table = features.read_row_group(group)
        for offset in range(0, table.num_rows, rows):
            piece = table.slice(offset, rows)
            columns = [column.to_pylist() for column in piece.columns]
            yield start, [list(row) for row in zip(*columns, strict=True)]
            start += piece.num_rows
