"""The API in production: gunicorn workers with a request timeout, started by ``connector serve``.

Flask's own server is for development: one process, no timeout, so one slow or
hostile request holds it for good. Under gunicorn a worker that takes longer than
``timeout`` seconds on a request is killed and replaced, and the others go on
serving. The access log names the path without its query string: tokens sent as
``?t=...`` never reach a log.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

#: Method, path without the query, protocol, status, bytes, seconds.
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)s'


def gunicorn_options(*, host: str, port: int, workers: int, timeout: int) -> dict[str, Any]:
    """The settings ``connector serve`` runs gunicorn with."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "timeout": timeout,               # a request longer than this: the worker is replaced
        "graceful_timeout": timeout,      # on SIGTERM, running requests get this long to finish
        "keepalive": 5,
        "limit_request_line": 8190,       # URL length, as a reverse proxy would allow
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "umask": 0o077,
    }


class ConnectorServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn with its settings given here rather than read from a file or argv."""

    def __init__(self, factory: Callable[[], Any], options: Mapping[str, Any]) -> None:
        self.factory = factory
        self.settings_given = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings_given.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        app = self.factory()
        settle()
        return app


def settle() -> None:
    """Move what the loaded app holds for good out of the collector's sight.

    The app's modules, mappers and templates are hundreds of thousands of objects that
    live as long as the worker. Left in the collector's oldest generation, each full
    collection walks them all: a pause of about 100 ms that landed on whichever request
    was running (measured on report pages, ``bench/bench_pages.py``). Frozen after load,
    they are never walked; what requests allocate is collected as before.
    """
    gc.collect()
    gc.freeze()
