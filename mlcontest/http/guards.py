"""Refusals that come before any view, and errors answered in the language of the path.

- A body larger than ``MLCONTEST_MAX_BODY_BYTES`` is refused with 413 from its Content-Length,
  before a byte of it is read; a chunked body without Content-Length is refused with 411
  (Django reads a body only up to its Content-Length, so it would otherwise be silently
  dropped, and reading it unbounded is what the limit is there to prevent).
- A NUL character or a lone surrogate in the path, the query string or a form field is refused
  with 400: PostgreSQL cannot store or even compare such text (JSON bodies are checked where
  they are parsed, ``mlcontest.contest.inputs.loads_json``).
- A database ``DataError`` that still gets through (a value out of range) is a 400, not a 500.
- 400, 403, 404 and 500 answers of JSON paths (the API, the seed's actions) carry the one JSON
  error body of ``mlcontest.http.endpoints.error_response``; pages keep Django's HTML answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DataError
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.utils import translation
from django.views import defaults

from mlcontest.contest.inputs import bad_text
from mlcontest.core.marks import gettext_noop
from mlcontest.http.endpoints import error_response, speaks_json

logger = logging.getLogger(__name__)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class BodyLimitMiddleware:
    """413 for a declared body above the limit, 411 for a chunked one, before reading it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        declared = str(meta.get("CONTENT_LENGTH") or "").strip()
        limit = settings.MAX_BODY_BYTES
        if not declared:
            if "chunked" in str(meta.get("HTTP_TRANSFER_ENCODING", "")).lower():
                return refuse(
                    request,
                    411,
                    "length_required",
                    gettext_noop(
                        "Send the body with a Content-Length; chunked bodies are not accepted."
                    ),
                )
            return self.get_response(request)
        if not (declared.isascii() and declared.isdigit()):  # isdigit alone takes "²"
            return refuse(
                request, 400, "invalid", gettext_noop("The Content-Length header is not a number.")
            )
        if len(declared) > 18 or int(declared) > limit:  # 18: int() of 5,000 digits fails
            return refuse(
                request,
                413,
                "body_too_large",
                gettext_noop("The body has %(declared)s bytes; at most %(limit)s are accepted."),
                {"body": f"at most {limit} bytes"},
                {"declared": declared, "limit": limit},
            )
        return self.get_response(request)


class CleanTextMiddleware:
    """400 for a NUL character or a lone surrogate in the path, query string or form fields;
    400 instead of 500 for a database ``DataError`` raised by a view; 408 for a body that
    stopped arriving."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            field = self._bad_field(request)
        except UnreadablePostError:
            return body_late(request)
        if field is not None:
            return refuse(
                request,
                400,
                "invalid_text",
                gettext_noop("%(field)s contains a NUL character or a lone surrogate."),
                {field: "contains a NUL character or a lone surrogate"},
                {"field": field},
            )
        return self.get_response(request)

    @staticmethod
    def _bad_field(request: HttpRequest) -> str | None:
        if bad_text(request.path_info):
            return "path"
        for name, values in request.GET.lists():
            if bad_text(name) or any(bad_text(value) for value in values):
                return name if not bad_text(name) else "query"
        if request.method == "POST" and request.content_type in FORM_TYPES:
            for name, values in request.POST.lists():
                if bad_text(name) or any(bad_text(value) for value in values):
                    return name if not bad_text(name) else "form"
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UnreadablePostError):
            return body_late(request)
        if isinstance(exception, DataError):
            logger.warning("DataError on %s: %s", request.path_info, exception)
            return refuse(
                request, 400, "invalid", gettext_noop("A value is out of range or not valid.")
            )
        return None


def body_late(request: HttpRequest) -> HttpResponse:
    """A body that stopped arriving: ``mlcontest serve`` gives up on it after
    MLCONTEST_BODY_TIMEOUT, and reading the request then fails (a 500 without this)."""
    return refuse(
        request, 408, "request_timeout", gettext_noop("The request body did not arrive in time.")
    )


def refuse(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    params: dict[str, object] | None = None,
) -> HttpResponse:
    """``message`` is English with ``%(name)s`` places for ``params``: the JSON body keeps it
    English, a page's plain text is in the visitor's language (these refusals may come before
    the locale middleware has chosen it, so it is chosen here)."""
    if speaks_json(request):
        return error_response(status, code, message % (params or {}), fields)
    with translation.override(translation.get_language_from_request(request)):
        text = translation.gettext(message) % (params or {})
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if speaks_json(request):
        return error_response(400, "bad_request", "The request is not valid.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if speaks_json(request):
        return error_response(403, "forbidden", "You may not do this.")
    return defaults.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if speaks_json(request):
        return error_response(404, "not_found", f"Nothing here: {request.path_info[:200]}")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if speaks_json(request):
        return error_response(500, "server_error", "The server failed; the error is logged.")
    return defaults.server_error(request)
