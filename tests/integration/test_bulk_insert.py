"""The set-based insert stores what the ORM would, stamps the session's district, and refuses alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.persistence import models as m
from connector.persistence.bulk_insert import insert_rows
from connector.persistence.tenancy import admin_session, tenant_session


def _district(factory: sessionmaker[Session], key: str) -> int:
    with admin_session(factory) as session, session.begin():
        district = m.District(key=key, name=key.title())
        session.add(district)
        session.flush()
        return district.id


def _item(n: int, **extra: Any) -> dict[str, Any]:
    return {"source_system": "lms", "sourced_id": f"item-{n}", "content_hash": f"h{n}",
            "title": f"Quiz {n}", "learning_objectives": [["CASE", f"lo-{n}"]],
            "due_date": datetime(2026, 11, n + 1, 15, 30, tzinfo=UTC),
            "result_value_max": None if n % 2 else 10.0, **extra}


def test_rows_read_back_as_the_orm_would_have_stored_them(
        factory: sessionmaker[Session]) -> None:
    district = _district(factory, "north")
    rows = [_item(n) for n in range(5)]
    with tenant_session(factory, district) as session, session.begin():
        ids = insert_rows(session, m.SourceItem, rows, ids=True)
        by_orm = m.SourceItem(**_item(9))
        session.add(by_orm)
    assert len(set(ids)) == 5 and by_orm.id not in ids
    with tenant_session(factory, district) as session:
        stored = {i.id: i for i in session.scalars(select(m.SourceItem))}
        for row_id, row in zip(ids, rows, strict=True):
            item = stored[row_id]  # the ids come back in the order of the rows
            assert item.sourced_id == row["sourced_id"]
            assert item.learning_objectives == row["learning_objectives"]
            assert item.due_date == row["due_date"] and item.due_date.tzinfo is not None
            assert item.result_value_max == row["result_value_max"]
            # Python-side defaults the rows left out are filled in as the ORM fills them.
            assert (item.kind, item.description, item.mapped) == ("assignment", "", False)
            assert item.updated_at is not None and item.updated_at.tzinfo is not None
            assert item.district_id == district
        orm = stored[by_orm.id]
        assert (orm.kind, orm.mapped) == ("assignment", False)


def test_rows_belong_to_the_sessions_district_only(factory: sessionmaker[Session]) -> None:
    north, south = _district(factory, "north"), _district(factory, "south")
    with tenant_session(factory, north) as session, session.begin():
        assert insert_rows(session, m.SourceItem, [_item(1)]) == []
    with tenant_session(factory, south) as session:
        assert session.scalars(select(m.SourceItem)).all() == []
    with tenant_session(factory, north) as session:
        assert [i.sourced_id for i in session.scalars(select(m.SourceItem))] == ["item-1"]
    with tenant_session(factory, north) as session, pytest.raises(ValueError, match="district"):
        insert_rows(session, m.SourceItem, [{**_item(2), "district_id": south}])


def test_a_refused_row_raises_what_the_orm_raises_and_keeps_nothing(
        factory: sessionmaker[Session]) -> None:
    district = _district(factory, "north")
    with tenant_session(factory, district) as session, session.begin():
        insert_rows(session, m.SourceItem, [_item(1)])
    with (pytest.raises(sqlalchemy_exc.IntegrityError),  # the natural key is taken
          tenant_session(factory, district) as session, session.begin()):
        insert_rows(session, m.SourceItem, [_item(2), _item(1)], ids=True)
    with tenant_session(factory, district) as session:
        assert [i.sourced_id for i in session.scalars(select(m.SourceItem))] == ["item-1"]


def test_a_nul_in_text_is_a_data_error_where_the_store_refuses_it(
        factory: sessionmaker[Session]) -> None:
    district = _district(factory, "north")
    row = _item(1, title="Quiz\x00one")
    if factory.kw["bind"].dialect.name == "postgresql":
        with (pytest.raises(sqlalchemy_exc.DataError),
              tenant_session(factory, district) as session, session.begin()):
            insert_rows(session, m.SourceItem, [row])
        return
    with tenant_session(factory, district) as session, session.begin():  # SQLite keeps it whole
        insert_rows(session, m.SourceItem, [row])
    with tenant_session(factory, district) as session:
        assert session.scalars(select(m.SourceItem.title)).one() == "Quiz\x00one"
