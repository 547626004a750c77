"""A file served over HTTP that answers only when the test opens the gate.

A run that imports a framework from this URL is provably in the middle of its
work while the request waits: the test can start a second run, send SIGTERM or
kill the process at exactly that point, instead of hoping a sleep lines up.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, Response

from tests.fakes.server import serve


@dataclass
class Gate:
    url: str
    arrived: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)
    requests: int = 0

    def wait_for_request(self, timeout: float = 60.0) -> None:
        if not self.arrived.wait(timeout):
            raise AssertionError("the run never asked for the gated file")

    def open(self) -> None:
        self.opened.set()


@contextmanager
def gated_file(path: Path) -> Iterator[Gate]:
    """``path`` at ``gate.url``; each request waits for :meth:`Gate.open` (30 s at most)."""
    app = Flask("gate")
    body = path.read_bytes()
    holder: list[Gate] = []

    @app.get("/package.json")
    def package() -> Response:
        gate = holder[0]
        gate.requests += 1
        gate.arrived.set()
        gate.opened.wait(30)
        return Response(body, mimetype="application/json")

    with serve(app) as base:
        gate = Gate(f"{base}/package.json")
        holder.append(gate)
        try:
            yield gate
        finally:
            gate.open()  # never leave a server thread waiting
