"""Putting a push run's before-images back, newest write first.

A restore reads each record, writes its before-image only where the record differs
from it, and reads it back; the ledger then says the record must be planned again.
A later push that changed the same records must be restored first, unless forced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.destinations.records import Answer, RecordClient, RemoteRecord, matches
from connector.config.model import Settings
from connector.errors import ConfigurationError, ConnectorError
from connector.persistence import models as m
from connector.persistence.models import PushStatus
from connector.persistence.tenancy import tenant_session
from connector.sync.push_plan import record_destination
from connector.sync.push_runs import (
    Problem,
    PushReport,
    close_run,
    next_seq,
    one_at_a_time,
    open_run,
)
from connector.sync.push_verify import guard, strip

BATCH = 200
#: A digest no wanted record has: after a restore, the next plan shows an update.
RESTORED = "restored"


def restore(factory: sessionmaker[Session], district_id: int, settings: Settings, run_id: int,
            *, actor: str | None = None, force: bool = False) -> PushReport:
    """Put back the before-images of one push run, newest write first."""
    with tenant_session(factory, district_id) as session:
        target = session.get(m.PushRun, run_id)
        if target is None:
            raise ConfigurationError(f"no push run {run_id} in this district")
        destination = target.destination
    with one_at_a_time(factory, district_id, destination):
        return _restore(factory, district_id, settings, run_id, actor=actor, force=force)


def _restore(factory: sessionmaker[Session], district_id: int, settings: Settings, run_id: int,
             *, actor: str | None, force: bool) -> PushReport:
    with tenant_session(factory, district_id) as session:
        target = session.get(m.PushRun, run_id)
        assert target is not None
        rows = list(session.scalars(select(m.PushAudit).where(
            m.PushAudit.run_id == run_id,
            m.PushAudit.status.in_((PushStatus.OK, PushStatus.PENDING, PushStatus.MISMATCH,
                                    PushStatus.FAILED)))
            .order_by(m.PushAudit.seq.desc())))
        keys = {r.record_key for r in rows}
        # Later pushes that changed the same records and have not been restored themselves.
        restored = set(session.scalars(select(m.PushRun.restores_run_id).where(
            m.PushRun.kind == "restore", m.PushRun.restores_run_id.is_not(None))))
        later = sorted({rid for rid, k in session.execute(
            select(m.PushAudit.run_id, m.PushAudit.record_key)
            .join(m.PushRun, m.PushRun.id == m.PushAudit.run_id)
            .where(m.PushRun.destination == target.destination, m.PushRun.id > run_id,
                   m.PushRun.kind == "push", m.PushAudit.status != PushStatus.REJECTED))
            if k in keys and rid not in restored})
        destination = target.destination
    if later and not force:
        raise ConfigurationError(
            f"push runs {', '.join(map(str, later))} changed records this run also changed; "
            f"restore those first (newest first), or pass --force to put back run {run_id}'s "
            f"before-images over them")
    adapter = record_destination(settings, destination)
    report = open_run(factory, district_id, destination, "restore", actor, restores=run_id)
    report.counts = {"restored": 0, "deleted": 0, "unchanged": 0, "failed": 0}
    # One before-image per key: the earliest one, i.e. the state before this run.
    firsts: dict[str, m.PushAudit] = {}
    for row in rows:
        firsts[row.record_key] = row
    todo = sorted(firsts.values(), key=lambda r: -r.seq)
    try:
        with adapter.connect() as client:
            for offset in range(0, len(todo), BATCH):
                _restore_batch(factory, district_id, report, client, todo[offset:offset + BATCH],
                               adapter.server_fields)
    except ConnectorError as exc:
        report.status, report.message = "failed", str(exc)
    return close_run(factory, district_id, report)


def _restore_batch(factory: sessionmaker[Session], district_id: int, report: PushReport,
                   client: RecordClient, rows: list[m.PushAudit],
                   ignore: frozenset[str]) -> None:
    done = [(row, *_restore_one(client, row, ignore)) for row in rows]
    with tenant_session(factory, district_id) as session, session.begin():
        seq = next_seq(session, report.run_id)
        for offset, (row, status, answer, was, after) in enumerate(done):
            report.counts[status] += 1
            session.add(m.PushAudit(
                run_id=report.run_id, seq=seq + offset, resource=row.resource,
                record_key=row.record_key, remote_id=row.remote_id, action="restore",
                before=dict(was) if was is not None else None,
                sent=dict(row.before) if row.before is not None else None,
                after=dict(after) if after is not None else None,
                status=PushStatus.OK if status != "failed" else PushStatus.FAILED,
                http_status=answer.status if answer else None,
                message=(answer.message if answer else "")[:2000]))
            if status == "failed":
                report.problems.append(Problem(row.record_key, "", "failed",
                                               answer.status if answer else None,
                                               answer.message if answer else "no answer"))
                continue
            if row.before is None:
                session.execute(delete(m.PushLedger).where(
                    m.PushLedger.destination == report.destination,
                    m.PushLedger.record_key == row.record_key))
            else:
                for entry in session.scalars(select(m.PushLedger).where(
                        m.PushLedger.destination == report.destination,
                        m.PushLedger.record_key == row.record_key)):
                    entry.payload_hash = RESTORED


def _restore_one(client: RecordClient, row: m.PushAudit, ignore: frozenset[str]
                 ) -> tuple[str, Answer | None, Mapping[str, Any] | None,
                            Mapping[str, Any] | None]:
    """Put one before-image back: (outcome, answer, state found, state left)."""
    probe = RemoteRecord(row.resource, row.record_key, row.remote_id, row.sent or {}, 0)
    current = guard(lambda: client.read(probe))
    if current is None or not current.ok:
        return "failed", current, None, None
    if row.before is None:
        if current.body is None:
            return "unchanged", current, None, None
        answer = guard(lambda: client.delete(row.resource, row.remote_id))
        check = guard(lambda: client.read(probe))
        gone = answer is not None and answer.ok and check is not None and check.body is None
        return ("deleted" if gone else "failed"), answer, current.body, (
            check.body if check else None)
    before = strip(row.before, ignore)
    if matches(before, current.body, ignore):
        return "unchanged", current, current.body, current.body
    image = dict(row.before)  # as read: the client leaves out what its API will not take
    answer = guard(lambda: client.put_back(row.resource, row.remote_id, image))
    check = guard(lambda: client.read(probe))
    after = check.body if check is not None and check.ok else None
    same = answer is not None and answer.ok and matches(before, after, ignore)
    return ("restored" if same else "failed"), answer, current.body, after
