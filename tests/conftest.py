"""Shared fixtures: the two real stores (SQLite always, PostgreSQL at 127.0.0.1:5432).

Stores are migrated once per test run, not once per test: a session fixture
migrates a template per backend, and each test gets a copy of it (the SQLite
file copied, a PostgreSQL database created ``TEMPLATE`` the migrated one).
Only the migration tests ask for an empty store (``empty_db_url``). Every test
still gets its own store, so tests never see each other's rows, and every
PostgreSQL database the run creates is dropped at the end. With ``CI=true``
an unreachable PostgreSQL fails the run instead of skipping.

The sample district after its first nightly sync is snapshotted the same way,
once per backend: a test or module that starts from it gets a copy of the
store and of the workspace (at the same path, since the push ledger records
where bundles were written) instead of syncing again.
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
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from connector.app import create_app
from connector.config.loader import load_settings
from connector.config.model import Settings
from connector.jobs import definitions
from connector.persistence.db import make_engine, make_session_factory, upgrade
from connector.sample.generator import generate

pytest_plugins = ["tests.browser"]  # the session-wide browser fixture, one per test process

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
PG_HOST = os.environ.get("CONNECTOR_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CONNECTOR_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("CONNECTOR_TEST_PG_USER", "postgres")
PREFIX = f"connector_test_{uuid.uuid4().hex[:8]}"
# Cookies are signed with one key across the suite's apps; never one written to ./var.
os.environ.setdefault("CONNECTOR_SECRET_KEY", "test-only-" + uuid.uuid4().hex * 2)


def _admin_dsn(dbname: str = "postgres") -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={dbname} connect_timeout=5"


def _pg_url(database: str) -> str:
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class PgDatabases:
    """Creates this run's PostgreSQL databases and drops every one of them at the end."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self, template: str | None = None, name: str | None = None) -> str:
        name = name or f"{PREFIX}_{len(self.created)}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{clause}')
        if name not in self.created:
            self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    """The run's PostgreSQL server: fails in CI (skips elsewhere) when it is unreachable."""
    try:
        with psycopg.connect(_admin_dsn(), autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {PG_HOST}:{PG_PORT} (user {PG_USER}) is unreachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " -- CI requires it", pytrace=False)
        pytest.skip(message)
    databases = PgDatabases()
    yield databases
    for name in reversed(databases.created):
        databases.drop(name)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The run's Redis server (shared rate limits): fails in CI, skips elsewhere, when down."""
    import redis

    url = os.environ.get("CONNECTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        message = f"Redis at {url} is unreachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " -- CI requires it", pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    """The run's RabbitMQ broker (celery workers): fails in CI, skips elsewhere, when down."""
    import kombu

    url = os.environ.get("CONNECTOR_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    try:
        with kombu.Connection(url, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # kombu raises the transport's own errors
        message = f"RabbitMQ at {url.split('@')[-1]} is unreachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " -- CI requires it", pytrace=False)
        pytest.skip(message)
    return url


def _migrate(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    if url.startswith("sqlite"):
        with engine.connect() as connection:  # the copy must hold everything: no -wal file
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "connector.sqlite3"
    _migrate(_sqlite_url(path))
    return path


@pytest.fixture(scope="session")
def pg_template(pg_databases: PgDatabases) -> str:
    name = pg_databases.create()
    _migrate(_pg_url(name))
    return name


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _store(request: pytest.FixtureRequest, folder: Path, *,
           migrated: bool = True) -> Iterator[str]:
    """A URL to a store of its own: a copy of the run's migrated template, or empty."""
    if request.param == "sqlite":
        path = folder / "connector.sqlite3"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield _sqlite_url(path)
        return
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    name = databases.create(template=request.getfixturevalue("pg_template") if migrated else None)
    yield _pg_url(name)
    databases.drop(name)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store for one test, at the latest schema and holding no district yet."""
    yield from _store(request, tmp_path)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store with no schema at all, for the tests of the migrations themselves."""
    yield from _store(request, tmp_path, migrated=False)


@pytest.fixture(scope="module", params=BACKENDS)
def module_db_url(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A store shared by the tests of one module (for expensive end-to-end setups)."""
    yield from _store(request, tmp_path_factory.mktemp("store"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def make_workspace(folder: Path, sample: Path | None = None) -> Path:
    """A copy of the repository's config next to the sample data, so outputs land in tmp.

    ``sample`` is another generated sample district to read instead of the shipped one.
    """
    shutil.copytree(ROOT / "config", folder / "config")
    if sample is None:
        (folder / "examples").symlink_to(ROOT / "examples")
    else:
        (folder / "examples").mkdir()
        (folder / "examples" / "sample-district").symlink_to(sample)
    return folder


#: Students in the small sample: every class and line item of the full one, a sixth of
#: the results. Tests that send each record over HTTP use it.
SMALL_STUDENTS = 24


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample district generated with SMALL_STUDENTS students (same seed, same shapes)."""
    folder = tmp_path_factory.mktemp("small-sample") / "sample-district"
    generate(folder, students=SMALL_STUDENTS, seed=2026)
    return folder


@pytest.fixture(scope="module")
def small_district(module_db_url: str, small_sample: Path,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleDistrict]:
    """The small sample after one nightly sync, shared by a module."""
    workspace = make_workspace(tmp_path_factory.mktemp("small-district"), small_sample)
    engine = make_engine(module_db_url)
    factory = make_session_factory(engine)
    settings = load_settings(workspace / "config")
    report = definitions.run(factory, settings, "nightly-sync").as_dict()
    yield SampleDistrict(factory, settings, workspace, report)
    engine.dispose()


def own_examples(workspace: Path, sample: Path | None = None) -> Path:
    """Replace a workspace's links to sample data with a copy the test may edit.

    The copy is of the shipped sample, or of ``sample`` (another generated one).
    """
    examples = workspace / "examples"
    if examples.is_symlink():
        examples.unlink()
    else:
        shutil.rmtree(examples)
    if sample is None:
        shutil.copytree(ROOT / "examples", examples)
    else:
        shutil.copytree(sample, examples / "sample-district")
    return workspace


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


@dataclass
class SyncedSnapshot:
    """The store and workspace of the sample district right after its first nightly sync.

    ``store`` is the SQLite file or the PostgreSQL database (used as a template);
    ``saved`` a copy of the workspace, restored at ``home`` for each use: the push
    ledger names bundles by absolute path, so every copy lives at the same place,
    one at a time.
    """

    store: str
    home: Path
    saved: Path
    first_run: dict[str, Any]
    in_use: bool = False


def _snapshot(url: str, folder: Path) -> SyncedSnapshot:
    home = make_workspace(folder / "district")
    engine = make_engine(url)
    report = definitions.run(make_session_factory(engine), load_settings(home / "config"),
                             "nightly-sync").as_dict()
    if url.startswith("sqlite"):
        with engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    shutil.copytree(home, folder / "saved", symlinks=True)
    store = url.removeprefix("sqlite:///") if url.startswith("sqlite") else url.rsplit("/", 1)[1]
    return SyncedSnapshot(store, home, folder / "saved", report)


@pytest.fixture(scope="session")
def synced_sqlite(tmp_path_factory: pytest.TempPathFactory,
                  sqlite_template: Path) -> SyncedSnapshot:
    folder = tmp_path_factory.mktemp("synced-sqlite")
    shutil.copyfile(sqlite_template, folder / "connector.sqlite3")
    return _snapshot(_sqlite_url(folder / "connector.sqlite3"), folder)


@pytest.fixture(scope="session")
def synced_postgresql(tmp_path_factory: pytest.TempPathFactory, pg_databases: PgDatabases,
                      pg_template: str) -> SyncedSnapshot:
    folder = tmp_path_factory.mktemp("synced-postgresql")
    return _snapshot(_pg_url(pg_databases.create(template=pg_template)), folder)


@contextmanager
def restored(request: pytest.FixtureRequest, url: str) -> Iterator[SampleDistrict]:
    """Fill the store at ``url`` (migrated, never connected to) with the synced snapshot."""
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    snapshot: SyncedSnapshot = request.getfixturevalue(f"synced_{backend}")
    assert not snapshot.in_use, "one copy of the synced sample district at a time"
    snapshot.in_use = True
    if backend == "sqlite":
        shutil.copyfile(snapshot.store, url.removeprefix("sqlite:///"))
    else:
        databases: PgDatabases = request.getfixturevalue("pg_databases")
        name = url.rsplit("/", 1)[1]
        databases.drop(name)
        databases.create(template=snapshot.store, name=name)
    shutil.rmtree(snapshot.home)
    shutil.copytree(snapshot.saved, snapshot.home, symlinks=True)
    engine = make_engine(url)
    try:
        yield SampleDistrict(make_session_factory(engine), load_settings(snapshot.home / "config"),
                             snapshot.home, snapshot.first_run)
    finally:
        engine.dispose()
        snapshot.in_use = False


@pytest.fixture(scope="module")
def sample_district(request: pytest.FixtureRequest,
                    module_db_url: str) -> Iterator[SampleDistrict]:
    """The sample district after one nightly sync, shared by a module (a copy of the snapshot)."""
    with restored(request, module_db_url) as district:
        yield district


@pytest.fixture
def synced_district(request: pytest.FixtureRequest, db_url: str) -> Iterator[SampleDistrict]:
    """The sample district after one nightly sync, for one test (a copy of the snapshot)."""
    with restored(request, db_url) as district:
        yield district


@contextmanager
def api_client(district: SampleDistrict, database_url: str) -> Iterator[FlaskClient]:
    """The API over a synced district's configuration and store, as a Flask test client."""
    app = create_app({"CONNECTOR_CONFIG_DIR": str(district.workspace / "config"),
                      "CONNECTOR_DATABASE_URL": database_url})
    try:
        yield app.test_client()
    finally:
        app.extensions["connector"].engine.dispose()
