"""Engines, sessions and schema migrations for SQLite (default) and PostgreSQL.

``CONNECTOR_DATABASE_URL`` selects the store; without it the embedded SQLite
file at ``CONNECTOR_DATA_DIR`` (default ``./var``) is used, so a district can
try the product with nothing else installed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from connector.persistence.locks import NamedLock

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_SQLITE_NAME = "connector.sqlite3"


def database_url(explicit: str | None = None) -> str:
    """The URL in force: an explicit one, the environment's, or the embedded SQLite file."""
    if explicit:
        return explicit
    url = os.environ.get("CONNECTOR_DATABASE_URL", "").strip()
    if url:
        return normalise_url(url)
    data_dir = Path(os.environ.get("CONNECTOR_DATA_DIR", "var"))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / DEFAULT_SQLITE_NAME).resolve()}"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine whose error messages never quote bound values (they can be student names)."""
    url = database_url(url)
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration (idempotent).

    One process at a time: the api, scheduler and workers of a deployment start
    together, and two Alembic upgrades at once on an empty PostgreSQL database
    would both try to create the same tables.
    """
    lock = NamedLock(engine, "schema-upgrade")
    while not lock.try_acquire():
        time.sleep(0.5)
    try:
        command.upgrade(alembic_config(engine), "head")
    finally:
        lock.release()


def is_current(engine: Engine) -> bool:
    """Whether the schema has been created at all (used to give a clear first-run error)."""
    return inspect(engine).has_table("alembic_version")
