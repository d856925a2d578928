"""What the client raises: a typed exception per kind of HTTP error, carrying the server's JSON
error, and ConnectionFailed when the server could not be reached."""

from __future__ import annotations

import json
from typing import Any

import requests


class ClientError(Exception):
    """Anything this client raises."""


class ConnectionFailed(ClientError):
    """The server could not be reached, even after the retries."""


class ServerError(ClientError):
    """The server answered with an HTTP error. ``body`` is its JSON error
    (``{"status": "error", "code", "message", "fields"}``) or, if it sent no JSON, its text."""

    def __init__(self, status: int, reason: str, body: Any) -> None:
        self.status = status
        self.reason = reason
        self.body = body
        details = body if isinstance(body, dict) else {}
        self.code: str = str(details.get("code", status))
        self.message: str = str(details.get("message") or reason or body)
        self.fields: dict[str, str] = dict(details.get("fields") or {})
        super().__init__(f"{status} {self.code}: {self.message}")

    def as_seed_dict(self) -> dict[str, Any]:
        """What the seed's client returned for an HTTP error."""
        details = json.dumps(self.body) if isinstance(self.body, dict | list) else str(self.body)
        return {"status": "error", "code": self.status, "reason": self.reason, "details": details}


class BadRequest(ServerError):
    """400: the request was not valid; ``fields`` names what was wrong."""


class NotAuthenticated(ServerError):
    """401: not signed in (or a bad token)."""


class LoginFailed(NotAuthenticated):
    """Wrong username or password."""


class Forbidden(ServerError):
    """403: signed in, but this role may not do it (or the CSRF check failed)."""


class NotFound(ServerError):
    """404."""


class Conflict(ServerError):
    """409: the request clashes with the state, e.g. a job this worker no longer holds."""


class QuotaExceeded(ServerError):
    """429: the group has used its jobs."""


class ServerFailure(ServerError):
    """5xx: the server failed (after the retries)."""


_BY_STATUS: dict[int, type[ServerError]] = {
    400: BadRequest,
    401: NotAuthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: QuotaExceeded,
}


def error_for(response: requests.Response) -> ServerError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    kind = _BY_STATUS.get(response.status_code)
    if kind is None:
        kind = ServerFailure if response.status_code >= 500 else ServerError
    return kind(response.status_code, response.reason or "", body)


def reason_of(error: requests.RequestException) -> str:
    """A short cause for logs: urllib3's own message repeats the URL and the pool's state."""
    text = repr(error)
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host"),
        ("RemoteDisconnected", "connection closed by the server"),
        ("Connection reset", "connection reset"),
        ("timed out", "timed out"),  # urllib3's, inside requests' ConnectionError after Retry
    ):
        if needle in text:
            return reason
    if isinstance(error, requests.Timeout):
        return "timed out"
    return type(error).__name__
