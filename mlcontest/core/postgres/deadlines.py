"""Client-side deadlines on PostgreSQL calls: why they are needed is in ``mlcontest.http.db_outage``
(the first of its four bounds that no server setting gives)."""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)


class _Slot:
    """One thread's database call in progress: its socket and when it must be over."""

    __slots__ = ("__weakref__", "deadline", "fileno", "lock", "seconds")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deadline: float | None = None
        self.fileno = -1
        self.seconds = 0.0


class Deadlines:
    """A deadline per thread for its database call, watched by one thread per process."""

    def __init__(self, tick: float = 0.2) -> None:
        self.tick = tick
        self._local = threading.local()
        self._slots: weakref.WeakSet[_Slot] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._watcher_pid = 0
        self._stopping = threading.Event()

    @contextmanager
    def guard(self, fileno: int, seconds: float) -> Iterator[None]:
        if seconds <= 0 or fileno < 0:
            yield
            return
        slot = self._slot()
        with slot.lock:
            slot.fileno, slot.seconds = fileno, seconds
            slot.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            with slot.lock:
                slot.deadline = None

    def _slot(self) -> _Slot:
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None:
            slot = self._local.slot = _Slot()
            with self._lock:
                self._slots.add(slot)
        if self._watcher_pid != os.getpid():  # the first call, or the first after a fork
            self._start_watcher()
        return slot

    def _start_watcher(self) -> None:
        with self._lock:
            if self._watcher_pid == os.getpid():
                return
            self._watcher_pid = os.getpid()
        watcher = threading.Thread(target=self._watch, name="db-deadlines", daemon=True)
        watcher.start()
        # Stopped at exit, before the interpreter tears modules down: a daemon thread still
        # running then may start a garbage collection that destroys Arrow objects after Arrow's
        # own exit handlers, which aborts the process once its work is done (status 134,
        # "terminate called without an active exception"; apache/arrow#34314).
        atexit.register(self._stop_watcher, watcher)

    def _stop_watcher(self, watcher: threading.Thread) -> None:
        self._stopping.set()
        watcher.join(timeout=2 * self.tick)

    def _watch(self) -> None:
        while not self._stopping.wait(self.tick):
            now = time.monotonic()
            with self._lock:
                slots = list(self._slots)
            for slot in slots:
                with slot.lock:
                    if slot.deadline is not None and now > slot.deadline:
                        slot.deadline = None
                        _shut_down(slot.fileno, slot.seconds)


def _shut_down(fileno: int, seconds: float) -> None:
    """End the socket's conversation (not the descriptor: its owner still closes that)."""
    logger.warning("database call still unanswered after %.1f s: dropping its connection", seconds)
    try:
        with socket.socket(fileno=os.dup(fileno)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing is waiting on it any more


DEADLINES = Deadlines()


def socket_of(connection: Any) -> int:
    """The socket of a psycopg connection, or -1 when it has none (closed, lost)."""
    try:
        return int(connection.pgconn.socket)
    except Exception:  # psycopg raises OperationalError for a connection without a socket
        return -1
