"""The migrations create exactly what the models describe, on both stores."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from connector.persistence.db import upgrade
from connector.persistence.models import TENANT_MODELS, Base


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    assert "mastery_record" in inspect(engine).get_table_names()


def test_every_table_but_district_belongs_to_a_district() -> None:
    tenant_tables = {model.__tablename__ for model in TENANT_MODELS}
    assert set(Base.metadata.tables) - tenant_tables == {"district"}
    for name in tenant_tables:
        assert "district_id" in Base.metadata.tables[name].columns, name
