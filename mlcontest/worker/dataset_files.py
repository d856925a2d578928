"""A dataset version on the worker's disk: fetched once in its compact form, read by the job
process straight into one array per split.

The server's ``get_dataset_file`` gives the version's features as Parquet (no label in it),
``get_dataset_splits`` each point's split and the training labels. Both are kept in the cache
folder under the dataset's id and version, so a restarted worker (or a second one on the same
machine) does not fetch them again. The worker's own process never reads the matrix: it hands
the job process the paths (``DatasetFiles``), and the job process reads the Parquet file one row
group at a time into arrays allocated once, so it holds the matrix about once, never the whole
file's text or a list of Python floats (which costs about 30 bytes a value).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlcontest.worker.run import SPLITS, PreparedData

SUFFIX_FEATURES = ".parquet"
SUFFIX_SPLITS = ".splits.json"


def default_cache_dir() -> Path:
    """``MLCONTEST_WORKER_CACHE``, else the user's cache folder (``XDG_CACHE_HOME``)."""
    chosen = os.environ.get("MLCONTEST_WORKER_CACHE")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "mlcontest" / "datasets"


@dataclass(frozen=True)
class DatasetFiles:
    """Where a dataset version lies on disk: what the job process is sent instead of arrays."""

    version: str
    features_path: str
    splits_path: str
    classes: tuple[str, ...] = ()

    def load(self) -> PreparedData:
        return read_prepared(
            Path(self.features_path), Path(self.splits_path), self.version, self.classes
        )


def cache_paths(cache_dir: Path, server: str, dataset_id: int, version: str) -> tuple[Path, Path]:
    # One folder per server: two servers may both have a dataset 1 at a version "abc".
    folder = cache_dir / hashlib.sha256(server.encode()).hexdigest()[:12]
    stem = f"{int(dataset_id)}-{''.join(c for c in version if c.isalnum())}"
    return folder / f"{stem}{SUFFIX_FEATURES}", folder / f"{stem}{SUFFIX_SPLITS}"


def fetch(
    api: Any, cache_dir: Path, dataset_id: int, version: str, classes: tuple[str, ...] = ()
) -> DatasetFiles:
    """The version's files, from the cache or (once) from the server. ``api`` is a
    ``mlcontest.client.API``; a server that moved on to another version answers 409."""
    features, splits = cache_paths(cache_dir, api.host, dataset_id, version)
    if not (features.exists() and splits.exists()):
        features.parent.mkdir(parents=True, exist_ok=True)
        query = {"version": version}
        _download(api, f"actions/get_dataset_splits/{dataset_id}/", query, splits)
        _download(api, f"actions/get_dataset_file/{dataset_id}/", query, features)
        _forget_other_versions(features, splits)
    return DatasetFiles(version, str(features), str(splits), classes)


def _forget_other_versions(features: Path, splits: Path) -> None:
    """The dataset's older versions in the cache: no job asks for them any more."""
    dataset_prefix = features.name.split("-", 1)[0] + "-"
    for old in features.parent.glob(f"{dataset_prefix}*"):
        if old not in (features, splits):
            old.unlink(missing_ok=True)


def _download(api: Any, path: str, query: dict[str, str], target: Path) -> None:
    """Streams the answer into ``target`` (written under another name, then renamed: a worker
    killed mid-download leaves no half file that looks complete)."""
    response = api.request("GET", path, params=query, stream=True, timeout=max(api.timeout, 300))
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            for piece in response.iter_content(chunk_size=1024 * 1024):
                out.write(piece)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        response.close()


def read_prepared(
    features_path: Path, splits_path: Path, version: str = "", classes: tuple[str, ...] = ()
) -> PreparedData:
    """One float64 array per split, filled one Parquet row group at a time."""
    import pyarrow.parquet as pq

    described = json.loads(splits_path.read_text(encoding="utf-8"))
    point_splits = np.asarray(described["splits"])
    labels = described["labels"]
    names = tuple(described["features"])
    parquet = pq.ParquetFile(features_path)
    if parquet.metadata.num_rows != len(point_splits):
        raise ValueError("the dataset's features and splits differ in length")
    X = {
        split: np.empty((int(np.sum(point_splits == split)), len(names)), dtype=np.float64)
        for split in SPLITS
    }
    filled = dict.fromkeys(SPLITS, 0)
    start = 0
    for group in range(parquet.num_row_groups):
        table = parquet.read_row_group(group)
        block = np.empty((table.num_rows, len(names)), dtype=np.float64)
        for index, column in enumerate(table.columns):
            block[:, index] = column.to_numpy()
        where = point_splits[start : start + table.num_rows]
        for split in SPLITS:
            rows = block[where == split]
            X[split][filled[split] : filled[split] + len(rows)] = rows
            filled[split] += len(rows)
        start += table.num_rows
    # The server sends null for hidden labels; drop any that came anyway (fair play).
    y = {
        split: tuple(
            (None if label is None or split != SPLITS[0] else str(label))
            for label, where in zip(labels, described["splits"], strict=True)
            if where == split
        )
        for split in SPLITS
    }
    return PreparedData(version, names, X, y, classes)
