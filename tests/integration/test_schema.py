"""The migrations create exactly what the models describe, on both stores."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from connector.persistence.db import make_engine, upgrade
from connector.persistence.models import TENANT_MODELS, Base


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_upgrade_from_empty_is_idempotent(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert not inspect(engine).get_table_names()
        upgrade(engine)
        upgrade(engine)
        assert "mastery_record" in inspect(engine).get_table_names()
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_every_table_but_district_belongs_to_a_district() -> None:
    tenant_tables = {model.__tablename__ for model in TENANT_MODELS}
    assert set(Base.metadata.tables) - tenant_tables == {"district"}
    for name in tenant_tables:
        assert "district_id" in Base.metadata.tables[name].columns, name


def test_services_starting_together_upgrade_an_empty_store_one_at_a_time(
        empty_db_url: str) -> None:
    """The api, scheduler and workers of a deployment start at once; each may upgrade."""
    import subprocess
    import sys

    code = ("import sys; from connector.persistence.db import make_engine, upgrade; "
            "upgrade(make_engine(sys.argv[1]))")
    processes = [subprocess.Popen([sys.executable, "-c", code, empty_db_url],
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [process.communicate(timeout=300)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], errors
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()
