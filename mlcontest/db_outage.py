"""A database that does not answer: a quick 503, and work that resumes by itself.

Four things bound how long a request can wait for PostgreSQL (the settings are in
``settings._database``):

- ``connect_timeout`` (psycopg, client side): a new connection to a server that refuses fails
  at once, one to a server that accepts but never answers fails after this many seconds.
- ``statement_timeout`` (server side): a slow query or a long lock wait on a live server.
- ``tcp_user_timeout`` and keepalives (the kernel): a connection whose network path is gone
  (sent data never acknowledged, keepalive probes unanswered) is reset.
- ``Deadlines`` (this module, client side): none of the above ends a call on a connection that
  was open when the server (or anything between, such as a proxy) stopped answering: the kernel
  at the far end still acknowledges every byte, and libpq waits in ``recv`` for a reply that
  never comes. A watcher thread shuts the socket of a call past its deadline down, so that recv
  returns and psycopg raises OperationalError. Django's health check (``SELECT 1`` before a
  persistent connection is reused) gets a short deadline; a query gets the statement timeout
  and a margin, so that the server's own timeout, with its clear error, comes first.

``DatabaseOutageMiddleware`` turns the OperationalError or InterfaceError of an unreachable
database (on SQLite: a lock held past the busy timeout) into a 503 with ``Retry-After``: the
JSON error body for the API and the seed protocol, a short page for the web pages. Django
closes a connection that failed and opens a new one for the next request, and its health check
replaces a persistent connection that died: nothing needs a restart.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.html import escape

from mlcontest.http import error_response, speaks_json

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
OUTAGE_CODE = "database_unavailable"
OUTAGE_MESSAGE = "The database is not answering; try again in a few seconds."
_OUTAGE_PAGE = (
    '<!doctype html><html lang="%(lang)s"><title>%(title)s</title>'
    "<h1>%(heading)s</h1>"
    "<p>%(text)s</p></html>"
)
_MARK = "_mlcontest_database_outage"


def is_outage(error: BaseException | None) -> bool:
    """Whether ``error`` means the database cannot be reached (or, on SQLite, is locked),
    rather than a bad query: only those are worth a retry."""
    if not isinstance(error, (OperationalError, InterfaceError)):
        return False
    cause = error.__cause__  # the driver's own error, that Django's wraps
    on_sqlite = (
        type(cause).__module__.startswith("sqlite3")
        if cause is not None
        else connection.vendor == "sqlite"
    )
    if on_sqlite:  # "no such table" and the like are bugs, not outages
        text = str(error).lower()
        return "locked" in text or "busy" in text
    return True


def outage_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if speaks_json(request):
        response = error_response(503, OUTAGE_CODE, OUTAGE_MESSAGE)
    else:
        # Outside every other middleware: the visitor's language is chosen here (no template,
        # no database: the session may be what cannot be read).
        language = translation.get_language_from_request(request)
        with translation.override(language):
            page = _OUTAGE_PAGE % {
                "lang": language,
                "title": escape(translation.gettext("Database unavailable")),
                "heading": escape(translation.gettext("The database is not answering")),
                "text": escape(
                    translation.gettext("Nothing was lost. Reload this page in a few seconds.")
                ),
            }
        response = HttpResponse(page, status=503, content_type="text/html")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseOutageMiddleware:
    """The outermost middleware: a 503 for an unreachable database, wherever it was noticed.

    A view's error arrives in ``process_exception``. One raised in another middleware (the
    token look-up, saving the session) has become a 500 answer by the time it gets here, so
    the ``got_request_exception`` signal, sent for every such error, marks the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code >= 500 and getattr(request, _MARK, False):
            return outage_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_outage(exception):
            logger.warning(
                "database unavailable for %s %s: %s", request.method, request.path, exception
            )
            return outage_response(request)
        return None


@receiver(got_request_exception, dispatch_uid="mlcontest.db_outage")
def _mark_outage(sender: object, request: HttpRequest | None = None, **kwargs: Any) -> None:
    if request is not None and is_outage(sys.exc_info()[1]):
        setattr(request, _MARK, True)


# --- client-side deadlines -------------------------------------------------------------------


class _Slot:
    """One thread's database call in progress: its socket and when it must be over."""

    __slots__ = ("__weakref__", "deadline", "fileno", "lock", "seconds")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deadline: float | None = None
        self.fileno = -1
        self.seconds = 0.0


class Deadlines:
    """A deadline per thread for its database call, watched by one thread per process."""

    def __init__(self, tick: float = 0.2) -> None:
        self.tick = tick
        self._local = threading.local()
        self._slots: weakref.WeakSet[_Slot] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._watcher_pid = 0

    @contextmanager
    def guard(self, fileno: int, seconds: float) -> Iterator[None]:
        if seconds <= 0 or fileno < 0:
            yield
            return
        slot = self._slot()
        with slot.lock:
            slot.fileno, slot.seconds = fileno, seconds
            slot.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            with slot.lock:
                slot.deadline = None

    def _slot(self) -> _Slot:
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None:
            slot = self._local.slot = _Slot()
            with self._lock:
                self._slots.add(slot)
        if self._watcher_pid != os.getpid():  # the first call, or the first after a fork
            self._start_watcher()
        return slot

    def _start_watcher(self) -> None:
        with self._lock:
            if self._watcher_pid == os.getpid():
                return
            self._watcher_pid = os.getpid()
        threading.Thread(target=self._watch, name="db-deadlines", daemon=True).start()

    def _watch(self) -> None:
        while True:
            time.sleep(self.tick)
            now = time.monotonic()
            with self._lock:
                slots = list(self._slots)
            for slot in slots:
                with slot.lock:
                    if slot.deadline is not None and now > slot.deadline:
                        slot.deadline = None
                        _shut_down(slot.fileno, slot.seconds)


def _shut_down(fileno: int, seconds: float) -> None:
    """End the socket's conversation (not the descriptor: its owner still closes that)."""
    logger.warning("database call still unanswered after %.1f s: dropping its connection", seconds)
    try:
        with socket.socket(fileno=os.dup(fileno)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing is waiting on it any more


DEADLINES = Deadlines()


def socket_of(connection: Any) -> int:
    """The socket of a psycopg connection, or -1 when it has none (closed, lost)."""
    try:
        return int(connection.pgconn.socket)
    except Exception:  # psycopg raises OperationalError for a connection without a socket
        return -1
