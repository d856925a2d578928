"""The parent's side of a job process: start it cheaply, hand it a job, wait with a deadline,
kill it when a limit is passed.

Job processes are forked by multiprocessing's fork server, which imported scikit-learn,
numpy and matplotlib once (``preload``): a new job process is ready in milliseconds, and the
worker's own threads (one per slot) never fork. A job process serves many jobs and is replaced
after ``max_jobs`` of them (leaks stay bounded), after a kill, or after a MemoryError.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from mlcontest.worker import child
from mlcontest.worker.child import JobSpec
from mlcontest.worker.dataset_files import DatasetFiles
from mlcontest.worker.run import PreparedData

# One thread per job process: parallelism comes from running several of them.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class ChildDied(Exception):
    """The job process ended without answering (killed from outside, or crashed)."""

    def __init__(self, exitcode: int | None) -> None:
        self.exitcode = exitcode
        how = f"signal {-exitcode}" if exitcode is not None and exitcode < 0 else f"{exitcode}"
        super().__init__(f"the job's process ended unexpectedly (exit {how})")


def job_context() -> BaseContext:
    """The fork-server context whose server pre-imports the job code."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["mlcontest.worker.preload"])
    return context


class JobProcess:
    def __init__(self, context: BaseContext | None = None, max_jobs: int = 500) -> None:
        self.context = context or job_context()
        self.max_jobs = max_jobs
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.loaded_key: str | None = None
        self.jobs = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def start(self, timeout: float = 120.0) -> None:
        """Make sure a job process is running and ready (a no-op if one is). The first one
        waits for the fork server's imports, so that no job is claimed before it can run."""
        if self.alive:
            return
        self.stop()
        parent_end, child_end = self.context.Pipe()
        process = self.context.Process(  # type: ignore[attr-defined]
            target=child.serve, args=(child_end,), daemon=True, name="mlcontest-job"
        )
        process.start()
        child_end.close()
        self.process, self.conn, self.loaded_key, self.jobs = process, parent_end, None, 0
        wait_for(self, "ready", time.monotonic() + timeout)

    def submit(self, spec: JobSpec, data: PreparedData | DatasetFiles) -> None:
        if self.jobs >= self.max_jobs:
            self.stop()
        self.start()
        assert self.conn is not None
        self.conn.send(("job", spec, data if self.loaded_key != spec.data_key else None))
        self.loaded_key = spec.data_key
        self.jobs += 1

    def receive(self, timeout: float) -> tuple[str, Any] | None:
        """The next message, or None if none came within ``timeout`` seconds;
        ChildDied if the process ended."""
        assert self.conn is not None and self.process is not None
        try:
            if not self.conn.poll(max(timeout, 0.0)):
                return None
            message: tuple[str, Any] = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(timeout=5)
            exitcode = self.process.exitcode
            self.stop()
            raise ChildDied(exitcode) from None
        if message[0] == "pictures":
            pictures, note, healthy = message[1]
            if not healthy:
                self.stop()
            return "pictures", (pictures, note)
        return message

    def kill(self) -> None:
        """End the job process at once (its job is abandoned)."""
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        self.stop()

    def stop(self) -> None:
        """Let the job process end (it exits when its pipe closes) and forget it."""
        if self.conn is not None:
            self.conn.close()
        if self.process is not None:
            self.process.join(timeout=2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout=5)
        self.process, self.conn, self.loaded_key = None, None, None


def wait_for(process: JobProcess, kind: str, deadline: float) -> Any:
    """The payload of the next ``kind`` message before ``deadline`` (monotonic), or
    TimeoutError. Used where nothing else needs doing while waiting."""
    while True:
        message = process.receive(deadline - time.monotonic())
        if message is None:
            raise TimeoutError(kind)
        if message[0] == kind:
            return message[1]
