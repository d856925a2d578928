"""Sessions and users read through a short per-process cache.

Every API call of a worker or a polling browser would otherwise cost two queries (the session,
then the user) before its own work starts; on a busy ping that is most of the cost. Entries
live ``TTL_SECONDS``: a logout or a role change made through another server process is seen
within that time, and at once in the process that made it (the user's post_save and
post_delete signals drop its entry).
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db
from django.db.models.signals import post_delete, post_save

TTL_SECONDS = 2.0
MAX_ENTRIES = 10_000


class TtlCache:
    """A dict whose entries expire; thread-safe, cleared whole when it grows too large."""

    def __init__(self) -> None:
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + TTL_SECONDS, value)

    def forget(self, key: Any) -> None:
        with self._lock:
            self._entries.pop(key, None)


_sessions = TtlCache()
_users = TtlCache()


class SessionStore(db.SessionStore):
    """Django's database sessions, with reads served from the per-process cache."""

    def load(self) -> dict[str, Any]:
        key = self.session_key
        cached = _sessions.get(key) if key else None
        if cached is not None:
            return dict(cached)
        data = super().load()
        if data and self.session_key == key:
            _sessions.put(key, dict(data))
        return data

    def save(self, must_create: bool = False) -> None:
        if self.session_key:
            _sessions.forget(self.session_key)
        super().save(must_create)

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key:
            _sessions.forget(key)
        super().delete(session_key)


class CachedModelBackend(ModelBackend):
    """Django's ModelBackend; the user of a session is looked up once per TTL per process."""

    def get_user(self, user_id: Any) -> Any:
        cached = _users.get(user_id)
        if cached is not None:
            return copy.copy(cached)  # each request gets its own object to change
        user = super().get_user(user_id)
        if user is not None:
            _users.put(user_id, user)
        return copy.copy(user) if user is not None else None


def forget_changed_user(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Signal receiver: a saved or deleted user is read afresh by this process."""
    _users.forget(instance.pk)


# Connected when this module is first imported, which is before any user is cached here (the
# model is named lazily, so the domain's app needs no knowledge of this cache).
post_save.connect(forget_changed_user, sender=settings.AUTH_USER_MODEL)
post_delete.connect(forget_changed_user, sender=settings.AUTH_USER_MODEL)
