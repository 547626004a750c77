"""A helper process that reads a SQLite store's evidence as Arrow columns.

Run as ``python -m connector.persistence.evidence_reader DATABASE DISTRICT RANGES``: for
each ``[first, last]`` range of student ids (JSON) it writes one Arrow record
batch of that range's evidence to standard output (an Arrow IPC stream).

Why a process: Python's ``sqlite3`` builds a Python object per value, which for
ten million rows takes longer than everything else in a full recompute; Arrow's
SQLite driver (ADBC) fills columns directly. But ADBC carries its own copy of
SQLite, and two copies of SQLite in one process break each other's file locks
(SQLite's documentation warns of database corruption), so the reader runs apart,
like any other reader of the database. It sees committed data only, which is
why callers use it only for evidence they know is committed. It also reads
while the calling process computes and writes the previous range.
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: The columns read; dates stay text here and are parsed by Arrow in the caller.
SELECT = (
    "SELECT e.id, e.student_id, e.competency_id, CAST(e.value AS REAL), e.observed_at,"
    " COALESCE(e.submitted_at, ''), COALESCE(e.due_at, ''), COALESCE(e.dok, 0),"
    " e.evidence_type, CAST(e.weight AS REAL), substr(e.content_hash, 1, 16) FROM evidence e"
    # "+e.district_id": SQLite must range over the student index, not scan the district's.
    " WHERE +e.district_id = {district} AND e.student_id BETWEEN {first} AND {last}")
NAMES = ("id", "student_id", "competency_id", "value", "observed_at", "submitted_at", "due_at",
         "dok", "evidence_type", "weight", "content_hash")


def schema(pa: Any) -> Any:
    """The columns' Arrow types (a function: pyarrow is imported only in the helper)."""
    return pa.schema([("id", pa.int64()), ("student_id", pa.int64()),
                      ("competency_id", pa.int64()), ("value", pa.float64()),
                      ("observed_at", pa.string()), ("submitted_at", pa.string()),
                      ("due_at", pa.string()), ("dok", pa.int64()),
                      ("evidence_type", pa.string()), ("weight", pa.float64()),
                      ("content_hash", pa.string())])


def main(argv: list[str]) -> int:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow as pa

    database, district, ranges = argv[0], int(argv[1]), json.loads(argv[2])
    writer = None
    with adbc.connect(database) as connection, connection.cursor() as cursor:
        for first, last in ranges:
            cursor.execute(SELECT.format(district=district, first=int(first), last=int(last)))
            table = cursor.fetch_arrow_table().rename_columns(list(NAMES))
            # Every column has one SQL type above; an empty range still needs the right schema.
            table = table.cast(schema(pa)) if table.num_rows else schema(pa).empty_table()
            if writer is None:
                writer = pa.ipc.new_stream(sys.stdout.buffer, table.schema)
            writer.write_table(table.combine_chunks(), max_chunksize=None)
            sys.stdout.buffer.flush()
    if writer is not None:
        writer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
