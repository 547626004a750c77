"""Evidence in and mastery records out as columns, fast enough for a whole district.

Reading ten million rows one Python tuple at a time takes longer than computing
them. So the batch path reads columns:

- SQLite: through Arrow's SQLite driver in a helper process
  (:mod:`connector.persistence.evidence_reader`), read ahead while this process
  computes. It sees committed data only, so callers ask for it only when the
  evidence they read is committed (the sync's mastery step runs after the
  evidence step has committed); otherwise the session's connection is used,
  slower but inside the caller's transaction.
- PostgreSQL: ``COPY (SELECT ...) TO STDOUT`` on the session's own connection,
  parsed by Arrow's CSV reader.

Records are written on the session's connection in its transaction: SQLite
``executemany`` of prepared tuples, PostgreSQL ``COPY ... FROM STDIN``. Every
statement here names the district explicitly: raw SQL does not pass through the
ORM's tenancy guard.
"""

from __future__ import annotations

import io
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Engine, bindparam, text
from sqlalchemy.orm import Session

from connector.mastery import batch
from connector.mastery.record import RECORD_BOOKKEEPING, RECORD_FIELDS, RECORD_KEYS
from connector.persistence.batch_text import RecordText, sql_datetime

Array = np.ndarray[Any, Any]
Pair = tuple[int, int]
SHIFT = batch.SHIFT  # pair code = student id * SHIFT + competency id

_COLUMNS = ("id", "student_id", "competency_id", "value", "observed_at", "submitted_at",
            "due_at", "dok", "evidence_type", "weight", "content_hash", "key")


def _select(where: str, postgres: bool, source: str = "evidence e") -> str:
    def moment(column: str) -> str:
        return (f"CAST(EXTRACT(EPOCH FROM e.{column}) * 1000000 AS BIGINT)" if postgres
                else f"e.{column}")
    return (f"SELECT e.id, e.student_id, e.competency_id, e.value, {moment('observed_at')},"
            f" {moment('submitted_at')}, {moment('due_at')}, COALESCE(e.dok, 0) AS dok,"
            " e.evidence_type, e.weight, e.content_hash,"
            " r.source_system || ':' || r.sourced_id AS key"
            f" FROM {source} JOIN raw_score r ON r.id = e.raw_score_id"
            f" WHERE {where}")


def read_pairs(session: Session, district_id: int, pairs: Sequence[Pair]) -> pa.Table | None:
    """The evidence of these pairs, read in the session (inside its transaction).

    The pairs drive the join (``CROSS JOIN`` keeps that order in SQLite), so each is
    one lookup in the (student, competency) index rather than a scan of the district.
    """
    values = ",".join(f"({int(s)},{int(c)})" for s, c in pairs)
    postgres = session.get_bind().dialect.name == "postgresql"
    select = _select(f"e.student_id = wanted.s AND e.competency_id = wanted.c"
                     f" AND e.district_id = {int(district_id)}", postgres,
                     source="wanted CROSS JOIN evidence e")
    return _read_in_session(session, f"WITH wanted(s, c) AS (VALUES {values}) {select}")


def read_ranges(session: Session, district_id: int, ranges: Sequence[tuple[int, int]], *,
                committed: bool) -> Iterator[pa.Table]:
    """The evidence of each range of student ids, one table per range, in order."""
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    database = bind.url.database
    if bind.dialect.name == "sqlite" and committed and database and database != ":memory:":
        yield from _helper(database, district_id, ranges)
        return
    postgres = bind.dialect.name == "postgresql"
    for first, last in ranges:
        # "+e.district_id": SQLite must range over the student index, not scan the district's.
        where = (f"+e.district_id = {int(district_id)} AND e.student_id BETWEEN {int(first)}"
                 f" AND {int(last)}")
        table = _read_in_session(session, _select(where, postgres))
        if table is not None:
            yield table


def _read_in_session(session: Session, select: str) -> pa.Table | None:
    if session.get_bind().dialect.name == "postgresql":
        return _read_copy(session, select)
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        rows = cursor.execute(select).fetchall()
    finally:
        cursor.close()
    if not rows:
        return None
    cols = list(zip(*rows, strict=True))
    return pa.table({name: pa.array(col, type=pa.string())
                     if name in ("observed_at", "submitted_at", "due_at") else pa.array(col)
                     for name, col in zip(_COLUMNS, cols, strict=True)})


def _helper(database: str, district_id: int, ranges: Sequence[tuple[int, int]]
            ) -> Iterator[pa.Table]:
    """Tables streamed by the reader process, read ahead on a thread while the caller works."""
    process = subprocess.Popen(
        [sys.executable, "-m", "connector.persistence.evidence_reader", database, str(district_id),
         json.dumps([list(r) for r in ranges])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ahead: queue.Queue[pa.Table | BaseException | None] = queue.Queue(maxsize=2)

    def pump() -> None:
        try:
            assert process.stdout is not None
            for batch in pa.ipc.open_stream(process.stdout):
                ahead.put(pa.Table.from_batches([batch]))
        except BaseException as exc:  # handed to the caller, which raises it
            ahead.put(exc)
        finally:
            ahead.put(None)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    complete = False
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            if item.num_rows:
                yield item
        complete = True
    finally:
        if process.stdout is not None:
            process.stdout.close()  # a reader stopped early gets a broken pipe and exits
        error = b""
        if process.stderr is not None:
            error = process.stderr.read()
            process.stderr.close()
        code = process.wait()
        thread.join(timeout=60)
        if complete and code != 0:
            message = error.decode(errors="replace")[-2000:]
            raise RuntimeError(f"the evidence reader process failed: {message}")


def _read_copy(session: Session, select: str) -> pa.Table | None:
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    buffer = io.BytesIO()
    with raw.cursor() as cursor, cursor.copy(  # type: ignore[attr-defined]
            f"COPY ({select}) TO STDOUT WITH (FORMAT csv)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    if not buffer.tell():
        return None
    buffer.seek(0)
    types = {"id": pa.int64(), "student_id": pa.int64(), "competency_id": pa.int64(),
             "value": pa.float64(), "observed_at": pa.int64(), "submitted_at": pa.int64(),
             "due_at": pa.int64(), "dok": pa.int64(), "evidence_type": pa.string(),
             "weight": pa.float64(), "content_hash": pa.string(), "key": pa.string()}
    return pacsv.read_csv(buffer, read_options=pacsv.ReadOptions(column_names=list(_COLUMNS)),
                          convert_options=pacsv.ConvertOptions(column_types=types))


class LazyKeys:
    """Natural keys fetched only for the rows that need them (rows tied on every date)."""

    def __init__(self, session: Session, district_id: int, evidence_ids: Array) -> None:
        self.session, self.district_id, self.evidence_ids = session, district_id, evidence_ids

    def __len__(self) -> int:
        return len(self.evidence_ids)

    def take(self, rows: Array) -> LazyKeys:
        return LazyKeys(self.session, self.district_id, self.evidence_ids[rows])

    def to_pylist(self) -> list[str]:
        ids = [int(i) for i in self.evidence_ids.tolist()]
        found: dict[int, str] = {}
        statement = text(
            "SELECT e.id, r.source_system || ':' || r.sourced_id FROM evidence e"
            " JOIN raw_score r ON r.id = e.raw_score_id"
            " WHERE e.district_id = :district AND e.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        for start in range(0, len(ids), 5000):
            found.update((eid, key) for eid, key in self.session.execute(
                statement, {"district": self.district_id, "ids": ids[start:start + 5000]}))
        return [found[i] for i in ids]


def columns(table: pa.Table, session: Session, district_id: int
            ) -> tuple[batch.Columns, Array, Array]:
    """Engine columns, each row's competency, and each row's digest word."""
    def numbers(name: str, kind: Any) -> Array:
        return np.asarray(table.column(name).to_numpy(), dtype=kind)

    def micros(name: str, fallback: Array | None = None) -> Array:
        column = table.column(name)
        if not pa.types.is_integer(column.type):
            blank = pc.equal(column, "")
            column = pc.if_else(blank, pa.scalar(None, pa.string()), column)
            column = pc.cast(pc.cast(column, pa.timestamp("us")), pa.int64())
        if fallback is None:
            return np.asarray(column.to_numpy(), dtype=np.int64)
        filled = np.asarray(pc.fill_null(column, 0).to_numpy(), dtype=np.int64)
        missing = np.asarray(column.is_null().to_numpy(zero_copy_only=False))
        return np.where(missing, fallback, filled).astype(np.int64)

    student = numbers("student_id", np.int64)
    competency = numbers("competency_id", np.int64)
    assessed = micros("observed_at")
    ids = numbers("id", np.int64)
    kinds = pc.index_in(table.column("evidence_type"), value_set=pa.array(batch.TYPE_CODES))
    keys: Any = (np.asarray(table.column("key").to_pylist(), dtype=object)
                 if "key" in table.column_names else LazyKeys(session, district_id, ids))
    cols = batch.Columns(
        pair=student * SHIFT + competency, evidence_id=ids,
        value=numbers("value", float), assessed=assessed,
        submitted=micros("submitted_at", assessed), due=micros("due_at", assessed), key=keys,
        dok=np.asarray(pc.fill_null(table.column("dok"), 0).to_numpy(), dtype=np.int64),
        kind=np.asarray(kinds.to_numpy(zero_copy_only=False), dtype=np.int64),
        weight=numbers("weight", float))
    return cols, competency, _words(table.column("content_hash"))


def _words(hashes: pa.ChunkedArray) -> Array:
    """Digest words from the hex content hashes (their first 16 characters).

    Straight from Arrow's buffers when every value is exactly 16 characters long (as
    the reader process sends them), else through Python strings.
    """
    heads = pc.utf8_slice_codeunits(hashes, 0, 16)
    out = []
    for chunk in heads.chunks:
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[
            chunk.offset:chunk.offset + len(chunk) + 1]
        if len(chunk) and chunk.null_count == 0 and np.all(np.diff(offsets) == 16):
            data = np.frombuffer(chunk.buffers()[2], dtype="S16", count=len(chunk),
                                 offset=int(offsets[0]))
            out.append(batch.words(data))
        elif len(chunk):
            out.append(batch.words(np.asarray(chunk.to_pylist())))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.uint64)


def existing(session: Session, district_id: int, students: Sequence[int],
             pairs: Sequence[Pair] | None = None) -> dict[Pair, tuple[int, str]]:
    """(record id, input digest) of the records of these students, or only of these pairs."""
    found: dict[Pair, tuple[int, str]] = {}
    if pairs is not None:
        for start in range(0, len(pairs), 5000):
            values = ",".join(f"({int(s)},{int(c)})" for s, c in pairs[start:start + 5000])
            rows = session.execute(text(
                f"WITH wanted(s, c) AS (VALUES {values}) SELECT m.id, m.student_id,"
                " m.competency_id, m.input_hash FROM wanted CROSS JOIN mastery_record m"
                " WHERE m.student_id = wanted.s AND m.competency_id = wanted.c"
                " AND m.district_id = :district"), {"district": district_id})
            found.update(((s, c), (rid, digest)) for rid, s, c, digest in rows)
        return found
    statement = text(
        "SELECT id, student_id, competency_id, input_hash FROM mastery_record"
        " WHERE district_id = :district AND student_id IN :students"
    ).bindparams(bindparam("students", expanding=True))
    ids = list(students)
    for start in range(0, len(ids), 5000):
        for rid, s, c, digest in session.execute(
                statement, {"district": district_id, "students": ids[start:start + 5000]}):
            found[(s, c)] = (rid, digest)
    return found


def driver_rows(session: Session, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a raw SELECT from the driver's cursor, in the session's transaction.

    The ORM builds an object per row and a type conversion per value; over a district's
    records that is most of a report's time. ``sql`` marks parameters with ``?``, turned
    into the driver's own marks, and must name the district itself: raw SQL does not
    pass through the tenancy guard.
    """
    session.flush()  # the driver sees only what the session has written
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    if session.get_bind().dialect.name != "sqlite":
        sql = sql.replace("%", "%%").replace("?", "%s")
    cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def utc_moments() -> Callable[[Any], datetime | None]:
    """A reader of the driver's timestamps as aware UTC datetimes, each distinct value once.

    SQLite hands back the stored text (UTC, no offset), PostgreSQL an aware datetime.
    A district's records share few distinct moments (a class is assessed on the same
    days), so each is converted once.
    """
    seen: dict[Any, datetime | None] = {None: None}

    def moment(value: Any) -> datetime | None:
        if value in seen:
            return seen[value]
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        utc = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        seen[value] = utc
        return utc
    return moment


RECORD_COLUMNS = (*RECORD_KEYS, *RECORD_FIELDS, *RECORD_BOOKKEEPING)


def record_rows(district_id: int, method: str, policy_version: str, engine_version: str,
                records: RecordText, keep: Array, digests: Sequence[str], now: str,
                postgres: bool) -> list[tuple[Any, ...]]:
    """The rows to insert for the pairs where ``keep`` is true, in RECORD_COLUMNS order."""
    def moments(micros: Array) -> list[str | None]:
        shown = (sql_datetime(micros).tolist() if not postgres else
                 [None if t is None else t.replace(" ", "T") + "+00:00"
                  for t in sql_datetime(micros).tolist()])
        return [None if m < 0 else t for m, t in zip(micros.tolist(), shown, strict=True)]
    chosen = np.flatnonzero(keep)
    everything = len(chosen) == len(keep)

    def pick(values: Sequence[Any]) -> Sequence[Any]:
        return values if everything else [values[i] for i in chosen.tolist()]

    def moments_of(micros: Array) -> list[str | None]:
        return moments(micros if everything else micros[chosen])
    pairs = records.pairs[chosen]
    state, code, score = pick(records.state), pick(records.level_code), pick(records.score)
    n = len(chosen)
    return list(zip([district_id] * n, (pairs // SHIFT).tolist(), (pairs % SHIFT).tolist(),
                    state, code, pick(records.level_label), score, pick(records.proficient),
                    state, code, score, [None] * n, [method] * n, [records.parameters] * n,
                    pick(records.inputs), pick(records.decisions), pick(records.evidence_count),
                    pick(records.highest_dok), [engine_version] * n, [policy_version] * n,
                    moments_of(records.first), moments_of(records.since),
                    moments_of(records.achieved), [now] * n, pick(digests), strict=True))


def write(session: Session, district_id: int, rows: list[tuple[Any, ...]],
          replaced: Sequence[int]) -> None:
    """Insert these records, after deleting the ones they replace, in the session's transaction."""
    connection = session.connection()
    for start in range(0, len(replaced), 5000):
        connection.execute(text(
            "DELETE FROM mastery_record WHERE district_id = :district AND id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
            {"district": district_id, "ids": list(replaced[start:start + 5000])})
    if not rows:
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    names = ", ".join(RECORD_COLUMNS)
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(  # type: ignore[attr-defined]
                f"COPY mastery_record ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in RECORD_COLUMNS)
    cursor = raw.cursor()
    try:
        cursor.executemany(f"INSERT INTO mastery_record ({names}) VALUES ({marks})", rows)
    finally:
        cursor.close()
