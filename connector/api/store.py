"""Per-app access to the database and to each district's settings, with bearer-token auth."""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from connector.config.loader import load_settings
from connector.config.model import Settings
from connector.config.secrets import resolve_secret
from connector.errors import ConfigurationError
from connector.persistence.db import make_engine, make_session_factory
from connector.persistence.tenancy import tenant_session
from connector.sync import api_tokens
from connector.sync.district import find_district

EXTENSION = "connector"
log = logging.getLogger(__name__)


class Store:
    def __init__(self, app: Flask) -> None:
        self.config_dir = Path(app.config["CONNECTOR_CONFIG_DIR"]).resolve()
        self.engine = make_engine(app.config.get("CONNECTOR_DATABASE_URL"))
        self.factory: sessionmaker[Session] = make_session_factory(self.engine)
        self._settings: dict[str, Settings] = {}

    def settings(self, key: str) -> Settings:
        if key not in self._settings:
            try:
                self._settings[key] = load_settings(self.config_dir, key)
            except ConfigurationError:
                abort(404, description=f"no district {key!r}")
        return self._settings[key]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Store(app)
    app.teardown_appcontext(_close_session)


def store() -> Store:
    result: Store = current_app.extensions[EXTENSION]
    return result


def district_session(key: str, *, write: bool = False,
                     admin: bool = False) -> tuple[Settings, Session]:
    """Authorise the request for district ``key`` and open a session scoped to it.

    Each district has its own token, so a token for one district can never read
    another's students, and the session itself is scoped by the tenancy guard.
    Requests that change records (``write``) need the district's separate write
    token; the read token cannot change anything.
    """
    settings = store().settings(key)
    given = bearer_token()
    if given.startswith(api_tokens.PREFIX):
        return settings, _token_session(key, given,
                                        "admin" if admin else "write" if write else "read")
    write = write or admin  # of the shared tokens, only the write token reads the audit
    name, purpose = ("api_write_token", "district API write token") if write else (
        "api_token", "district API token")
    reference = getattr(settings.district, name)
    if not reference:
        abort(403, description=f"this API is not enabled for this district: set "
                               f"district.{name} to an environment reference")
    expected = _resolved(reference, purpose)
    if expected is None:
        abort(503, description=f"the {purpose} variable is not set on the server")
    if not _same(given, expected):
        read = _resolved(settings.district.api_token, "district API token")
        if write and read is not None and _same(given, read):
            # Known, but not allowed to change records: 403, never a "who are you?" 401.
            abort(403, description="this token may read, not change records: use the "
                                   "district's write token")
        abort(401, description="missing or wrong bearer token")
    return settings, _open(key, 404, f"district {key!r} has no data yet: run a sync first")


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def _token_session(key: str, given: str, needed: str) -> Session:
    """A session for a request carrying a machine token, checked for its scope."""
    session = _open(key, 401, "missing or wrong bearer token")
    token = api_tokens.find_token(session, given)
    if token is None:  # unknown here, revoked or expired: all the same to the caller
        abort(401, description="missing, wrong, revoked or expired bearer token")
    if not api_tokens.grants(list(token.scopes), needed):
        abort(403, description=f"token {token.id} does not have the {needed} scope")
    log.info("api: %s %s by token %d", request.method, request.url_rule, token.id)
    if session.dirty:  # its last use, recorded now: the view may only read
        session.commit()
    return session


def _open(key: str, status: int, missing: str) -> Session:
    """The district's tenant session for this request (closed at teardown), or ``status``."""
    district_id = find_district(store().factory, key)
    if district_id is None:
        abort(status, description=missing)
    session = tenant_session(store().factory, district_id)
    g.connector_session = session
    return session


def _resolved(reference: str | None, purpose: str) -> str | None:
    """A shared token's value from its environment reference; None when unset."""
    if not reference:
        return None
    try:
        return resolve_secret(reference, purpose=purpose)
    except ConfigurationError:
        return None


def _same(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _close_session(_exc: Any) -> None:
    session = g.pop("connector_session", None)
    if session is not None:
        session.close()
