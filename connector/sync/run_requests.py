"""Runs asked for by a person ("run now"): queued in the run history, started by the scheduler.

A web request must not run a sync: it would hold a worker for minutes, die with
the request's timeout, and escape the scheduler's one-run-per-job order and its
stop signal. So "run now" writes a ``queued`` run and answers at once with its id;
the district's scheduler picks queued runs up between its own and runs each as
that same run, so the id the person holds is the run's, stages and all. Asking
again while one is queued gives the same run: two clicks are one run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import Settings
from connector.errors import NotFoundError
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.persistence.tenancy import tenant_session
from connector.sync import audit
from connector.sync.report import QUEUED


def request_run(session: Session, settings: Settings, job: str, *, by: str,
                now: datetime | None = None) -> tuple[int, bool]:
    """The queued run of ``job`` (made now, audited), and whether it was made by this call."""
    if job not in settings.jobs:
        raise NotFoundError(f"no job {job[:80]!r}; the jobs are {', '.join(settings.jobs)}")
    waiting = session.scalars(select(m.SyncRun.id).where(
        m.SyncRun.job == job, m.SyncRun.status == QUEUED).order_by(m.SyncRun.id)).first()
    if waiting is not None:
        return waiting, False
    now = now or utcnow()
    run = m.SyncRun(job=job, status=QUEUED, started_at=now, config_version=settings.version,
                    message=f"queued by {by[:200]}: the scheduler starts it")
    session.add(run)
    session.flush()
    audit.record(session, at=now, actor=by, action="job.run_now", subject=f"job:{job}",
                 after={"run_id": run.id, "status": QUEUED})
    return run.id, True


def queued_runs(factory: sessionmaker[Session], district_id: int) -> list[tuple[int, str]]:
    """(run id, job) of every queued run, oldest first."""
    with tenant_session(factory, district_id) as session:
        return [(run_id, job) for run_id, job in session.execute(
            select(m.SyncRun.id, m.SyncRun.job).where(m.SyncRun.status == QUEUED)
            .order_by(m.SyncRun.id))]


def refuse(factory: sessionmaker[Session], district_id: int, run_id: int, reason: str) -> None:
    """A queued run that cannot start (its job is gone) ends as failed, saying why."""
    with tenant_session(factory, district_id) as session, session.begin():
        run = session.get(m.SyncRun, run_id)
        if run is not None and run.status == QUEUED:
            run.status, run.finished_at, run.message = "failed", utcnow(), reason[:4000]
