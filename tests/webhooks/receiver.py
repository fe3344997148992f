"""A real HTTP endpoint for the tests: ``http.server`` in a thread on 127.0.0.1, on a free
port. Nothing of the sending side is mocked; the receiver records what arrived and
answers as its script says (a status code, or ``HANG`` to answer too late)."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG = "hang"


@dataclass
class Hit:
    path: str
    headers: Message
    body: bytes
    received_at: float  # time.time() on arrival (frozen clocks freeze it too)


class Receiver:
    def __init__(self, *, hang_seconds: float = 2.0, tls: ssl.SSLContext | None = None) -> None:
        self.hits: list[Hit] = []
        self.script: list[int | str] = []
        self.default: int | str = 200
        self.hang_seconds = hang_seconds
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._scheme = "https" if tls else "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}/hooks/tickets?source=governance"

    def answer(self, *steps: int | str) -> None:
        """The next answers, in order; afterwards the default (200)."""
        with self._lock:
            self.script.extend(steps)

    def _next(self) -> int | str:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.hits.append(Hit(self.path, self.headers, body, time.time()))
                step = receiver._next()
                if step == HANG:
                    threading.Event().wait(receiver.hang_seconds)
                    step = 200
                with contextlib.suppress(OSError):  # the sender may have given up
                    self.send_response(int(step))
                    if 300 <= int(step) < 400:
                        self.send_header("Location", receiver.url + "&redirected=1")
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"ok" if int(step) < 300 else b"not today")

            def log_message(self, format, *args) -> None:
                pass

        return Handler

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
