"""A fake CASE provider that answers like the CASE 1.0/1.1 REST binding.

Serves ``GET /ims/case/v1p0/CFPackages/{sourcedId}``, ``GET .../CFDocuments`` (the
document list, ``{"CFDocuments": [...]}``) and the same paths under ``v1p1`` on 127.0.0.1
with an ephemeral port, in a background thread. It behaves like the providers
documented in /work/notes/case_research.md section 4:

- 200 with ``application/json``: the package as stored (bytes are served exactly,
  so content hashes are stable), or for v1p1 optionally wrapped in
  ``{"CFPackage": ...}`` as 1EdTech's OpenCASE does;
- 404 with an ``imsx_StatusInfo`` body (codeMinor ``unknownobject``) for unknown ids
  (Source: opensalt ApiExceptionListener.php; CASE 1.0 Swagger / 1.1 OpenAPI);
- 401 (codeMinor ``unauthorisedrequest`` in 1.0, ``unauthorised_request`` in 1.1)
  when a bearer token is required and missing or wrong;
- 429 (codeMinor ``server_busy``) with ``Retry-After: 0`` for the first
  ``busy_responses`` requests, before authentication, as a gateway would.

Usage::

    with FakeCaseProvider({"abc": package}, token="t0k3n") as provider:
        fetch_package(provider.url_for("abc", "v1p1"), token="t0k3n")
        assert provider.requests[0].authorized
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

Version = Literal["v1p0", "v1p1"]
_PATH = re.compile(r"^/ims/case/(v1p0|v1p1)/CFPackages/([^/?#]+)$")
_DOCUMENTS = re.compile(r"^/ims/case/(v1p0|v1p1)/CFDocuments(?:\?.*)?$")


@dataclass(frozen=True)
class LoggedRequest:
    """One request the provider saw."""

    method: str
    path: str
    authorized: bool  # whether an Authorization header was sent at all (never its value)
    status: int


def status_info(description: str, field: str, value: str) -> dict[str, Any]:
    """An imsx_StatusInfo failure body as the CASE bindings define it."""
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": field, "imsx_codeMinorFieldValue": value}
            ]
        },
    }


class FakeCaseProvider:
    """A CASE provider on a background thread; use as a context manager.

    Args:
        packages: sourcedId -> package (a decoded dict, or raw bytes served as they are).
        token: when set, requests must send ``Authorization: Bearer <token>``.
        busy_responses: how many requests are first answered 429 with ``Retry-After: 0``.
        wrap_v1p1: wrap dict packages served under v1p1 in ``{"CFPackage": ...}``.
    """

    def __init__(
        self,
        packages: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        busy_responses: int = 0,
        wrap_v1p1: bool = False,
    ) -> None:
        self.packages: dict[str, Any] = dict(packages or {})
        self.token = token
        self.busy_responses = busy_responses
        self.wrap_v1p1 = wrap_v1p1
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeCaseProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, headers, body = provider._answer(self.path, self.headers.get("Authorization"))
                provider._log(LoggedRequest("GET", self.path, "Authorization" in self.headers, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-case-provider",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeCaseProvider:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ---- what tests use --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake CASE provider is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url_for(self, identifier: str, version: Version = "v1p0") -> str:
        """The package endpoint of ``identifier`` under a CASE version's REST binding."""
        return f"{self.base_url}/ims/case/{version}/CFPackages/{identifier}"

    # ---- behaviour -------------------------------------------------------------------------

    def _log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def _answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        documents = _DOCUMENTS.match(path)
        match = _PATH.match(path)
        if match is None and documents is None:
            return _json(404, status_info(f"No such endpoint: {path}", "sourcedId", "unknownobject"))
        version, identifier = match.groups() if match else (documents.group(1), "")  # type: ignore[union-attr]
        with self._lock:
            busy = self.busy_responses > 0
            if busy:
                self.busy_responses -= 1
        if busy:
            status, headers, body = _json(429, status_info(
                "Server busy: too many requests, retry later", "TargetEndSystem", "server_busy"))
            return status, {**headers, "Retry-After": "0"}, body
        if self.token is not None and authorization != f"Bearer {self.token}":
            minor = "unauthorisedrequest" if version == "v1p0" else "unauthorised_request"
            status, headers, body = _json(401, status_info(
                "Unauthorized: a valid bearer token is required", "TargetEndSystem", minor))
            return status, {**headers, "WWW-Authenticate": 'Bearer realm="CASE"'}, body
        if documents is not None:  # getAllCFDocuments: {"CFDocuments": [CFDocument, ...]}
            listed = [p.get("CFDocument", {}) for p in self.packages.values() if isinstance(p, dict)]
            return _json(200, {"CFDocuments": listed})
        package = self.packages.get(identifier)
        if package is None:
            return _json(404, status_info(
                f"No CFPackage with sourcedId {identifier}", "sourcedId", "unknownobject"))
        if isinstance(package, bytes):
            return 200, {"Content-Type": "application/json"}, package
        if version == "v1p1" and self.wrap_v1p1:
            package = {"CFPackage": package}
        return _json(200, package)


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode("utf-8")
