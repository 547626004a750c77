"""Errors as RFC 9457 problem details: ``application/problem+json`` with a stable ``type``.

A client tells problems apart by ``type``, never by the wording of ``detail``,
which is written for people and may change. Each type is a path on this server
(``/problems/<name>``) that answers what the problem means and what to do, so the
URI is stable and can be looked up. ``error`` and ``message`` repeat ``title`` and
``detail`` for clients written against the first API (before problem details); they
are deprecated and will go in v2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    name: str
    status: int
    title: str
    means: str


TYPES: tuple[ProblemType, ...] = (
    ProblemType("invalid-request", 400, "Bad Request",
                "The request's path, query or body is not what this endpoint takes; "
                "detail names the part and the rule. Change the request: sending it "
                "again unchanged gives the same answer."),
    ProblemType("not-authenticated", 401, "Unauthorized",
                "No credential, or one this server does not know for this district. "
                "Send the district's bearer token in the Authorization header."),
    ProblemType("forbidden", 403, "Forbidden",
                "The credential is valid but does not grant this action (a read token "
                "on a call that changes records), or the district has not enabled it."),
    ProblemType("not-found", 404, "Not Found",
                "No such district, student, competency, run or route, or none this "
                "credential may see."),
    ProblemType("method-not-allowed", 405, "Method Not Allowed",
                "The route exists but not with this HTTP method."),
    ProblemType("conflict", 409, "Conflict",
                "The request conflicts with what is stored (an event id sent again with "
                "other content)."),
    ProblemType("body-too-large", 413, "Request Entity Too Large",
                "The body is over the endpoint's limit: send smaller batches."),
    ProblemType("unsupported-media-type", 415, "Unsupported Media Type",
                "The body's Content-Type is not one the endpoint reads."),
    ProblemType("too-many-requests", 429, "Too Many Requests",
                "Too many attempts in a short time (sign-in is rate limited per address "
                "and per account). Wait for the Retry-After seconds, then try again."),
    ProblemType("unavailable", 503, "Service Unavailable",
                "The server cannot answer now: its database is down, or a credential it "
                "needs is not set. The detail says which; retry once it is fixed."),
    ProblemType("server-error", 500, "Internal Server Error",
                "A fault on the server, logged there. Nothing you sent caused it by itself."),
)
BY_STATUS = {t.status: t for t in TYPES}
BY_NAME = {t.name: t for t in TYPES}


class ProblemSchema(Schema):
    """The body of every error response."""

    type = fields.String(required=True, metadata={"description": "A URI naming the problem."})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(metadata={"description": "What went wrong, for a person."})
    instance = fields.String(metadata={"description": "The path that was asked for."})
    error = fields.String(metadata={"deprecated": True, "description": "Same as title."})
    message = fields.String(metadata={"deprecated": True, "description": "Same as detail."})


def type_uri(status: int) -> str:
    known = BY_STATUS.get(status)
    return f"/problems/{known.name}" if known else "about:blank"


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """A problem-details response for ``status``, saying ``detail``."""
    known = BY_STATUS.get(status)
    title = known.title if known else "Error"
    response = jsonify(type=type_uri(status), title=title, status=status, detail=detail,
                       instance=request.path, error=title, message=detail)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def refuse(status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """Stop the request with a problem (``abort`` with a problem body)."""
    abort(problem(status, detail, headers))


def handle_http_exception(exc: HTTPException) -> Response:
    """Every HTTP error the app raises (``abort``, routing, Flask's own) as a problem."""
    if isinstance(exc.response, Response):  # made on purpose (a problem, a page): keep it
        return exc.response
    status = exc.code or 500
    headers = {}
    allowed = exc.get_response().headers.get("Allow") if status == 405 else None
    if allowed:
        headers["Allow"] = allowed
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem(status, exc.description or BY_STATUS.get(status, TYPES[-1]).title, headers)


blueprint = Blueprint("problems", __name__)


@blueprint.get("/problems/<name>")
def describe(name: str) -> Any:
    """What one problem type means: the page its ``type`` URI names."""
    known = BY_NAME.get(name)
    if known is None:
        return problem(404, f"no problem type {name[:60]!r}")
    return jsonify(type=f"/problems/{known.name}", status=known.status, title=known.title,
                   means=known.means)
