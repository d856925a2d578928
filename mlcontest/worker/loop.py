"""The job loop: ping -> parameters -> points -> run -> post results -> post pictures.

Under load a job without pictures takes one request: posting its result claims the next job,
and the answer carries that job's parameters. A job with pictures claims the next one after
they are drawn (one ping more). A ping from a slot that finds the queue empty waits for a job.

A worker runs ``processes`` slots, each a thread with its own signed-in session (the server
tells claim holders apart by session) and its own job process. While the server is down every
call waits with backoff and goes on once it is back; what was computed is posted then. On
SIGTERM (or Ctrl-C) the slots take no new job; running jobs get ``grace`` seconds to finish,
then they are killed and handed back. A second signal hands them back at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from mlcontest.client import (
    API,
    ClientError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    LoginFailed,
    NotAuthenticated,
    NotFound,
    ServerError,
    ServerFailure,
)
from mlcontest.worker import dataset_files
from mlcontest.worker.child import JobSpec, time_limit_message
from mlcontest.worker.dataset_files import DatasetFiles
from mlcontest.worker.posting import (
    PICTURE_SECONDS,
    Abandoned,
    Caller,
    Claimed,
    Poster,
    PostTask,
    post_result,
)
from mlcontest.worker.run import Outcome, PreparedData, prepare
from mlcontest.worker.sandbox import ChildDied, JobProcess, job_context

log = logging.getLogger("mlcontest.worker")


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


class JobLost(Exception):
    """The server says this worker no longer holds the job (its lease ran out)."""


class DatasetCache:
    """Each dataset version on disk in its compact form (``dataset_files``), fetched once; the
    job process reads it. A server without the file endpoints gets the seed's point list."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.lock = threading.Lock()
        self.entries: dict[int, PreparedData | DatasetFiles] = {}
        self.fetches = 0
        self.cache_dir = cache_dir or dataset_files.default_cache_dir()

    def get(self, slot: Slot, dataset_id: int, version: str | None) -> PreparedData | DatasetFiles:
        with self.lock:  # two slots that need the same new dataset fetch it once
            cached = self.entries.get(dataset_id)
            if cached is not None and version and cached.version == version:
                return cached
            api = slot.api
            info = slot.caller.call(api.get_datasets, "list datasets")[dataset_id]
            if cached is not None and cached.version == info["version"]:
                return cached
            classes = tuple(str(label) for label in info.get("labels") or ())
            data: PreparedData | DatasetFiles
            try:
                data = slot.caller.call(
                    lambda: dataset_files.fetch(
                        api, self.cache_dir, dataset_id, info["version"], classes
                    ),
                    "fetch dataset file",
                )
            except NotFound:  # a server from before the file endpoints
                points = slot.caller.call(lambda: api.load(info["url"]), "fetch points")
                data = prepare(points, info["features"], info["version"], classes)
            self.entries[dataset_id] = data
            self.fetches += 1
            log.info(
                "fetched the %d points of dataset %d (version %s)",
                info.get("size", 0),
                dataset_id,
                data.version,
            )
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
        self.failed = False

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

    def account_problem(self) -> str | None:
        """What is wrong with the worker's credentials, in one line, or None. Asked once before
        the slots start (through outages, as every call), so that a wrong token or a student's
        account stops the worker with that line instead of a traceback per slot."""
        config = self.config
        caller = Caller(None, config.name, self.stopping.is_set)
        try:
            me = caller.call(lambda: self.new_api(config.name).get_me(), "sign in")
        except Abandoned:
            return None  # stopped while the server was away: nothing to report
        except LoginFailed as error:
            return (
                f"the server refused the sign-in of {config.username!r} ({error.message}): "
                "check MLCONTEST_USERNAME and MLCONTEST_PASSWORD"
            )
        except NotAuthenticated as error:
            return (
                f"the server refused the token ({error.message}): check MLCONTEST_TOKEN; "
                "an organizer makes one with `mlcontest user token WORKER_ACCOUNT`"
            )
        if not me.get("is_worker"):
            return (
                f"{me.get('username')!r} is a {me.get('role')} account and may not run jobs: "
                "sign in with a worker account (`mlcontest user add NAME --role worker`)"
            )
        return None

    def run(self) -> int:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        problem = self.account_problem()
        if problem is not None:
            log.error("mlcontest worker: %s", problem)
            return 1
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
        log.info("worker stopped after %d jobs", sum(slot.jobs_done for slot in slots))
        return 1 if self.failed else 0


class Slot:
    """One claim holder: a session, a job process, one job at a time. A job's result is posted
    in the request that claims the next job; its pictures go from a poster thread while the
    next job runs."""

    def __init__(self, worker: Worker, index: int) -> None:
        self.worker, self.index = worker, index
        self.config = worker.config
        self.name = f"{self.config.name}/{os.getpid()}/{index}"
        self.process = JobProcess(worker.context)
        self._caller: Caller | None = None
        self.poster: Poster | None = None

    @property
    def caller(self) -> Caller:
        assert self._caller is not None
        return self._caller

    @property
    def api(self) -> API:
        assert self.caller.api is not None
        return self.caller.api

    @property
    def jobs_done(self) -> int:
        return self.poster.posted if self.poster is not None else 0

    def run(self) -> None:
        stopping = self.worker.stopping.is_set
        following: Claimed | None = None  # claimed with the last result, not yet started
        try:
            self.process.start()
            signing_in = Caller(None, self.name, stopping)
            api = signing_in.call(lambda: self.worker.new_api(self.name), "sign in")
            self._caller = Caller(api, self.name, self.worker.abandon.is_set)
            self.poster = Poster(api.clone(), self.name, self.worker.abandon.is_set)
            while not stopping():
                claimed = following or self.claim()
                following = None
                if claimed is None:
                    continue
                if stopping():
                    following = claimed
                    break
                following = self.run_guarded(*claimed)
        except Abandoned:
            pass
        except LoginFailed as error:
            log.error("[%s] the server refused the sign-in: %s", self.name, error.message)
            self.worker.failed = True
            self.worker.request_stop(hard=True)
        except (NotAuthenticated, Forbidden) as error:
            # A token revoked, or a role taken away, while the worker ran.
            log.error("[%s] the server refused this worker: %s", self.name, error.message)
            self.worker.failed = True
            self.worker.request_stop(hard=True)
        finally:
            if following is not None:
                self.hand_back(following[0])
            self.process.stop()
            if self.poster is not None:
                self.poster.close()

    def claim(self) -> Claimed | None:
        """Long-poll for a job: ``(job id, parameters)`` or None if none came."""
        return self.caller.call(
            lambda: self.api.claim(wait=self.config.wait), "ping", self.worker.stopping.is_set
        )

    def run_guarded(self, job_id: int, params: dict[str, Any] | None = None) -> Claimed | None:
        """Run a job; a bug or a surprise answer costs that job, not the worker. The next job,
        when the result's post claimed one."""
        try:
            return self.run_job(job_id, params)
        except Abandoned:
            raise
        except Exception:
            log.exception("job %d: the worker failed on it [%s]", job_id, self.name)
            self.process.kill()
            self.hand_back(job_id)
            time.sleep(1.0)  # do not spin if every job trips the same bug
            return None

    def hand_back(self, job_id: int) -> None:
        try:
            self.api.release_job(job_id)
        except ClientError as error:
            log.warning("job %d: not handed back (%s) [%s]", job_id, error, self.name)
            return
        log.info("job %d: handed back to the queue [%s]", job_id, self.name)

    def run_job(self, job_id: int, params: dict[str, Any] | None = None) -> Claimed | None:
        started = time.monotonic()
        if params is None:
            try:
                action = partial(self.api.get_job_params, job_id)
                params = self.caller.call(action, "get parameters")
            except ServerError as error:
                log.warning("job %d: no parameters (%s) [%s]", job_id, error, self.name)
                return None
        lease = Lease(self.api, job_id, params.get("lease_expires_at"))
        dataset_id = int(params["dataset"])
        data = self.worker.datasets.get(self, dataset_id, params.get("dataset_version"))
        time_limit = float(params.get("time_limit_seconds") or self.config.default_time_limit)
        spec = JobSpec(
            job_id=job_id,
            algorithm=params["algorithm"],
            params=dict(params.get("params") or {}),
            metric=params.get("metric") or "accuracy",
            data_key=f"{dataset_id}:{data.version}",
            pictures=self.config.pictures,
            memory_limit_mb=int(params.get("memory_limit_mb") or self.config.default_memory_mb),
            diagnostics=bool(params.get("diagnostics")),
            time_limit=time_limit,
        )
        try:
            outcome = self.compute(spec, data, lease, time_limit)
        except JobLost as error:
            log.warning("job %d: lost while running (%s) [%s]", job_id, error, self.name)
            return None
        if outcome is None:
            self.hand_back(job_id)
            return None
        outcome.timings["worker_total"] = round(time.monotonic() - started, 6)
        # The result first, so that the leaderboard moves while the pictures are drawn. The
        # next job is claimed with it only when no drawing follows: a job claimed now would
        # wait for the drawing while another worker might be idle.
        drawing = spec.pictures and outcome.success
        claim_next = not drawing and not self.worker.stopping.is_set()
        try:
            stored, following = post_result(self.caller, job_id, outcome, claim_next)
        except Abandoned:
            log.warning(
                "job %d: result not posted before stopping; it returns to the queue when its "
                "lease expires [%s]",
                job_id,
                self.name,
            )
            raise
        pictures, note = self.collect_pictures(spec, outcome.success)
        if stored is not None:  # the job's log line tells what the server stored
            assert self.poster is not None
            self.poster.submit(PostTask(spec, stored, started, pictures, note))
        return following

    def compute(
        self, spec: JobSpec, data: PreparedData | DatasetFiles, lease: Lease, time_limit: float
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

    def collect_pictures(self, spec: JobSpec, success: bool) -> tuple[list[tuple[str, bytes]], str]:
        """The job process's pictures message (empty when pictures are off or the job failed);
        a process too slow to draw is killed, and the next job gets a new one."""
        if not self.process.alive:
            return [], ""
        limit = PICTURE_SECONDS if spec.pictures and success else 10.0
        deadline = time.monotonic() + limit
        try:
            while True:
                message = self.process.receive(deadline - time.monotonic())
                if message is None:
                    raise TimeoutError(f"not drawn within {limit:g} s")
                if message[0] == "pictures":
                    pictures, note = message[1]
                    return pictures, note
        except (TimeoutError, ChildDied) as error:
            self.process.kill()
            return [], f"pictures skipped ({error})"
