"""Every classification and clustering algorithm of the registry, at its default parameters, on
the MNIST-sized table of bench/big_dataset.py (70,000 x 784, 10 classes, make_classification
seed 0), through the worker's real job path: the dataset as the worker caches it (Parquet and
splits files), read by a job process forked from the worker's fork server, the round's default
limits (memory 2048 MB through ``child.MemoryLimit``, 60 s from submit to result as
``loop.Slot.compute`` counts it, then ``PICTURE_SECONDS`` for the pictures as
``collect_pictures`` does), pictures on, diagnostics off.

One job at a time, each in a fresh job process (so that its peak RSS is its own). For each
algorithm: the outcome (done, time limit, memory limit, failed), the wall seconds from submit
to result, the job's own fit and predict seconds, how many labels each split got, the pictures
drawn and their seconds, and the job process's peak RSS (VmHWM; it includes the dataset's
arrays, about 440 MB). The machine may be shared: seconds are as measured, with the load
average recorded.

Usage: ``python bench/big_algorithms.py [algorithm ...]`` (all of them by default). Last line:
JSON with the table.

``--calibrate``: each algorithm fitted and predicting in this process (one BLAS thread) on a
part of the same table, small enough to finish in seconds, with the iterations it took where
it stops by itself; the seconds divided by ``job_cost``'s units for that part give
``job_cost.SECONDS_PER_UNIT``. Last line: JSON, algorithm -> seconds per unit.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from bench.big_dataset import FEATURES, make_table  # noqa: E402
from mlcontest.algorithms import REGISTRY  # noqa: E402
from mlcontest.worker.child import JobSpec  # noqa: E402
from mlcontest.worker.dataset_files import DatasetFiles  # noqa: E402
from mlcontest.worker.posting import PICTURE_SECONDS  # noqa: E402
from mlcontest.worker.run import SPLITS  # noqa: E402
from mlcontest.worker.sandbox import ChildDied, JobProcess  # noqa: E402

TIME_LIMIT = 60.0
MEMORY_MB = 2048


def write_files(folder: Path) -> DatasetFiles:
    """The table as the worker's cache holds it: features as Parquet, splits and training
    labels as JSON (60 % training, 20 % test, 20 % validation, seeded)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    X, y = make_table()
    rng = np.random.RandomState(0)
    splits = np.array(SPLITS)[rng.choice(3, size=len(y), p=[0.6, 0.2, 0.2])]
    names = [f"f{i}" for i in range(FEATURES)]
    features = folder / "big.parquet"
    # As the server writes it (contest/columnar.py): row groups of 8192 rows, zstd.
    pq.write_table(
        pa.table({name: X[:, i] for i, name in enumerate(names)}),
        features,
        compression="zstd",
        row_group_size=8192,
        use_dictionary=False,
    )
    described = {
        "features": names,
        "splits": splits.tolist(),
        "labels": [
            str(label) if split == SPLITS[0] else None
            for label, split in zip(y, splits, strict=True)
        ],
    }
    splits_path = folder / "big.splits.json"
    splits_path.write_text(json.dumps(described), encoding="utf-8")
    classes = tuple(str(label) for label in sorted(set(y.tolist())))
    return DatasetFiles("big", str(features), str(splits_path), classes)


class PeakWatch:
    """The job process's VmHWM, sampled until stopped (the process may end on its own)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        except OSError:
            pass

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.sample()

    def stop(self) -> float:
        self.sample()
        self.done.set()
        self.thread.join()
        return round(self.peak_kb / 1024**2, 2)


def measure(algorithm: str, files: DatasetFiles) -> dict[str, Any]:
    process = JobProcess(max_jobs=1)
    process.start()
    assert process.process is not None and process.process.pid is not None
    watch = PeakWatch(process.process.pid)
    spec = JobSpec(1, algorithm, {}, "accuracy", "big", True, MEMORY_MB, False, TIME_LIMIT)
    row: dict[str, Any] = {"algorithm": algorithm}
    started = time.monotonic()
    try:
        process.submit(spec, files)
        deadline = started + TIME_LIMIT
        message = None
        while message is None and time.monotonic() < deadline:
            message = process.receive(deadline - time.monotonic())
        row["seconds"] = round(time.monotonic() - started, 1)
        if message is None:
            row["outcome"] = "time limit"
            row["peak_rss_gb"] = watch.stop()
            process.kill()
            return row
        outcome = message[1]
        row["fit_s"] = outcome.timings.get("fit")
        row["predict_s"] = outcome.timings.get("predict")
        row["labels"] = {split: len(outcome.labels.get(split, [])) for split in SPLITS}
        if outcome.success:
            row["outcome"] = "done"
        elif "memory limit" in outcome.message:
            row["outcome"] = "memory limit"
        else:
            row["outcome"] = "failed"
            row["message"] = outcome.message[:300]
        drawn = time.monotonic()
        limit = PICTURE_SECONDS if outcome.success else 10.0
        got = None
        while got is None and time.monotonic() < drawn + limit:
            got = process.receive(drawn + limit - time.monotonic())
        row["picture_s"] = round(time.monotonic() - drawn, 1)
        if got is None:
            row["pictures"], row["picture_note"] = [], f"not drawn within {limit:g} s"
        else:
            pictures, note = got[1]
            row["pictures"] = [name for name, _ in pictures]
            if note:
                row["picture_note"] = note
    except ChildDied as died:
        row.setdefault("seconds", round(time.monotonic() - started, 1))
        row["outcome"] = "killed"
        row["message"] = str(died)
    finally:
        row.setdefault("peak_rss_gb", watch.stop())
        process.kill()
    return row


# (algorithm, parameters, training points, points predicted in all), small enough to take
# seconds; an iteration count the run reports replaces the parameter that bounds it.
CALIBRATION: list[tuple[str, dict[str, Any], int, int]] = [
    ("knn", {}, 6000, 10000),
    ("svm", {}, 4000, 6000),
    ("decision_tree", {}, 10000, 14000),
    ("random_forest", {"n_estimators": 10}, 10000, 14000),
    ("gradient_boosting", {"n_estimators": 3}, 5000, 7000),
    ("logistic_regression", {}, 10000, 14000),
    ("naive_bayes", {}, 20000, 30000),
    ("mlp", {"max_iter": 10}, 10000, 14000),
    ("kmeans", {}, 10000, 14000),
    ("dbscan", {}, 6000, 10000),
    ("agglomerative", {}, 4000, 6000),
    ("gaussian_mixture", {}, 5000, 7000),
]


def calibrate() -> dict[str, float]:
    import warnings

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlcontest.settings")
    django.setup()
    from mlcontest.algorithms import get_algorithm
    from mlcontest.contest import job_cost
    from mlcontest.worker.run import ContestModel

    X, y = make_table()
    labels = [str(label) for label in y]
    rates: dict[str, float] = {}
    for algorithm, given, train, total in CALIBRATION:
        params = {**get_algorithm(algorithm).defaults(), **given}
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ContestModel(algorithm, given).fit(X[:train], labels[:train])
            model.predict(X[train:total])
        seconds = time.perf_counter() - started
        iterations = getattr(model.estimator_, "n_iter_", None)
        if algorithm in ("logistic_regression", "mlp") and iterations is not None:
            params["max_iter"] = int(np.max(iterations))
        shape = job_cost.Shape(train, total, FEATURES, 10)
        units = job_cost._units(algorithm, params, shape, FEATURES)
        assert units is not None
        rates[algorithm] = seconds / units
        row = {"algorithm": algorithm, "seconds": round(seconds, 2), "iterations": iterations}
        print(json.dumps(row, default=str), flush=True)
    return rates


def main() -> None:
    if sys.argv[1:] == ["--calibrate"]:
        rates = calibrate()
        print(json.dumps({name: float(f"{rate:.3g}") for name, rate in rates.items()}))
        return
    chosen = sys.argv[1:] or [
        name
        for name, algorithm in REGISTRY.items()
        if algorithm.task in ("classification", "clustering")
    ]
    with tempfile.TemporaryDirectory() as folder:
        made = time.monotonic()
        files = write_files(Path(folder))
        print(f"table written in {time.monotonic() - made:.0f} s", flush=True)
        rows = []
        for name in chosen:
            row = measure(name, files)
            row["load_average"] = round(os.getloadavg()[0], 2)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(json.dumps({"time_limit_s": TIME_LIMIT, "memory_limit_mb": MEMORY_MB, "rows": rows}))


if __name__ == "__main__":
    main()
