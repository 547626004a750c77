"""One run per job at a time, and a final status for every run that ever started.

Two runs of one job at once would stage the same rows twice (the second fails
on a unique key) and could push a bundle made from the first run's half-written
state. So a run holds a lock named after its district and job for its whole
length (see :mod:`connector.persistence.locks`). The lock also tells a dead run
from a live one: a ``running`` row whose job lock is free belongs to a process
that was killed, and is closed as ``interrupted`` with that reason the next time
anyone looks (the next run of the job, ``runs list``, the scheduler's start).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.errors import BusyError
from connector.persistence import models as m
from connector.persistence.locks import NamedLock, Waiter, is_free
from connector.persistence.models import utcnow
from connector.persistence.tenancy import tenant_session
from connector.sync.report import INTERRUPTED

KILLED = ("the process running it stopped without finishing (killed, or the machine went down); "
          "nothing it did not commit was kept; the next run catches up")


def lock_name(district_id: int, job: str) -> str:
    return f"job:{district_id}:{job}"


@contextmanager
def one_run_of(factory: sessionmaker[Session], district_id: int, job: str, *,
               wait: Waiter | None = None) -> Iterator[None]:
    """Hold the job's lock for the block; :class:`BusyError` naming the live run if taken."""
    lock = NamedLock(factory.kw["bind"], lock_name(district_id, job))
    while not lock.try_acquire():
        if wait is None or not wait():
            raise BusyError(_busy_message(factory, district_id, job))
    try:
        close_dead_runs(factory, district_id, job, locked=True)
        yield
    finally:
        lock.release()


def close_dead_runs(factory: sessionmaker[Session], district_id: int, job: str | None = None,
                    *, locked: bool = False) -> list[int]:
    """Mark ``running`` rows whose process is gone as ``interrupted``; their ids.

    ``locked`` says the caller holds ``job``'s lock, so every running row of it is dead.
    Otherwise each job's lock is tried: a held one means its run is alive.
    """
    engine = factory.kw["bind"]
    with tenant_session(factory, district_id) as session, session.begin():
        query = select(m.SyncRun).where(m.SyncRun.status == "running")
        if job is not None:
            query = query.where(m.SyncRun.job == job)
        running = list(session.scalars(query))
        dead: list[int] = []
        alive: dict[str, bool] = {}
        for run in running:
            if not locked and run.job not in alive:
                alive[run.job] = not is_free(engine, lock_name(district_id, run.job))
            if not locked and alive[run.job]:
                continue
            run.status = INTERRUPTED
            run.finished_at = run.finished_at or utcnow()
            run.message = KILLED
            dead.append(run.id)
    return dead


def _busy_message(factory: sessionmaker[Session], district_id: int, job: str) -> str:
    with tenant_session(factory, district_id) as session:
        live = session.scalars(select(m.SyncRun).where(
            m.SyncRun.job == job, m.SyncRun.status == "running").order_by(
            m.SyncRun.id.desc())).first()
    which = (f" (run {live.id}, started {live.started_at.isoformat(timespec='seconds')})"
             if live is not None else "")
    return (f"job {job!r} is already running{which} in another process; this run was not "
            f"started. Wait for it to finish, or pass --wait to start when it does")
