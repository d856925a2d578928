"""A tiny HTTP server for client tests: answers with the statuses it is given, in order, and
records what it was sent."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.live import count_server


class Stub:
    """A tiny HTTP server that answers with the statuses it is given, in order (then 200).

    ``requests`` holds each request's method and path, ``headers`` and ``bodies`` what came
    with it; ``set_cookie`` is sent with every answer, after ``delay`` seconds."""

    def __init__(self, statuses: list[int], set_cookie: str = "", delay: float = 0.0) -> None:
        count_server()
        self.statuses = statuses
        self.requests: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real server

            def answer(self) -> None:
                stub.requests.append(f"{self.command} {self.path}")
                stub.headers.append(dict(self.headers.items()))
                length = int(self.headers.get("Content-Length") or 0)
                stub.bodies.append(self.rfile.read(length))
                time.sleep(delay)
                status = stub.statuses.pop(0) if stub.statuses else 200
                body = json.dumps(
                    {"status": "error", "code": "boom", "message": "down", "fields": {}}
                    if status >= 400
                    else {"ok": True}
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if set_cookie:
                    self.send_header("Set-Cookie", set_cookie)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
