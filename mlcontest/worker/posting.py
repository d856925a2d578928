"""Talking to the server through outages: results, and pictures while the next job runs.

``Caller`` retries an action with backoff while the server is unreachable or failing, and says
so once per outage in the log. Below it the client's transport retries each request a few
times (urllib3's ``Retry``, mlcontest/client/transport.py), which hides a blip; an outage
outlasts those, and only this loop can wait for it without end, sign in again when the server
lost the session, and stop waiting when the worker is told to stop (``Retry`` sleeps can not
be interrupted and know nothing of sessions).

``post_result`` stores a job's result and claims the next job in the same request. ``Poster``
posts the pictures from a second thread.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

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


Claimed = tuple[int, dict[str, Any]]


def post_result(
    caller: Caller, job_id: int, outcome: Outcome, claim_next: bool
) -> tuple[Outcome | None, Claimed | None]:
    """Post a job's result, retried through outages: ``(the outcome stored, next job)``, the
    outcome None when the server refused it. The stored outcome carries the server's scores
    (the worker computes none). With ``claim_next`` the same request claims the worker's next
    job (None when the queue is empty). A result the server refuses as invalid is posted
    again as a failure: it must still end the job, or the job would run for ever."""
    api = caller.api
    assert api is not None
    labels = outcome.labels
    try:
        answer = caller.call(
            lambda: api.update_job_details(
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
                diagnostics=outcome.diagnostics,
                claim_next=claim_next,
            ),
            "post result",
        )
    except Conflict as error:
        log.warning("job %d: result refused (%s) [%s]", job_id, error.message, caller.name)
        return None, None
    except ServerError as error:
        log.warning("job %d: result refused (%s) [%s]", job_id, error, caller.name)
        if outcome.success:
            failed = Outcome(False, f"The worker's result was refused: {error.message}")
            return post_result(caller, job_id, failed, claim_next)
        return None, None
    claimed = answer.get("next") if isinstance(answer, dict) else None
    return stored_outcome(outcome, answer), (
        (int(claimed["id"]), claimed["params"]) if claimed else None
    )


def stored_outcome(outcome: Outcome, answer: Any) -> Outcome:
    """``outcome`` with the scores the server computed and stored (``answer["job"]``)."""
    job = answer.get("job") if isinstance(answer, dict) else None
    if not isinstance(job, dict):
        return replace(outcome, score_test=None, score_validation=None)
    return replace(
        outcome,
        score_test=job.get("score_test"),
        score_validation=job.get("score_validation"),
    )


@dataclass
class PostTask:
    """One job whose result is stored: its pictures on their way to the server."""

    spec: JobSpec
    outcome: Outcome
    started: float
    pictures: list[tuple[str, bytes]] = field(default_factory=list)
    note: str = ""


class Poster:
    """A slot's second thread: posts a job's pictures, and logs the job's line, while the slot
    already runs the next job. Its own HTTP session carries the slot's cookies, so the server
    sees the same claim holder."""

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
                posted, note = self.post_pictures(task)
            except Abandoned:
                posted, note = 0, "pictures not posted before stopping"
            except Exception:  # one bad post must not stop the pictures of later jobs
                log.exception("job %d: posting pictures failed [%s]", task.spec.job_id, self.name)
                posted, note = 0, "pictures failed"
            self.posted += 1
            log_job(task, time.monotonic() - task.started, posted, note, self.name)

    def post_pictures(self, task: PostTask) -> tuple[int, str]:
        posted, note = 0, task.note
        if not task.outcome.success:  # e.g. a result the server refused, stored as failed
            return posted, note
        for filename, png in task.pictures:
            action = partial(self.api.add_job_picture_data, task.spec.job_id, filename, png)
            try:
                self.caller.call(action, "post picture")
                posted += 1
            except ServerError as error:
                note = f"picture {filename} refused ({error})"
        return posted, note


def log_job(task: PostTask, seconds: float, pictures: int, note: str, name: str) -> None:
    """The one log line of a job, with the test score the server stored."""
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
