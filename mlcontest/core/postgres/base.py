"""Django's PostgreSQL backend, with a deadline on every call that waits for the server.

Why: see ``mlcontest/http/db_outage.py``. The deadlines come from the database settings'
``DEADLINES`` entry (``settings._database``): ``health_check`` for Django's ``SELECT 1`` before
it reuses a persistent connection, ``query`` for every query (0: none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.backends.postgresql import base

from mlcontest.core.postgres.deadlines import DEADLINES, socket_of

DEFAULT_DEADLINES = {"health_check": 1.0, "query": 0.0}


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        deadlines = {**DEFAULT_DEADLINES, **self.settings_dict.get("DEADLINES", {})}
        self.health_check_seconds = float(deadlines["health_check"])
        self.query_seconds = float(deadlines["query"])
        if self.query_seconds > 0:
            self.execute_wrappers.append(self._query_deadline)

    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        with DEADLINES.guard(socket_of(self.connection), self.health_check_seconds):
            return bool(super().is_usable())

    def _query_deadline(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        with DEADLINES.guard(socket_of(self.connection), self.query_seconds):
            return execute(sql, params, many, context)
