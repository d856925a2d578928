"""An MNIST-sized round: a 70,000 x 784 table, 10 classes (scikit-learn's make_classification,
seed 0, written with 3 decimals: a CSV of about 357 MB), from import to a ranked job.

Each figure is measured side by side with its reference in this same run (the machine is
shared and its speed wanders):

- ``import_ratio``: ``mlcontest dataset import-csv`` (the whole command) / ``pandas.read_csv``
  of the same file (in a process of its own), the fastest of two each, alternated;
  ``import_peak_rss_gb``: the command's peak RSS. pandas is not a dependency of the project
  (scikit-learn imports it in every job process when it is installed): the bench takes it from
  ``MLCONTEST_BENCH_PANDAS`` (a folder made with ``pip install --target``) or the environment,
  and falls back to ``pyarrow.csv.read_csv`` as the reference, which it then names.
- ``get_datasets_ms`` (the seed's call, as a worker) and ``round_page_ms`` (a student's page of
  the round): the median of 20.
- ``fetch_ratio``: a worker's first fetch and parse (the Parquet file and splits over HTTP, into
  the per-split arrays) / reading the same files from local disk into the same arrays just
  after; the median of three such pairs.
- ``server_rss_growth_gb``: the server's processes' RSS, summed, at its highest while 2 workers
  fetch the dataset and 30 students load the round page, minus before.
- ``job_ratio``: a default logistic regression, submitted to its result stored (``mlcontest
  worker``, one process) / the same fit, predictions of the three splits and scores run
  directly with scikit-learn and the server's metric functions (one BLAS thread each).

Last line: JSON with these figures.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import requests  # noqa: E402

from mlcontest.client import API  # noqa: E402
from tests.live import REPO, LiveServer  # noqa: E402
from tests.worker_support import USERS, WorkerProcess  # noqa: E402

ROWS, FEATURES, CLASSES = 70_000, 784, 10
STUDENTS = 30


def make_table() -> tuple[Any, Any]:
    """The table's features (rounded to the CSV's 3 decimals) and labels."""
    import numpy as np
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=ROWS,
        n_features=FEATURES,
        n_informative=50,
        n_classes=CLASSES,
        random_state=0,
    )
    return np.round(X, 3), y


def make_csv(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pv

    X, y = make_table()
    columns = {f"f{i}": X[:, i] for i in range(FEATURES)}
    columns["label"] = y
    pv.write_csv(pa.table(columns), path)


def measured(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of a command."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[1:]).returncode\n"
        "wall = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(wall, peak / 1024 / 1024, code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *argv],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, peak, code = done.stdout.split()[-3:]
    if code != "0":
        raise RuntimeError(f"{argv} failed: {done.stderr[-2000:]}")
    return float(wall), float(peak)


def reference_reader() -> tuple[str, dict[str, str]]:
    env = dict(os.environ)
    extra = os.environ.get("MLCONTEST_BENCH_PANDAS")
    if extra:
        env["PYTHONPATH"] = extra + os.pathsep + env.get("PYTHONPATH", "")
    found = subprocess.run([sys.executable, "-c", "import pandas"], env=env, capture_output=True)
    if found.returncode == 0:
        return "pandas.read_csv", env
    return "pyarrow.csv.read_csv", env


def read_reference(reader: str, path: Path, env: dict[str, str]) -> float:
    call = "pandas.read_csv(p)" if reader.startswith("pandas") else "pyarrow.csv.read_csv(p)"
    module = "pandas" if reader.startswith("pandas") else "pyarrow.csv"
    code = (
        f"import sys, time, {module}\np = sys.argv[1]\nt = time.perf_counter()\n{call}\n"
        "print(time.perf_counter() - t)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return float(done.stdout.split()[-1])


def import_figures(folder: Path, csv_path: Path) -> dict[str, Any]:
    env = {**os.environ, "MLCONTEST_DATA_DIR": str(folder)}
    env.pop("DATABASE_URL", None)
    reader, reference_env = reference_reader()
    imports: list[tuple[float, float]] = []
    references: list[float] = []
    for attempt in range(2):
        argv = [sys.executable, "-m", "mlcontest.cli", "dataset", "import-csv", "big"]
        argv += [str(csv_path)] + (["--replace"] if attempt else [])
        imports.append(measured(argv, env))
        print(f"import-csv: {imports[-1][0]:.2f} s, peak {imports[-1][1]:.2f} GB", flush=True)
        references.append(read_reference(reader, csv_path, reference_env))
        print(f"{reader}: {references[-1]:.2f} s", flush=True)
    return {
        "import_ratio": round(min(wall for wall, _ in imports) / min(references), 3),
        "import_peak_rss_gb": round(max(peak for _, peak in imports), 3),
        "import_reference": reader,
    }


def set_up_round(server: LiveServer) -> dict[str, int]:
    code = (
        USERS
        + """
import json
from mlcontest.contest import rounds
from mlcontest.contest.models import Dataset
found = Dataset.objects.get(name="big")
round_ = rounds.create_round(olga, name="MNIST-sized", dataset=found, metric="accuracy",
    job_quota=1000, queued_quota=1000, time_limit_seconds=1800, memory_limit_mb=6000)
rounds.open_round(olga, round_)
print(json.dumps({"round": round_.pk, "dataset": found.pk}))
"""
    )
    return dict(json.loads(server.run_python(code).strip().splitlines()[-1]))


def median_ms(call: Any, times: int = 20) -> float:
    call()  # the first answer warms the process's caches; a class asks many times
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


def student_session(server: LiveServer) -> requests.Session:
    from bench._server import login

    return login(server.url, "alice", "pw")


def fetch_figures(server: LiveServer, dataset_id: int, folder: Path) -> float:
    from mlcontest.worker import dataset_files

    api = API("walter", "pw", server.url)
    version = api.get_datasets()[dataset_id]["version"]
    fetches, locals_ = [], []
    for attempt in range(3):
        cache = folder / f"fetch-{attempt}"
        started = time.perf_counter()
        files = dataset_files.fetch(api, cache, dataset_id, version)
        files.load()
        fetches.append(time.perf_counter() - started)
        started = time.perf_counter()
        files.load()
        locals_.append(time.perf_counter() - started)
        print(f"fetch and parse {fetches[-1]:.2f} s, local parse {locals_[-1]:.2f} s", flush=True)
    # Each fetch against the local read just after it, the median of the three pairs: the
    # fastest of each side came from different moments of a machine whose speed wanders 5x.
    return round(statistics.median(f / r for f, r in zip(fetches, locals_, strict=True)), 3)


def group_rss_gb(pid: int) -> float:
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pid:
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024**3


def rss_growth(server: LiveServer, ids: dict[str, int], folder: Path) -> float:
    from mlcontest.worker import dataset_files

    assert server.process is not None
    before = group_rss_gb(server.process.pid)
    peak = before
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            assert server.process is not None
            peak = max(peak, group_rss_gb(server.process.pid))
            time.sleep(0.05)

    def worker(number: int) -> None:
        api = API("walter", "pw", server.url)
        version = api.get_datasets()[ids["dataset"]]["version"]
        dataset_files.fetch(api, folder / f"rss-worker-{number}", ids["dataset"], version)

    # One sign-in, its cookies in 30 sessions: 30 sign-ins at once are (rightly) throttled.
    signed_in = student_session(server)

    def student() -> None:
        session = requests.Session()
        session.cookies.update(signed_in.cookies)
        for _ in range(3):
            session.get(f"{server.url}/rounds/{ids['round']}/", timeout=120).raise_for_status()

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=student) for _ in range(STUDENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    sampler.join()
    print(f"server RSS: {before:.2f} GB before, {peak:.2f} GB at most", flush=True)
    return round(peak - before, 3)


DIRECT = """
import json, sys, time
from pathlib import Path
from mlcontest.algorithms import get_algorithm, validate_params
from mlcontest.algorithms.metrics import all_scores
from mlcontest.worker.dataset_files import read_prepared
features, splits = Path(sys.argv[1]), Path(sys.argv[2])
truth = json.loads(Path(sys.argv[3]).read_text())
data = read_prepared(features, splits)
spec = get_algorithm("logistic_regression")
started = time.perf_counter()
model = spec.build(validate_params(spec, {}))
model.fit(data.X["training"], list(data.y["training"]))
model.predict(data.X["training"])
for split in ("test", "validation"):
    all_scores("classification", truth[split], model.predict(data.X[split]).tolist())
print(time.perf_counter() - started)
"""


def job_figures(server: LiveServer, ids: dict[str, int], folder: Path) -> float:
    olga = API("olga", "pw", server.url)
    worker = WorkerProcess(server.url, folder / "worker.log", processes=1)
    try:
        warm = olga.submit_job(ids["round"], "naive_bayes", {}, baseline=True)
        olga.wait_for_job(warm["id"], timeout=1800, interval=0.5)
        started = time.perf_counter()
        job = olga.submit_job(ids["round"], "logistic_regression", {}, baseline=True)
        while olga.get_job(job["id"])["state"] not in ("done", "failed"):
            time.sleep(0.05)
        platform = time.perf_counter() - started
        state = olga.get_job(job["id"])
        print(f"platform: {platform:.2f} s ({state['state']})", flush=True)
    finally:
        worker.terminate()
        worker.cleanup()
    truth = json.loads(
        server.run_python(
            f"""
import json
from mlcontest.contest import datasets
from mlcontest.contest.models import Dataset
loaded = datasets.load_labels(Dataset.objects.get(pk={ids["dataset"]}))
print(json.dumps({{s: loaded.labels_of(s) for s in ("test", "validation")}}))
"""
        ).splitlines()[-1]
    )
    cached = sorted((folder / "worker-cache").rglob("*.parquet"))[-1]
    splits = cached.with_name(cached.name.replace(".parquet", ".splits.json"))
    truth_file = folder / "truth.json"
    truth_file.write_text(json.dumps(truth))
    done = subprocess.run(
        [sys.executable, "-c", DIRECT, str(cached), str(splits), str(truth_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    direct = float(done.stdout.split()[-1])
    print(f"direct: {direct:.2f} s", flush=True)
    return round(platform / direct, 3)


def main() -> None:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mlc-big-") as name:
        folder = Path(name)
        csv_path = folder / "big.csv"
        started = time.perf_counter()
        make_csv(csv_path)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"made {csv_path.name}: {size_mb:.0f} MB in {time.perf_counter() - started:.1f} s")
        figures.update(import_figures(folder, csv_path))
        with LiveServer(folder) as server:
            ids = set_up_round(server)
            seed = API("walter", "pw", server.url)
            figures["get_datasets_ms"] = median_ms(seed.get_datasets)
            student = student_session(server)
            page = f"{server.url}/rounds/{ids['round']}/"
            figures["round_page_ms"] = median_ms(lambda: student.get(page).raise_for_status())
            print(
                f"get_datasets {figures['get_datasets_ms']} ms, round page "
                f"{figures['round_page_ms']} ms",
                flush=True,
            )
            figures["fetch_ratio"] = fetch_figures(server, ids["dataset"], folder)
            figures["server_rss_growth_gb"] = rss_growth(server, ids, folder)
            figures["job_ratio"] = job_figures(server, ids, folder)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
