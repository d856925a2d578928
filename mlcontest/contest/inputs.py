"""Text, JSON and ids from outside, checked before they reach the database.

PostgreSQL refuses NUL characters in text, and no database can store a lone UTF-16 surrogate
(it is not encodable as UTF-8): either would fail deep in a query with a 500. JSON from a
client can also nest deep enough to exhaust the parser's recursion, or carry integers too long
to convert, and an id of 2^63 or more overflows SQLite's integers. The text and JSON checks
raise ValueError with a message that completes "<field> ...".
"""

from __future__ import annotations

import json
import re
from typing import Any

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
# The JSON escapes that decode to a NUL or a surrogate: only then is the decoded value walked.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|d[89a-f][0-9a-f]{2})", re.IGNORECASE)
_SUSPECT_ESCAPE_BYTES = re.compile(rb"\\u(?:0000|d[89a-f][0-9a-f]{2})", re.IGNORECASE)


def bad_text(text: str) -> bool:
    """Whether ``text`` holds a NUL character or a lone surrogate."""
    # JSON decoding joins a valid escaped surrogate pair into one character, and Django
    # decodes bytes with "replace": any surrogate left in a str is a lone one.
    return _BAD_CHARACTER.search(text) is not None


def check_text(text: str) -> str:
    if bad_text(text):
        raise ValueError("contains a NUL character or a lone surrogate")
    return text


def loads_json(raw: str | bytes) -> Any:
    """``json.loads``, but every failure is a ValueError (too deep, too long a number, bad
    UTF-8) and strings with a NUL or a lone surrogate are refused."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError("is nested too deeply") from None
    except ValueError:  # also UnicodeDecodeError and the int-digits limit
        raise ValueError("is not valid JSON") from None
    suspect = _SUSPECT_ESCAPE_BYTES if isinstance(raw, bytes) else _SUSPECT_ESCAPE
    if suspect.search(raw) is not None:  # type: ignore[arg-type]
        _check_strings(value)
    return value


def _check_strings(value: Any) -> None:
    # Iterative: a JSON value may nest as deep as the parser allowed.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


MAX_ID = 2**63 - 1


def as_id(raw: object) -> int | None:
    """A database id from a path or a field, or None when it cannot be one (not a whole
    number, negative, or beyond a 64-bit integer: a missing object, not a server error)."""
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    if isinstance(raw, str):
        raw = raw.strip()
        # isascii: str.isdigit() also takes "²" and other digits that int() refuses.
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 19):
            return None
    number = int(raw)
    return number if 0 <= number <= MAX_ID else None
