"""Real receivers on loopback for the channels' tests: an SMTP server
(aiosmtpd) that keeps what it receives, and an HTTP server that records
each request and answers as told."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """Keeps every message it receives; ``stall(after=n)`` keeps the n+1-th
    and then holds its answer until ``release()``, so its sender is caught
    mid-delivery: the message arrived, the sender does not know it yet."""

    def __init__(self, *, parse: bool = True) -> None:
        self.parse = parse
        self.messages: list[Any] = []
        self.keys: list[str] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)  # notified at every message
        self._stall_after: int | None = None
        self._release = threading.Event()
        self.stalled = threading.Event()  # set when a message is being held
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.content
        key = ""
        start = content.find(b"X-Qiqiao-Key: ")
        if start >= 0:
            key = content[start + 14:content.find(b"\r\n", start)].decode()
        with self.lock:
            self.keys.append(key)
            if self.parse:
                self.messages.append(email.message_from_bytes(content, policy=email.policy.default))
            hold = self._stall_after is not None and len(self.keys) > self._stall_after
            if hold:
                self._stall_after = None
            self.arrived.notify_all()
        if hold:
            self.stalled.set()
            # Held off the event loop's thread until released: the sender waits for "250".
            await asyncio.get_running_loop().run_in_executor(None, self._release.wait)
        return "250 OK"

    def stall(self, after: int = 0) -> None:
        self._release.clear()
        self.stalled.clear()
        with self.lock:
            self._stall_after = len(self.keys) + after

    def release(self) -> None:
        self._release.set()

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.keys.clear()

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(self.keys)

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        with self.arrived:
            if self.arrived.wait_for(lambda: len(self.keys) >= count, timeout):
                return
        raise AssertionError(f"the SMTP sink got {len(self.keys)} of {count} messages")

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@contextmanager
def smtp_sink(*, parse: bool = True) -> Iterator[SmtpSink]:
    sink = SmtpSink(parse=parse)
    sink.controller.start()
    try:
        yield sink
    finally:
        sink.release()
        sink.controller.stop()


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class HttpSink:
    """Records requests; ``answers[path]`` = (status, JSON body). A path in
    ``hang`` gets no answer until the sink closes (a caller's timeout test)."""

    port: int = 0
    requests: list[Seen] = field(default_factory=list)
    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    closing: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def seen(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]


@contextmanager
def http_sink() -> Iterator[HttpSink]:
    sink = HttpSink()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            sink.requests.append(Seen(self.command, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                                      dict(self.headers.items()), json.loads(raw) if raw else None))
            if parts.path in sink.hang:
                sink.closing.wait(30)
            status, body = sink.answers.get(parts.path, (200, {"ok": True}))
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller gave up (a timeout test)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.closing.set()
        server.shutdown()
        server.server_close()
