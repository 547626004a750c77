"""Sending a planned record push: before-images first, then the writes, then the ledger.

Each batch (one dependency level, parents first) goes through three steps, each its
own transaction or none:

1. :func:`_record_befores` reads every record's current state and commits it as a
   *pending* audit row, before anything is written;
2. :func:`_write_and_verify` sends the writes with bounded concurrency and reads each
   one back (:mod:`connector.sync.push_verify` judges it); nothing is committed;
3. :func:`_settle` updates the audit rows and the ledger together.

A kill after step 1 leaves pending rows, whose before-images a restore uses, and no
ledger entry, so the rerun plans those records again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.destinations.records import Answer, RecordClient, RecordDestination
from connector.errors import ConnectorError
from connector.persistence import models as m
from connector.persistence.models import PushStatus, utcnow
from connector.persistence.tenancy import tenant_session
from connector.sync.push_diff import Change, PushDiff
from connector.sync.push_runs import Problem, PushReport, close_run, next_seq, open_run
from connector.sync.push_verify import Outcome, addressed, body, guard, outcome, read_all
from connector.sync.report import Progress

#: Stop a run when this many writes in a row fail in transport (the SIS is down).
TRANSPORT_FAILURES_TO_STOP = 20
#: What a record's audit row says when its write got no answer.
NO_ANSWER = ("no answer from the destination: the write may or may not have happened; a "
             "rerun sends it again, a restore puts it back")


def send_changes(factory: sessionmaker[Session], district_id: int, adapter: RecordDestination,
                 changes: PushDiff, *, actor: str | None, sync_run_id: int | None,
                 progress: Progress | None = None) -> PushReport:
    """Send every change, batch by batch, in a push run of its own; the caller holds the lock."""
    report = open_run(factory, district_id, adapter.key, "push", actor, sync_run_id=sync_run_id)
    report.counts = {"create": 0, "update": 0, "delete": 0, "unchanged": changes.unchanged,
                     "rejected": 0, "mismatch": 0, "failed": 0, "skipped": len(changes.skipped)}
    workers, batch_size = adapter.settings.concurrency, adapter.settings.batch_size
    done = 0
    try:
        with adapter.connect() as client, ThreadPoolExecutor(max_workers=workers) as pool:
            for batch in batches(changes.changes, batch_size):
                pending = _record_befores(factory, district_id, report, batch,
                                          read_all(client, pool, [addressed(c) for c in batch]))
                outcomes = _write_and_verify(client, pool, pending, adapter.server_fields)
                failures = _settle(factory, district_id, report, pending, outcomes,
                                   location=adapter.location)
                done += len(batch)
                if progress is not None:
                    progress(f"push {adapter.key} ({len(changes.changes)} changes)", done)
                if failures == len(batch) and failures >= min(TRANSPORT_FAILURES_TO_STOP,
                                                               len(batch)):
                    report.message = (f"stopped: {failures} writes in a row could not reach "
                                      f"{adapter.key}; rerun when it answers again")
                    report.status = "failed"
                    break
    except ConnectorError as exc:
        report.status, report.message = "failed", str(exc)
    return close_run(factory, district_id, report)


def batches(changes: Sequence[Change], size: int) -> Iterator[list[Change]]:
    """Batches that never mix dependency levels, so a parent is written before its children."""
    batch: list[Change] = []
    for change in changes:
        if batch and (len(batch) >= size or (batch[-1].order, batch[-1].action == "delete")
                      != (change.order, change.action == "delete")):
            yield batch
            batch = []
        batch.append(change)
    if batch:
        yield batch


@dataclass(frozen=True)
class _Pending:
    """A change whose before-image is committed: its audit row, and whether it may be sent."""

    change: Change
    before: Answer | None
    audit_id: int

    @property
    def readable(self) -> bool:
        """The record could be read first; a change that could not is never sent."""
        return self.before is not None and self.before.ok


def _record_befores(factory: sessionmaker[Session], district_id: int, report: PushReport,
                    batch: list[Change], befores: list[Answer | None]) -> list[_Pending]:
    """Step 1: each record's current state, committed as a pending audit row."""
    with tenant_session(factory, district_id) as session, session.begin():
        seq = next_seq(session, report.run_id)
        audits = []
        for offset, (change, before) in enumerate(zip(batch, befores, strict=True)):
            audit = m.PushAudit(
                run_id=report.run_id, seq=seq + offset, resource=change.resource,
                record_key=change.key, remote_id=change.remote_id, action=change.action,
                before=body(before), sent=dict(change.record.body) if change.record else None,
                status=PushStatus.PENDING)
            if before is None or not before.ok:
                audit.status = PushStatus.FAILED
                audit.message = before.message if before else "could not read the record"
            session.add(audit)
            audits.append(audit)
        session.flush()
        return [_Pending(change, before, audit.id)
                for change, before, audit in zip(batch, befores, audits, strict=True)]


def _write_and_verify(client: RecordClient, pool: ThreadPoolExecutor, pending: list[_Pending],
                      ignore: frozenset[str]) -> list[Outcome]:
    """Step 2: send what may be sent, read each write back, and judge it."""
    def write_one(item: _Pending) -> Answer | None:
        if not item.readable:
            return None
        change = item.change
        if change.action == "delete":
            return guard(lambda: client.delete(change.resource, change.remote_id))
        record = change.record
        assert record is not None
        return guard(lambda: client.write(record))

    answers = list(pool.map(write_one, pending))
    written = [i for i, answer in enumerate(answers) if answer is not None and answer.ok]
    read_back = read_all(client, pool, [addressed(pending[i].change) for i in written])
    checks = dict(zip(written, read_back, strict=True))
    return [outcome(item.change, answers[i], checks.get(i), ignore)
            for i, item in enumerate(pending)]


def _settle(factory: sessionmaker[Session], district_id: int, report: PushReport,
            pending: list[_Pending], outcomes: list[Outcome], *, location: str) -> int:
    """Step 3: audit rows and ledger in one transaction; how many writes got no answer."""
    transport = 0
    with tenant_session(factory, district_id) as session, session.begin():
        entries = {row.record_key: row for row in session.scalars(select(m.PushLedger).where(
            m.PushLedger.destination == report.destination,
            m.PushLedger.record_key.in_([p.change.key for p in pending])))}
        now = utcnow()
        updates: list[dict[str, Any]] = []
        for item, result in zip(pending, outcomes, strict=True):
            change = item.change
            transport += int(result.transport)
            row, message = _audit_update(item, result)
            updates.append(row)
            if result.status != PushStatus.OK:
                if not item.readable:
                    message = (item.before.message if item.before is not None else "") or (
                        "could not read the record before writing it")
                report.counts[result.status] += 1
                report.problems.append(Problem(change.key, change.label, result.status,
                                               row["http_status"], message))
                continue
            report.counts[change.action] += 1
            entry = entries.get(change.key)
            if change.action == "delete":
                if entry is not None:
                    session.delete(entry)
                continue
            assert change.record is not None
            if entry is None:
                entry = m.PushLedger(destination=report.destination, record_key=change.key)
                session.add(entry)
            entry.payload_hash = change.record.digest
            entry.status = "sent"
            entry.pushed_at = now
            entry.resource = change.resource
            entry.remote_id = (result.answer.remote_id if result.answer and
                               result.answer.remote_id else change.remote_id)
            entry.level_value = change.record.level
            entry.location = location
            entry.run_id = None
        update_audits(session, updates)
    return transport


def _audit_update(item: _Pending, result: Outcome) -> tuple[dict[str, Any], str]:
    """What a record's pending audit row becomes (by primary key), and the message."""
    status: PushStatus | None = result.status if (
        result.answer is not None or result.status != PushStatus.FAILED) else None
    message = result.answer.message if result.answer else ""
    if result.transport and item.readable:
        status, message = PushStatus.PENDING, NO_ANSWER  # sent, maybe written: unknown
    row: dict[str, Any] = {
        "id": item.audit_id,
        "after": dict(result.after) if result.after is not None else None,
        "http_status": result.answer.status if result.answer else None,
    }
    if status is not None:
        row["status"] = status
    if message:
        row["message"] = message[:2000]
    return row, message


def update_audits(session: Session, updates: list[dict[str, Any]]) -> None:
    """One UPDATE per shape of row (by primary key), not one SELECT and UPDATE per record."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    for rows in shapes.values():
        session.execute(update(m.PushAudit), rows)
