"""Domain errors. Each carries the HTTP status and the machine-readable code it maps to, so that
views need no per-error translation."""

from __future__ import annotations


class ContestError(Exception):
    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, fields: dict[str, str] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class InvalidInput(ContestError):
    status = 400
    code = "invalid"


class NotAuthenticated(ContestError):
    status = 401
    code = "not_authenticated"


class PermissionDenied(ContestError):
    status = 403
    code = "forbidden"


class NotFound(ContestError):
    status = 404
    code = "not_found"


class Conflict(ContestError):
    status = 409
    code = "conflict"


class QuotaExceeded(ContestError):
    status = 429
    code = "quota_exceeded"
