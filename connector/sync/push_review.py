"""Approving or discarding a held push, for file and API destinations alike.

``approve`` sends the held plan only if it is still the plan now: evidence that
arrived since would otherwise go out unreviewed. If the plan moved on, the new
plan is held in its place and the answer says which push run to review.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import Settings
from connector.errors import ConfigurationError
from connector.persistence.tenancy import tenant_session
from connector.sync import safe_push
from connector.sync.push import push_destination
from connector.sync.push_hold import HELD, decide, held_run


@dataclass(frozen=True)
class Decision:
    run_id: int
    destination: str
    status: str  # completed | held | discarded | failed
    message: str
    #: Set when the plan had changed and was held again under a new push run.
    held_again: int | None = None


def approve(factory: sessionmaker[Session], district_id: int, settings: Settings, run_id: int,
            *, actor: str) -> Decision:
    with tenant_session(factory, district_id) as session:
        destination = held_run(session, run_id).destination
    if destination not in settings.destinations:
        raise ConfigurationError(
            f"push run {run_id} was held for destination {destination!r}, which is no longer "
            f"configured; discard it")
    if safe_push.is_record_destination(settings, destination):
        report = safe_push.run(factory, district_id, settings, destination, actor=actor,
                               approving=run_id)
        if report.status == HELD:
            return _moved_on(run_id, destination, report.run_id)
        return Decision(run_id, destination, report.status,
                        f"sent as push run {report.run_id}: " +
                        ", ".join(f"{k} {v}" for k, v in report.counts.items() if v))
    with tenant_session(factory, district_id) as session, session.begin():
        row = held_run(session, run_id)
        result = push_destination(session, settings, settings.destinations[destination],
                                  settings.district.key, row.sync_run_id, approving=row,
                                  actor=actor)
    if result.held:
        return _moved_on(run_id, destination, int(result.held["push_run"]))
    return Decision(run_id, destination, "completed",
                    f"sent {result.written} results to {result.location or destination}")


def discard(factory: sessionmaker[Session], district_id: int, run_id: int, *, actor: str,
            reason: str) -> Decision:
    with tenant_session(factory, district_id) as session, session.begin():
        row = held_run(session, run_id)
        decide(row, "discarded", actor, reason or "discarded without a reason")
        destination = row.destination
    return Decision(run_id, destination, "discarded",
                    "nothing was sent; the next run plans again from the ledger, and holds "
                    "again if the plan is still beyond the limits")


def _moved_on(run_id: int, destination: str, new_run: int) -> Decision:
    return Decision(run_id, destination, HELD,
                    f"the plan changed since push run {run_id} was held (new evidence, or a "
                    f"configuration change), so nothing was sent; the current plan is held as "
                    f"push run {new_run}: review it, then approve that one", held_again=new_run)
