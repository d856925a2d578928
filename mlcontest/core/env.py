"""Settings from the environment: small typed helpers, each with the caller's safe default.

Every helper reads through ``env_str``, so that every setting may also come from a file named
by ``<NAME>_FILE`` (a secret kept out of the process's environment).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from mlcontest.core.booleans import parse_bool


def env_str(name: str, default: str) -> str:
    """A string from the environment, or from the file named by ``<name>_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    try:
        return parse_bool(env_str(name, ""), default)
    except ValueError as error:  # a typo must not silently turn a setting off
        raise ImproperlyConfigured(f"{name} {error}") from error


def env_int(name: str, default: int) -> int:
    value = env_str(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name, "")
    items = [item.strip() for item in value.split(",") if item.strip()]
    return items or default
