"""Talking to the server through outages, and posting results while the next job runs.

``Caller`` retries an action with backoff while the server is unreachable or failing, and says
so once per outage in the log. ``Poster`` is a slot's second thread: it posts each job's result
as soon as the job process has it, then the pictures, while the slot already claims and runs
the next job. It uses its own HTTP session carrying the slot's cookies, so the server sees the
same claim holder.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from mlcontest.client import (
    API,
    Conflict,
    ConnectionFailed,
    LoginFailed,
    NotAuthenticated,
    ServerError,
    ServerFailure,
)
from mlcontest.worker.child import JobSpec
from mlcontest.worker.run import Outcome

log = logging.getLogger("mlcontest.worker")
T = TypeVar("T")
MAX_BACKOFF = 3.0
PICTURE_SECONDS = 30.0


class Abandoned(Exception):
    """The worker is stopping and gave up waiting for the server."""


class Caller:
    def __init__(self, api: API | None, name: str, give_up: Callable[[], bool]) -> None:
        self.api, self.name, self.give_up = api, name, give_up
        self.outage_since: float | None = None

    def call(
        self, action: Callable[[], T], what: str, give_up: Callable[[], bool] | None = None
    ) -> T:
        """``action()``, retried with backoff while the server is unreachable or failing;
        Abandoned once ``give_up()`` says so."""
        give_up = give_up or self.give_up
        delay = 0.2
        while True:
            try:
                result = action()
            except LoginFailed:
                raise  # wrong credentials do not heal by waiting
            except NotAuthenticated:
                # The server lost our session (a new database?): sign in again.
                if self.api is None or self.api.token:
                    raise
                self._note_outage(what, "signed out")
                self.api.relogin()
                continue
            except (ConnectionFailed, ServerFailure) as error:
                self._note_outage(what, str(error))
            else:
                if self.outage_since is not None:
                    down = time.monotonic() - self.outage_since
                    log.warning("[%s] server is back after %.1f s", self.name, down)
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


@dataclass
class PostTask:
    """One finished job on its way to the server; the pictures follow when drawn."""

    spec: JobSpec
    outcome: Outcome
    started: float
    pictures: list[tuple[str, bytes]] = field(default_factory=list)
    note: str = ""
    pictures_ready: threading.Event = field(default_factory=threading.Event)

    def add_pictures(self, pictures: list[tuple[str, bytes]], note: str) -> None:
        self.pictures, self.note = pictures, note
        self.pictures_ready.set()


class Poster:
    def __init__(self, api: API, name: str, give_up: Callable[[], bool]) -> None:
        self.caller = Caller(api, name, give_up)
        self.api: API = api
        self.name = name
        self.tasks: queue.Queue[PostTask | None] = queue.Queue()
        self.posted = 0
        self.thread = threading.Thread(target=self._run, name=f"post-{name}", daemon=True)
        self.thread.start()

    def submit(self, task: PostTask) -> None:
        self.tasks.put(task)

    def close(self) -> None:
        """Post what is queued (unless the worker gives up), then end the thread."""
        self.tasks.put(None)
        self.thread.join()

    def _run(self) -> None:
        while (task := self.tasks.get()) is not None:
            try:
                self._post(task)
            except Abandoned:
                log.warning(
                    "job %d: result not posted before stopping; it returns to the queue when "
                    "its lease expires [%s]",
                    task.spec.job_id,
                    self.name,
                )
            except Exception:  # one bad post must not stop the results of later jobs
                log.exception("job %d: posting failed [%s]", task.spec.job_id, self.name)

    def _post(self, task: PostTask) -> None:
        if not self.post_result(task.spec.job_id, task.outcome):
            return
        posted, note = 0, ""
        if task.spec.pictures and task.outcome.success:
            if task.pictures_ready.wait(PICTURE_SECONDS + 5):
                posted, note = self.post_pictures(task)
            else:
                note = "pictures skipped (too slow)"
        self.posted += 1
        log_job(task, time.monotonic() - task.started, posted, note, self.name)

    def post_result(self, job_id: int, outcome: Outcome) -> bool:
        labels = outcome.labels
        try:
            self.caller.call(
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

    def post_pictures(self, task: PostTask) -> tuple[int, str]:
        posted, note = 0, task.note
        for filename, png in task.pictures:
            action = partial(self.api.add_job_picture_data, task.spec.job_id, filename, png)
            try:
                self.caller.call(action, "post picture")
                posted += 1
            except ServerError as error:
                note = f"picture {filename} refused ({error})"
        return posted, note


def log_job(task: PostTask, seconds: float, pictures: int, note: str, name: str) -> None:
    """The one log line of a job."""
    spec, outcome = task.spec, task.outcome
    if outcome.success:
        score = outcome.score_test
        state = f"done, test {spec.metric} {score:.4f}" if score is not None else "done"
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
        name,
    )
