"""The leaderboards' per-process cache: each board is computed once per round version.

A key holds the round's ``leaderboard_version``, which grows whenever a result is stored or the
round changes, so a cached answer can never be stale for the key it is filed under.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from mlcontest.contest.models import Round

T = TypeVar("T")
_CACHE_SIZE = 256
_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()  # values of any T
_cache_lock = threading.Lock()


def cached(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()`` once per key in this process; a small LRU so old versions fall out.

    Two threads missing at once both compute: harmless, and cheaper than holding a lock
    across a database query."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = compute()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def board_key(kind: str, round_: Round, *extra: Any) -> tuple[Any, ...]:
    """The key of one kind of board of the round (``extra``: e.g. the viewer's audience)."""
    # created_at too: SQLite may give a new round the id of a deleted one, with version 0 again.
    # The reveal moves the version as well; it is in the key so that no body outlives it.
    return (
        kind,
        round_.pk,
        round_.created_at,
        round_.leaderboard_version,
        round_.state,
        round_.revealed_at,
        *extra,
    )


def clear_cache() -> None:
    """Forget every cached board (tests that edit rows behind the version's back)."""
    with _cache_lock:
        _cache.clear()
