"""The API's description: OpenAPI 3.1 at ``/openapi.json``, and a docs page at ``/docs``.

flask-smorest builds the document from the blueprints themselves (routes, path
parameters, the marshmallow schemas of bodies and answers), so it cannot drift
from the code; a suite test runs schemathesis against it. The docs page is
Swagger UI from the ``swagger-ui-py`` package, served from this server: districts'
machines and ours reach no CDN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.resources import files
from typing import Any, TypeVar

from flask import Flask, send_from_directory
from flask_smorest import Api, Blueprint

from connector import ENGINE_VERSION
from connector.api import problems
from connector.api.access import ANYONE, needs
from connector.api.paging import MAX_LIMIT
from connector.domain import roles

ASSETS = "/docs/assets/"
F = TypeVar("F", bound=Callable[..., Any])

#: The credentials an operation takes, by name in ``components.securitySchemes``.
SECURITY_SCHEMES = {
    "district_token": {"type": "http", "scheme": "bearer",
                       "description": "A machine token (`connector tokens create`) with the "
                                      "read scope, or write where the operation changes "
                                      "records; or the district's environment-referenced "
                                      "token (district.api_token / api_write_token)."},
    "session_cookie": {"type": "apiKey", "in": "cookie", "name": "session",
                       "description": "A person signed in at /login. Requests that change "
                                      "records also send the page's CSRF token in the "
                                      "X-CSRFToken header."},
    "provider_token": {"type": "http", "scheme": "bearer",
                       "description": "A machine token with the intake:<source> scope, or the "
                                      "provider's own token (its source's token setting)."},
    "provider_basic": {"type": "http", "scheme": "basic",
                       "description": "xAPI's Basic form: the provider's source key as user "
                                      "name, its token as password."},
}

#: Error answers every district operation can give, besides its own.
COMMON_ERRORS = (400, 401, 403, 404, 503)


class ConnectorApi(Api):  # type: ignore[misc]  # flask-smorest ships no types
    """flask-smorest's Api, answering errors as problem details rather than its own JSON."""

    def handle_http_exception(self, error: Any) -> Any:
        return problems.handle_http_exception(error)


def init_app(app: Flask) -> ConnectorApi:
    app.config.update(
        API_TITLE="Competency connector API",
        API_VERSION=ENGINE_VERSION,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=ASSETS,
        API_SPEC_OPTIONS={
            "info": {"description": "Mastery records with their explanations, the calculator, "
                                    "teacher overrides, sync runs, and xAPI/Caliper intake. "
                                    "Errors are RFC 9457 problem details; each `type` is a "
                                    "path on this server that says what it means."},
            "components": {"securitySchemes": SECURITY_SCHEMES},
        },
    )
    api = ConnectorApi(app)
    static = str(files("swagger_ui") / "static")

    @app.get(f"{ASSETS}<path:name>")
    def docs_assets(name: str) -> Any:
        return send_from_directory(static, name, max_age=3600)

    return api


def documented(*, need: str | None = None,
               security: Iterable[str] = ("district_token", "session_cookie"),
               errors: Iterable[int] = COMMON_ERRORS, read: bool = False,
               csv: tuple[str, Any] | None = None, binary: tuple[str, str] | None = None,
               **doc: Any) -> Callable[[F], F]:
    """Declare an operation's permission, credentials and error answers (as problem details).

    ``need`` is the one permission (:mod:`connector.domain.roles`) the operation asks
    of whoever calls it; :func:`access.district_session` enforces it, and the document
    says which roles and token scopes have it. A ``read`` answers with an ETag and
    honours ``If-None-Match`` (:mod:`paging`). ``csv`` (a description and the JSON
    schema) describes a 200 that is JSON, or with ``format=csv`` a spreadsheet; ``binary``
    (a description and a media type) a 200 that is a file, such as a PDF or a credential.
    Everything else in ``doc`` (parameters, a request body) is copied into the operation.
    """
    if need is not None:
        doc["x-permission"] = need
        if need != ANYONE:
            who = [r for r in roles.ROLES if need in roles.ROLE_PERMISSIONS[r]]
            scopes = [s for s in ("read", "write", "admin") if need in roles.SCOPE_PERMISSIONS[s]]
            said = (f"Needs **{need}**: roles {', '.join(who)}; token scopes "
                    f"{', '.join(scopes)}.")
            doc["description"] = f"{doc['description']}\n\n{said}" if doc.get(
                "description") else said
    # Any request can hold a control character in its path or query: 400 everywhere.
    responses: dict[str, Any] = {str(status): {
        "description": problems.BY_STATUS[status].means,
        "content": {problems.MEDIA_TYPE: {"schema": problems.ProblemSchema}},
    } for status in sorted({400, *errors})}
    if csv is not None:
        responses["200"] = {"description": csv[0], "content": {
            "application/json": {"schema": csv[1]},
            "text/csv": {"schema": {"type": "string"}}}}
    if binary is not None:
        # A JSON document of its own media type (a credential) is an object, not bytes.
        shape = ({"type": "object"} if binary[1].endswith("json")
                 else {"type": "string", "format": "binary"})
        responses["200"] = {"description": binary[0], "content": {binary[1]: {"schema": shape}}}
    if read:
        responses["304"] = {"description": "Not modified: the If-None-Match ETag is current."}
        doc.setdefault("parameters", []).append({
            "in": "header", "name": "If-None-Match", "required": False,
            "description": "The ETag of an earlier answer: 304 if it is still current.",
            "schema": {"type": "string"}})
    described: Callable[[F], F] = Blueprint.doc(
        security=[{name: []} for name in security], responses=responses, **doc)
    if need is None:
        return described

    def marked(view: F) -> F:
        return needs(need)(described(view))
    return marked


def query(name: str, kind: str = "string", description: str = "", **schema: Any
          ) -> dict[str, Any]:
    """One documented query parameter."""
    return {"in": "query", "name": name, "required": False, "description": description,
            "schema": {"type": kind, **schema}}


def pages(what: str, default: int = 50) -> list[dict[str, Any]]:
    """The query parameters of a list that comes a page at a time (:mod:`paging`)."""
    return [query("limit", "integer", f"How many {what} in a page.", minimum=1,
                  maximum=MAX_LIMIT, default=default),
            query("cursor", "string", "The next_cursor of the page before (opaque).")]


def json_request(schema: Any) -> dict[str, Any]:
    """An operation's required JSON body, described by its marshmallow schema."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}}}
