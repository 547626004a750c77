"""Per-app access to the database and to each district's settings (who may ask: :mod:`access`)."""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from connector.config.loader import load_settings
from connector.config.model import Settings
from connector.config.secrets import resolve_secret
from connector.errors import ConfigurationError
from connector.persistence.db import make_engine, make_session_factory
from connector.persistence.tenancy import tenant_session
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


def open_district(key: str, status: int, missing: str) -> Session:
    """The district's tenant session for this request (closed at teardown), or ``status``."""
    district_id = find_district(store().factory, key)
    if district_id is None:
        abort(status, description=missing)
    session = tenant_session(store().factory, district_id)
    g.connector_session = session
    return session


def resolved(reference: str | None, purpose: str) -> str | None:
    """A shared token's value from its environment reference; None when unset."""
    if not reference:
        return None
    try:
        return resolve_secret(reference, purpose=purpose)
    except ConfigurationError:
        return None


def same(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _close_session(_exc: Any) -> None:
    session = g.pop("connector_session", None)
    if session is not None:
        session.close()
