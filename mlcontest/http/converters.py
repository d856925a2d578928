"""The ``<id:...>`` path converter: a database id, at most 18 digits.

Django's ``<int:...>`` takes any number of digits, and an id of 2^63 or more made SQLite raise
OverflowError (a 500). Every id of this project fits in 18 digits, so a longer one is simply a
path that does not exist: a 404.
"""

from __future__ import annotations

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
