"""Pushing to a SIS API safely: plan, before-image, write, verify, audit, restore.

Districts fear writes into their system of record more than anything else this
service does, and ask for four things: a preview (``plan``), the state of every
record before we touched it, proof that what we wrote is what the SIS holds,
and a way back. The order of operations is what makes those hold when a push is
killed at any point:

1. the plan is the difference between the records wanted and the ledger
   (:mod:`connector.sync.push_diff`), the same function ``plan`` prints;
2. for each batch (one dependency level at a time, parents first), the current
   state of each record is read and committed as a *pending* audit row before
   anything is written;
3. the writes go out with bounded concurrency; each is read back and compared;
4. audit rows and ledger are updated in one transaction per batch.

A kill between 2 and 4 leaves pending rows (restore uses their before-images)
and no ledger entry, so the rerun plans those records again and rewrites them
under the same deterministic ids: no duplicates, and the SIS converges.
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.base import PushPlan
from connector.adapters.destinations.records import (
    Answer,
    PushContext,
    RecordClient,
    RecordDestination,
    RemoteRecord,
    matches,
)
from connector.adapters.registry import destination_class
from connector.config.model import Settings
from connector.errors import ConfigurationError, ConnectorError, SourceError
from connector.persistence import models as m
from connector.persistence.locks import exclusive
from connector.persistence.models import PushStatus, utcnow
from connector.persistence.tenancy import tenant_session
from connector.sync.push import plan_results
from connector.sync.push_diff import Change, LedgerEntry, PushDiff, diff
from connector.sync.push_hold import HELD, PlanSize, Verdict, decide, held_run, hold_or_clear, judge
from connector.sync.report import Progress
from connector.sync.util import adapter_context

log = logging.getLogger(__name__)

BATCH = 200
#: A digest no wanted record has: after a restore, the next plan shows an update.
RESTORED = "restored"
#: Stop a run when this many writes in a row fail in transport (the SIS is down).
TRANSPORT_FAILURES_TO_STOP = 20


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


def record_destination(settings: Settings, key: str) -> RecordDestination:
    config = settings.destinations.get(key)
    if config is None:
        raise ConfigurationError(
            f"no destination {key!r}; configured destinations: {sorted(settings.destinations)}")
    adapter = destination_class(config.kind)(
        config.key, config.options,
        adapter_context(settings))
    if not isinstance(adapter, RecordDestination):
        raise ConfigurationError(
            f"destination {key!r} ({config.kind}) writes files, not records through an API; "
            f"'push plan/run/restore' work with API destinations (oneroster_rest, edfi)")
    return adapter


def is_record_destination(settings: Settings, key: str) -> bool:
    config = settings.destinations[key]
    return issubclass(destination_class(config.kind), RecordDestination)


def push_context(settings: Settings) -> PushContext:
    scale = settings.district.scale
    return PushContext(
        district_key=settings.district.key,
        scale_key=scale.key,
        scale_name=scale.name,
        levels=tuple((lv.code, lv.label, lv.value) for lv in scale.levels),
        states=dict(scale.state_labels),
    )


def wanted(session: Session, settings: Settings, adapter: RecordDestination) -> list[RemoteRecord]:
    results = plan_results(session, settings, settings.district.key)
    plan = PushPlan(destination=adapter.key, results=results, first_push=False,
                    source_system_name=f"mastery-connector ({settings.district.name})")
    return adapter.desired(plan, push_context(settings))


def ledger(session: Session, destination: str) -> dict[str, LedgerEntry]:
    return {row.record_key: LedgerEntry(row.record_key, row.resource, row.remote_id,
                                        row.payload_hash, row.level_value)
            for row in session.scalars(select(m.PushLedger)
                                       .where(m.PushLedger.destination == destination))}


def plan(factory: sessionmaker[Session], district_id: int, settings: Settings,
         key: str) -> PushDiff:
    """What ``run`` would send now, without contacting the destination."""
    return planned(factory, district_id, settings, record_destination(settings, key))[0]


def planned(factory: sessionmaker[Session], district_id: int, settings: Settings,
             adapter: RecordDestination) -> tuple[PushDiff, dict[str, LedgerEntry]]:
    with tenant_session(factory, district_id) as session:
        records = wanted(session, settings, adapter)
        entries = ledger(session, adapter.key)
        changes = diff(records, entries, deletes=adapter.settings.delete_removed)
    return dataclasses.replace(changes, skipped=tuple(adapter.skipped)), entries


def size_of(changes: PushDiff, entries: Mapping[str, LedgerEntry]) -> PlanSize:
    return PlanSize(create=changes.count("create"), update=changes.count("update"),
                    delete=changes.count("delete"), lowered=changes.lowered(entries),
                    at_destination=len(entries))


def run(factory: sessionmaker[Session], district_id: int, settings: Settings, key: str, *,
        actor: str | None = None, sync_run_id: int | None = None,
        approving: int | None = None, progress: Progress | None = None) -> PushReport:
    """Send the plan; every record read before, verified after and audited.

    A plan beyond the destination's hold rules is not sent: the report says
    ``held`` and names the push run an IT user approves. ``approving`` is that
    run: its plan is sent if it is still the plan now.
    """
    adapter = record_destination(settings, key)
    rules = settings.destinations[key].hold
    who = actor or cli_actor()
    with _one_at_a_time(factory, district_id, key):  # the plan too: it must be current
        changes, entries = planned(factory, district_id, settings, adapter)
        size = size_of(changes, entries)
        with tenant_session(factory, district_id) as session, session.begin():
            approved = held_run(session, approving) if approving is not None else None
            verdict = (Verdict(False, size=size)
                       if approved is not None and approved.plan_digest == changes.digest()
                       else judge(rules, size))
            held = hold_or_clear(session, key, verdict, changes.digest(), actor=who,
                                 sync_run_id=sync_run_id, approving=approving)
        if held is not None:
            log.warning("push to %s held for review as push run %s", key, held)
            return PushReport(held, key, "push", status=HELD, counts=size.as_dict(),
                              message=f"held for review: {verdict.reason}")
        report = _send(factory, district_id, adapter, changes, actor=who,
                       sync_run_id=sync_run_id, progress=progress)
        if approving is not None:
            with tenant_session(factory, district_id) as session, session.begin():
                row = session.get(m.PushRun, approving)
                assert row is not None
                decide(row, "completed", who, f"approved and sent as push run {report.run_id} "
                                              f"({report.status})")
        return report


def send(factory: sessionmaker[Session], district_id: int, adapter: RecordDestination,
         changes: PushDiff, *, actor: str | None = None,
         sync_run_id: int | None = None) -> PushReport:
    """Send one computed plan to the destination (``run`` computes it from the ledger)."""
    with _one_at_a_time(factory, district_id, adapter.key):
        return _send(factory, district_id, adapter, changes, actor=actor,
                     sync_run_id=sync_run_id)


def _send(factory: sessionmaker[Session], district_id: int, adapter: RecordDestination,
          changes: PushDiff, *, actor: str | None, sync_run_id: int | None,
          progress: Progress | None = None) -> PushReport:
    report = _open_run(factory, district_id, adapter.key, "push", actor, sync_run_id=sync_run_id)
    report.counts = {"create": 0, "update": 0, "delete": 0, "unchanged": changes.unchanged,
                     "rejected": 0, "mismatch": 0, "failed": 0, "skipped": len(changes.skipped)}
    workers, batch_size = adapter.settings.concurrency, adapter.settings.batch_size
    done = 0
    try:
        with adapter.connect() as client, ThreadPoolExecutor(max_workers=workers) as pool:
            for batch in _batches(changes.changes, batch_size):
                failures = _push_batch(factory, district_id, report, client, pool, batch,
                                       adapter.server_fields, location=adapter.location)
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
    return _close_run(factory, district_id, report)


def restore(factory: sessionmaker[Session], district_id: int, settings: Settings, run_id: int,
            *, actor: str | None = None, force: bool = False) -> PushReport:
    """Put back the before-images of one push run, newest write first."""
    with tenant_session(factory, district_id) as session:
        target = session.get(m.PushRun, run_id)
        if target is None:
            raise ConfigurationError(f"no push run {run_id} in this district")
        destination = target.destination
    with _one_at_a_time(factory, district_id, destination):
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
    report = _open_run(factory, district_id, destination, "restore", actor, restores=run_id)
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
    return _close_run(factory, district_id, report)


# -- internals -------------------------------------------------------------------------


def _batches(changes: Sequence[Change], size: int) -> Iterator[list[Change]]:
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


@contextmanager
def _one_at_a_time(factory: sessionmaker[Session], district_id: int,
                   destination: str) -> Iterator[None]:
    """One push or restore per destination: two at once would each plan without the other."""
    engine = factory.kw["bind"]
    with exclusive(engine, f"push:{district_id}:{destination}",
                   f"a push or restore for destination {destination!r}"):
        yield


def _open_run(factory: sessionmaker[Session], district_id: int, destination: str, kind: str,
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


def _close_run(factory: sessionmaker[Session], district_id: int,
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


@dataclass
class _Outcome:
    status: PushStatus
    answer: Answer | None
    after: Mapping[str, Any] | None
    transport: bool = False


def _push_batch(factory: sessionmaker[Session], district_id: int, report: PushReport,
                client: RecordClient, pool: ThreadPoolExecutor, batch: list[Change],
                ignore: frozenset[str], *, location: str) -> int:
    befores = _read_all(client, pool, [_addressed(c) for c in batch])
    with tenant_session(factory, district_id) as session, session.begin():
        seq = _next_seq(session, report.run_id)
        audits = []
        for offset, (change, before) in enumerate(zip(batch, befores, strict=True)):
            audit = m.PushAudit(
                run_id=report.run_id, seq=seq + offset, resource=change.resource,
                record_key=change.key, remote_id=change.remote_id, action=change.action,
                before=_body(before), sent=dict(change.record.body) if change.record else None,
                status=PushStatus.PENDING)
            if before is None or not before.ok:
                audit.status = PushStatus.FAILED
                audit.message = before.message if before else "could not read the record"
            session.add(audit)
            audits.append(audit)
        session.flush()
        audit_ids = [a.id for a in audits]
        readable = [a.status == PushStatus.PENDING for a in audits]

    def send(item: tuple[Change, bool]) -> Answer | None:
        change, ok = item
        if not ok:
            return None
        if change.action == "delete":
            return _guard(lambda: client.delete(change.resource, change.remote_id))
        assert change.record is not None
        record = change.record
        return _guard(lambda: client.write(record))

    answers = list(pool.map(send, zip(batch, readable, strict=True)))
    written = [i for i, answer in enumerate(answers) if answer is not None and answer.ok]
    checks = dict(zip(written, _read_all(client, pool, [_addressed(batch[i]) for i in written]),
                      strict=True))
    outcomes = [_outcome(change, answers[i], checks.get(i), ignore)
                for i, change in enumerate(batch)]
    transport = 0
    with tenant_session(factory, district_id) as session, session.begin():
        entries = {row.record_key: row for row in session.scalars(select(m.PushLedger).where(
            m.PushLedger.destination == report.destination,
            m.PushLedger.record_key.in_([c.key for c in batch])))}
        now = utcnow()
        updates: list[dict[str, Any]] = []
        for change, audit_id, readable_, outcome in zip(batch, audit_ids, readable, outcomes,
                                                        strict=True):
            status = outcome.status if (outcome.answer is not None
                                        or outcome.status != PushStatus.FAILED) else None
            message = outcome.answer.message if outcome.answer else ""
            transport += int(outcome.transport)
            if outcome.transport and readable_:
                status = PushStatus.PENDING
                message = ("no answer from the destination: the write may or may not have "
                           "happened; a rerun sends it again, a restore puts it back")
            row: dict[str, Any] = {
                "id": audit_id,
                "after": dict(outcome.after) if outcome.after is not None else None,
                "http_status": outcome.answer.status if outcome.answer else None,
            }
            if status is not None:
                row["status"] = status
            if message:
                row["message"] = message[:2000]
            updates.append(row)
            if outcome.status != PushStatus.OK:
                if not readable_:
                    before = befores[len(updates) - 1]
                    message = (before.message if before is not None else "") or (
                        "could not read the record before writing it")
                report.counts[outcome.status] += 1
                report.problems.append(Problem(change.key, change.label, outcome.status,
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
            entry.remote_id = (outcome.answer.remote_id if outcome.answer and
                               outcome.answer.remote_id else change.remote_id)
            entry.level_value = change.record.level
            entry.location = location
            entry.run_id = None
        _update_audits(session, updates)
    return transport


def _update_audits(session: Session, updates: list[dict[str, Any]]) -> None:
    """One UPDATE per shape of row (by primary key), not one SELECT and UPDATE per record."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    for rows in shapes.values():
        session.execute(update(m.PushAudit), rows)


def _read_all(client: RecordClient, pool: ThreadPoolExecutor,
              records: list[RemoteRecord]) -> list[Answer | None]:
    """Each record's current state; batched where the API can list many at once."""
    try:
        found = client.read_many(records)
    except SourceError as exc:
        log.warning("push: batched read failed (%s); reading record by record", exc.message)
        found = {}
    rest = [r for r in records if r.key not in found]

    def one(record: RemoteRecord) -> Answer | None:
        return _guard(lambda: client.read(record))

    found.update({r.key: a for r, a in zip(rest, pool.map(one, rest), strict=True)
                  if a is not None})
    return [found.get(r.key) for r in records]


def _outcome(change: Change, answer: Answer | None, check: Answer | None,
             ignore: frozenset[str]) -> _Outcome:
    """What became of one write, judged by reading the record back."""
    if answer is None:
        return _Outcome(PushStatus.FAILED, None, None, transport=True)
    if not answer.ok:
        return _Outcome(PushStatus.REJECTED, answer, None)
    after = check.body if check is not None and check.ok else None
    if change.action == "delete":
        gone = check is not None and check.ok and check.body is None
        return _Outcome(PushStatus.OK if gone else PushStatus.MISMATCH, answer, after)
    assert change.record is not None
    if matches(change.record.body, after, ignore):
        return _Outcome(PushStatus.OK, answer, after)
    return _Outcome(PushStatus.MISMATCH, Answer(False, answer.status,
                                       "the destination does not hold what was written",
                                       remote_id=answer.remote_id), after)


def _restore_batch(factory: sessionmaker[Session], district_id: int, report: PushReport,
                   client: RecordClient, rows: list[m.PushAudit],
                   ignore: frozenset[str]) -> None:
    done = [(row, *_restore_one(client, row, ignore)) for row in rows]
    with tenant_session(factory, district_id) as session, session.begin():
        seq = _next_seq(session, report.run_id)
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
    current = _guard(lambda: client.read(probe))
    if current is None or not current.ok:
        return "failed", current, None, None
    if row.before is None:
        if current.body is None:
            return "unchanged", current, None, None
        answer = _guard(lambda: client.delete(row.resource, row.remote_id))
        check = _guard(lambda: client.read(probe))
        gone = answer is not None and answer.ok and check is not None and check.body is None
        return ("deleted" if gone else "failed"), answer, current.body, (
            check.body if check else None)
    before = _strip(row.before, ignore)
    if matches(before, current.body, ignore):
        return "unchanged", current, current.body, current.body
    image = dict(row.before)  # as read: the client leaves out what its API will not take
    answer = _guard(lambda: client.put_back(row.resource, row.remote_id, image))
    check = _guard(lambda: client.read(probe))
    after = check.body if check is not None and check.ok else None
    same = answer is not None and answer.ok and matches(before, after, ignore)
    return ("restored" if same else "failed"), answer, current.body, after


def _guard(call: Callable[[], Answer]) -> Answer | None:
    """A transport failure that outlasted the retries becomes a failed record, not a crash."""
    try:
        return call()
    except SourceError as exc:
        log.warning("push: %s", exc.message)
        return None


def _addressed(change: Change) -> RemoteRecord:
    return change.record or RemoteRecord(change.resource, change.key, change.remote_id, {}, 0)


def _body(answer: Answer | None) -> dict[str, Any] | None:
    return dict(answer.body) if answer is not None and answer.body is not None else None


def _strip(body: Mapping[str, Any], ignore: Iterable[str]) -> dict[str, Any]:
    drop = set(ignore)
    return {k: v for k, v in body.items() if k not in drop}


def _next_seq(session: Session, run_id: int) -> int:
    last = session.scalars(select(m.PushAudit.seq).where(m.PushAudit.run_id == run_id)
                           .order_by(m.PushAudit.seq.desc()).limit(1)).first()
    return 0 if last is None else last + 1
