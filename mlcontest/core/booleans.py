"""The one reading of a true/false value, for settings, command lines, form fields, query
parameters and JSON bodies alike: one set of spellings everywhere, and a clear error for
anything else instead of a silent False."""

from __future__ import annotations

from typing import Any

TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})
ERROR = "must be true or false (true/false, 1/0, yes/no, on/off)"
_UNSET: Any = object()


def parse_bool(value: Any, default: bool = _UNSET) -> bool:
    """``value`` as a boolean: a bool as it is, the integers 1 and 0, or one of the spellings
    above in any case and surrounded by spaces. None or an empty string give ``default`` when
    one is given (an unset setting, a missing field); ValueError(ERROR) for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is _UNSET:
            raise ValueError(ERROR)
        return default
    text = value.strip().lower() if isinstance(value, str) else None
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(ERROR)
