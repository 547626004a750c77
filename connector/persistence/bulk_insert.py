"""Insert many rows of one tenant table as one set-based write, and hand back their ids.

The ORM's unit of work inserts a staged batch as multi-row ``INSERT ... VALUES``
statements. On PostgreSQL each of those is a statement of thousands of
placeholders that psycopg parses afresh on the client (a fifth of a 1,000-student
first sync went to that parsing alone), and every row becomes an ORM object first.
Here PostgreSQL gets ``COPY ... FROM STDIN``, with the ids taken from the table's
sequence beforehand when the caller needs them; SQLite gets one prepared
``executemany`` (``RETURNING`` the ids when asked), which is what it is fast at.

The values pass through each column's own bind processing and Python-side
defaults, so what is stored is what the ORM would have stored. The district is
stamped from the session, never taken from the rows: this is raw SQL, outside
the ORM's tenancy guard. A value the database refuses raises the same
SQLAlchemy ``DataError``/``IntegrityError`` the ORM would, so callers that reject
a refused record go on doing so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy import Column, insert, text
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from connector.persistence.tenancy import session_district

Row = Mapping[str, Any]


def insert_rows(session: Session, model: type[Any], rows: Sequence[Row], *,
                ids: bool = False) -> list[int]:
    """Insert ``rows`` into ``model``'s table in the session's transaction.

    Returns the new rows' ids in the order of ``rows`` when ``ids`` is true, else
    an empty list. Every row names the same columns; ``district_id`` is the
    session's and must not be given.
    """
    if not rows:
        return []
    district_id = session_district(session)
    table = model.__table__
    given = list(rows[0])
    if "district_id" in given or "id" in given:
        raise ValueError("insert_rows stamps district_id and takes ids; do not pass them")
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        stamped = [{**row, "district_id": district_id} for row in rows]
        if not ids:
            connection.execute(insert(table), stamped)
            return []
        result = connection.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), stamped)
        return [int(row_id) for (row_id,) in result]
    return _copy(connection, table, given, rows, district_id, ids)


def _copy(connection: Connection, table: Any, given: list[str], rows: Sequence[Row],
          district_id: int, ids: bool) -> list[int]:
    dialect = connection.dialect
    columns: list[Column[Any]] = [table.c[name] for name in given]
    defaulted = [c for c in table.columns
                 if c.key not in given and c.key not in ("id", "district_id")
                 and c.default is not None]
    defaults = [_default_of(c) for c in defaulted]
    processors = [_processor(c, dialect) for c in (*columns, *defaulted)]
    new_ids: list[int] = []
    if ids:
        new_ids = [int(row_id) for (row_id,) in connection.execute(text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id'))"
            " FROM generate_series(1, :count)"), {"table": table.name, "count": len(rows)})]
    quote = dialect.identifier_preparer.quote
    names = ["district_id", *(["id"] if ids else []),
             *(quote(c.name) for c in (*columns, *defaulted))]
    statement = f"COPY {quote(table.name)} ({', '.join(names)}) FROM STDIN"
    raw = connection.connection.dbapi_connection
    assert raw is not None
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            for index, row in enumerate(rows):
                values = [row[name] for name in given]
                values.extend(default() for default in defaults)
                processed = [value if process is None or value is None else process(value)
                             for value, process in zip(values, processors, strict=True)]
                copy.write_row((district_id, new_ids[index], *processed) if ids
                               else (district_id, *processed))
    except psycopg.errors.IntegrityError as exc:
        raise sqlalchemy_exc.IntegrityError(statement, None, exc) from exc
    except psycopg.errors.DataError as exc:  # a NUL in text, a number out of range
        raise sqlalchemy_exc.DataError(statement, None, exc) from exc
    return new_ids


def _default_of(column: Column[Any]) -> Callable[[], Any]:
    """The column's Python-side default as a function of nothing (COPY has no context)."""
    default: Any = column.default
    if default.is_scalar:
        value = default.arg
        return lambda: value
    if default.is_callable:
        return lambda: default.arg(None)
    raise ValueError(f"column {column.name} has a default COPY cannot compute")


def _processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How the ORM would turn a Python value into this column's bound parameter."""
    process: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process
