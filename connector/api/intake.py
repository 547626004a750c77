"""Event intake: an xAPI 1.0.3 statement resource and a Caliper 1.1/1.2 endpoint per district.

Each provider is a ``learning_events`` source in the district's config with its
own token, so a leaked token lets one provider post as itself and nothing else,
and a provider's events become evidence under its own source key. Intake
validates and stores; the district's sync job turns stored events into evidence.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, abort, jsonify, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.adapters.sources.learning_events import caliper, xapi
from connector.api.bodies import json_body
from connector.api.openapi import documented, query
from connector.api.problems import refuse
from connector.api.store import store
from connector.config.model import SourceConfig
from connector.config.secrets import resolve_secret
from connector.errors import ConfigurationError
from connector.persistence.models import utcnow
from connector.persistence.tenancy import tenant_session
from connector.sync import api_tokens
from connector.sync.district import find_district
from connector.sync.intake import Conflict, find_statement, store_caliper, store_statements

blueprint = Blueprint("intake", __name__, description="Learning events from providers: an "
                      "xAPI 1.0.3 statement resource and a Caliper 1.1/1.2 endpoint.")
PROVIDER = ("provider_token", "provider_basic")
VERSION_HEADER = {"in": "header", "name": "X-Experience-API-Version", "required": True,
                  "schema": {"type": "string", "pattern": r"^1\.0(\.\d+)?$"}}
ANY_JSON: dict[str, Any] = {"content": {"application/json": {"schema": {}}}}

PREFIX = "/api/v1/districts/<key>"
MAX_BYTES = 10 * 1024 * 1024
_VERSION = re.compile(r"^1\.0(\.\d+)?$")
log = logging.getLogger(__name__)
T = TypeVar("T")


class VersionsSchema(Schema):
    version = fields.List(fields.String())


class CaliperReceivedSchema(Schema):
    received = fields.Integer()
    new = fields.Integer()


@blueprint.after_request
def _version_header(response: Response) -> Response:
    if "/xapi/" in request.path:
        response.headers["X-Experience-API-Version"] = xapi.VERSION
    return response


def _provider(key: str, spec: str) -> str:
    """The source key of the provider whose token the request carries, or 401."""
    header = request.headers.get("Authorization", "")
    username, given = None, ""
    if header.lower().startswith("bearer "):
        given = header[7:].strip()
    elif header.lower().startswith("basic "):
        try:
            username, _, given = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, ValueError):  # not base64, not ASCII, not UTF-8: no token
            given = ""
    if given.startswith(api_tokens.PREFIX) and username is None:
        found = _token_provider(key, given, spec)
        if found is not None:
            return found
    for source in _providers(key, spec).values():
        if username is not None and username != source.key:
            continue
        try:
            expected = resolve_secret(source.options["token"], purpose=f"{source.key} token")
        except ConfigurationError:
            continue  # this provider's variable is unset on the server: it cannot post
        if given and hmac.compare_digest(given.encode(), expected.encode()):
            return source.key
    refuse(401, "missing or wrong provider token",
           {"WWW-Authenticate": 'Basic realm="xAPI", Bearer'})
    raise AssertionError("unreachable")


def _token_provider(key: str, given: str, spec: str) -> str | None:
    """The source a machine token may post as (its ``intake:<source>`` scope), if live."""
    providers = _providers(key, spec)
    district_id = find_district(store().factory, key)
    if district_id is None:
        return None
    with tenant_session(store().factory, district_id) as session, session.begin():
        token = api_tokens.find_token(session, given)
        if token is None:
            return None
        for scope in map(str, token.scopes):
            name = scope.removeprefix("intake:")
            if scope.startswith("intake:") and name in providers:
                log.info("%s intake by token %d", spec, token.id)
                return name
    return None


def _providers(key: str, spec: str) -> dict[str, SourceConfig]:
    """The district's learning-event sources that speak ``spec``, by key."""
    return {s.key: s for s in store().settings(key).sources.values()
            if s.kind == "learning_events" and s.options["spec"] == spec}


def _district(key: str) -> int:
    district_id = find_district(store().factory, key)
    if district_id is None:
        abort(404, description=f"district {key!r} has no data yet: run a sync first")
    return district_id


def _json_body() -> Any:
    if request.mimetype == "multipart/mixed":
        abort(400, description="statements with attachments are not accepted")
    return json_body(max_bytes=MAX_BYTES, where=None)  # the validators name xAPI's paths


def _check_version() -> None:
    version = request.headers.get("X-Experience-API-Version", "")
    if not _VERSION.match(version):
        abort(400, description="X-Experience-API-Version header must be 1.0.x "
                               f"(got {version or 'none'})")


@blueprint.get(f"{PREFIX}/xapi/about")
@blueprint.response(200, VersionsSchema)
@documented(read=True, security=(), errors=(404,))
def xapi_about(key: str) -> Any:
    """The xAPI versions this LRS speaks."""
    store().settings(key)
    return jsonify(version=[xapi.VERSION])


def _store(key: str, provider: str, statements: list[Any]) -> list[str]:
    for n, statement in enumerate(statements):
        try:
            xapi.check_statement(statement, f"statements[{n}]" if len(statements) > 1
                                 else "statement")
        except xapi.InvalidStatement as exc:
            abort(400, description=str(exc))
    ids = _write(_district(key), lambda session: store_statements(session, provider, statements))
    log.info("xapi intake: %s stored %d statement(s)", provider, len(ids))
    return ids


def _write(district_id: int, write: Callable[[Session], T]) -> T:
    """One intake transaction: 400 for a bad batch, 409 for a conflict, nothing half-stored.

    A provider's retry racing its first send meets the unique key once; the second
    try then sees the stored events and compares them like any retry.
    """
    for attempt in (1, 2):
        try:
            with tenant_session(store().factory, district_id) as session, session.begin():
                return write(session)
        except xapi.InvalidStatement as exc:
            abort(400, description=str(exc))
        except Conflict as exc:
            abort(409, description=str(exc))
        except IntegrityError:
            if attempt == 2:
                abort(409, description="an event in this request was stored at the same time "
                                       "with other content")
    raise AssertionError("unreachable")


@blueprint.post(f"{PREFIX}/xapi/statements")
@blueprint.response(200, fields.List(fields.String()), description="The stored statements' ids.")
@documented(security=PROVIDER, errors=(400, 401, 404, 409, 413, 503),
            parameters=[VERSION_HEADER],
            requestBody={"required": True, **ANY_JSON,
                         "description": "One xAPI statement, or a list of them."})
def post_statements(key: str) -> Any:
    """Store statements; an id sent again with the same content changes nothing."""
    _check_version()
    provider = _provider(key, "xapi")
    body = _json_body()
    statements = body if isinstance(body, list) else [body]
    if not statements:
        abort(400, description="no statements in the body")
    return jsonify(_store(key, provider, statements))


@blueprint.put(f"{PREFIX}/xapi/statements")
@blueprint.response(204, description="Stored.")
@documented(security=PROVIDER, errors=(400, 401, 404, 409, 413, 503),
            parameters=[VERSION_HEADER, {**query("statementId", "string", "The statement's id.",
                                                 format="uuid"), "required": True}],
            requestBody={"required": True, **ANY_JSON, "description": "One xAPI statement."})
def put_statement(key: str) -> Any:
    """Store one statement under the id given in the query."""
    _check_version()
    provider = _provider(key, "xapi")
    statement_id = request.args.get("statementId", "")
    if not statement_id:
        abort(400, description="PUT needs the statementId parameter")
    body = _json_body()
    if not isinstance(body, dict):
        abort(400, description="PUT takes one statement")
    if "id" in body and str(body["id"]).lower() != statement_id.lower():
        abort(400, description="the statement's id differs from the statementId parameter")
    _store(key, provider, [{**body, "id": statement_id}])
    return Response(status=204)


@blueprint.get(f"{PREFIX}/xapi/statements")
@blueprint.response(200, description="The statement as stored.")
@documented(read=True, security=PROVIDER, errors=(400, 401, 404, 503),
            parameters=[VERSION_HEADER,
                        query("statementId", "string", "A statement's id.", format="uuid"),
                        query("voidedStatementId", "string", "A voided statement's id.",
                              format="uuid")])
def get_statement(key: str) -> Any:
    """One statement by ``statementId`` (or ``voidedStatementId``); listing is not offered."""
    _check_version()
    provider = _provider(key, "xapi")
    asked = [name for name in ("statementId", "voidedStatementId") if name in request.args]
    others = sorted(set(request.args) - {"statementId", "voidedStatementId", "attachments",
                                         "format"})
    if len(asked) != 1 or others:
        abort(400, description="this LRS answers one statementId or voidedStatementId query, "
                               "with no other filter")
    wanted = request.args[asked[0]]
    voided_query = asked[0] == "voidedStatementId"
    with tenant_session(store().factory, _district(key)) as session:
        found = find_statement(session, provider, wanted)
        if found is None or found.voided != voided_query:
            abort(404, description=f"no {'voided ' if voided_query else ''}statement {wanted}")
        response = jsonify(found.payload)
    response.headers["X-Experience-API-Consistent-Through"] = \
        utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return response


@blueprint.post(f"{PREFIX}/caliper")
@blueprint.response(200, CaliperReceivedSchema)
@documented(security=("provider_token",), errors=(400, 401, 404, 409, 413, 415, 503),
            requestBody={"required": True, **ANY_JSON,
                         "description": "A Caliper envelope (sensor, sendTime, dataVersion, "
                                        "data)."})
def post_caliper(key: str) -> Any:
    """Store the events of a Caliper envelope; events sent again change nothing."""
    provider = _provider(key, "caliper")
    if request.mimetype != "application/json":
        abort(415, description="Caliper envelopes must be sent as application/json")
    body = _json_body()
    try:
        policy = store().settings(key).sources[provider].options.get("unknown_event_types",
                                                                    "refuse")
        events = caliper.check_envelope(body, unknown_types=str(policy))
    except xapi.InvalidStatement as exc:
        abort(400, description=str(exc))
    new = _write(_district(key),
                 lambda session: store_caliper(session, provider, events, caliper.event_key))
    log.info("caliper intake: %s stored %d new event(s)", provider, new)
    return jsonify(received=len(events), new=new)
