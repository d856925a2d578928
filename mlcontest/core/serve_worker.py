"""The gunicorn worker class of ``mlcontest serve``: gunicorn's threaded worker, except that
a request reaches a thread only once it has fully arrived.

gunicorn's ``gthread`` worker hands a connection to a pool thread as soon as its first byte
arrives, and that thread then blocks reading the rest of the headers. A client that sends its
headers one line every few seconds thus holds a thread; a few dozen such sockets held every
thread of every process and a signed-in student waited over a minute for ``/api/me/``.

Here the event loop (gunicorn's poller thread) reads what each connection has sent, without
blocking, until the request head and a small body are in; only then does the connection go to
a pool thread, whose parser is handed the bytes already read (gunicorn's ``Unreader.unread``).
A head that is not complete within ``MLCONTEST_HEADER_TIMEOUT`` seconds of the connection
(or of the first byte of a kept-alive connection's next request) is answered 408 and closed.
When the process holds ``worker_connections`` connections it stops accepting (the kernel
queues new ones, or the other processes take them) but keeps reading the ones it has.

The per-request cost in the loop is one ``recv`` (which the thread no longer does) and a
search of the head for its end and its body length: a few microseconds.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import selectors
import socket
import time
import weakref
from collections import deque
from concurrent import futures
from enum import Enum
from functools import partial
from typing import Any

from gunicorn.http.body import Body, ChunkedReader, LengthReader
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

from mlcontest.core.env import env_str

HEADER_TIMEOUT_DEFAULT = 15.0
BODY_TIMEOUT_DEFAULT = 60.0
# A head larger than this is refused (431): no browser or worker sends one near it, and it
# bounds what the loop holds per connection.
MAX_HEAD = 64 * 1024
# Bodies up to this size are read by the loop too (forms, JSON calls, pings); bigger ones (a
# worker's pictures) are read by the thread, within MLCONTEST_BODY_TIMEOUT.
MAX_BUFFERED_BODY = 64 * 1024
READ_SIZE = MAX_HEAD + MAX_BUFFERED_BODY

HEAD_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"\r\ncontent-length:"
_LENGTH_VALUE = re.compile(rb"[ \t]*(\d{1,18})[ \t]*\r\n")


def _refusal(status: str, code: str, message: str) -> bytes:
    body = f'{{"status":"error","code":"{code}","message":"{message}","fields":{{}}}}'.encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


TIMED_OUT = _refusal(
    "408 Request Timeout", "request_timeout", "The request did not arrive in time."
)
TOO_LARGE = _refusal(
    "431 Request Header Fields Too Large", "headers_too_large", "The request headers are too large."
)


def _seconds(name: str, default: float) -> float:
    value = float(env_str(name, "").strip() or default)
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds")
    return value


def header_timeout() -> float:
    """``MLCONTEST_HEADER_TIMEOUT``: seconds a client has to send a request's head (and a
    body of up to MAX_BUFFERED_BODY bytes)."""
    return _seconds("MLCONTEST_HEADER_TIMEOUT", HEADER_TIMEOUT_DEFAULT)


def body_timeout() -> float:
    """``MLCONTEST_BODY_TIMEOUT``: seconds a client has, once its head is in, to send a bigger
    body (or a chunked one)."""
    return _seconds("MLCONTEST_BODY_TIMEOUT", BODY_TIMEOUT_DEFAULT)


class Arrival(Enum):
    WAIT = "wait"  # more of the request is to come
    COMPLETE = "complete"  # head and body are in
    HEAD = "head"  # the head is in; the thread reads the body
    TOO_LARGE = "too_large"


def arrival(buffer: bytes | bytearray) -> Arrival:
    """How much of a request ``buffer`` (what a connection has sent so far) holds."""
    end = buffer.find(HEAD_END)
    if end < 0:
        return Arrival.TOO_LARGE if len(buffer) > MAX_HEAD else Arrival.WAIT
    # Header names are case-insensitive. A chunked body has no length to wait for, and an
    # ``Expect: 100-continue`` client waits for the go-ahead (the thread gives it) before it
    # sends its body.
    head = buffer[: end + 2].lower()
    if b"\r\ntransfer-encoding:" in head or b"\r\nexpect:" in head:
        return Arrival.HEAD
    at = head.find(_CONTENT_LENGTH)
    length = _LENGTH_VALUE.match(head, at + len(_CONTENT_LENGTH)) if at >= 0 else None
    if length is None:
        return Arrival.COMPLETE  # no body; gunicorn's parser refuses a malformed length
    if int(length.group(1)) > MAX_BUFFERED_BODY:
        return Arrival.HEAD
    if len(buffer) - (end + len(HEAD_END)) >= int(length.group(1)):
        return Arrival.COMPLETE
    return Arrival.WAIT


class DeadlineUnreader(SocketUnreader):
    """gunicorn's socket reader, with a deadline for the part of a request the thread reads:
    a client that trickles a big body must not hold the thread for longer."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.deadline: float | None = None

    def chunk(self) -> bytes:
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the request body did not arrive in time")
            self.sock.settimeout(left)
        data: bytes = super().chunk()
        return data


class BufferedConn(TConn):
    """A connection, with what the loop has read of its current request."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any) -> None:
        super().__init__(cfg, sock, client, server)
        self.received = bytearray()
        # When the current request's head is due; None while no request is arriving.
        self.head_deadline: float | None = None
        self.idle = False  # kept alive between two requests (in the worker's ``_keep``)
        self.body_to_read = False  # the thread reads the body (Arrival.HEAD)

    def init(self) -> None:
        fresh = self.parser is None
        super().init()
        if fresh:
            self.parser.unreader = DeadlineUnreader(self.sock)

    def set_timeout(self) -> None:
        # gunicorn calls this as the connection goes back to the loop, kept alive.
        super().set_timeout()
        self.idle = True


class PieceBody(Body):
    """gunicorn's request body, read from its reader in pieces of ``READ_SIZE`` instead of
    1 KB. Each piece copies what the parser holds (the whole buffered body) out and back, so
    the 1 KB pieces of a worker's 40 KB result made 40 such copies: 0.16 ms a request,
    against 0.006 ms. The same bytes either way."""

    buf: io.BytesIO

    def read(self, size: int | None = None) -> bytes:
        size = self.getsize(size)
        if size == 0:
            return b""
        while size > self.buf.tell():
            piece: bytes = self.reader.read(READ_SIZE)
            if not piece:
                break
            self.buf.write(piece)
        data = self.buf.getvalue()
        self.buf = io.BytesIO()
        self.buf.write(data[size:])
        return data[:size]


def _body_left_unread(message: Any) -> bool:
    """Whether the application left part of the request's body on the socket: the next bytes
    would then be body, not a request, so the connection is not kept alive."""
    reader = message.body.reader
    if isinstance(reader, LengthReader):
        return bool(reader.length > message.unreader.buf.seek(0, os.SEEK_END))
    return isinstance(reader, ChunkedReader) and reader.parser is not None


class BufferingThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker, with requests read in its event loop (module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout()
        self.body_timeout = body_timeout()
        # (deadline, connection), in the order of the deadlines (one timeout for all); an
        # entry whose connection has moved on since is skipped when it comes due.
        self._heads_due: deque[tuple[float, weakref.ref[BufferedConn]]] = deque()
        self._accepting = True

    def init_process(self) -> None:
        if self.cfg.is_ssl:
            raise RuntimeError("BufferingThreadWorker reads plain HTTP; terminate TLS in front")
        super().init_process()

    # -- arrival ---------------------------------------------------------------------

    def accept(self, server: Any, listener: socket.socket) -> None:
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        conn = BufferedConn(self.cfg, sock, client, server)
        self.nr_conns += 1
        self._await_head(conn, time.monotonic())
        with self._lock:
            self.poller.register(
                conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn)
            )

    def _await_head(self, conn: BufferedConn, now: float) -> None:
        conn.head_deadline = now + self.header_timeout
        # A weak reference: a connection that is served (or closed) long before its entry
        # comes due is not kept in memory for it.
        self._heads_due.append((conn.head_deadline, weakref.ref(conn)))

    def on_client_socket_readable(self, conn: BufferedConn, client: socket.socket) -> None:
        if conn.idle:
            # A kept-alive connection starts its next request.
            with self._lock:
                try:
                    self._keep.remove(conn)
                except ValueError:  # its keep-alive ran out meanwhile: closed
                    return
            conn.idle = False
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):  # nothing after all: wait, as for a head
            data = None
        except OSError:
            data = b""
        if data == b"":
            self._close(conn)
            return
        if data is not None:
            conn.received += data
        state = arrival(conn.received)
        if state is Arrival.WAIT:
            if conn.head_deadline is None:
                self._await_head(conn, time.monotonic())
            return
        conn.head_deadline = None
        if state is Arrival.TOO_LARGE:
            self._close(conn, TOO_LARGE)
            return
        conn.body_to_read = state is Arrival.HEAD
        with self._lock:
            self.poller.unregister(conn.sock)
        self.enqueue_req(conn)

    def enqueue_req(self, conn: BufferedConn) -> None:
        conn.init()
        conn.parser.unreader.unread(bytes(conn.received))
        conn.received.clear()
        conn.parser.unreader.deadline = (
            time.monotonic() + self.body_timeout if conn.body_to_read else None
        )
        super().enqueue_req(conn)

    # -- departure -------------------------------------------------------------------

    def handle_request(self, req: Any, conn: BufferedConn) -> bool:
        if type(req.body) is Body:
            req.body = PieceBody(req.body.reader)
        return bool(super().handle_request(req, conn))

    def handle(self, conn: BufferedConn) -> tuple[bool, BufferedConn]:
        keepalive, conn = super().handle(conn)
        message = conn.parser.mesg if conn.parser is not None else None
        if keepalive and message is not None and _body_left_unread(message):
            return False, conn
        return keepalive, conn

    def _close(self, conn: BufferedConn, answer: bytes = b"") -> None:
        conn.head_deadline = None
        # It may be unregistered already (handed over), or its socket closed.
        with self._lock, contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        if answer:
            with contextlib.suppress(OSError):  # best effort: the socket does not block
                conn.sock.send(answer)
        self.nr_conns -= 1
        conn.close()

    def murder_keepalived(self) -> None:
        super().murder_keepalived()
        now = time.monotonic()
        while self._heads_due and self._heads_due[0][0] <= now:
            deadline, ref = self._heads_due.popleft()
            conn = ref()
            if conn is not None and conn.head_deadline == deadline:
                self._close(conn, TIMED_OUT)

    # -- the loop ----------------------------------------------------------------------

    def _pace_accepting(self, acceptors: list[tuple[socket.socket, Any]]) -> None:
        """Stop accepting at ``worker_connections``, and start again below it."""
        accepting = self.nr_conns < self.worker_connections
        if accepting == self._accepting:
            return
        self._accepting = accepting
        with self._lock:
            for sock, acceptor in acceptors:
                if accepting:
                    self.poller.register(sock, selectors.EVENT_READ, acceptor)
                else:
                    self.poller.unregister(sock)

    def run(self) -> None:
        # gunicorn's loop, except that at the connection limit it goes on reading the
        # connections it has (gunicorn's stops polling altogether).
        acceptors = []
        for sock in self.sockets:
            sock.setblocking(False)
            acceptor = partial(self.accept, sock.getsockname())
            acceptors.append((sock, acceptor))
            self.poller.register(sock, selectors.EVENT_READ, acceptor)

        while self.alive:
            self.notify()
            self._pace_accepting(acceptors)
            for key, _ in self.poller.select(1.0):
                key.data(key.fileobj)
            result = futures.wait(self.futures, timeout=0, return_when=futures.FIRST_COMPLETED)
            for fut in result.done:
                self.futures.remove(fut)
            if not self.is_parent_alive():
                break
            self.murder_keepalived()

        self.tpool.shutdown(False)
        self.poller.close()
        for sock in self.sockets:
            sock.close()
        futures.wait(self.futures, timeout=self.cfg.graceful_timeout)
