"""Run a Flask fake on 127.0.0.1 in a thread, with faults a test can inject.

Faults are what real SIS APIs do on a bad day, applied before the app sees the
request: bursts of 5xx (with or without ``Retry-After``), 429 throttling,
responses that stall past the client's timeout, bodies cut short (a
``Content-Length`` longer than what is sent), and access tokens revoked
mid-run (the next call gets 401 and the client must fetch a new token).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import make_server


@dataclass
class Fault:
    kind: str  # status | stall | truncate
    remaining: int
    method: str | None = None
    path: str | None = None  # regular expression
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0


@dataclass
class Faults:
    """Pending faults, consumed by the requests they match, in the order added."""

    pending: list[Fault] = field(default_factory=list)
    fired: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self, count: int, status: int = 503, *, method: str | None = None,
               path: str | None = None, retry_after: str | None = None) -> None:
        self.pending.append(Fault("status", count, method, path, status, retry_after))

    def stall(self, count: int, seconds: float, *, method: str | None = None,
              path: str | None = None) -> None:
        self.pending.append(Fault("stall", count, method, path, seconds=seconds))

    def truncate(self, count: int, *, method: str | None = None, path: str | None = None) -> None:
        self.pending.append(Fault("truncate", count, method, path))

    def take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.pending:
                if fault.remaining <= 0:
                    continue
                if fault.method and fault.method != method:
                    continue
                if fault.path and not re.search(fault.path, path):
                    continue
                fault.remaining -= 1
                self.fired.append((fault.kind, method, path))
                return fault
        return None


def install_faults(app: Flask, faults: Faults, *, busy_body: Callable[[int], Any]) -> None:
    """Apply faults before routing; ``busy_body`` renders the vendor's error body for a status."""

    @app.before_request
    def _fault() -> Response | None:
        if request.path.endswith("/token"):
            return None
        fault = faults.take(request.method, request.path)
        if fault is None:
            return None
        if fault.kind == "stall":
            time.sleep(fault.seconds)
            return None
        if fault.kind == "truncate":
            response = Response('{"truncated": tr', status=200, mimetype="application/json")
            response.headers["Content-Length"] = "4096"
            response.direct_passthrough = True
            return response
        response = app.json.response(busy_body(fault.status))
        response.status_code = fault.status
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        return response


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """The app at http://127.0.0.1:<ephemeral port>, stopped on exit."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request is noise
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@dataclass
class Tokens:
    """Bearer tokens a fake has issued: client, scopes and expiry; revocable."""

    lifetime: int = 3600
    issued: dict[str, tuple[str, frozenset[str], float]] = field(default_factory=dict)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, client: str, scopes: frozenset[str]) -> str:
        with self.lock:
            self.count += 1
            token = f"tok-{self.count:06d}"
            self.issued[token] = (client, scopes, time.monotonic() + self.lifetime)
            return token

    def check(self, header: str | None) -> tuple[str, frozenset[str]] | None:
        if not header or not header.startswith("Bearer "):
            return None
        found = self.issued.get(header[7:].strip())
        if found is None or found[2] < time.monotonic():
            return None
        return found[0], found[1]

    def revoke_all(self) -> None:
        """Every issued token stops working: what an expiry mid-run looks like to a client."""
        with self.lock:
            self.issued.clear()
