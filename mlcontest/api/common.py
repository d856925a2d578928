"""What the API views share: the signed-in user, and the readers of typed fields.

The readers decide what a field accepts and word each refusal; the schemas' field types
(``mlcontest.api.schemas.common``) run them, so that a bad request gets the one error body
(``mlcontest.http.endpoints.error_response``) with ``fields`` saying what is wrong where.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.inputs import MAX_ID
from mlcontest.contest.models import User
from mlcontest.core.booleans import parse_bool


def viewer(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # mlcontest.api.app.guarded lets only signed-in users through
    return user


class Body:
    """A request's JSON object (or form) body with typed, field-named readers.

    Readers collect problems in ``errors`` instead of raising at the first one, so that one
    answer names every bad field; call :meth:`check` before using the values."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def has(self, name: str) -> bool:
        return name in self.data

    def text(self, name: str, default: str = "", max_length: int = 10_000) -> str:
        value = self.data.get(name, default)
        if value is None:
            return default
        if not isinstance(value, str):
            self.errors[name] = "must be a string"
            return default
        if len(value) > max_length:
            self.errors[name] = f"at most {max_length} characters"
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.data.get(name, default)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            self.errors[name] = "must be a whole number"
            return default
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.errors[name] = "must be a whole number"
            return default
        except OverflowError:  # int(1e400)
            self.errors[name] = "must be a whole number"
            return default
        if isinstance(value, float) and number != value:
            self.errors[name] = "must be a whole number"
        if abs(number) > MAX_ID:  # beyond every database's integers
            self.errors[name] = "out of range"
            return default
        return number

    def boolean(self, name: str, default: bool = False) -> bool:
        try:
            return parse_bool(self.data.get(name), default)
        except ValueError as error:
            self.errors[name] = str(error)
            return default

    def when(self, name: str) -> datetime | None:
        """An ISO 8601 date and time; without a zone it is read in the server's time zone."""
        value = self.data.get(name)
        if value is None or value == "":
            return None
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:  # a well-formed but impossible time or offset, e.g. +99:00
            parsed = None
        if parsed is None:
            self.errors[name] = "must be a date and time like 2030-05-01T10:00:00+02:00"
            return None
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed

    def string_list(self, name: str) -> list[str] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.errors[name] = "must be a list of names"
            return None
        return value

    def check(self, message: str = "Some fields are not valid.") -> None:
        if self.errors:
            raise InvalidInput(message, fields=self.errors)
