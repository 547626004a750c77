"""Named locks that end with the process holding them.

A ``push_run`` row saying "running" cannot tell a push in progress from one whose
process was killed. A lock released by the database (a PostgreSQL session
advisory lock) or by the operating system (``flock`` on a file beside the SQLite
database) when its holder's connection or process goes away can: while it is
held, the work is really in progress; once it can be taken, any "running" row
left behind is an interrupted run.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from connector.errors import BusyError


@contextmanager
def exclusive(engine: Engine, name: str, what: str) -> Iterator[None]:
    """Hold the lock ``name`` for the block; :class:`BusyError` at once if another holds it.

    ``what`` names the work for the message ("a push to 'sis-api'"). Never waits:
    a second push queued behind a long one would run on a plan made before it.
    """
    digest = hashlib.sha256(name.encode()).digest()
    if engine.dialect.name == "postgresql":
        key = int.from_bytes(digest[:8], "big", signed=True)
        with engine.connect() as connection:
            if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                      {"key": key}).scalar():
                raise BusyError(_busy(what))
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield  # an in-memory database is private to this process: nothing to share
        return
    path = Path(database).with_name(f"{Path(database).name}.{digest[:8].hex()}.lock")
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(_busy(what)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)  # the file stays: removing it would let two holders race


def _busy(what: str) -> str:
    return f"{what} is already running in another process; wait for it to finish, then run again"


def serialize_transaction(session: Session, name: str) -> None:
    """Make transactions that call this with ``name`` commit one after another.

    On PostgreSQL a transaction-scoped advisory lock, held until commit: rows one
    such transaction inserts get ids above every row committed before it, so a
    reader that remembers "after id N" never steps over a row still in flight.
    SQLite already serializes writers, and ids follow commit order.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        digest = hashlib.sha256(name.encode()).digest()
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": int.from_bytes(digest[:8], "big", signed=True)})
