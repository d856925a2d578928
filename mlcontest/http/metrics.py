"""Prometheus metrics at ``/metrics``, in Prometheus's text format, written by hand (a few
gauges and one histogram do not need a library and its multi-process mode).

What the contest's state says (queue depth, running jobs, failed jobs, lease expiries, score
mismatches, the oldest queued job's age) is counted in the database at each scrape, so any
instance answers for the whole cluster and nothing is lost when a process restarts. Request
latency is each process's own: a process keeps its histogram in memory and, a second after a
request, writes it to ``MLCONTEST_DATA_DIR/metrics/<pid>.json``; a scrape sums this
instance's files (``mlcontest serve`` empties the folder at start, so counters restart at
zero, which Prometheus understands as a restart).

Who may read: an organizer signed in, or ``Authorization: Bearer <MLCONTEST_METRICS_TOKEN>``
(Prometheus's ``authorization`` setting).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from mlcontest.contest.models import Job, JobState
from mlcontest.contest.queue import LOST_JOB_MESSAGE
from mlcontest.http.endpoints import error_response

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FLUSH_AFTER_SECONDS = 1.0
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_folder() -> Path:
    return Path(settings.DATA_DIR) / "metrics"


def reset_process_files() -> None:
    """At a server's start: the last run's processes' files go (their counts are history)."""
    folder = metrics_folder()
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.json"):
        stale.unlink(missing_ok=True)


class Latency:
    """This process's request-latency histogram by (method, route), cumulative, flushed to its
    file by a thread that wakes only after requests (an idle server does no work for it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writing = threading.Lock()
        # (method, route) -> [count per bucket ..., +Inf count, sum of seconds]
        self.series: dict[tuple[str, str], list[float]] = {}
        self.dirty = threading.Event()
        self.thread: threading.Thread | None = None

    def observe(self, method: str, route: str, seconds: float) -> None:
        with self.lock:
            row = self.series.get((method, route))
            if row is None:
                row = self.series[(method, route)] = [0.0] * (len(BUCKETS) + 2)
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[index] += 1
            row[len(BUCKETS)] += 1
            row[len(BUCKETS) + 1] += seconds
        if self.thread is None:
            self.thread = threading.Thread(target=self._flusher, daemon=True, name="metrics")
            self.thread.start()
        self.dirty.set()

    def snapshot(self) -> list[list[Any]]:
        with self.lock:
            return [[method, route, list(row)] for (method, route), row in self.series.items()]

    def flush(self) -> None:
        folder = metrics_folder()
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{os.getpid()}.tmp"
        # One writer at a time (the flusher and a scrape share the temporary file's name).
        with self.writing:
            temporary.write_text(json.dumps(self.snapshot()), encoding="utf-8")
            temporary.replace(folder / f"{os.getpid()}.json")  # whole, for any reader

    def _flusher(self) -> None:
        while True:
            self.dirty.wait()
            time.sleep(FLUSH_AFTER_SECONDS)  # a second's requests in one write
            self.dirty.clear()
            # A full or read-only disk must not stop the server.
            with contextlib.suppress(OSError):
                self.flush()


LATENCY = Latency()


class LatencyMiddleware:
    """Times every request, labelled by its URL pattern (not its path: ids would make a
    series per job)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        LATENCY.observe(request.method or "", route, time.perf_counter() - started)
        return response


def _may_read(request: HttpRequest) -> bool:
    token: str = getattr(settings, "METRICS_TOKEN", "")
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_organizer)


_CONTEST_SQL = """
SELECT state, COUNT(*), COALESCE(SUM(attempts), 0),
       COALESCE(SUM(CASE WHEN score_mismatch THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN message = %s THEN 1 ELSE 0 END), 0)
  FROM contest_job GROUP BY state
"""


def contest_lines() -> list[str]:
    """The contest's gauges and counters, counted in the database."""
    lost_message = LOST_JOB_MESSAGE.format(attempts=settings.MAX_ATTEMPTS)
    with connection.cursor() as cursor:
        cursor.execute(_CONTEST_SQL, [lost_message])
        rows = cursor.fetchall()
    jobs = {state: int(count) for state, count, *_ in rows}
    attempts = sum(int(row[2]) for row in rows)
    mismatches = sum(int(row[3]) for row in rows)
    lost_failed = sum(int(row[4]) for row in rows)
    # Every claim adds an attempt (a worker handing a job back takes its attempt back). A
    # claim ends in the job's result, or is still held, or its lease ran out: so the claims
    # that ran out are the attempts less the running jobs and the jobs a worker finished.
    finished_by_workers = jobs.get("done", 0) + jobs.get("failed", 0) - lost_failed
    expiries = max(0, attempts - jobs.get("running", 0) - finished_by_workers)
    oldest = Job.objects.filter(state=JobState.QUEUED).aggregate(oldest=Min("created_at"))
    age = (timezone.now() - oldest["oldest"]).total_seconds() if oldest["oldest"] else 0.0
    lines = [
        "# HELP mlcontest_jobs Jobs by state (queued: the queue's depth).",
        "# TYPE mlcontest_jobs gauge",
    ]
    for state in ("queued", "running", "done", "failed"):
        lines.append(f'mlcontest_jobs{{state="{state}"}} {jobs.get(state, 0)}')
    lines += [
        "# HELP mlcontest_queue_depth Jobs waiting for a worker.",
        "# TYPE mlcontest_queue_depth gauge",
        f"mlcontest_queue_depth {jobs.get('queued', 0)}",
        "# HELP mlcontest_running_jobs Jobs a worker holds now.",
        "# TYPE mlcontest_running_jobs gauge",
        f"mlcontest_running_jobs {jobs.get('running', 0)}",
        "# HELP mlcontest_queue_oldest_seconds Age of the oldest queued job.",
        "# TYPE mlcontest_queue_oldest_seconds gauge",
        f"mlcontest_queue_oldest_seconds {max(0.0, age):.3f}",
        "# HELP mlcontest_failed_jobs_total Jobs that failed (stored jobs).",
        "# TYPE mlcontest_failed_jobs_total counter",
        f"mlcontest_failed_jobs_total {jobs.get('failed', 0)}",
        "# HELP mlcontest_lease_expiries_total Claims whose lease ran out (a worker was lost).",
        "# TYPE mlcontest_lease_expiries_total counter",
        f"mlcontest_lease_expiries_total {expiries}",
        "# HELP mlcontest_score_mismatches_total Jobs whose claimed score the server did not "
        "confirm.",
        "# TYPE mlcontest_score_mismatches_total counter",
        f"mlcontest_score_mismatches_total {mismatches}",
    ]
    return lines


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def latency_lines() -> list[str]:
    """This instance's request latency: the sum of its processes' files."""
    LATENCY.flush()  # this process's own, as of now
    total: dict[tuple[str, str], list[float]] = {}
    for path in metrics_folder().glob("*.json"):
        try:
            series = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # being replaced, or from a crash: next scrape
            continue
        for method, route, row in series:
            into = total.setdefault((method, route), [0.0] * len(row))
            for index, value in enumerate(row):
                into[index] += value
    lines = [
        "# HELP mlcontest_request_duration_seconds Time to answer a request, by URL pattern.",
        "# TYPE mlcontest_request_duration_seconds histogram",
    ]
    for (method, route), row in sorted(total.items()):
        labels = f'method="{_label(method)}",route="{_label(route)}"'
        for bound, count in zip(BUCKETS, row, strict=False):
            lines.append(
                f'mlcontest_request_duration_seconds_bucket{{{labels},le="{bound}"}} {count:g}'
            )
        count = row[len(BUCKETS)]
        lines.append(f'mlcontest_request_duration_seconds_bucket{{{labels},le="+Inf"}} {count:g}')
        lines.append(f"mlcontest_request_duration_seconds_count{{{labels}}} {count:g}")
        lines.append(f"mlcontest_request_duration_seconds_sum{{{labels}}} {row[-1]:.6f}")
    return lines


def metrics(request: HttpRequest) -> HttpResponse:
    if not _may_read(request):
        return error_response(403, "forbidden", "Metrics are for organizers or the metrics token.")
    body = "\n".join([*contest_lines(), *latency_lines()]) + "\n"
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
