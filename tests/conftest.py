"""Shared fixtures: the two real stores (SQLite always, PostgreSQL at 127.0.0.1:5432).

PostgreSQL gets one fresh database per test session (dropped at the end) and
one fresh schema per test, so tests never see each other's rows. With
``CI=true`` an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connector.app import create_app
from connector.config.loader import load_settings
from connector.config.model import Settings
from connector.jobs import definitions
from connector.persistence.db import make_engine, make_session_factory, upgrade

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
PG_HOST = os.environ.get("CONNECTOR_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CONNECTOR_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("CONNECTOR_TEST_PG_USER", "postgres")


def _admin_dsn(dbname: str = "postgres") -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={dbname} connect_timeout=5"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; dropped afterwards."""
    name = f"connector_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {PG_HOST}:{PG_PORT} (user {PG_USER}) is unreachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " -- CI requires it", pytrace=False)
        pytest.skip(message)
    yield name
    with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _store(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """A URL to an empty store: a SQLite file, or a fresh schema in the session's PG database."""
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'connector.sqlite3'}"
        return
    database = request.getfixturevalue("pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_dsn(database), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield (f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"
           f"?options=-csearch_path%3D{schema}")
    with psycopg.connect(_admin_dsn(database), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store for one test."""
    yield from _store(request, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def module_db_url(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty store shared by the tests of one module (for expensive end-to-end setups)."""
    yield from _store(request, tmp_path_factory.mktemp("store"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def make_workspace(folder: Path) -> Path:
    """A copy of the repository's config next to the sample data, so outputs land in tmp."""
    shutil.copytree(ROOT / "config", folder / "config")
    (folder / "examples").symlink_to(ROOT / "examples")
    return folder


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path)


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace / "config")


@dataclass
class SampleDistrict:
    factory: sessionmaker[Session]
    settings: Settings
    workspace: Path
    first_run: dict[str, Any]


@pytest.fixture(scope="module")
def sample_district(module_db_url: str,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleDistrict]:
    """The sample district after one nightly sync (shared by a module: a full sync takes seconds)."""
    workspace = make_workspace(tmp_path_factory.mktemp("workspace"))
    engine = make_engine(module_db_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    settings = load_settings(workspace / "config")
    report = definitions.run(factory, settings, "nightly-sync").as_dict()
    yield SampleDistrict(factory, settings, workspace, report)
    engine.dispose()


@contextmanager
def api_client(district: SampleDistrict, database_url: str) -> Iterator[FlaskClient]:
    """The API over a synced district's configuration and store, as a Flask test client."""
    app = create_app({"CONNECTOR_CONFIG_DIR": str(district.workspace / "config"),
                      "CONNECTOR_DATABASE_URL": database_url})
    try:
        yield app.test_client()
    finally:
        app.extensions["connector"].engine.dispose()
