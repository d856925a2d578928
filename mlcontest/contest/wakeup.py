"""Waking the workers' long polls when a job is queued, instead of polling the database.

A worker's ping may wait for a job (``queue.claim_waiting``). It sleeps on its process's
``Waker`` until a signal says that jobs were queued, and then claims. The signal crosses
processes, and on PostgreSQL machines:

- PostgreSQL: whatever queues a job runs ``NOTIFY`` in the same transaction, which the database
  delivers at commit to one ``LISTEN`` connection per server process (a thread here, outside
  the connection pool: count it in the connection arithmetic, docs/deploy.md).
- SQLite (one machine): after the commit, one datagram to each process that waits on the same
  database file. Each such process binds a Unix socket in Linux's abstract namespace and leaves
  its name as an empty file in a folder beside the database (``<file>.wakeup/``); a sender that
  finds a name nobody answers removes it (a process killed without cleaning up).

Each signal wakes at most ``count`` waiters per process (not all of them: sixty waiting workers
would otherwise all run a claim for one job), and a waiter that gets a job passes the wake-up on,
since more jobs may be queued. A signal that arrives while no waiter sleeps is kept as a token
for the next one, up to the number of waiters, so one that arrives between a waiter's empty
claim and its sleep is not lost.

The safety poll: once every ``WAIT_POLL_SECONDS`` (per process, not per waiter) one waiter
claims without a signal. That takes back jobs whose lease ran out (``claim_next`` requeues
them) and finds a job whose signal was lost (a listener reconnecting, a non-Linux SQLite host).
"""

from __future__ import annotations

import contextlib
import enum
import errno
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger(__name__)

CHANNEL = "mlcontest_queue"
ABSTRACT_PREFIX = "\0mlcontest-wakeup-"
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)
READY_SECONDS = 2.0


class Wake(enum.Enum):
    SIGNAL = "signal"  # jobs were queued
    POLL = "poll"  # this process's safety poll is due, and this waiter runs it
    TIMEOUT = "timeout"  # the wait is over


class Waker:
    """Where one process's waiting pings sleep (threading primitives; no database)."""

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._condition = threading.Condition()
        self._tokens = 0
        self._active = 0  # threads inside ``waiting()``: between claims or asleep
        self._last_poll = time.monotonic()

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        with self._condition:
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._tokens = min(self._tokens, self._active)

    def signal(self, count: int = 1) -> None:
        """Wake up to ``count`` waiters (kept as tokens for waiters between two claims)."""
        with self._condition:
            self._tokens = min(self._tokens + max(count, 1), self._active)
            self._condition.notify(max(count, 1))

    def wait(self, seconds: float) -> Wake:
        end = time.monotonic() + seconds
        with self._condition:
            while True:
                if self._tokens > 0:
                    self._tokens -= 1
                    return Wake.SIGNAL
                now = time.monotonic()
                if now >= end:
                    return Wake.TIMEOUT
                due = self._last_poll + self.poll_seconds
                if now >= due:
                    self._last_poll = now
                    return Wake.POLL
                self._condition.wait(min(end, due) - now)


_lock = threading.Lock()
_waker: Waker | None = None
_owner_pid = 0
_listener: _Listener | None = None


def waker() -> Waker:
    """This process's waker, with its listener started on first use."""
    global _waker, _owner_pid, _listener
    with _lock:
        if _waker is None or _owner_pid != os.getpid():  # none yet, or inherited by a fork
            _waker = Waker(float(getattr(settings, "WAIT_POLL_SECONDS", 1.0)))
            _owner_pid = os.getpid()
            _listener = _start_listener(_waker)
            if _listener is not None:
                # A job queued between the first claim and the listening would wait for the
                # safety poll: the first waiter waits for the listener (once per process).
                _listener.ready.wait(READY_SECONDS)
        return _waker


def stop() -> None:
    """Stop this process's listener (tests: a LISTEN connection keeps a database from being
    dropped)."""
    global _waker, _listener
    with _lock:
        if _listener is not None:
            _listener.stop()
        _waker, _listener = None, None


def release_connection() -> None:
    """Before a long wait: a pooled connection goes back to the pool, so a sleeping ping does
    not hold one (persistent connections, without a pool, stay: reopening costs more)."""
    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()


def notify_queued(count: int = 1) -> None:
    """Tell the waiting pings that ``count`` jobs were queued, once the current transaction
    commits (call it within the transaction that queues them)."""
    if count <= 0:
        return
    if connection.vendor == "postgresql":
        # Delivered at commit, and not at all after a rollback.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(count)])
    elif connection.vendor == "sqlite":
        folder = _sqlite_folder()
        transaction.on_commit(lambda: _send_datagrams(folder, count))


# -- listeners ---------------------------------------------------------------------------


class _Listener:
    def __init__(self, waker: Waker) -> None:
        self.waker = waker
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.run, name="mlcontest-wakeup", daemon=True)

    def run(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)


def _start_listener(waker: Waker) -> _Listener | None:
    listener: _Listener | None = None
    if connection.vendor == "postgresql":
        listener = _PostgresListener(waker, connection.get_connection_params())
    elif connection.vendor == "sqlite" and hasattr(socket, "AF_UNIX"):
        folder = _sqlite_folder()
        if folder is not None:
            try:
                listener = _SocketListener(waker, folder)
            except OSError as error:  # no abstract sockets here: the safety poll alone
                logger.warning("No wake-ups for waiting workers (%s): polling instead.", error)
                return None
    if listener is not None:
        listener.thread.start()
    return listener


def _count(raw: str | bytes) -> int:
    try:
        return max(1, int(raw))
    except ValueError:
        return 1


class _PostgresListener(_Listener):
    """One ``LISTEN`` connection, reopened after a failure. Notifications sent while it was
    closed are lost: a reconnect wakes one waiter, and a waiter that gets a job wakes the
    next one."""

    def __init__(self, waker: Waker, params: dict[str, object]) -> None:
        super().__init__(waker)
        self.params = params
        self.connection: object = None

    def run(self) -> None:
        import psycopg

        failures, connected_before = 0, False
        while not self.stopping.is_set():
            try:
                with psycopg.connect(**self.params, autocommit=True) as listening:  # type: ignore[arg-type]
                    self.connection = listening
                    listening.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    failures = 0
                    if connected_before:
                        self.waker.signal()  # notifications may have been missed meanwhile
                    connected_before = True
                    while not self.stopping.is_set():
                        for notify in listening.notifies(timeout=1.0):
                            self.waker.signal(_count(notify.payload))
            except Exception as error:  # psycopg's errors, or the OS's
                if self.stopping.is_set():
                    return
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                logger.warning(
                    "Wake-up listener lost its connection (%s); again in %ss", error, delay
                )
                self.stopping.wait(delay)


def _sqlite_folder() -> Path | None:
    name = str(connection.settings_dict["NAME"] or "")
    if not name or name == ":memory:" or "mode=memory" in name:
        return None
    path = Path(name.removeprefix("file:").split("?", 1)[0])
    return path.with_name(path.name + ".wakeup")


class _SocketListener(_Listener):
    def __init__(self, waker: Waker, folder: Path) -> None:
        super().__init__(waker)
        self.folder = folder
        self.name = f"{os.getpid()}-{secrets.token_hex(6)}"
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(ABSTRACT_PREFIX + self.name)
        self.socket.settimeout(1.0)
        folder.mkdir(exist_ok=True)
        (folder / self.name).touch()
        self.ready.set()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    data = self.socket.recv(64)
                except TimeoutError:
                    continue
                self.waker.signal(_count(data))
        finally:
            (self.folder / self.name).unlink(missing_ok=True)
            self.socket.close()


def _send_datagrams(folder: Path | None, count: int) -> None:
    if folder is None:
        return
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return  # nobody has waited yet
    payload = str(count).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for name in names:
            try:
                sender.sendto(payload, ABSTRACT_PREFIX + name)
            except (ConnectionRefusedError, FileNotFoundError):
                (folder / name).unlink(missing_ok=True)  # its process is gone
            except OSError as error:
                # A full queue (EAGAIN) holds wake-ups enough; anything else: the safety poll.
                if error.errno != errno.EAGAIN:
                    logger.warning("Could not wake process %s: %s", name, error)
