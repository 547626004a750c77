"""Hand runs to workers, and what a worker does with a run it is handed.

With the ``celery`` backend the scheduler only decides when a run starts: it
writes the run as ``queued`` (as "run now" does) and sends its id to the broker.
A worker takes the message and runs the job as that run. The message is
acknowledged only when the task returns (``acks_late``), so a worker killed
mid-run leaves it unacknowledged and the broker gives it to another worker.

Why that redelivery repeats nothing (decision 0037):

- A run holds its job's lock for its whole length, so a second delivery of a live
  run waits (the task retries) instead of running twice.
- Every stage commits its writes in one transaction; a killed worker's stage is
  rolled back by the store. The run it left ``running`` is found dead when its
  lock is free, and resumed as the same run: its last status was not clean, so
  it rebuilds evidence and records from what was committed, as any run after a
  crash does. Re-running with the same inputs changes nothing.
- A delivery of a run that already ended (its acknowledgement was lost) finds it
  final and does nothing.

This module has no Celery in it: the worker task (:mod:`connector.jobs.workers`)
is a thin wrapper over :func:`execute`, which the tests drive directly too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.loader import load_settings
from connector.errors import BusyError
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.db import make_engine, make_session_factory
from connector.persistence.models import utcnow
from connector.persistence.tenancy import tenant_session
from connector.sync.district import ensure_district
from connector.sync.report import INTERRUPTED, QUEUED
from connector.sync.run_lock import close_dead_runs
from connector.sync.stop import NEVER, StopToken

log = logging.getLogger(__name__)

#: Sends one run to the workers: (district key, job key, run id).
Send = Callable[[str, str, int], None]

INLINE = "inline"
CELERY = "celery"
BACKENDS = (INLINE, CELERY)


class StillRunning(Exception):
    """The run is alive in another process; the task tries again later."""


@dataclass(frozen=True)
class Deployment:
    """Every district under one configuration root, in one store: what a worker serves.

    Settings are read for each run, so a worker picks up a configuration change
    at its next run without a restart, as the CLI does.
    """

    config_dir: Path
    database_url: str | None = None

    def factory(self) -> sessionmaker[Session]:
        return make_session_factory(make_engine(self.database_url))


def execute(factory: sessionmaker[Session], config_dir: Path, district: str, job: str,
            run_id: int, *, stop: StopToken = NEVER) -> dict[str, Any]:
    """Run ``job`` of ``district`` as run ``run_id``, or nothing if that run already ended.

    Raises :class:`StillRunning` when the run, or another run of the job, is alive
    in another process: the caller tries again later.
    """
    settings = load_settings(config_dir, district)
    district_id = ensure_district(factory, settings.district)
    close_dead_runs(factory, district_id, job)
    status = run_status(factory, district_id, run_id)
    if status is None:
        log.warning("run %s of %s is not in the run history; nothing to do", run_id, district)
        return {"run_id": run_id, "status": "missing"}
    if status == "running":
        raise StillRunning(f"run {run_id} is running in another process")
    if status not in (QUEUED, INTERRUPTED):
        log.info("run %s had already ended (%s); nothing to do", run_id, status)
        return {"run_id": run_id, "status": status, "repeated": True}
    try:
        report = definitions.run(factory, settings, job, stop=stop, run_id=run_id)
    except BusyError as exc:
        raise StillRunning(exc.message) from exc
    return {"run_id": report.run_id, "status": report.status, "changes": report.changes,
            "interrupted": report.interrupted}


def run_status(factory: sessionmaker[Session], district_id: int, run_id: int) -> str | None:
    with tenant_session(factory, district_id) as session:
        return session.scalar(select(m.SyncRun.status).where(m.SyncRun.id == run_id))


def unsent_runs(factory: sessionmaker[Session], district_id: int) -> list[tuple[int, str]]:
    """(run id, job) of every queued run not yet sent to the workers, oldest first."""
    with tenant_session(factory, district_id) as session:
        return [(run_id, job) for run_id, job, counts in session.execute(
            select(m.SyncRun.id, m.SyncRun.job, m.SyncRun.counts)
            .where(m.SyncRun.status == QUEUED).order_by(m.SyncRun.id))
            if not (counts or {}).get("sent_at")]


def mark_sent(factory: sessionmaker[Session], district_id: int, run_id: int,
              at: datetime | None = None) -> None:
    """Write down that the run went to the broker, so it is sent once."""
    with tenant_session(factory, district_id) as session, session.begin():
        run = session.get(m.SyncRun, run_id)
        if run is not None and run.status == QUEUED:
            run.counts = {**(run.counts or {}), "sent_at": (at or utcnow()).isoformat()}
            run.message = "queued: sent to the workers; the first free worker starts it"
