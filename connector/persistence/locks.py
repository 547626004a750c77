"""Named locks that end with the process holding them.

A ``push_run`` or ``sync_run`` row saying "running" cannot tell work in progress
from work whose process was killed. A lock released by the database (a
PostgreSQL session advisory lock) or by the operating system (``flock`` on a
file beside the SQLite database) when its holder's connection or process goes
away can: while it is held, the work is really in progress; once it can be
taken, any "running" row left behind belongs to a process that is gone.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from connector.errors import BusyError

#: Called while a lock is taken by someone else: sleep a little, then True to try again.
Waiter = Callable[[], bool]


class NamedLock:
    """One named lock, taken and given back explicitly (a scheduler holds one for hours).

    On PostgreSQL the lock lives in a connection of its own, so that the work
    done under it can use any connection; on SQLite it is a ``flock`` on a
    file beside the database. An in-memory SQLite database is private to its
    process, so there the lock always succeeds.
    """

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        digest = hashlib.sha256(name.encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)
        self._connection: Connection | None = None
        self._handle: int | None = None
        self._path: Path | None = None
        database = engine.url.database
        if engine.dialect.name == "sqlite" and database and database != ":memory:":
            self._path = Path(database).with_name(f"{Path(database).name}.{digest[:8].hex()}.lock")
        self.held = False

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            connection = self.engine.connect()
            taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                            {"key": self._key}).scalar())
            connection.commit()
            if not taken:
                connection.close()
                return False
            self._connection = connection
        elif self._path is not None:
            handle = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                return False
            self._handle = handle
        self.held = True
        return True

    def still_held(self) -> bool:
        """Whether the lock is still ours: a PostgreSQL connection that died took it along."""
        if not self.held:
            return False
        if self._connection is None:
            return True
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
        except SQLAlchemyError:
            self._drop_connection()
            self.held = False
            return False
        return True

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                         {"key": self._key})
                self._connection.commit()
            except SQLAlchemyError:
                pass  # the connection is gone, and the lock with it
            self._drop_connection()
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)  # the file stays: removing it would let two holders race
            self._handle = None

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with suppress(SQLAlchemyError):
                self._connection.close()
            self._connection = None


@contextmanager
def exclusive(engine: Engine, name: str, what: str, *, wait: Waiter | None = None) -> Iterator[None]:
    """Hold the lock ``name`` for the block.

    Without ``wait``, :class:`BusyError` at once if another holds it: a second push
    queued behind a long one would run on a plan made before it. With ``wait``,
    ``wait()`` is called between attempts until the lock is free or it returns
    False. ``what`` names the work for the message ("a push to 'sis-api'").
    """
    lock = NamedLock(engine, name)
    while not lock.try_acquire():
        if wait is None or not wait():
            raise BusyError(_busy(what))
    try:
        yield
    finally:
        lock.release()


def is_free(engine: Engine, name: str) -> bool:
    """Whether nobody holds ``name`` right now (taken and given back at once)."""
    lock = NamedLock(engine, name)
    if not lock.try_acquire():
        return False
    lock.release()
    return True


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
