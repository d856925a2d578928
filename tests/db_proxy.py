"""A TCP proxy on loopback in front of a database, that a test can break on purpose.

``refuse()`` is a database that went away: existing connections are reset and new ones are
refused. ``black_hole()`` is one that stopped answering: connections stay open and new ones are
accepted, but nothing is forwarded (the proxy's kernel still acknowledges every byte, as a hung
server's would). ``restore()`` forwards again, including what was held back.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from tests.live import count_server


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        count_server()
        self.target = target
        self.port = 0
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._listen()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def refuse(self) -> None:
        self._close_listener()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def black_hole(self) -> None:
        self._flowing.clear()

    def restore(self) -> None:
        if self._listener is None:
            self._listen()
        self._flowing.set()

    def close(self) -> None:
        self._flowing.set()
        self.refuse()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed: refusing
            threading.Thread(target=self._link, args=(client,), daemon=True).start()

    def _link(self, client: socket.socket) -> None:
        self._track(client)
        self._flowing.wait()  # a black hole accepts, but does not even connect onwards
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            _close(client)
            return
        server.settimeout(None)
        self._track(server)
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(sink)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


@contextmanager
def tcp_proxy(target: tuple[str, int]) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target)
    try:
        yield proxy
    finally:
        proxy.close()
