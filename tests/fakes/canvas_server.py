"""A fake Canvas LMS REST API, written from Canvas's documentation and source.

What it does as Canvas does (see docs/decisions/0012-lms-adapters.md for sources):

- static Bearer tokens; an unknown or revoked one gets 401 with
  ``WWW-Authenticate: Bearer realm="canvas-lms"`` and ``{"errors": [{"message": ...}]}``;
- ``per_page`` defaults to 10 and is clamped to 1..100;
- ``Link`` headers joined by "," in the order current, next, prev, first, last;
  numbered pages for courses (no ``last``: too costly to count), sections and
  assignments; bookmarks (``page=first``, then ``page=bookmark:<base64 JSON>``,
  no ``prev``/``last``) for enrollments and ``students/submissions``;
- the request throttle: a leaky bucket per token with high-water mark 600,
  outflow 10 units/s and 50 units reserved up front for each request in flight;
  every answer carries ``X-Request-Cost`` and ``X-Rate-Limit-Remaining``; a request
  arriving over the mark gets ``403 Forbidden (Rate Limit Exceeded)`` as plain text
  (or 429, as Canvas answers since October 2025) and no ``Retry-After``;
- deleted assignments are never listed, unpublished ones are (``published:
  false``), and ``students/submissions`` leaves out both; ``graded_since`` is
  exclusive and must be a full ISO 8601 date-time;
- faults from :mod:`tests.fakes.server`, plus paging that loops back to page one.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request

from tests.fakes.server import Faults, install_faults

PER_PAGE, MAX_PER_PAGE = 10, 100
THROTTLED_BODY = "403 Forbidden (Rate Limit Exceeded)\n"


@dataclass
class Bucket:
    """Canvas's request throttle for one token (app/middleware/request_throttle.rb)."""

    hwm: float = 600.0
    outflow: float = 10.0
    up_front: float = 50.0
    count: float = 0.0
    touched: float | None = None

    def leak(self, now: float) -> None:
        if self.touched is None:
            self.touched = now
        self.count = max(0.0, self.count - self.outflow * (now - self.touched))
        self.touched = now


@dataclass
class FakeCanvas:
    tokens: dict[str, str] = field(default_factory=lambda: {"canvas-token": "admin"})
    #: Units a request costs once done (Canvas: the CPU and database seconds it used).
    cost: float = 1.0
    throttle_status: int = 403
    throttling: bool = True
    #: Bucket parameters (hwm, outflow, up_front) when a test needs a faster one than Canvas's.
    bucket_settings: dict[str, float] = field(default_factory=dict)
    loop_pages: bool = False
    courses: dict[int, dict[str, Any]] = field(default_factory=dict)
    sections: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    enrollments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    assignments: dict[int, dict[str, Any]] = field(default_factory=dict)
    submissions: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    #: (method, path with query, status) per request, in arrival order.
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    #: When each of ``calls`` was answered (``clock``), for pacing measurements.
    answered: list[float] = field(default_factory=list)
    #: The throttle's clock: a test's virtual clock, shared with the adapter under test.
    clock: Callable[[], float] = time.monotonic
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = self._build()

    # -- data -------------------------------------------------------------------------

    def course_assignments(self, course_id: int) -> list[dict[str, Any]]:
        return [a for a in self.assignments.values() if a["course_id"] == course_id]

    def throttled_count(self) -> int:
        return sum(1 for _m, _p, status in self.calls if status in (403, 429))

    # -- app --------------------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("fake-canvas")
        install_faults(app, self.faults, busy_body=lambda s: {"errors": [
            {"message": "An error occurred.", "error_code": "internal_server_error"}]})

        @app.before_request
        def _gate() -> Response | None:
            auth = request.headers.get("Authorization", "")
            token = auth[7:] if auth.startswith("Bearer ") else ""
            if token not in self.tokens:
                response = _json({"errors": [{"message": "Invalid access token."}]}, 401)
                response.headers["WWW-Authenticate"] = 'Bearer realm="canvas-lms"'
                return response
            if not self.throttling:
                return None
            with self.lock:
                bucket = self.buckets.setdefault(token, Bucket(**self.bucket_settings))
                bucket.leak(self.clock())
                bucket.count += bucket.up_front
                if bucket.count >= bucket.hwm:
                    bucket.count -= bucket.up_front
                    if self.throttle_status == 429:
                        body = "429 Too Many Requests (Rate Limit Exceeded)\n"
                    else:
                        body = THROTTLED_BODY
                    response = Response(body, status=self.throttle_status,
                                        content_type="text/plain; charset=utf-8")
                    response.headers["X-Rate-Limit-Remaining"] = "0.0"
                    return response
            request.environ["fake.token"] = token
            return None

        @app.after_request
        def _account(response: Response) -> Response:
            token = request.environ.get("fake.token")
            if token and self.throttling:
                with self.lock:
                    bucket = self.buckets[token]
                    bucket.leak(self.clock())
                    bucket.count = max(0.0, bucket.count + self.cost - bucket.up_front)
                    response.headers["X-Request-Cost"] = f"{self.cost:.4f}"
                    response.headers["X-Rate-Limit-Remaining"] = f"{bucket.hwm - bucket.count:.4f}"
            with self.lock:
                self.calls.append((request.method, request.full_path.rstrip("?"),
                                   response.status_code))
                self.answered.append(self.clock())
            return response

        @app.get("/api/v1/users/self")
        def whoami() -> Response:
            """The token's own User object (Canvas Users API, GET /api/v1/users/:id with self)."""
            auth = request.headers.get("Authorization", "")
            label = self.tokens[auth[7:]]
            user_id = 1 + sorted(set(self.tokens.values())).index(label)
            return _json({"id": user_id, "name": label, "sortable_name": label,
                          "short_name": label, "login_id": f"{label}@example.edu"}, 200)

        @app.get("/api/v1/accounts/<account>/courses")
        def courses(account: str) -> Response:
            rows = sorted(self.courses.values(), key=lambda c: c["id"])
            term = request.args.get("enrollment_term_id")
            if term:
                rows = [c for c in rows if str(c.get("enrollment_term_id")) == term]
            states = request.args.getlist("state[]") or ["unpublished", "available", "completed"]
            rows = [c for c in rows if c["workflow_state"] in states or "all" in states]
            return self._numbered(rows, with_last=False)

        @app.get("/api/v1/courses/<int:course_id>/sections")
        def sections(course_id: int) -> Response:
            if course_id not in self.courses:
                return _not_found()
            return self._numbered(self.sections.get(course_id, []))

        @app.get("/api/v1/courses/<int:course_id>/enrollments")
        def enrollments(course_id: int) -> Response:
            if course_id not in self.courses:
                return _not_found()
            types = request.args.getlist("type[]")
            states = request.args.getlist("state[]") or ["active", "invited"]
            rows = [e for e in self.enrollments.get(course_id, [])
                    if (not types or e["type"] in types) and e["enrollment_state"] in states]
            return self._bookmarked(sorted(rows, key=lambda e: e["id"]))

        @app.get("/api/v1/courses/<int:course_id>/assignments")
        def assignments(course_id: int) -> Response:
            if course_id not in self.courses:
                return _not_found()
            rows = [a for a in self.course_assignments(course_id)
                    if a["workflow_state"] != "deleted"]
            return self._numbered(sorted(rows, key=lambda a: (a.get("position", 0), a["id"])))

        @app.get("/api/v1/courses/<int:course_id>/students/submissions")
        def student_submissions(course_id: int) -> Response:
            if course_id not in self.courses:
                return _not_found()
            if request.args.getlist("student_ids[]") != ["all"]:
                return _json([], 200)  # without student_ids[]=all Canvas answers for the caller
            since_text = request.args.get("graded_since")
            since = None
            if since_text:
                try:
                    if "T" not in since_text:
                        raise ValueError(since_text)
                    since = datetime.fromisoformat(since_text.replace("Z", "+00:00"))
                except ValueError:
                    return _json({"errors": {"graded_since": "Invalid datetime for graded_since"}},
                                 400)
            published = {a["id"] for a in self.course_assignments(course_id)
                         if a["workflow_state"] == "published"}
            asked = {int(a) for a in request.args.getlist("assignment_ids[]") if a.isdigit()}
            if len(request.args.getlist("assignment_ids[]")) > 100:
                return _json({"message": "Request contains too many assignment_ids.  "
                                         "Limit 100"}, 400)
            if asked - published:
                return _json({"error": "invalid assignment ids requested"}, 403)
            if asked:
                published = asked
            students = {e["user_id"] for e in self.enrollments.get(course_id, [])
                        if e["type"] == "StudentEnrollment" and e["enrollment_state"] != "deleted"}
            rubric = "rubric_assessment" in request.args.getlist("include[]")
            rows = []
            for sub in sorted(self.submissions.values(), key=lambda s: s["id"]):
                if sub["assignment_id"] not in published or sub["user_id"] not in students:
                    continue
                if since is not None and (not sub.get("graded_at") or datetime.fromisoformat(
                        sub["graded_at"].replace("Z", "+00:00")) <= since):
                    continue
                row = {k: v for k, v in sub.items() if k != "rubric_assessment"}
                if rubric and sub.get("rubric_assessment"):
                    row["rubric_assessment"] = sub["rubric_assessment"]
                rows.append(row)
            return self._bookmarked(rows)

        return app

    # -- paging -----------------------------------------------------------------------

    def _per_page(self) -> int:
        try:
            asked = int(request.args.get("per_page", PER_PAGE))
        except ValueError:
            asked = PER_PAGE
        return min(max(asked, 1), MAX_PER_PAGE)

    def _link(self, page: str, rel: str) -> str:
        query = [(k, v) for k, vs in request.args.lists() for v in vs
                 if k not in ("page", "per_page", "access_token")]
        query += [("page", page), ("per_page", str(self._per_page()))]
        return f'<{request.base_url}?{urlencode(query)}>; rel="{rel}"'

    def _numbered(self, rows: list[dict[str, Any]], *, with_last: bool = True) -> Response:
        size = self._per_page()
        try:
            page = max(int(request.args.get("page", "1")), 1)
        except ValueError:
            page = 1
        chunk = rows[(page - 1) * size: page * size]
        last = max(1, -(-len(rows) // size))
        links = [self._link(str(page), "current")]
        if page < last:
            links.append(self._link("1" if self.loop_pages else str(page + 1), "next"))
        if page > 1:
            links.append(self._link(str(page - 1), "prev"))
        links.append(self._link("1", "first"))
        if with_last:
            links.append(self._link(str(last), "last"))
        response = _json(chunk, 200)
        response.headers["Link"] = ",".join(links)
        return response

    def _bookmarked(self, rows: list[dict[str, Any]]) -> Response:
        """Pages after the last id seen: rows added or removed meanwhile do not shift pages."""
        size = self._per_page()
        page = request.args.get("page", "first")
        after = None
        if page.startswith("bookmark:"):
            try:
                token = page[len("bookmark:"):]
                after = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))[0]
            except (ValueError, IndexError, TypeError):
                after = None  # Canvas reads an undecodable bookmark as the first page
        chunk = [r for r in rows if after is None or r["id"] > after][:size]
        links = [self._link(page, "current")]
        rest = [r for r in rows if after is None or r["id"] > after]
        if len(rest) > size:
            mark = base64.urlsafe_b64encode(json.dumps([chunk[-1]["id"]]).encode()).decode()
            links.append(self._link("first" if self.loop_pages else
                                    "bookmark:" + mark.rstrip("="), "next"))
        links.append(self._link("first", "first"))
        response = _json(chunk, 200)
        response.headers["Link"] = ",".join(links)
        return response


def _json(payload: Any, status: int) -> Response:
    return Response(json.dumps(payload), status=status,
                    content_type="application/json; charset=utf-8")


def _not_found() -> Response:
    return _json({"errors": [{"message": "The specified resource does not exist."}]}, 404)
