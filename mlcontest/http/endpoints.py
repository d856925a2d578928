"""What every JSON endpoint shares: the one error body, the action decorator, token auth."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from mlcontest.contest.errors import ContestError, InvalidInput, NotAuthenticated
from mlcontest.contest.inputs import loads_json

View = Callable[..., HttpResponseBase]


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> JsonResponse:
    """The one JSON error body of every endpoint:
    ``{"status": "error", "code": ..., "message": ..., "fields": {field: message}}``."""
    body: dict[str, Any] = {
        "status": "error",
        "code": code,
        "message": message,
        "fields": fields or {},
    }
    return JsonResponse(body, status=status)


# Paths whose errors are the JSON body above: the API, the seed protocol, job pictures.
JSON_PREFIXES = ("/api/", "/actions/", "/env.json", "/ok.json", "/media/jobs/", "/__bench__/")


def speaks_json(request: HttpRequest) -> bool:
    """Whether errors on this request are answered with the JSON error body (pages answer
    HTML): the JSON paths, and any request signed with an API token."""
    path = request.path_info
    if path.startswith("/api/docs/"):  # the API's HTML page
        return False
    return path.startswith(JSON_PREFIXES) or request.headers.get("Authorization", "").startswith(
        "Token "
    )


def error_from(error: ContestError) -> JsonResponse:
    return error_response(error.status, error.code, error.message, error.fields)


def json_answer(data: Any, status: int = 200) -> JsonResponse:
    # safe=False: the seed's ping answers a bare number or null.
    return JsonResponse(data, status=status, safe=False)


def attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    """A file to download (``filename`` is ours: letters, digits, ``-`` and ``.`` only)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def streamed_attachment(
    content: bytes | Iterator[bytes], filename: str, content_type: str
) -> HttpResponseBase:
    """``attachment``, streamed when the file comes in pieces (a big dataset's CSV)."""
    if isinstance(content, bytes):
        return attachment(content, filename, content_type)
    response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def json_action(view: Callable[..., Any]) -> View:
    """Turn a view that returns data (or raises ContestError) into a JSON endpoint that needs a
    signed-in user. Anonymous callers get a 401 JSON body, never a redirect to a login page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return error_from(NotAuthenticated("Sign in first (POST accounts/login/)."))
        try:
            result = view(request, *args, **kwargs)
        except ContestError as error:
            return error_from(error)
        if isinstance(result, HttpResponseBase):  # a streamed answer too
            return result
        return json_answer(result)

    return wrapper


def allow_methods(*methods: str) -> Callable[[View], View]:
    """Like Django's ``require_http_methods``, but the refusal is the JSON error body."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in methods:
                response = error_response(
                    405, "method_not_allowed", f"Use {' or '.join(methods)} here."
                )
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def parse_json_body(request: HttpRequest) -> dict[str, Any]:
    """A JSON object body, or the form fields when the body is a form."""
    if request.content_type == "application/json":
        try:
            data = loads_json(request.body or b"{}")
        except ValueError as error:
            raise InvalidInput(f"The body {error}.", fields={"body": str(error)}) from None
        if not isinstance(data, dict):
            raise InvalidInput("The body must be a JSON object.")
        return data
    return {key: request.POST.get(key) for key in request.POST}


class TokenAuthenticationMiddleware:
    """``Authorization: Token <key>`` signs the request in as the token's user.

    A token request carries no cookie, so it cannot be forged by another site: CSRF checks are
    off for it, as for any API token."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if header.startswith("Token "):
            from mlcontest.contest.models import ApiToken

            # Looked up by the key's hash: the database holds no key that a leak could replay.
            token = ApiToken.find(header[len("Token ") :].strip())
            if token is None or not token.user.is_active:
                return error_response(401, "invalid_token", "The API token is not valid.")
            request.user = token.user
            request.auth_token = token  # type: ignore[attr-defined]
            request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
            last_used = token.last_used_at
            if last_used is None or (timezone.now() - last_used).total_seconds() > 60:
                type(token).objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return self.get_response(request)


class ScriptRefererMiddleware:
    """Let scripts without a Referer pass Django's HTTPS CSRF check.

    Over HTTPS Django also demands a Referer of the same site, which urllib (the seed's client)
    never sends, so every seed POST would fail. A browser always sends Origin with a POST, and
    Django then checks Origin instead; a request with neither header comes from a script, and
    for it the cookie-and-field token check is what protects. Such a request gets its own host
    as Referer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if request.is_secure() and "HTTP_ORIGIN" not in meta and "HTTP_REFERER" not in meta:
            meta["HTTP_REFERER"] = f"https://{request.get_host()}/"
        return self.get_response(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF refusal, as JSON: send the ``csrftoken`` cookie and the
    ``csrfmiddlewaretoken`` field (or the ``X-CSRFToken`` header)."""
    return error_response(403, "csrf_failed", f"CSRF check failed: {reason}")
