"""A fake Schoology REST API v1, from Schoology's developer documentation.

- Two-legged OAuth 1.0a: the ``Authorization: OAuth ...`` header is checked
  (PLAINTEXT ``secret&`` or HMAC-SHA1 over the RFC 5849 base string); a reused
  timestamp and nonce gets 401 "Duplicate timestamp/nonce combination, possible
  replay attack. Request rejected."; errors are a JSON string or an empty body.
- Lists: ``{"<singular>": [...], "total": "N", "links": {"self", "next"}}`` with
  ``start``/``limit`` (default 20, at most 200; more is silently capped),
  ``next`` only while more remain.
- The request limit: ``limit`` requests per ``window`` seconds per consumer key,
  answered with 429 and the message Schoology's clients check for; no headers.
- Grades: ``{"grades": {"grade": [...]}, "final_grade": [...]}`` filtered by
  ``timestamp`` (changed since, inclusive); ``exception`` 1 excused, 2 incomplete.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlencode

from flask import Flask, Response, request
from oauthlib.oauth1.rfc5849 import signature

from tests.fakes.server import Faults, install_faults

DEFAULT_LIMIT, MAX_LIMIT = 20, 200
LIMIT_TEXT = "You have reached Schoology's api request limit of 50 requests per 5 seconds"


@dataclass
class FakeSchoology:
    consumers: dict[str, str] = field(default_factory=lambda: {"district-key": "district-secret"})
    quota: int = 1_000_000
    #: The quota's clock: a test's virtual clock, shared with the adapter under test.
    clock: Callable[[], float] = time.monotonic
    window: float = 5.0
    #: A server bug the contract suite injects: the last page's next link is the first page.
    loop_pages: bool = False
    courses: list[dict[str, Any]] = field(default_factory=list)
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    enrollments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    grades: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    nonces: set[tuple[str, str]] = field(default_factory=set)
    sent: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = self._build()

    def refused(self) -> int:
        return sum(1 for _m, _p, status in self.calls if status == 429)

    def _build(self) -> Flask:
        app = Flask("fake-schoology")
        install_faults(app, self.faults, busy_body=lambda s: "")

        @app.before_request
        def _gate() -> Response | None:
            problem = self._check_oauth()
            if problem:
                return _json(problem, 401)
            with self.lock:
                now = self.clock()
                self.sent = [t for t in self.sent if t > now - self.window]
                if len(self.sent) >= self.quota:
                    return _json(LIMIT_TEXT, 429)
                self.sent.append(now)
            return None

        @app.after_request
        def _log(response: Response) -> Response:
            with self.lock:
                self.calls.append((request.method, request.full_path.rstrip("?"),
                                   response.status_code))
            return response

        @app.get("/v1/courses")
        def courses() -> Response:
            rows = [c for c in self.courses if not request.args.get("building_id")
                    or c["building_id"] == request.args["building_id"]]
            return self._list(rows, "course")

        @app.get("/v1/courses/<course_id>/sections")
        def sections(course_id: str) -> Response:
            if course_id not in self.sections:
                return Response("", status=404)
            return self._list(self.sections[course_id], "section")

        @app.get("/v1/sections/<section_id>/enrollments")
        def enrollments(section_id: str) -> Response:
            if section_id not in self.enrollments:
                return Response("", status=404)
            return self._list(self.enrollments[section_id], "enrollment")

        @app.get("/v1/sections/<section_id>/assignments")
        def assignments(section_id: str) -> Response:
            if section_id not in self.assignments:
                return Response("", status=404)
            return self._list(self.assignments[section_id], "assignment", total_as_text=False)

        @app.get("/v1/sections/<section_id>/grades")
        def grades(section_id: str) -> Response:
            if section_id not in self.grades:
                return Response("", status=404)
            live = {a["id"] for a in self.assignments[section_id]}
            since = int(request.args.get("timestamp") or 0)
            only = request.args.get("assignment_id")
            rows = [g for g in self.grades[section_id]
                    if g["assignment_id"] in live and g["timestamp"] >= since
                    and (not only or str(g["assignment_id"]) == only)]
            return _json({"grades": {"grade": rows}, "period": [], "final_grade": []}, 200)

        return app

    def _check_oauth(self) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            return ""  # Schoology answers a missing signature with an empty 401
        params = {}
        for part in header[6:].split(","):
            if "=" in part:
                name, value = part.strip().split("=", 1)
                params[name] = unquote(value.strip('"'))
        secret = self.consumers.get(params.get("oauth_consumer_key", ""))
        if secret is None:
            return "Invalid consumer key"
        stamp = (params.get("oauth_timestamp", ""), params.get("oauth_nonce", ""))
        with self.lock:
            if stamp in self.nonces:
                return ("Duplicate timestamp/nonce combination, possible replay attack. "
                        "Request rejected.")
            self.nonces.add(stamp)
        method = params.get("oauth_signature_method")
        given = params.get("oauth_signature", "")
        if method == "PLAINTEXT":
            expected = f"{secret}&"
        elif method == "HMAC-SHA1":
            collected = signature.collect_parameters(
                uri_query=request.query_string.decode(), headers={"Authorization": header},
                exclude_oauth_signature=True)
            base = signature.signature_base_string(
                request.method, signature.base_string_uri(request.base_url),
                signature.normalize_parameters(collected))
            expected = signature.sign_hmac_sha1_with_client(
                base, SimpleNamespace(client_secret=secret, resource_owner_secret=""))
        else:
            return "Unsupported signature method"
        return None if given == expected else "Invalid OAuth signature"

    def _list(self, rows: list[dict[str, Any]], member: str, *,
              total_as_text: bool = True) -> Response:
        try:
            start = max(int(request.args.get("start", 0)), 0)
            limit = min(max(int(request.args.get("limit", DEFAULT_LIMIT)), 1), MAX_LIMIT)
        except ValueError:
            return Response("", status=400)
        chunk = rows[start:start + limit]
        query = {k: v for k, v in request.args.items() if k not in ("start", "limit")}
        links = {"self": f"{request.base_url}?{urlencode({**query, 'start': start, 'limit': limit})}"}
        following = (start + limit if start + limit < len(rows) else
                     0 if self.loop_pages else None)
        if following is not None:
            links["next"] = f"{request.base_url}?" + urlencode(
                {**query, "start": following, "limit": limit})
        total: Any = str(len(rows)) if total_as_text else len(rows)
        return _json({member: chunk, "total": total, "links": links}, 200)


def _json(payload: Any, status: int) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")
