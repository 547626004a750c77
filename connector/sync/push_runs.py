"""A push or restore run's bookkeeping: its report, its row, its lock and who ran it.

Every push and restore is a ``push_run`` row opened before anything is sent and closed
with its counts; audit rows hang from it in order (``seq``). One runs at a time per
destination, under a lock held across processes.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.persistence import models as m
from connector.persistence.locks import exclusive
from connector.persistence.models import utcnow
from connector.persistence.tenancy import tenant_session

log = logging.getLogger(__name__)


@dataclass
class Problem:
    key: str
    label: str
    status: str  # rejected | mismatch | failed
    http_status: int | None
    message: str


@dataclass
class PushReport:
    run_id: int
    destination: str
    kind: str
    status: str = "running"
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "destination": self.destination, "kind": self.kind,
                "status": self.status, "counts": self.counts, "message": self.message,
                "problems": [p.__dict__ for p in self.problems]}


@contextmanager
def one_at_a_time(factory: sessionmaker[Session], district_id: int,
                   destination: str) -> Iterator[None]:
    """One push or restore per destination: two at once would each plan without the other."""
    engine = factory.kw["bind"]
    with exclusive(engine, f"push:{district_id}:{destination}",
                   f"a push or restore for destination {destination!r}"):
        yield


def open_run(factory: sessionmaker[Session], district_id: int, destination: str, kind: str,
              actor: str | None, *, restores: int | None = None,
              sync_run_id: int | None = None) -> PushReport:
    with tenant_session(factory, district_id) as session, session.begin():
        # We hold the destination's lock, so a run still marked running had its process
        # killed: say so, so the audit reads truthfully.
        for stale in session.scalars(select(m.PushRun).where(
                m.PushRun.destination == destination, m.PushRun.status == "running")):
            stale.status = "interrupted"
            stale.message = "the process stopped before the run finished; see its audit rows"
        row = m.PushRun(destination=destination, kind=kind, actor=actor or cli_actor(),
                        restores_run_id=restores, sync_run_id=sync_run_id)
        session.add(row)
        session.flush()
        return PushReport(row.id, destination, kind)


def close_run(factory: sessionmaker[Session], district_id: int,
               report: PushReport) -> PushReport:
    if report.status == "running":
        report.status = "completed_with_errors" if report.problems else "completed"
    with tenant_session(factory, district_id) as session, session.begin():
        row = session.get(m.PushRun, report.run_id)
        assert row is not None
        row.status, row.counts, row.message = report.status, dict(report.counts), report.message
        row.finished_at = utcnow()
    log.info("push run %s (%s %s): %s %s", report.run_id, report.kind, report.destination,
             report.status, report.counts)
    return report


def cli_actor() -> str:
    """Who a command-line push is by: the login name."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def next_seq(session: Session, run_id: int) -> int:
    last = session.scalars(select(m.PushAudit.seq).where(m.PushAudit.run_id == run_id)
                           .order_by(m.PushAudit.seq.desc()).limit(1)).first()
    return 0 if last is None else last + 1
