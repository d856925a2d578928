"""The refusal of a big CSV file that the columnar reader gave up on, found while streaming it.

The line-by-line reader (``dataset_sources.from_csv``) holds the whole text and every cell as a
Python string before it refuses a file: for a 350 MB file that is several GB. Here the file is
read twice as a stream, a block of bytes and then a line at a time, keeping per column only what
the reference's checks need (whether it holds a number, its first bad cell, at most
``MAX_CATEGORIES + 1`` of its text values), and the first fault is raised with the reference's
own words and in the reference's order: not UTF-8 (the whole file is decoded first), then the
header and ragged rows, the label column, the features, a cell that is not a number in a
numeric column (the first such column in feature order, at its first bad line), an empty label,
an unknown split.

A file where nothing is found goes on to the reference reader, which accepts it or refuses it
for a reason not looked for here; a test holds both readers to the same refusal.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.utils.translation import gettext

from mlcontest.contest import categories, csv_checks
from mlcontest.contest.datasets import SPLITS
from mlcontest.contest.errors import InvalidInput

BLOCK = 1024 * 1024
BATCH = 2048  # rows looked at together, column by column
# A batch: the rows' line numbers, and their cells column by column.
Batch = tuple[list[int], list[tuple[str, ...]]]
# Text values kept per column: enough to tell a category (``categories.is_category``) and to
# refuse too many of them; a column with more is free text either way.
KEPT_VALUES = categories.MAX_CATEGORIES + 1


@dataclass
class Column:
    """What the reference's checks need to know of one column, gathered row by row."""

    number_seen: bool = False
    filled: bool = False  # some cell is not blank
    values: set[str] = field(default_factory=set)  # text values, at most KEPT_VALUES
    bad: tuple[int, str] | None = None  # the first cell that is not a finite number


def check(
    source: Path | bytes,
    label_column: str,
    split_column: str | None,
    feature_columns: Sequence[str] | None,
) -> None:
    """Raise the reference reader's InvalidInput for the file's first fault; return if none
    of the faults looked for is there."""
    _check_utf8(source)
    with _text(source) as text:
        header, rows = _rows(text)
        if header is None:
            raise InvalidInput(gettext("The CSV file is empty."), fields={"file": "empty"})
        csv_checks.check_header(header)
        if label_column not in header:
            # The reference parses every row (a ragged one, no rows at all) before this.
            if not sum(1 for _ in rows):
                raise _no_rows()
            raise InvalidInput(
                gettext("No label column %(column)s: the columns are %(columns)s.")
                % {"column": repr(label_column), "columns": ", ".join(header)},
                fields={"label_column": f"no column {label_column!r}"},
            )
        has_split = split_column is not None and split_column in header
        label_index = header.index(label_column)
        split_index = header.index(split_column) if has_split and split_column else None
        columns = [Column() for _ in header]
        empty_label: int | None = None
        bad_split: tuple[int, str] | None = None
        count = 0
        for lines, cells_by_column in rows:
            count += len(lines)
            for column, cells in zip(columns, cells_by_column, strict=True):
                _see_all(column, cells, lines)
            if empty_label is None:
                empty_label = next(
                    (
                        line
                        for line, cell in zip(lines, cells_by_column[label_index], strict=True)
                        if not cell.strip()
                    ),
                    None,
                )
            if split_index is not None and bad_split is None:
                bad_split = next(
                    (
                        (line, cell)
                        for line, cell in zip(lines, cells_by_column[split_index], strict=True)
                        if cell.strip().lower() not in SPLITS
                    ),
                    None,
                )
    if not count:
        raise _no_rows()
    by_name = dict(zip(header, columns, strict=True))
    chosen = _chosen(
        header, by_name, label_column, split_column if has_split else None, feature_columns, count
    )
    for name in chosen:
        column = by_name[name]
        if _is_numeric(column) and column.bad is not None:
            csv_checks.number(column.bad[1], column.bad[0], name)  # raises
    if empty_label is not None:
        raise InvalidInput(
            gettext("Line %(line)s: the label is empty.") % {"line": empty_label},
            fields={label_column: f"empty on line {empty_label}"},
        )
    if bad_split is not None and split_column is not None:
        csv_checks.split_value(bad_split[1], bad_split[0], split_column)  # raises


def _no_rows() -> InvalidInput:
    return InvalidInput(
        gettext("The CSV file has a header but no points."), fields={"file": "no rows"}
    )


def _check_utf8(source: Path | bytes) -> None:
    """The reference's refusal of a file that is not UTF-8, naming the byte, found a block at
    a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with _binary(source) as stream:
        if stream.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8:
            offset = 0  # the reference counts from after the byte-order mark
        else:
            stream.seek(0)
        while True:
            block = stream.read(BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                # The decoder keeps an unfinished character from the block before.
                start = offset + error.start - len(decoder.getstate()[0])
                raise InvalidInput(
                    gettext("The file is not UTF-8 text (byte %(byte)s): save it as UTF-8 CSV.")
                    % {"byte": max(start, 0)},
                    fields={"file": "not UTF-8"},
                ) from None
            if not block:
                return
            offset += len(block)


def _binary(source: Path | bytes) -> IO[bytes]:
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


def _text(source: Path | bytes) -> IO[str]:
    # newline="": the csv module sees the line ends as the reference's StringIO gives them.
    return io.TextIOWrapper(_binary(source), encoding="utf-8-sig", newline="")


def _rows(text: IO[str]) -> tuple[list[str] | None, Iterator[Batch]]:
    """The header's names (None for an empty file), and the data rows in batches; a ragged
    row raises the reference's refusal. Blank lines are skipped, as there."""
    from mlcontest.contest.csv_columnar import sniff_delimiter

    first = ""
    lines_before = 0  # blank lines before the first one with text
    for line in text:
        if line.strip():
            first = line
            break
        lines_before += 1
    if not first:
        return None, iter(())
    reader = csv.reader(_chain(first, text), delimiter=sniff_delimiter(first))
    for cells in reader:
        if any(cell.strip() for cell in cells):
            header = [cell.strip() for cell in cells]
            break
    else:
        return None, iter(())
    width = len(header)

    def batches() -> Iterator[Batch]:
        lines: list[int] = []
        rows: list[list[str]] = []
        for cells in reader:
            # A first cell with text, the common case, saves looking at the others.
            if not (cells and cells[0].strip()) and not any(cell.strip() for cell in cells):
                continue
            if len(cells) != width:
                line = reader.line_num + lines_before
                raise InvalidInput(
                    gettext("Line %(line)s has %(values)s values, the header has %(header)s.")
                    % {"line": line, "values": len(cells), "header": width},
                    fields={"file": f"line {line}: wrong number of values"},
                )
            lines.append(reader.line_num + lines_before)
            rows.append(cells)
            if len(rows) == BATCH:
                yield lines, list(zip(*rows, strict=True))
                lines, rows = [], []
        if rows:
            yield lines, list(zip(*rows, strict=True))

    return header, batches()


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    yield first
    yield from rest


def _see_all(column: Column, cells: tuple[str, ...], lines: list[int]) -> None:
    """``_see`` for a column's cells in a batch; all numbers, the common case, in one go."""
    try:
        values = list(map(float, cells))
    except ValueError:
        if column.bad is None:
            for cell, line in zip(cells, lines, strict=True):
                _see(column, cell, line)
        else:  # only which values there are still matters: each once (a label column's few)
            for cell in set(cells):
                _see(column, cell, 0)
        return
    column.number_seen = column.filled = True  # float() refuses a blank cell
    if column.bad is None and not all(map(math.isfinite, values)):
        for cell, line in zip(cells, lines, strict=True):
            _see(column, cell, line)


def _see(column: Column, cell: str, line: int) -> None:
    stripped = cell.strip()
    if not stripped:
        return
    column.filled = True
    try:
        value = float(cell)
    except ValueError:
        if column.bad is None:
            column.bad = (line, cell)
        if len(column.values) < KEPT_VALUES:
            column.values.add(stripped)
        return
    column.number_seen = True
    if column.bad is None and not math.isfinite(value):
        column.bad = (line, cell)


def _is_numeric(column: Column) -> bool:
    # The reference's ``_text_categories`` is None: a number somewhere, or no text at all.
    return column.number_seen or not column.values


def _chosen(
    header: list[str],
    by_name: dict[str, Column],
    label_column: str,
    split_column: str | None,
    feature_columns: Sequence[str] | None,
    points: int,
) -> list[str]:
    """The reference's ``_choose_features``, from the columns' summaries."""
    if feature_columns is not None:
        chosen = csv_checks.named_features(feature_columns, header)
        for name in chosen:
            column = by_name[name]
            if not _is_numeric(column) and len(column.values) > categories.MAX_CATEGORIES:
                # The reference's refusal says how many values: only it counts them all.
                raise _Unsure
    else:
        skipped = {label_column, split_column, "id"}
        chosen = []
        for name in header:
            if name in skipped:
                continue
            column = by_name[name]
            numeric = _is_numeric(column)
            keep = numeric and column.filled
            keep = keep or (not numeric and categories.is_category(sorted(column.values), points))
            if keep:
                chosen.append(name)
    csv_checks.check_features(chosen, label_column)
    return chosen


class _Unsure(Exception):
    """A fault whose exact wording only the reference reader has: it reads the file."""


def first_fault(
    source: Path | bytes,
    label_column: str,
    split_column: str | None,
    feature_columns: Sequence[str] | None,
) -> None:
    """``check``, where a fault only the reference can word passes on to the reference."""
    try:
        check(source, label_column, split_column, feature_columns)
    except _Unsure:
        return
