"""A database that does not answer: a quick 503, and work that resumes by itself.

Four things bound how long a request can wait for PostgreSQL (the settings are in
``settings._database``):

- ``connect_timeout`` (psycopg, client side): a new connection to a server that refuses fails
  at once, one to a server that accepts but never answers fails after this many seconds.
- ``statement_timeout`` (server side): a slow query or a long lock wait on a live server.
- ``tcp_user_timeout`` and keepalives (the kernel): a connection whose network path is gone
  (sent data never acknowledged, keepalive probes unanswered) is reset.
- ``Deadlines`` (``mlcontest.core.postgres.deadlines``, client side): none of the above ends a
  call on a connection that was open when the server (or anything between, such as a proxy)
  stopped answering: the kernel at the far end still acknowledges every byte, and libpq waits in
  ``recv`` for a reply that never comes. A watcher thread shuts the socket of a call past its
  deadline down, so that recv returns and psycopg raises OperationalError. Django's health check
  (``SELECT 1`` before a persistent connection is reused) gets a short deadline; a query gets
  the statement timeout and a margin, so that the server's own timeout, with its clear error,
  comes first.

``DatabaseOutageMiddleware`` turns the OperationalError or InterfaceError of an unreachable
database (on SQLite: a lock held past the busy timeout) into a 503 with ``Retry-After``: the
JSON error body for the API and the seed protocol, a short page for the web pages. Django
closes a connection that failed and opens a new one for the next request, and its health check
replaces a persistent connection that died: nothing needs a restart.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connection
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.html import escape

from mlcontest.http.endpoints import error_response, speaks_json

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


@receiver(got_request_exception, dispatch_uid="mlcontest.http.db_outage")
def _mark_outage(sender: object, request: HttpRequest | None = None, **kwargs: Any) -> None:
    if request is not None and is_outage(sys.exc_info()[1]):
        setattr(request, _MARK, True)
