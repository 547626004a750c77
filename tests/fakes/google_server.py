"""A fake Google Classroom API (v1) and OAuth token endpoint, from Google's documentation.

- ``POST /token`` takes the service account's signed JWT (grant type
  ``urn:ietf:params:oauth:grant-type:jwt-bearer``), checks the signature with the
  account's public key, the audience (Google's token endpoint), the lifetime (at most an hour), the
  delegated subject and the scopes, and answers ``{"access_token", "expires_in":
  3599, "token_type": "Bearer"}``, or ``{"error", "error_description"}``.
- Lists page by ``pageSize``/``pageToken``; the server caps the page (students
  at 30, others at 100) whatever is asked, leaves ``nextPageToken`` out on the
  last page, answers ``{}`` for an empty list, and 400 INVALID_ARGUMENT for a
  token it did not issue.
- A per-user quota over a moving window answers 429 RESOURCE_EXHAUSTED
  (``{"error": {"code", "message", "status"}}``), with no ``Retry-After``.
- ``courseWork`` lists PUBLISHED work unless asked for other states;
  ``courseWork/-/studentSubmissions`` lists a course's submissions.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import google.auth.exceptions
from flask import Flask, Response, request
from google.auth import jwt

from tests.fakes.server import Faults, install_faults

REQUIRED_SCOPES = {
    "https://www.googleapis.com/auth/classroom.courses.readonly",
    "https://www.googleapis.com/auth/classroom.rosters.readonly",
    "https://www.googleapis.com/auth/classroom.coursework.students.readonly",
}
EMAIL_SCOPE = "https://www.googleapis.com/auth/classroom.profile.emails"
#: The audience Google requires in the assertion, wherever the token request is sent.
AUDIENCE = "https://oauth2.googleapis.com/token"
PAGE_CAPS = {"students": 30}
DEFAULT_CAP = 100


def google_error(code: int, status: str, message: str) -> Response:
    return _json({"error": {"code": code, "message": message, "status": status}}, code)


@dataclass
class FakeClassroom:
    #: service-account email -> its public key (PEM)
    accounts: dict[str, str] = field(default_factory=dict)
    #: Workspace users the accounts may act as (domain-wide delegation)
    delegated: set[str] = field(default_factory=set)
    quota: int = 1_000_000
    #: The quota's clock: a test's virtual clock, shared with the adapter under test.
    clock: Callable[[], float] = time.monotonic
    window: float = 60.0
    #: A server bug the contract suite injects: the last page's token leads back to the first.
    loop_pages: bool = False
    courses: dict[str, dict[str, Any]] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    students: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    course_work: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    submissions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    #: access token -> (subject, scopes)
    issued: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    sent: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = self._build()

    def revoke_all(self) -> None:
        with self.lock:
            self.issued.clear()

    def refused(self) -> int:
        return sum(1 for _m, _p, status in self.calls if status == 429)

    def _build(self) -> Flask:
        app = Flask("fake-classroom")
        install_faults(app, self.faults, busy_body=lambda s: {"error": {
            "code": s, "message": "The service is currently unavailable.",
            "status": "UNAVAILABLE" if s == 503 else "INTERNAL"}})

        @app.post("/token")
        def token() -> Response:
            if request.form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                return _json({"error": "unsupported_grant_type",
                              "error_description": "Invalid grant_type"}, 400)
            assertion = request.form.get("assertion", "")
            try:
                unverified = jwt.decode(assertion, verify=False)
                key = self.accounts[unverified.get("iss", "")]
                claims = jwt.decode(assertion, certs=key, audience=AUDIENCE)
            except (KeyError, ValueError, google.auth.exceptions.GoogleAuthError):
                return _json({"error": "invalid_grant",
                              "error_description": "Invalid JWT Signature."}, 400)
            if int(claims["exp"]) - int(claims["iat"]) > 3600:
                return _json({"error": "invalid_grant",
                              "error_description": "Invalid JWT: Token must be a short-lived "
                                                   "token (60 minutes)"}, 400)
            if claims.get("sub") not in self.delegated:
                return _json({"error": "unauthorized_client",
                              "error_description": "Client is unauthorized to retrieve access "
                                                   "tokens using this method, or client not "
                                                   "authorized for any of the scopes "
                                                   "requested."}, 401)
            access = base64.urlsafe_b64encode(f"{claims['sub']}:{time.time_ns()}".encode())
            with self.lock:
                self.issued[access.decode()] = (claims["sub"], set(claims["scope"].split()))
            return _json({"access_token": access.decode(), "expires_in": 3599,
                          "token_type": "Bearer"}, 200)

        @app.before_request
        def _gate() -> Response | None:
            if request.path == "/token":
                return None
            auth = request.headers.get("Authorization", "")
            grant = self.issued.get(auth[7:]) if auth.startswith("Bearer ") else None
            if grant is None:
                return google_error(401, "UNAUTHENTICATED",
                                    "Request had invalid authentication credentials. Expected "
                                    "OAuth 2 access token, login cookie or other valid "
                                    "authentication credential.")
            subject, scopes = grant
            if not scopes >= REQUIRED_SCOPES:
                return google_error(403, "PERMISSION_DENIED",
                                    "Request had insufficient authentication scopes.")
            request.environ["fake.scopes"] = scopes
            with self.lock:
                now = self.clock()
                recent = [t for t in self.sent.get(subject, []) if t > now - self.window]
                if len(recent) >= self.quota:
                    self.sent[subject] = recent
                    return google_error(
                        429, "RESOURCE_EXHAUSTED",
                        "Quota exceeded for quota metric 'Read requests' and limit 'Read "
                        "requests per minute per user' of service 'classroom.googleapis.com'.")
                self.sent[subject] = [*recent, now]
            return None

        @app.after_request
        def _log(response: Response) -> Response:
            if request.path != "/token":
                with self.lock:
                    self.calls.append((request.method, request.full_path.rstrip("?"),
                                       response.status_code))
            return response

        @app.get("/v1/courses")
        def courses() -> Response:
            states = request.args.getlist("courseStates")
            rows = [c for c in self.courses.values()
                    if not states or c["courseState"] in states]
            return self._page(sorted(rows, key=lambda c: c["id"]), "courses")

        @app.get("/v1/courses/<course_id>/aliases")
        def aliases(course_id: str) -> Response:
            if course_id not in self.courses:
                return _not_found()
            return self._page([{"courseId": course_id, "alias": a}
                               for a in self.aliases.get(course_id, [])], "aliases")

        @app.get("/v1/courses/<course_id>/students")
        def students(course_id: str) -> Response:
            if course_id not in self.courses:
                return _not_found()
            rows = [dict(s) for s in self.students.get(course_id, [])]
            if EMAIL_SCOPE not in request.environ["fake.scopes"]:
                for row in rows:  # without the scope, profiles carry no email
                    row["profile"] = {k: v for k, v in row["profile"].items()
                                      if k != "emailAddress"}
            return self._page(rows, "students")

        @app.get("/v1/courses/<course_id>/courseWork")
        def course_work(course_id: str) -> Response:
            if course_id not in self.courses:
                return _not_found()
            states = request.args.getlist("courseWorkStates") or ["PUBLISHED"]
            rows = [w for w in self.course_work.get(course_id, []) if w["state"] in states]
            return self._page(sorted(rows, key=lambda w: w["updateTime"], reverse=True),
                              "courseWork")

        @app.get("/v1/courses/<course_id>/courseWork/<work_id>/studentSubmissions")
        def submissions(course_id: str, work_id: str) -> Response:
            if course_id not in self.courses:
                return _not_found()
            live = {w["id"] for w in self.course_work.get(course_id, [])
                    if w["state"] != "DELETED"}
            rows = [s for s in self.submissions.get(course_id, [])
                    if s["courseWorkId"] in live and work_id in ("-", s["courseWorkId"])]
            return self._page(rows, "studentSubmissions")

        return app

    def _page(self, rows: list[dict[str, Any]], member: str) -> Response:
        cap = PAGE_CAPS.get(member, DEFAULT_CAP)
        try:
            size = min(int(request.args.get("pageSize", cap)), cap) or cap
        except ValueError:
            return google_error(400, "INVALID_ARGUMENT", "Invalid pageSize")
        token = request.args.get("pageToken", "")
        start = 0
        if token:
            try:
                kind, offset = base64.urlsafe_b64decode(token.encode()).decode().split(":")
                if kind != member:
                    raise ValueError(kind)
                start = int(offset)
            except ValueError:
                return google_error(400, "INVALID_ARGUMENT", "Invalid page token")
        chunk = rows[start:start + size]
        body: dict[str, Any] = {}
        if chunk:
            body[member] = chunk
        following = start + size if start + size < len(rows) else 0 if self.loop_pages else None
        if following is not None:
            body["nextPageToken"] = base64.urlsafe_b64encode(
                f"{member}:{following}".encode()).decode()
        return _json(body, 200)


def _json(payload: Any, status: int) -> Response:
    return Response(json.dumps(payload), status=status,
                    content_type="application/json; charset=UTF-8")


def _not_found() -> Response:
    return google_error(404, "NOT_FOUND", "Requested entity was not found.")
