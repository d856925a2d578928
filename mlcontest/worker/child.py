"""The job process: receives jobs over a pipe, runs each one under a memory limit, sends back
the result and then the pictures.

It lives for many jobs (a fresh fork per job would cost more than a small fit) and keeps the
last dataset it was sent, so the parent sends a dataset's arrays only when they change.
"""

from __future__ import annotations

import contextlib
import ctypes
import resource
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from mlcontest.worker.dataset_files import DatasetFiles
from mlcontest.worker.diagnostics import PICTURE_BUDGET, Budget, cv_scores, diagnostic_pictures
from mlcontest.worker.job_pictures import job_pictures
from mlcontest.worker.pictures import picture_note
from mlcontest.worker.run import Outcome, PreparedData, for_job, run_job

MB = 1024 * 1024


@dataclass(frozen=True)
class JobSpec:
    """What the job process needs to run one job."""

    job_id: int
    algorithm: str
    params: dict[str, Any]
    metric: str
    data_key: str
    pictures: bool
    memory_limit_mb: int
    # The round's heavier diagnostics (``worker/diagnostics.py``), inside the time limit.
    diagnostics: bool = False
    time_limit: float = 60.0


def memory_limit_message(limit_mb: int) -> str:
    return f"Stopped: the job went over its memory limit of {limit_mb} MB."


def time_limit_message(limit_seconds: float) -> str:
    return f"Stopped: the job went over its time limit of {limit_seconds:g} s."


def _die_with_parent() -> None:
    # The parent is the fork server, which exits when the worker does; without this a job
    # process orphaned by a killed worker would compute on for nothing.
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux only)


def _address_space() -> int:
    """This process's current virtual size in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class MemoryLimit:
    """The job may allocate ``limit_mb`` beyond what the process holds when it starts
    (the imported libraries alone reserve hundreds of MB of address space)."""

    def __init__(self, limit_mb: int) -> None:
        self.limit = limit_mb * MB
        self.saved = resource.getrlimit(resource.RLIMIT_AS)

    def __enter__(self) -> MemoryLimit:
        soft = _address_space() + self.limit
        hard = self.saved[1]
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        return self

    def __exit__(self, *exc: object) -> None:
        resource.setrlimit(resource.RLIMIT_AS, self.saved)


def run_one(spec: JobSpec, data: PreparedData, conn: Connection) -> bool:
    """Run a job and send ``("result", Outcome)`` then ``("pictures", [...])``.
    False when the process should end afterwards (its heap is suspect after a MemoryError)."""
    model: Any = None
    healthy = True
    started = time.monotonic()
    data = for_job(data, spec.params)  # the pictures and diagnostics see what the model saw
    try:
        with MemoryLimit(spec.memory_limit_mb):
            outcome, model = run_job(spec.algorithm, spec.params, data)
    except MemoryError:
        outcome, healthy = Outcome(False, memory_limit_message(spec.memory_limit_mb)), False
    except Exception as error:  # any failure of the student's job is reported, not raised
        outcome = Outcome(False, f"Failed: {type(error).__name__}: {error}"[:2000])
    budget: Budget | None = None
    if spec.diagnostics and model is not None and outcome.success:
        budget = Budget.for_job(started, spec.time_limit, outcome.timings.get("fit", 0.0))
        healthy = _add_cv_scores(spec, model, data, outcome, budget)
    if spec.pictures and model is not None and outcome.success:
        # The result is posted before the pictures are drawn: a picture that cannot be made
        # is said in its message now.
        skipped = picture_note(model, data)
        if skipped:
            outcome.message = f"{outcome.message} ({skipped}.)"
    conn.send(("result", outcome))
    pictures: list[tuple[str, bytes]] = []
    note = ""
    if spec.pictures and model is not None and healthy:
        try:
            with MemoryLimit(spec.memory_limit_mb):
                pictures, note = job_pictures(model, data, outcome.labels)
                if budget is not None:
                    # The parent waits PICTURE_SECONDS for all of them: stay well inside.
                    budget.deadline = min(budget.deadline, time.monotonic() + PICTURE_BUDGET)
                    more, skipped = diagnostic_pictures(model, data, spec.metric, budget)
                    pictures += more
                    note = "; ".join(filter(None, (note, skipped)))
        except MemoryError:
            note, healthy = "pictures skipped: memory limit", False
        except Exception as error:  # a picture that cannot be drawn is no reason to stop
            note = f"pictures failed: {type(error).__name__}: {error}"
    # ``healthy`` tells the parent that this process ends now and must not get another job.
    conn.send(("pictures", (pictures, note, healthy)))
    return healthy


def _add_cv_scores(
    spec: JobSpec, model: Any, data: PreparedData, outcome: Outcome, budget: Budget
) -> bool:
    """Put the cross-validation score (or the silhouette) into the outcome, or say in its
    message why not; False when the process should end (a MemoryError)."""
    try:
        with MemoryLimit(spec.memory_limit_mb):
            outcome.diagnostics, skipped = cv_scores(model, data, spec.metric, budget)
    except MemoryError:
        outcome.message += " (cross-validation skipped: memory limit.)"
        return False
    except Exception as error:  # a refit on a fold may fail where the job's own fit did not
        skipped = f"cross-validation failed: {type(error).__name__}: {error}"[:300]
    if skipped:
        outcome.message += f" ({skipped}.)"
    return True


def serve(conn: Connection) -> None:
    """The job process's loop: ``("job", JobSpec, PreparedData | None)`` messages until EOF."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a job stops
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    conn.send(("ready", None))
    cached: dict[str, PreparedData] = {}
    while True:
        try:
            _, spec, data = conn.recv()
        except (EOFError, OSError):
            return
        if data is not None:
            cached = {}  # the previous dataset goes before the next one is read
            # A big dataset comes as the paths of its cached files: read here, in the job
            # process, so that the matrix is never pickled through the pipe.
            cached[spec.data_key] = data.load() if isinstance(data, DatasetFiles) else data
        if not run_one(spec, cached[spec.data_key], conn):
            return
