"""The job loop: ping -> parameters -> points -> run -> post results -> post pictures.

A worker runs ``processes`` slots, each a thread with its own signed-in session (the server
tells claim holders apart by session) and its own job process. While the server is down every
call waits with backoff and goes on once it is back; what was computed is posted then. On
SIGTERM (or Ctrl-C) the slots take no new job; running jobs get ``grace`` seconds to finish,
then they are killed and handed back. A second signal hands them back at once.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from mlcontest.client import (
    API,
    ClientError,
    Conflict,
    ConnectionFailed,
    NotAuthenticated,
    ServerError,
    ServerFailure,
)
from mlcontest.worker.child import JobSpec, time_limit_message
from mlcontest.worker.run import Outcome, PreparedData, prepare
from mlcontest.worker.sandbox import ChildDied, JobProcess, job_context

log = logging.getLogger("mlcontest.worker")
T = TypeVar("T")
PICTURE_SECONDS = 30.0
MAX_BACKOFF = 3.0


@dataclass
class WorkerConfig:
    server: str
    username: str | None = None
    password: str | None = None
    token: str | None = None
    processes: int = 1
    pictures: bool = True
    name: str = field(default_factory=socket.gethostname)
    wait: float = 5.0
    grace: float = 30.0
    default_time_limit: float = 60.0
    default_memory_mb: int = 2048


class Abandoned(Exception):
    """The worker is stopping and gave up waiting for the server."""


class JobLost(Exception):
    """The server says this worker no longer holds the job (its lease ran out)."""


class DatasetCache:
    """Each dataset's points as arrays, fetched again only when its version changes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[int, PreparedData] = {}
        self.fetches = 0

    def get(self, slot: Slot, dataset_id: int, version: str | None) -> PreparedData:
        with self.lock:  # two slots that need the same new dataset fetch it once
            cached = self.entries.get(dataset_id)
            if cached is not None and version and cached.version == version:
                return cached
            api = slot.api
            info = slot.call(api.get_datasets, "list datasets")[dataset_id]
            if cached is not None and cached.version == info["version"]:
                return cached
            points = slot.call(lambda: api.load(info["url"]), "fetch points")
            data = prepare(points, info["features"], info["version"])
            self.entries[dataset_id] = data
            self.fetches += 1
            return data


class Lease:
    """Renews a job's lease a third of the way through it, in the server's time."""

    def __init__(self, api: API, job_id: int, expires_at: str | None) -> None:
        self.api, self.job_id = api, job_id
        remaining = 60.0
        if expires_at:
            now = api.server_date or datetime.now(UTC)
            expires = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
            remaining = (expires - now).total_seconds()
        self.interval = min(max(remaining / 3, 0.5), 60.0)
        self.next_at = time.monotonic() + self.interval

    def renew_if_due(self) -> None:
        if time.monotonic() < self.next_at:
            return
        self.next_at = time.monotonic() + self.interval
        try:
            self.api.renew_lease(self.job_id, timeout=max(self.interval, 1.0), retries=0)
        except Conflict as error:
            raise JobLost(error.message) from error
        except (ConnectionFailed, ServerFailure):
            pass  # the server is away: compute on, post when it is back


class Worker:
    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.stopping = threading.Event()
        self.abandon = threading.Event()
        self.stop_requested_at: float | None = None
        self.datasets = DatasetCache()
        self.context = job_context()
        self.jobs_done = 0
        self.count_lock = threading.Lock()

    def new_api(self, worker_name: str) -> API:
        config = self.config
        options: dict[str, Any] = {"worker_name": worker_name, "retries": 2, "backoff": 0.2}
        if config.token:
            return API(host=config.server, token=config.token, **options)
        return API(config.username, config.password, config.server, **options)

    def request_stop(self, hard: bool = False) -> None:
        if self.stopping.is_set() or hard:
            self.abandon.set()
        if not self.stopping.is_set():
            self.stop_requested_at = time.monotonic()
            self.stopping.set()

    def _on_signal(self, signum: int, frame: Any) -> None:
        log.info("signal %d: finishing running jobs (signal again to hand them back)", signum)
        self.request_stop()

    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        slots = [Slot(self, index) for index in range(self.config.processes)]
        threads = [
            threading.Thread(target=slot.run, name=f"slot-{slot.index}", daemon=True)
            for slot in slots
        ]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=0.2)
            started = self.stop_requested_at
            if started is not None and time.monotonic() - started > self.config.grace:
                self.abandon.set()
        log.info("worker stopped after %d jobs", self.jobs_done)
        return 0


class Slot:
    """One claim holder: a session, a job process, one job at a time."""

    def __init__(self, worker: Worker, index: int) -> None:
        self.worker, self.index = worker, index
        self.config = worker.config
        self.name = f"{self.config.name}/{os.getpid()}/{index}"
        self.process = JobProcess(worker.context)
        self._api: API | None = None
        self.outage_since: float | None = None

    @property
    def api(self) -> API:
        assert self._api is not None
        return self._api

    def call(
        self, action: Callable[[], T], what: str, give_up: Callable[[], bool] | None = None
    ) -> T:
        """``action()``, retried with backoff while the server is unreachable or failing."""
        give_up = give_up or self.worker.abandon.is_set
        delay = 0.2
        while True:
            try:
                result = action()
            except NotAuthenticated:
                # The server lost our session (a new database?): sign in again.
                if self.config.token:
                    raise
                self._note_outage(what, "signed out")
                self.api.relogin()
                continue
            except (ConnectionFailed, ServerFailure) as error:
                self._note_outage(what, str(error))
            else:
                if self.outage_since is not None:
                    log.warning(
                        "[%s] server is back after %.1f s",
                        self.name,
                        time.monotonic() - self.outage_since,
                    )
                    self.outage_since = None
                return result
            if give_up():
                raise Abandoned(what)
            time.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, MAX_BACKOFF)

    def _note_outage(self, what: str, reason: str) -> None:
        if self.outage_since is None:
            self.outage_since = time.monotonic()
            log.warning("[%s] %s: server unreachable (%s); retrying", self.name, what, reason)

    def run(self) -> None:
        try:
            self.process.start()
            self._api = self.call(
                lambda: self.worker.new_api(self.name), "sign in", self.worker.stopping.is_set
            )
            while not self.worker.stopping.is_set():
                job_id = self.call(
                    lambda: self.api.ping(wait=self.config.wait),
                    "ping",
                    self.worker.stopping.is_set,
                )
                if job_id is None:
                    continue
                if self.worker.stopping.is_set():
                    self.hand_back(int(job_id))
                    break
                self.run_guarded(int(job_id))
        except Abandoned:
            pass
        finally:
            self.process.stop()

    def run_guarded(self, job_id: int) -> None:
        """Run a job; a bug or a surprise answer costs that job, not the worker."""
        try:
            self.run_job(job_id)
        except Abandoned:
            raise
        except Exception:
            log.exception("job %d: the worker failed on it [%s]", job_id, self.name)
            self.process.kill()
            self.hand_back(job_id)
            time.sleep(1.0)  # do not spin if every job trips the same bug

    def hand_back(self, job_id: int) -> None:
        try:
            self.api.release_job(job_id)
            log.info("job %d: handed back to the queue [%s]", job_id, self.name)
        except ClientError as error:
            log.warning("job %d: not handed back (%s); its lease will expire", job_id, error)

    def run_job(self, job_id: int) -> None:
        started = time.monotonic()
        try:
            params = self.call(lambda: self.api.get_job_params(job_id), "get job parameters")
        except ServerError as error:
            log.warning("job %d: no parameters (%s) [%s]", job_id, error, self.name)
            return
        lease = Lease(self.api, job_id, params.get("lease_expires_at"))
        dataset_id = int(params["dataset"])
        data = self.worker.datasets.get(self, dataset_id, params.get("dataset_version"))
        time_limit = float(params.get("time_limit_seconds") or self.config.default_time_limit)
        memory_mb = int(params.get("memory_limit_mb") or self.config.default_memory_mb)
        spec = JobSpec(
            job_id=job_id,
            algorithm=params["algorithm"],
            params=dict(params.get("params") or {}),
            metric=params.get("metric") or "accuracy",
            data_key=f"{dataset_id}:{data.version}",
            pictures=self.config.pictures,
            memory_limit_mb=memory_mb,
        )
        try:
            outcome = self.compute(spec, data, lease, time_limit)
        except JobLost as error:
            log.warning("job %d: lost while running (%s) [%s]", job_id, error, self.name)
            return
        if outcome is None:
            self.hand_back(job_id)
            return
        outcome.timings["worker_total"] = round(time.monotonic() - started, 6)
        if not self.post_result(job_id, outcome):
            return
        pictures, note = self.post_pictures(job_id, spec, outcome.success)
        self._log_job(spec, outcome, time.monotonic() - started, pictures, note)
        with self.worker.count_lock:
            self.worker.jobs_done += 1

    def compute(
        self, spec: JobSpec, data: PreparedData, lease: Lease, time_limit: float
    ) -> Outcome | None:
        """The job's outcome (a failure for a broken limit), or None when abandoned."""
        self.process.submit(spec, data)
        deadline = time.monotonic() + time_limit
        while True:
            if self.worker.abandon.is_set():
                self.process.kill()
                return None
            now = time.monotonic()
            try:
                message = self.process.receive(min(deadline, lease.next_at, now + 0.25) - now)
            except ChildDied as died:
                hint = ""
                if died.exitcode == -signal.SIGKILL:
                    hint = f" (killed: did it use more than its {spec.memory_limit_mb} MB?)"
                return Outcome(False, f"Failed: {died}{hint}.")
            if message is not None and message[0] == "result":
                result: Outcome = message[1]
                return result
            if time.monotonic() >= deadline:
                self.process.kill()
                return Outcome(False, time_limit_message(time_limit))
            try:
                lease.renew_if_due()
            except JobLost:
                self.process.kill()
                raise

    def post_result(self, job_id: int, outcome: Outcome) -> bool:
        labels = outcome.labels
        try:
            self.call(
                lambda: self.api.update_job_details(
                    job_id,
                    outcome.score_test,
                    outcome.score_validation,
                    labels.get("training"),
                    labels.get("test"),
                    labels.get("validation"),
                    outcome.extra_scores_test,
                    outcome.extra_scores_validation,
                    message=outcome.message,
                    success=outcome.success,
                    timings=outcome.timings,
                ),
                "post result",
            )
        except Abandoned:
            log.warning("job %d: result not posted before stopping [%s]", job_id, self.name)
            return False
        except Conflict as error:
            log.warning("job %d: result refused (%s) [%s]", job_id, error.message, self.name)
            return False
        except ServerError as error:
            # A result the server cannot take must still end the job, or it runs for ever.
            log.warning("job %d: result refused (%s) [%s]", job_id, error, self.name)
            if outcome.success:
                failed = Outcome(False, f"The worker's result was refused: {error.message}")
                return self.post_result(job_id, failed)
            return False
        return True

    def post_pictures(self, job_id: int, spec: JobSpec, success: bool) -> tuple[int, str]:
        """Wait for the job process's pictures and post them; (how many, a note)."""
        if not spec.pictures or not success:
            self._drain_pictures()
            return 0, ""
        try:
            pictures, note = self._wait_pictures(time.monotonic() + PICTURE_SECONDS)
        except (TimeoutError, ChildDied) as error:
            self.process.kill()
            return 0, f"pictures skipped ({error or 'too slow'})"
        posted = 0
        for filename, png in pictures:
            try:
                self.call(partial(self.api.add_job_picture_data, job_id, filename, png), "picture")
                posted += 1
            except (Abandoned, ServerError) as error:
                note = f"picture {filename} not posted ({error})"
        return posted, note

    def _wait_pictures(self, deadline: float) -> tuple[list[tuple[str, bytes]], str]:
        while True:
            message = self.process.receive(deadline - time.monotonic())
            if message is None:
                raise TimeoutError("too slow")
            if message[0] == "pictures":
                pictures, note = message[1]
                return pictures, note

    def _drain_pictures(self) -> None:
        # The job process always answers with a (here empty) pictures message.
        if self.process.alive:
            try:
                self._wait_pictures(time.monotonic() + PICTURE_SECONDS)
            except (TimeoutError, ChildDied):
                self.process.kill()

    def _log_job(
        self, spec: JobSpec, outcome: Outcome, seconds: float, pictures: int, note: str
    ) -> None:
        if outcome.success:
            score = outcome.score_test
            scores = f"test {spec.metric} {score:.4f}" if score is not None else ""
            state = f"done, {scores}".rstrip(", ")
        else:
            state = f"failed: {outcome.message}"
        extras = f", {pictures} pictures" if pictures else ""
        extras += f", {note}" if note else ""
        log.info(
            "job %d %s on dataset %s: %s (%.3f s%s) [%s]",
            spec.job_id,
            spec.algorithm,
            spec.data_key.split(":")[0],
            state,
            seconds,
            extras,
            self.name,
        )
