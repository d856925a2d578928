"""Reading a big CSV file with pyarrow's columnar reader (multi-threaded, about a byte of memory
per byte of file plus the float64 table), giving the same table as the line-by-line reader in
``dataset_sources.from_csv``, which stays the reference for what a file means.

Anything this reader finds odd (a parse error, a cell that is not UTF-8, a number pyarrow reads
differently from Python, an empty label, an unknown split, a number among text) makes it give
up (``read`` returns None): the reference reader then reads the file and refuses it with the
line and the column, or accepts it. So a refusal is always worded the same, and a file is never
accepted here that the reference would refuse.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from mlcontest.contest import categories, columnar, datasets
from mlcontest.contest.datasets import SPLITS

# Below this a file is read line by line: as fast, and its table is a plain list.
COLUMNAR_FROM_BYTES = 1024 * 1024


class GiveUp(Exception):
    """The reference reader must read this file."""


def is_big(text_or_path: str | bytes | Path) -> bool:
    if isinstance(text_or_path, bytes | str) and (
        not isinstance(text_or_path, str) or "\n" in text_or_path or not text_or_path.strip()
    ):
        return len(text_or_path) >= COLUMNAR_FROM_BYTES
    try:
        return Path(text_or_path).stat().st_size >= COLUMNAR_FROM_BYTES
    except OSError:
        return False


@dataclass
class ColumnarCsv:
    """What the reader found; ``dataset_sources.from_csv`` words the description."""

    file_name: str
    columns: list[str]  # the file's columns used as features
    features: list[str]  # the feature names (a text column gives one per value)
    matrix: pa.Table
    labels: list[str]
    splits: list[str] | None  # None: no split column, the points are split from the seed
    ignored: list[str]


def read(
    text_or_path: str | bytes | Path,
    label_column: str,
    split_column: str | None,
    feature_columns: Sequence[str] | None,
) -> ColumnarCsv | None:
    """The table, or None where the reference reader must decide."""
    source, file_name = _source(text_or_path)
    try:
        table = _read_table(source, label_column, split_column)
        header = table.column_names
        if label_column not in header or len(set(header)) != len(header):
            raise GiveUp
        has_split = split_column is not None and split_column in header
        labels = _labels(table.column(label_column))
        splits = _splits(table.column(split_column)) if has_split and split_column else None
        skipped = {label_column, split_column if has_split else None, "id"}
        columns, features, arrays, ignored = _features(table, skipped, feature_columns)
    except (GiveUp, pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, csv.Error):
        return None
    del table
    matrix = pa.table(arrays, names=features)
    return ColumnarCsv(file_name, columns, features, matrix, labels, splits, ignored)


def sniff_delimiter(text: str) -> str:
    # Spreadsheets set to a comma as decimal mark save with ';': let the header line decide.
    # Only the delimiter is taken from the sniffer; its guesses about quoting are unreliable.
    first_line = text.lstrip().splitlines()[0]
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _source(text_or_path: str | bytes | Path) -> tuple[pa.NativeFile | str, str]:
    if isinstance(text_or_path, bytes):
        return pa.BufferReader(text_or_path), ""
    if isinstance(text_or_path, str) and ("\n" in text_or_path or not text_or_path.strip()):
        return pa.BufferReader(text_or_path.encode("utf-8")), ""
    path = Path(text_or_path)
    return str(path), path.name


def _first_line(source: pa.NativeFile | str) -> str:
    if isinstance(source, str):
        with open(source, "rb") as handle:
            head = handle.readline(1024 * 1024)
    else:
        head = source.read(1024 * 1024).split(b"\n", 1)[0]
        source.seek(0)
    text = head.decode("utf-8-sig")  # UnicodeDecodeError: the reference says where
    if not text.strip():
        raise GiveUp  # an empty first line: the reference skips blank lines
    return text


def _read_table(
    source: pa.NativeFile | str, label_column: str, split_column: str | None
) -> pa.Table:
    line = _first_line(source)
    delimiter = sniff_delimiter(line)
    header = [cell.strip() for cell in next(csv.reader(io.StringIO(line), delimiter=delimiter))]
    if header != next(csv.reader(io.StringIO(line), delimiter=delimiter)) or "" in header:
        raise GiveUp  # names with spaces around them, or unnamed columns
    text_columns = {label_column: pa.string()}
    if split_column:
        text_columns[split_column] = pa.string()
    return pv.read_csv(
        source,
        # 16 MB blocks, not 1 MB: 22 chunks per column instead of 341 for a 351 MB file, and
        # reading, writing Parquet and taking rows all got about 1.5 times faster.
        read_options=pv.ReadOptions(block_size=16 * 1024 * 1024),
        parse_options=pv.ParseOptions(delimiter=delimiter),
        convert_options=pv.ConvertOptions(
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            column_types={name: kind for name, kind in text_columns.items() if name in header},
        ),
    )


def _labels(column: pa.ChunkedArray) -> list[str]:
    if column.null_count:
        raise GiveUp
    labels = pc.utf8_trim_whitespace(column)
    if pc.any(pc.equal(labels, "")).as_py():
        raise GiveUp
    return [str(label) for label in labels.to_pylist()]


def _splits(column: pa.ChunkedArray) -> list[str]:
    if column.null_count:
        raise GiveUp
    values = pc.utf8_lower(pc.utf8_trim_whitespace(column))
    if not pc.all(pc.is_in(values, pa.array(SPLITS))).as_py():
        raise GiveUp
    return [str(value) for value in values.to_pylist()]


def _features(
    table: pa.Table, skipped: set[str | None], chosen: Sequence[str] | None
) -> tuple[list[str], list[str], list[pa.Array | pa.ChunkedArray], list[str]]:
    """(columns used, feature names, feature columns as float64, columns left out)."""
    header = table.column_names
    if chosen is not None:
        unusable = skipped | datasets.RESERVED_NAMES
        if len(set(chosen)) != len(chosen) or any(
            name not in header or name in unusable for name in chosen
        ):
            raise GiveUp
        candidates, explicit = list(chosen), True
    else:
        candidates, explicit = [name for name in header if name not in skipped], False
    columns: list[str] = []
    names: list[str] = []
    arrays: list[pa.Array | pa.ChunkedArray] = []
    ignored: list[str] = []
    for name in candidates:
        column = table.column(name)
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            if not columnar.all_finite(column):
                raise GiveUp  # "nan" or "inf" written out: the reference refuses it
            columns.append(name)
            names.append(name)
            arrays.append(column.cast(pa.float64()))
        elif pa.types.is_null(kind):
            if explicit:
                columns.append(name)
                names.append(name)
                arrays.append(pa.chunked_array([np.full(len(column), math.nan)]))
            else:
                ignored.append(name)
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            found = _categories(column)
            if explicit and len(found) > categories.MAX_CATEGORIES:
                raise categories.too_many(name, len(found))
            if explicit or categories.is_category(found, table.num_rows):
                columns.append(name)
                names += categories.feature_names(name, found)
                arrays += _one_hot(column, found)
            else:
                ignored.append(name)
        else:
            raise GiveUp  # dates, booleans: the reference reads them as text or numbers
    if not names:
        raise GiveUp
    return columns, names, arrays, ignored


def _categories(column: pa.ChunkedArray) -> list[str]:
    """The values of a text column; GiveUp when one is a number (a mistyped numeric column,
    which the reference refuses naming the line)."""
    values = pc.unique(pc.utf8_trim_whitespace(column)).to_pylist()
    for value in values:
        if value is None:
            continue
        try:
            float(value)
        except ValueError:
            continue
        raise GiveUp
    return categories.categories_of(values)


def _one_hot(column: pa.ChunkedArray, found: list[str]) -> list[pa.Array]:
    trimmed = pc.utf8_trim_whitespace(column)
    return [
        pc.cast(pc.fill_null(pc.equal(trimmed, value), False), pa.float64()).combine_chunks()
        for value in found
    ]
