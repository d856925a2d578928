"""``/healthz``: whether this instance can reach its database and the job queue in it.

Answered by a middleware near the top of the stack, before the host check and the HTTPS
redirect: a load balancer or a monitoring probe reaches each instance at its own address,
over plain HTTP, with a Host header the public settings do not list. It says nothing secret
(the queue's length is on every projector), so it needs no sign-in.

200 ``{"status": "ok", "database": "ok", "queue": "ok", "queued": 3, "running": 1}``, or 503
with ``"status": "error"`` and which part failed: nginx, systemd or Prometheus act on the status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse

PATHS = ("/healthz", "/healthz/")

_QUEUE_SQL = """
SELECT (SELECT COUNT(*) FROM contest_job WHERE state = 'queued'),
       (SELECT COUNT(*) FROM contest_job WHERE state = 'running')
"""


def health() -> tuple[bool, dict[str, Any]]:
    """Check the database (a round trip) and the queue (its table, read by its index)."""
    answer: dict[str, Any] = {"status": "ok", "database": "ok", "queue": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        answer.update(status="error", database=f"error: {type(error).__name__}", queue="unknown")
        return False, answer
    try:
        with connection.cursor() as cursor:
            cursor.execute(_QUEUE_SQL)
            queued, running = cursor.fetchone()
    except DatabaseError as error:
        answer.update(status="error", queue=f"error: {type(error).__name__}")
        return False, answer
    answer.update(queued=int(queued), running=int(running))
    return True, answer


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in PATHS or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        ok, answer = health()
        response = HttpResponse(
            json.dumps(answer), content_type="application/json", status=200 if ok else 503
        )
        response["Cache-Control"] = "no-store"
        return response
