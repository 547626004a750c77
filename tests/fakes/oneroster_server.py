"""A fake OneRoster 1.2 (and 1.1) REST provider: rostering reads, gradebook reads and writes.

Behaviour follows the 1EdTech REST binding as researched in
/work/notes/oneroster-research.md (operations table and schemas of the 1.2
gradebook and rostering services):

- ``POST /oauth/token``: client credentials with HTTP Basic; the scopes granted
  are those asked for that the client holds; every call checks them
  (``roster-core.readonly``/``roster.readonly`` to read rosters,
  ``gradebook.readonly`` to read the gradebook, ``gradebook.createput`` to PUT,
  ``gradebook.delete`` to DELETE); 401 ``unauthorisedrequest`` without a valid
  token, 403 ``forbidden`` without the scope;
- collections page with ``limit`` (default 100, capped) and ``offset``, give
  ``X-Total-Count`` and a ``Link`` header with ``next``/``last``, and filter
  with the binding's grammar (``field op 'value'``, at most two clauses);
- ``PUT /{resource}/{sourcedId}`` validates the wrapped body against the
  binding's schema (GUIDRefs with href/sourcedId/type; ``scoreDate`` a date;
  learning-objective sets in the 1EdTech shape), checks that every referenced
  object exists (404 ``unknownobject`` if not), stores it and answers 201
  without a body; ``DELETE`` answers 204 and the record is gone;
- errors are ``imsx_StatusInfo`` objects (codeMajor, severity, description,
  codeMinor) with the code minor the binding assigns to the status.
"""

from __future__ import annotations

import base64
import copy
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import jsonschema
from flask import Flask, Response, request

from tests.fakes.server import Faults, Tokens, install_faults

V12 = "https://purl.imsglobal.org/spec/or/v1p2/scope/"
V11 = "https://purl.imsglobal.org/spec/or/v1p1/scope/"
ALL_SCOPES = frozenset({
    V12 + "roster-core.readonly", V12 + "roster.readonly", V12 + "gradebook.readonly",
    V12 + "gradebook.createput", V12 + "gradebook.delete",
    V11 + "roster.readonly", V11 + "gradebook.readonly",
})
ROSTER = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments",
          "demographics")
GRADEBOOK = ("categories", "lineItems", "results", "scoreScales", "assessmentLineItems",
             "assessmentResults")
WRAPPERS = {"categories": "category", "scoreScales": "scoreScale", "lineItems": "lineItem",
            "results": "result", "assessmentLineItems": "assessmentLineItem",
            "assessmentResults": "assessmentResult"}
CODE_MINOR = {400: "invalid_selection_field", 401: "unauthorisedrequest", 403: "forbidden",
              404: "unknownobject", 422: "invaliddata", 429: "server_busy",
              500: "internal_server_error", 502: "internal_server_error",
              503: "server_busy"}

_REF = {"type": "object", "required": ["href", "sourcedId", "type"],
        "properties": {"href": {"type": "string"}, "sourcedId": {"type": "string", "minLength": 1},
                       "type": {"type": "string"}}}
_BASE = {"sourcedId": {"type": "string", "minLength": 1},
         "status": {"enum": ["active", "tobedeleted"]},
         "dateLastModified": {"type": "string", "format": "date-time"},
         "metadata": {"type": "object"}}
_DATETIME = {"type": "string",
             "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_LO_IDS = {"type": "array", "items": {
    "type": "object", "required": ["source", "learningObjectiveIds"], "additionalProperties": False,
    "properties": {"source": {"type": "string"},
                   "learningObjectiveIds": {"type": "array", "items": {"type": "string"}}}}}
_LO_RESULTS = {"type": "array", "items": {
    "type": "object", "required": ["source", "learningObjectiveResults"],
    "additionalProperties": False,
    "properties": {"source": {"type": "string"}, "learningObjectiveResults": {
        "type": "array", "items": {
            "type": "object", "required": ["learningObjectiveId"], "additionalProperties": False,
            "properties": {"learningObjectiveId": {"type": "string"}, "score": {"type": "number"},
                           "textScore": {"type": "string"}}}}}}}
_STATUS = {"enum": ["exempt", "fully graded", "not submitted", "partially graded", "submitted"]}


def _schema(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["sourcedId", "status", *required],
            "additionalProperties": False, "properties": {**_BASE, **properties}}


SCHEMAS: dict[str, dict[str, Any]] = {
    "categories": _schema(["title"], {"title": {"type": "string"}, "weight": {"type": "number"}}),
    "scoreScales": _schema(["title", "type", "class", "scoreScaleValue"], {
        "title": {"type": "string"}, "type": {"type": "string"}, "class": _REF, "course": _REF,
        "scoreScaleValue": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["itemValueLHS", "itemValueRHS"],
            "additionalProperties": False,
            "properties": {"itemValueLHS": {"type": "string"},
                           "itemValueRHS": {"type": "string"}}}}}),
    "lineItems": _schema(["title", "assignDate", "dueDate", "class", "school", "category"], {
        "title": {"type": "string"}, "description": {"type": "string"},
        "assignDate": _DATETIME, "dueDate": _DATETIME, "class": _REF, "school": _REF,
        "category": _REF, "gradingPeriod": _REF, "academicSession": _REF, "scoreScale": _REF,
        "resultValueMin": {"type": "number"}, "resultValueMax": {"type": "number"},
        "learningObjectiveSet": _LO_IDS}),
    "results": _schema(["lineItem", "student", "scoreStatus", "scoreDate"], {
        "lineItem": _REF, "student": _REF, "class": _REF, "scoreScale": _REF,
        "scoreStatus": _STATUS, "score": {"type": "number"}, "textScore": {"type": "string"},
        "scoreDate": _DATE, "comment": {"type": "string"},
        "learningObjectiveSet": _LO_RESULTS, "inProgress": {"enum": ["true", "false"]},
        "incomplete": {"enum": ["true", "false"]}, "late": {"enum": ["true", "false"]},
        "missing": {"enum": ["true", "false"]}}),
    "assessmentLineItems": _schema(["title"], {
        "title": {"type": "string"}, "description": {"type": "string"}, "class": _REF,
        "parentAssessmentLineItem": _REF, "scoreScale": _REF,
        "resultValueMin": {"type": "number"}, "resultValueMax": {"type": "number"},
        "learningObjectiveSet": _LO_IDS}),
    "assessmentResults": _schema(["assessmentLineItem", "student", "scoreStatus", "scoreDate"], {
        "assessmentLineItem": _REF, "student": _REF, "scoreScale": _REF, "scoreStatus": _STATUS,
        "score": {"type": "number"}, "textScore": {"type": "string"}, "scoreDate": _DATE,
        "comment": {"type": "string"}, "learningObjectiveSet": _LO_RESULTS}),
}
VALIDATORS = {name: jsonschema.Draft202012Validator(schema) for name, schema in SCHEMAS.items()}
#: Which store a reference of each member points into (checked on every PUT).
REFERENCES = {"class": "classes", "school": "orgs", "category": "categories",
              "scoreScale": "scoreScales", "lineItem": "lineItems", "student": "users",
              "academicSession": "academicSessions", "gradingPeriod": "academicSessions",
              "assessmentLineItem": "assessmentLineItems"}
_CLAUSE = re.compile(r"^\s*(\w+)\s*(>=|<=|!=|=|>|<|~)\s*'([^']*)'\s*$")


def status_info(status: int, description: str) -> dict[str, Any]:
    return {"imsx_codeMajor": "failure", "imsx_severity": "error",
            "imsx_description": description,
            "imsx_CodeMinor": {"imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem",
                 "imsx_codeMinorFieldValue": CODE_MINOR.get(status, "invaliddata")}]}}


@dataclass
class LoggedCall:
    method: str
    path: str
    status: int
    body: Any = None


@dataclass
class FakeOneRoster:
    """The provider's state and behaviour; ``app`` is its Flask application."""

    clients: Mapping[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    max_limit: int = 1000
    #: A server bug the contract suite injects: the last page links back to the first.
    loop_pages: bool = False
    store: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {name: {} for name in ROSTER + GRADEBOOK})
    calls: list[LoggedCall] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    tokens: Tokens = field(default_factory=Tokens)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: line item sourcedId -> result sourcedIds (may hold ids since deleted)
    by_item: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = self._build()

    # -- what tests use -------------------------------------------------------------

    def load(self, resource: str, objects: Iterable[Mapping[str, Any]]) -> None:
        for obj in objects:
            self.store[resource][str(obj["sourcedId"])] = copy.deepcopy(dict(obj))
            if resource == "results":
                self.by_item.setdefault(str(obj["lineItem"]["sourcedId"]), set()).add(
                    str(obj["sourcedId"]))

    def snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        with self.lock:
            return copy.deepcopy(self.store)

    def writes(self) -> list[LoggedCall]:
        return [c for c in self.calls if c.method in ("PUT", "DELETE")]

    # -- the application ------------------------------------------------------------

    def _build(self) -> Flask:
        app = Flask("fake-oneroster")
        install_faults(app, self.faults, busy_body=lambda s: status_info(s, "Server busy"))

        def fail(status: int, description: str) -> Response:
            response = app.json.response(status_info(status, description))
            response.status_code = status
            return response

        @app.after_request
        def _log(response: Response) -> Response:
            if not request.path.endswith("/token"):
                body = request.get_json(silent=True) if request.method == "PUT" else None
                with self.lock:
                    self.calls.append(LoggedCall(request.method, request.path,
                                                 response.status_code, body))
            return response

        @app.post("/oauth/token")
        def token() -> Response:
            auth = request.headers.get("Authorization", "")
            client_id = secret = ""
            if auth.startswith("Basic "):
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            else:
                client_id = request.form.get("client_id", "")
                secret = request.form.get("client_secret", "")
            known = self.clients.get(client_id)
            if known is None or known[0] != secret:
                response = app.json.response({"error": "invalid_client"})
                response.status_code = 401
                return response
            if request.form.get("grant_type") != "client_credentials":
                response = app.json.response({"error": "unsupported_grant_type"})
                response.status_code = 400
                return response
            asked = frozenset(request.form.get("scope", "").split()) or known[1]
            granted = asked & known[1]
            if not granted:
                response = app.json.response({"error": "invalid_scope"})
                response.status_code = 400
                return response
            return app.json.response({
                "access_token": self.tokens.issue(client_id, granted), "token_type": "bearer",
                "expires_in": self.tokens.lifetime, "scope": " ".join(sorted(granted))})

        def authorise(*needed: str) -> Response | None:
            found = self.tokens.check(request.headers.get("Authorization"))
            if found is None:
                return fail(401, "Unauthorized: missing, invalid or expired access token")
            if not found[1] & set(needed):
                return fail(403, f"Forbidden: needs one of the scopes {sorted(needed)}")
            return None

        def read_scopes(service: str, version: str) -> tuple[str, ...]:
            if version == "v1p1":
                return (V11 + ("gradebook.readonly" if service == "gradebook"
                               else "roster.readonly"),)
            if service == "gradebook":
                return (V12 + "gradebook.readonly", V12 + "gradebook-core.readonly")
            return (V12 + "roster-core.readonly", V12 + "roster.readonly")

        def route(path: str) -> tuple[str, str, str] | None:
            m = re.fullmatch(r"/ims/oneroster/(?:(rostering|gradebook)/(v1p2)|(v1p1))/"
                             r"(\w+)(?:/([^/]+))?", path)
            if m is None:
                return None
            version = m.group(2) or m.group(3)
            resource = m.group(4)
            service = m.group(1) or ("gradebook" if resource in GRADEBOOK else "rostering")
            if resource not in (GRADEBOOK if service == "gradebook" else ROSTER):
                return None
            return service, version, resource

        @app.get("/ims/oneroster/gradebook/v1p2/classes/<class_id>/lineItems/<item_id>/results")
        def line_item_results(class_id: str, item_id: str) -> Response:
            denied = authorise(*read_scopes("gradebook", "v1p2"))
            if denied is not None:
                return denied
            if class_id not in self.store["classes"]:
                return fail(404, f"Unknown Object: class {class_id}")
            with self.lock:
                candidates = [self.store["results"][i] for i in self.by_item.get(item_id, ())
                              if i in self.store["results"]]
            return collection("results", candidates=[
                o for o in candidates if o.get("class", {}).get("sourcedId") == class_id])

        @app.get("/ims/oneroster/<path:_rest>")
        def read(_rest: str) -> Response:
            found = route(request.path)
            if found is None:
                return fail(404, "Unknown Object: no such endpoint")
            service, version, resource = found
            denied = authorise(*read_scopes(service, version))
            if denied is not None:
                return denied
            sourced_id = request.path.rsplit("/", 1)[1]
            if sourced_id != resource:
                obj = self.store[resource].get(sourced_id)
                if obj is None:
                    return fail(404, f"Unknown Object: {resource} {sourced_id}")
                return app.json.response({_singular(resource): obj})
            return collection(resource)

        def collection(resource: str, candidates: list[dict[str, Any]] | None = None
                       ) -> Response:
            try:
                limit = int(request.args.get("limit", 100))
                offset = int(request.args.get("offset", 0))
            except ValueError:
                return fail(400, "limit and offset must be integers")
            if limit < 1 or offset < 0:
                return fail(400, "limit must be positive and offset not negative")
            limit = min(limit, self.max_limit)
            try:
                keep = _filter(request.args.get("filter"))
            except ValueError as exc:
                return fail(400, str(exc))
            with self.lock:
                pool = self.store[resource].values() if candidates is None else candidates
                rows = sorted((o for o in pool if keep(o)),
                              key=lambda o: str(o["sourcedId"]))
            page = rows[offset:offset + limit]
            response = app.json.response({resource: page})
            response.headers["X-Total-Count"] = str(len(rows))
            base = {k: v for k, v in request.args.items() if k not in ("limit", "offset")}

            def link(at: int, rel: str) -> str:
                query = urlencode({**base, "limit": limit, "offset": at})
                return f'<{request.base_url}?{query}>; rel="{rel}"'

            links = ([link(offset + limit, "next")] if offset + limit < len(rows) else
                     [link(0, "next")] if self.loop_pages and page else [])
            links.append(link(max(0, (len(rows) - 1) // limit * limit), "last"))
            response.headers["Link"] = ", ".join(links)
            return response

        @app.put("/ims/oneroster/gradebook/v1p2/<resource>/<sourced_id>")
        def put(resource: str, sourced_id: str) -> Response:
            if resource not in WRAPPERS:
                return fail(404, "Unknown Object: no such endpoint")
            denied = authorise(V12 + "gradebook.createput")
            if denied is not None:
                return denied
            payload = request.get_json(silent=True)
            wrapper = WRAPPERS[resource]
            if not isinstance(payload, dict) or not isinstance(payload.get(wrapper), dict):
                return fail(400, f"the body must be a JSON object {{\"{wrapper}\": {{...}}}}")
            obj = payload[wrapper]
            errors = sorted(VALIDATORS[resource].iter_errors(obj), key=lambda e: list(e.path))
            if errors:
                where = "/".join(str(p) for p in errors[0].path) or wrapper
                return fail(422, f"Invalid data at {where}: {errors[0].message}")
            if obj["sourcedId"] != sourced_id:
                return fail(400, "the sourcedId in the body differs from the one in the URL")
            for member, target in REFERENCES.items():
                ref = obj.get(member)
                if isinstance(ref, dict) and ref["sourcedId"] not in self.store[target]:
                    return fail(404, f"Unknown Object: {member} {ref['sourcedId']!r} "
                                     f"does not exist")
            stored = copy.deepcopy(obj)
            stored.setdefault("dateLastModified", datetime.now(UTC).isoformat())
            with self.lock:
                self.store[resource][sourced_id] = stored
                if resource == "results":
                    self.by_item.setdefault(obj["lineItem"]["sourcedId"], set()).add(sourced_id)
            return Response(status=201)

        @app.delete("/ims/oneroster/gradebook/v1p2/<resource>/<sourced_id>")
        def remove(resource: str, sourced_id: str) -> Response:
            if resource not in WRAPPERS:
                return fail(404, "Unknown Object: no such endpoint")
            denied = authorise(V12 + "gradebook.delete")
            if denied is not None:
                return denied
            with self.lock:
                if self.store[resource].pop(sourced_id, None) is None:
                    return fail(404, f"Unknown Object: {resource} {sourced_id}")
            return Response(status=204)

        return app


def _singular(resource: str) -> str:
    return WRAPPERS.get(resource) or {
        "orgs": "org", "academicSessions": "academicSession", "courses": "course",
        "classes": "class", "users": "user", "enrollments": "enrollment",
        "demographics": "demographics"}[resource]


def _filter(expression: str | None) -> Any:
    """The binding's filter: ``field op 'value'``, at most two clauses joined by AND or OR."""
    if not expression:
        return lambda _obj: True
    for joiner in (" AND ", " OR "):
        if joiner in expression:
            left, right = expression.split(joiner, 1)
            a, b = _filter(left), _filter(right)
            if joiner == " AND ":
                return lambda obj: a(obj) and b(obj)
            return lambda obj: a(obj) or b(obj)
    m = _CLAUSE.match(expression)
    if m is None:
        raise ValueError(f"invalid_filter_field: cannot read the filter {expression!r}")
    name, op, value = m.groups()

    def keep(obj: Mapping[str, Any]) -> bool:
        have = str(obj.get(name, ""))
        return {"=": have == value, "!=": have != value, ">": have > value,
                ">=": have >= value, "<": have < value, "<=": have <= value,
                "~": value.lower() in have.lower()}[op]

    return keep
