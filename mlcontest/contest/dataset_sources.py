"""Where a dataset's points come from: a CSV file, the datasets that ship with scikit-learn, or a
generator (moons, circles, blobs, xor, spirals).

Each builder returns a ``SourcedTable``: a ``DatasetTable`` that also carries a short description
and source line, so that ``store`` (or ``datasets.store_dataset``) can keep them with the points.
Every split is reproducible from a seed, unless a CSV file brings its own split column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from django.utils.translation import gettext

from mlcontest.contest import categories, csv_columnar, csv_faults, datasets, generators
from mlcontest.contest.csv_checks import (
    check_features,
    check_header,
    named_features,
    split_value,
)
from mlcontest.contest.csv_checks import number as csv_number
from mlcontest.contest.csv_columnar import sniff_delimiter
from mlcontest.contest.dataset_choices import (
    MULTI_CLASS_GENERATORS,
    REGRESSION_GENERATORS,
    SKLEARN_DATASETS,
)
from mlcontest.contest.datasets import (
    DEFAULT_FRACTIONS,
    DatasetTable,
    Fractions,
)
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import Dataset
from mlcontest.contest.regression import numeric_target
from mlcontest.core.marks import gettext_noop

# Four decimals are far below any noise level a class uses, and keep the point list that every
# worker and browser downloads less than half as long as full float precision would.
DECIMALS = 4
MAX_SOURCE_LENGTH = 200  # Dataset.source's column width


@dataclass
class SourcedTable(DatasetTable):
    """A table together with the words that say where it came from."""

    description: str = ""
    source: str = ""


def store(name: str, table: SourcedTable, replace: bool = False) -> Dataset:
    return datasets.store_dataset(
        name, table, description=table.description, source=table.source, replace=replace
    )


# --- CSV -------------------------------------------------------------------------------------


def from_csv(
    text_or_path: str | bytes | Path,
    label_column: str = "label",
    split_column: str | None = "split",
    feature_columns: Sequence[str] | None = None,
    seed: int = 0,
    fractions: Fractions = DEFAULT_FRACTIONS,
    reader: str = "auto",
) -> SourcedTable:
    """Read a table with a header line. ``text_or_path`` is CSV text (or bytes), or a ``Path``
    (a one-line string that names an existing file counts as a path too).

    Without ``feature_columns`` every column that holds numbers is a feature, and every text
    column whose values repeat (a category: ``contest.categories``), except the label and split
    columns and ``id`` (the platform numbers the points itself). An empty cell of a numeric
    column is a missing value (NaN), which each job fills in. Without a split column the points
    are split from ``seed`` by ``fractions``. Errors name the line (the header is line 1) and
    the column.

    A file bigger than ``csv_columnar.COLUMNAR_FROM_BYTES`` is read by pyarrow's columnar
    reader (``reader="columnar"`` forces it, ``"python"`` forbids it); the line-by-line reader
    here is the reference: the columnar one hands any file it finds fault with to it, so that
    the refusal names the line and column in the same words."""
    if reader != "python" and (reader == "columnar" or csv_columnar.is_big(text_or_path)):
        fast = csv_columnar.read(text_or_path, label_column, split_column, feature_columns)
        if fast is not None:
            return _columnar_table(fast, label_column, split_column, seed, fractions)
        streamed = _as_stream(text_or_path)
        if streamed is not None and csv_columnar.is_big(text_or_path):
            # The refusal of a big bad file, found without holding its text (issue 13).
            csv_faults.first_fault(streamed, label_column, split_column, feature_columns)
    text, file_name = read_csv_text(text_or_path)
    header, rows = _parse_rows(text)
    if label_column not in header:
        raise InvalidInput(
            gettext("No label column %(column)s: the columns are %(columns)s.")
            % {"column": repr(label_column), "columns": ", ".join(header)},
            fields={"label_column": f"no column {label_column!r}"},
        )
    has_split = split_column is not None and split_column in header
    columns, ignored = _choose_features(
        header, rows, label_column, split_column if has_split else None, feature_columns
    )
    label_index = header.index(label_column)
    features: list[str] = []
    blocks: list[np.ndarray] = []
    for name in columns:
        index = header.index(name)
        cells = [row[index] for _, row in rows]
        found = _text_categories(cells)
        if found is None:
            features.append(name)
            numbers = [
                csv_number(cell, line, name) for cell, (line, _) in zip(cells, rows, strict=True)
            ]
            blocks.append(np.asarray(numbers, dtype=np.float64).reshape(-1, 1))
        else:
            stripped = [cell.strip() or None for cell in cells]
            features += categories.feature_names(name, found)
            blocks.append(categories.one_hot(stripped, found))
    values: list[list[float]] = np.hstack(blocks).tolist() if blocks else []
    labels: list[str] = []
    for line, row in rows:
        label = row[label_index].strip()
        if not label:
            raise InvalidInput(
                gettext("Line %(line)s: the label is empty.") % {"line": line},
                fields={label_column: f"empty on line {line}"},
            )
        labels.append(label)
    if has_split:
        assert split_column is not None
        split_index = header.index(split_column)
        splits = [split_value(row[split_index], line, split_column) for line, row in rows]
        how_split = gettext("splits from column %(column)s") % {"column": repr(split_column)}
    else:
        splits = datasets.assign_splits(labels, seed, fractions)
        how_split = _split_words(seed, fractions)
    where = f"CSV file {file_name}" if file_name else "CSV text"  # the source: a code
    shown = gettext("CSV file %(name)s") % {"name": file_name} if file_name else gettext("CSV text")
    # Descriptions are written in the language of the organizer's page (English on the CLI).
    description = gettext(
        "Imported from %(where)s: %(size)s, label column %(column)s, %(split)s."
    ) % {
        "where": shown,
        "size": _size_words(len(labels), features, labels),
        "column": repr(label_column),
        "split": how_split,
    }
    description += describe_columns(columns, features, ignored)
    return _finish(features, values, labels, splits, description, where)


def describe_columns(
    columns: Sequence[str], features: Sequence[str], ignored: Sequence[str]
) -> str:
    """The sentences on text columns and left-out columns of an import's description."""
    said = ""
    text_columns = [name for name in columns if name not in features]
    if text_columns:
        said += " " + gettext("Text columns as one 0/1 feature per value: %(names)s.") % {
            "names": ", ".join(text_columns)
        }
    if ignored:
        said += " " + gettext("Columns without numbers, left out: %(names)s.") % {
            "names": ", ".join(ignored)
        }
    return said


def _text_categories(cells: Sequence[str]) -> list[str] | None:
    """The values of a text column (no cell a number, some not empty), or None."""
    if any(_iscsv_number(cell) for cell in cells):
        return None
    found = categories.categories_of([cell.strip() for cell in cells])
    return found or None


def _columnar_table(
    read: csv_columnar.ColumnarCsv,
    label_column: str,
    split_column: str | None,
    seed: int,
    fractions: Fractions,
) -> SourcedTable:
    """The columnar reader's table, described in the same words as the reference's."""
    if read.splits is not None:
        splits = read.splits
        how_split = gettext("splits from column %(column)s") % {"column": repr(split_column)}
    else:
        splits = datasets.assign_splits(read.labels, seed, fractions)
        how_split = _split_words(seed, fractions)
    name = read.file_name
    where = f"CSV file {name}" if name else "CSV text"  # the source: a code
    shown = gettext("CSV file %(name)s") % {"name": name} if name else gettext("CSV text")
    description = gettext(
        "Imported from %(where)s: %(size)s, label column %(column)s, %(split)s."
    ) % {
        "where": shown,
        "size": _size_words(len(read.labels), read.features, read.labels),
        "column": repr(label_column),
        "split": how_split,
    }
    description += describe_columns(read.columns, read.features, read.ignored)
    return _finish(read.features, read.matrix, read.labels, splits, description, where)


def _as_stream(text_or_path: str | bytes | Path) -> Path | bytes | None:
    """The file (or bytes) ``csv_faults`` can stream; None for text already in memory."""
    if isinstance(text_or_path, bytes | Path):
        return text_or_path
    if "\n" not in text_or_path and text_or_path.strip() and Path(text_or_path).is_file():
        return Path(text_or_path)
    return None


def read_csv_text(text_or_path: str | bytes | Path) -> tuple[str, str]:
    """The CSV's text and the name of the file it came from ('' for text)."""
    if (
        isinstance(text_or_path, str)
        and "\n" not in text_or_path
        and text_or_path.strip()
        and Path(text_or_path).is_file()
    ):
        text_or_path = Path(text_or_path)
    if isinstance(text_or_path, Path):
        try:
            raw = text_or_path.read_bytes()
        except OSError as error:
            raise InvalidInput(
                gettext("Cannot read %(file)s: %(error)s.")
                % {"file": text_or_path, "error": error.strerror or error},
                fields={"file": "cannot be read"},
            ) from None
        return _decode(raw), text_or_path.name
    if isinstance(text_or_path, bytes):
        return _decode(text_or_path), ""
    return text_or_path, ""


def _decode(raw: bytes) -> str:
    # utf-8-sig drops the byte-order mark that spreadsheet programs put in front.
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            gettext("The file is not UTF-8 text (byte %(byte)s): save it as UTF-8 CSV.")
            % {"byte": error.start},
            fields={"file": "not UTF-8"},
        ) from None


def _parse_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header's column names and the data rows, each with its line number."""
    if not text.strip():
        raise InvalidInput(gettext("The CSV file is empty."), fields={"file": "empty"})
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, often at the end of a file
        if header is None:
            header = [cell.strip() for cell in cells]
            check_header(header)
            continue
        if len(cells) != len(header):
            raise InvalidInput(
                gettext("Line %(line)s has %(values)s values, the header has %(header)s.")
                % {"line": reader.line_num, "values": len(cells), "header": len(header)},
                fields={"file": f"line {reader.line_num}: wrong number of values"},
            )
        rows.append((reader.line_num, cells))
    assert header is not None
    if not rows:
        raise InvalidInput(
            gettext("The CSV file has a header but no points."), fields={"file": "no rows"}
        )
    return header, rows


def _choose_features(
    header: list[str],
    rows: list[tuple[int, list[str]]],
    label_column: str,
    split_column: str | None,
    feature_columns: Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    """The feature columns, and the columns left out because they hold no numbers at all."""
    if feature_columns is not None:
        chosen = named_features(feature_columns, header)
        ignored: list[str] = []
        for name in chosen:
            index = header.index(name)
            found = _text_categories([row[index] for _, row in rows])
            if found is not None and len(found) > categories.MAX_CATEGORIES:
                raise categories.too_many(name, len(found))
    else:
        skipped = {label_column, split_column, "id"}
        candidates = [name for name in header if name not in skipped]
        # A column with a single number in it is meant to be numeric: its other values must
        # be numbers too (and are reported when they are not), rather than silently dropping it.
        # A text column is a feature when it looks like a category (``is_category``).
        chosen, ignored = [], []
        for name in candidates:
            index = header.index(name)
            cells = [row[index] for _, row in rows]
            found = _text_categories(cells)
            keep = found is None and any(cell.strip() for cell in cells)
            keep = keep or (found is not None and categories.is_category(found, len(rows)))
            (chosen if keep else ignored).append(name)
    check_features(chosen, label_column)
    return chosen, ignored


def _iscsv_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# --- scikit-learn's own datasets -------------------------------------------------------------


def from_sklearn(
    name: str, seed: int = 0, fractions: Fractions = DEFAULT_FRACTIONS
) -> SourcedTable:
    """One of the datasets that ship inside scikit-learn (no download)."""
    from sklearn import datasets as sk_datasets

    if name not in SKLEARN_DATASETS:
        raise InvalidInput(
            gettext("Unknown scikit-learn dataset %(name)s: use one of %(names)s.")
            % {"name": repr(name), "names": ", ".join(SKLEARN_DATASETS)},
            fields={"name": f"one of {', '.join(SKLEARN_DATASETS)}"},
        )
    loader_name = f"load_{name}"
    bunch = getattr(sk_datasets, loader_name)()
    target_names = getattr(bunch, "target_names", None)
    if target_names is not None:
        labels = [str(target_names[target]) for target in bunch.target]
    else:
        labels = [str(target) for target in bunch.target]
    features = [str(feature) for feature in bunch.feature_names]
    title = _title(bunch.DESCR) or name
    description = gettext("%(title)s (scikit-learn's %(loader)s): %(size)s, %(split)s.") % {
        "title": title,
        "loader": loader_name,
        "size": _size_words(len(labels), features, labels),
        "split": _split_words(seed, fractions),
    }
    return _finish(
        features,
        bunch.data.tolist(),
        labels,
        datasets.assign_splits(labels, seed, fractions),
        description,
        f"scikit-learn {loader_name}()",
    )


def _title(descr: str) -> str:
    """The heading of a scikit-learn dataset description (its first line that is not markup)."""
    for line in descr.splitlines():
        if line.strip() and not line.startswith(".."):
            return line.strip()
    return ""


# --- generators ------------------------------------------------------------------------------

GENERATOR_WORDS = {
    "moons": gettext_noop("Two interleaving half circles"),
    "circles": gettext_noop("A small circle inside a large one"),
    "blobs": gettext_noop("Gaussian blobs"),
    "xor": gettext_noop("Four squares, opposite corners of one class (XOR)"),
    "spirals": gettext_noop("Interleaved spiral arms"),
    "friedman": gettext_noop("Friedman's curve #1 (regression, 5 features)"),
    "linear": gettext_noop("A noisy plane (regression, scikit-learn's make_regression)"),
}


def generate(
    kind: str,
    n_points: int = 300,
    noise: float = 0.1,
    seed: int = 0,
    fractions: Fractions = DEFAULT_FRACTIONS,
    n_classes: int | None = None,
) -> SourcedTable:
    """A 2-D toy dataset with features ``x`` and ``y``, the same for the same arguments.

    ``noise`` is the standard deviation of the Gaussian noise on points in a box about 2 wide;
    for blobs, whose centres lie in a box 20 wide, the cluster spread is ``10 * noise``, so the
    default 0.1 gives scikit-learn's own default. ``n_classes`` is the number of blobs or of
    spiral arms; the other kinds always have two classes."""
    classes = generators.check_generator_args(kind, n_points, noise, n_classes)
    points, targets = generators.POINT_MAKERS[kind](n_points, noise, seed, classes)
    if kind in REGRESSION_GENERATORS:
        labels = [repr(round(float(target), DECIMALS)) for target in targets]
    else:
        labels = [str(int(target)) for target in targets]
    values = np.round(points, DECIMALS).tolist()
    names = ["x", "y"] if points.shape[1] == 2 else [f"x{i + 1}" for i in range(points.shape[1])]
    settings = f"{n_points} points, noise {noise:g}, seed {seed}"
    if kind in MULTI_CLASS_GENERATORS:
        settings += f", {classes} classes"
    if kind in MULTI_CLASS_GENERATORS:
        shown = gettext("%(n)s points, noise %(noise)s, seed %(seed)s, %(classes)s classes")
    else:
        shown = gettext("%(n)s points, noise %(noise)s, seed %(seed)s")
    shown %= {"n": n_points, "noise": f"{noise:g}", "seed": seed, "classes": classes}
    description = gettext("%(kind)s: %(settings)s; %(split)s. Generated.") % {
        "kind": gettext(GENERATOR_WORDS[kind]),
        "settings": shown,
        "split": _split_words(seed, fractions),
    }
    source = f"generated {kind} ({settings})"
    return _finish(
        names,
        values,
        labels,
        datasets.assign_splits(labels, seed, fractions),
        description,
        source,
    )


# --- shared ----------------------------------------------------------------------------------


def _finish(
    features: list[str],
    values: list[list[float]] | pa.Table,
    labels: list[str],
    splits: list[str],
    description: str,
    source: str,
) -> SourcedTable:
    table = SourcedTable(
        feature_names=features,
        features=values,
        labels=labels,
        splits=splits,
        description=description,
        source=source[:MAX_SOURCE_LENGTH],
    )
    datasets.validate_table(table)
    return table


def _size_words(n_points: int, features: list[str], labels: list[str]) -> str:
    if numeric_target(labels):
        return gettext("%(n)s points, %(features)s features, a numeric label") % {
            "n": n_points,
            "features": len(features),
        }
    return gettext("%(n)s points, %(features)s features, %(classes)s classes") % {
        "n": n_points,
        "features": len(features),
        "classes": len(set(labels)),
    }


def _split_words(seed: int, fractions: Fractions) -> str:
    shares = "/".join(f"{round(100 * share):g}" for share in fractions)
    return gettext("split %(shares)s (training/test/validation) with seed %(seed)s") % {
        "shares": shares,
        "seed": seed,
    }
