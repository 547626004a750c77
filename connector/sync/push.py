"""The push step: plan what changed since the last push, write it, then record it.

Plan (diff against the push ledger) -> stage (the destination writes and
verifies the whole bundle where the SIS cannot see it) -> ledger, committed ->
publish (renamed into the SIS's folder). A failed push is retried next time with
the same, deterministically keyed records, and a killed one is finished or
adopted by the next push: each result is sent once (decision 0017).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session

from connector.adapters.base import (
    OutboundLineItem,
    OutboundResult,
    PushOutcome,
    PushPlan,
    StagedBundle,
    StagedDestination,
)
from connector.adapters.registry import destination_class
from connector.config.model import DestinationConfig, Settings
from connector.domain.framework import FrameworkKind
from connector.domain.hashing import canonical_json, text_hash
from connector.domain.scale import MasteryState
from connector.persistence import models as m
from connector.persistence.bulk_insert import insert_rows
from connector.persistence.locks import exclusive
from connector.persistence.models import utcnow
from connector.persistence.tenancy import session_district
from connector.sync.push_diff import lower, plan_digest
from connector.sync.push_hold import PlanSize, Verdict, decide, hold_or_clear, judge
from connector.sync.util import adapter_context

log = logging.getLogger(__name__)


@dataclass
class PushResult:
    destination: str
    planned: int
    written: int
    unchanged: int
    location: str
    #: Set when the plan was held for review: its push run, the reason, its size.
    held: dict[str, Any] | None = None


@dataclass(frozen=True)
class FilePlan:
    """What a push to a file destination would write now, measured against its ledger."""

    wanted: list[OutboundResult]
    changed: list[OutboundResult]
    #: Per record key, the ledger's (id, record_key, payload_hash, level_value).
    ledger: dict[str, Any]
    size: PlanSize
    digest: str


def _stable_id(*parts: str) -> str:
    """Deterministic sourcedIds: the same record gets the same id on every push."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mastery-connector:" + ":".join(parts)))


def payload_hash(line_json: str, score: float | None, text: str, state: str, day: str) -> str:
    """``content_hash`` of a result's payload, with its line item serialised once per class.

    The payload is ``{"line_item", "score", "text", "state", "date"}``; its line item
    is the same for every student of a class and was most of the hashing. The text is
    the one ``content_hash`` would hash, so the ledger's hashes stay valid.
    """
    return text_hash('{"date":' + canonical_json(day) + ',"line_item":' + line_json
                     + ',"score":' + canonical_json(score) + ',"state":' + canonical_json(state)
                     + ',"text":' + canonical_json(text) + "}")


def plan_results(session: Session, settings: Settings, district_key: str) -> list[OutboundResult]:
    """Every result the destination should hold: one per class x aligned competency x student."""
    scale = settings.district.scale
    zone = ZoneInfo(settings.district.timezone)
    competencies = {c.id: c for c in session.scalars(
        select(m.Competency).join(m.Framework, m.Framework.id == m.Competency.framework_id)
        .where(m.Framework.kind != FrameworkKind.REFERENCE.value))}
    class_competencies: dict[str, set[int]] = defaultdict(set)
    for class_id, competency_id in session.execute(
            select(m.SourceItem.class_sourced_id, m.Alignment.competency_id)
            .join(m.Alignment, m.Alignment.source_item_id == m.SourceItem.id)
            .where(m.SourceItem.class_sourced_id != "").distinct()):
        if competency_id in competencies:
            class_competencies[class_id].add(competency_id)
    classes = {c.sourced_id: c for c in session.scalars(select(m.ClassSection))}
    sessions = {s.sourced_id: s for s in session.scalars(select(m.AcademicSession))}
    students = dict(session.execute(select(m.Student.sourced_id, m.Student.id)).all())
    courses = dict(session.execute(select(m.Course.sourced_id, m.Course.course_code)).all())
    roster: dict[str, list[str]] = defaultdict(list)
    joined: dict[tuple[str, str], date | None] = {}
    for class_id, user, begin in session.execute(
            select(m.Enrollment.class_sourced_id, m.Enrollment.user_sourced_id,
                   m.Enrollment.begin_date).where(m.Enrollment.role == "student")):
        roster[class_id].append(user)
        joined[(class_id, user)] = begin
    # The columns a result is made of, never the whole record: its explanation is most
    # of its bytes, and loading every record as an object took 4 s of a 1,000-student push.
    r = m.MasteryRecord
    records = {(row.student_id, row.competency_id): row for row in session.execute(
        select(r.student_id, r.competency_id, r.state, r.level_code, r.level_label,
               r.achieved_at, r.computed_at))}

    out: list[OutboundResult] = []
    for class_id in sorted(class_competencies):
        section = classes.get(class_id)
        if section is None:
            continue
        term = sessions.get(section.term_sourced_ids[0]) if section.term_sourced_ids else None
        start = _midnight(term.start_date) if term and term.start_date else None
        end = _midnight(term.end_date) if term and term.end_date else None
        for competency_id in sorted(class_competencies[class_id]):
            comp = competencies[competency_id]
            code = f"{comp.human_coding_scheme} " if comp.human_coding_scheme else ""
            short = comp.abbreviated_statement or comp.full_statement
            line_item = OutboundLineItem(
                sourced_id=_stable_id(district_key, "lineitem", class_id, comp.identifier),
                title=(code + short)[:255],
                description=comp.full_statement,
                class_sourced_id=class_id,
                school_sourced_id=section.school_sourced_id,
                academic_session_sourced_id=term.sourced_id if term else "",
                competency_identifier=comp.identifier,
                result_value_min=scale.min_value,
                result_value_max=scale.max_value,
                assign_date=start or datetime(1970, 1, 1, tzinfo=UTC),
                due_date=end or start or datetime(1970, 1, 1, tzinfo=UTC),
                competency_code=comp.human_coding_scheme or "",
                course_code=courses.get(section.course_sourced_id) or "",
                term_title=term.title if term else "",
                term_school_year=(term.school_year or "") if term else "",
            )
            line_json = canonical_json(line_item.__dict__)
            for user in sorted(set(roster.get(class_id, []))):
                record = records.get((students.get(user, -1), competency_id))
                if record is None:
                    continue
                scored = record.state == MasteryState.LEVEL.value
                level_value = scale.level(record.level_code).value if (
                    scored and record.level_code) else None
                # The district's calendar day: an 8 pm score in Denver is not tomorrow's.
                score_date = (record.achieved_at or record.computed_at).astimezone(zone)
                # Hash exactly what the destination receives: a finer score that leaves the
                # level unchanged is not a change for the SIS.
                digest = payload_hash(line_json, level_value, record.level_label,
                                      record.state, score_date.date().isoformat())
                out.append(OutboundResult(
                    record_key=f"{class_id}|{comp.identifier}|{user}",
                    sourced_id=_stable_id(district_key, "result", class_id, comp.identifier, user),
                    line_item=line_item,
                    student_sourced_id=user,
                    score=level_value,
                    text_score=record.level_label,
                    score_status=_score_status(record.state),
                    score_date=score_date,
                    comment="",
                    payload_hash=digest,
                    level_code=record.level_code or "",
                    state=record.state,
                    enrollment_begin=joined.get((class_id, user)) or (
                        term.start_date if term else None),
                ))
    return out


def file_plan(session: Session, settings: Settings, destination: DestinationConfig,
              district_key: str) -> FilePlan:
    """The results that changed since the ledger, and how large a change that is."""
    wanted = plan_results(session, settings, district_key)
    entry = m.PushLedger
    ledger = {row.record_key: row for row in session.execute(
        select(entry.id, entry.record_key, entry.payload_hash, entry.level_value)
        .where(entry.destination == destination.key))}
    changed = [r for r in wanted if ledger.get(r.record_key) is None
               or ledger[r.record_key].payload_hash != r.payload_hash]
    updates = [r for r in changed if r.record_key in ledger]
    size = PlanSize(create=len(changed) - len(updates), update=len(updates), delete=0,
                    lowered=sum(1 for r in updates
                                if lower(ledger[r.record_key].level_value, r.score)),
                    at_destination=len(ledger))
    digest = plan_digest(("update" if r.record_key in ledger else "create", r.record_key,
                          r.payload_hash) for r in changed)
    return FilePlan(wanted, changed, ledger, size, digest)


def push_destination(
    session: Session,
    settings: Settings,
    destination: DestinationConfig,
    district_key: str,
    run_id: int | None,
    *,
    bulk_allowed: bool = True,
    approving: m.PushRun | None = None,
    actor: str = "connector",
) -> PushResult:
    """Push changed results to one destination and record them in the ledger.

    The first push to an empty ledger is a full replacement (a OneRoster ``bulk``
    bundle) only when ``bulk_allowed``: a run that failed somewhere sends a delta.
    A plan beyond the destination's hold rules is held, not written
    (:mod:`connector.sync.push_hold`), unless it is the plan ``approving`` held.
    """
    name = f"push:{session_district(session)}:{destination.key}"
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with exclusive(engine, name, f"a push to destination {destination.key!r}"):
        return _push_file(session, settings, destination, district_key, run_id,
                          bulk_allowed=bulk_allowed, approving=approving, actor=actor)


def _push_file(session: Session, settings: Settings, destination: DestinationConfig,
               district_key: str, run_id: int | None, *, bulk_allowed: bool,
               approving: m.PushRun | None, actor: str) -> PushResult:
    adapter = destination_class(destination.kind)(
        destination.key, destination.options, adapter_context(settings))
    leftovers = (_recover(session, adapter) if isinstance(adapter, StagedDestination) else [])
    planned = file_plan(session, settings, destination, district_key)
    if approving is not None and approving.plan_digest == planned.digest:
        verdict = Verdict(False, size=planned.size)
    else:
        verdict = judge(destination.hold, planned.size)
    held = hold_or_clear(session, destination.key, verdict, planned.digest, actor=actor,
                         sync_run_id=run_id,
                         approving=approving.id if approving is not None else None)
    unchanged = len(planned.wanted) - len(planned.changed)
    if held is not None:
        if isinstance(adapter, StagedDestination):
            for staged in leftovers:
                adapter.discard(staged)  # this push sends nothing: they will not be sent
        return PushResult(destination.key, len(planned.changed), 0, unchanged, "",
                          held={"push_run": held, "reason": verdict.reason,
                                "counts": planned.size.as_dict()})
    changed, ledger = planned.changed, planned.ledger
    plan = PushPlan(destination=destination.key, results=changed,
                    first_push=not ledger and bulk_allowed,
                    source_system_name=f"mastery-connector ({settings.district.name})")
    if isinstance(adapter, StagedDestination):
        outcome = _send_staged(session, adapter, plan, planned.digest, leftovers)
    else:
        outcome = adapter.push(plan)
    _record_sent(session, destination.key, ledger, {r.record_key: r for r in changed},
                 outcome, run_id)
    if approving is not None:
        decide(approving, "completed", actor,
               f"approved and sent: {len(outcome.written)} results to {outcome.location}")
        approving.counts = {**planned.size.as_dict(), "written": len(outcome.written)}
    return PushResult(destination.key, len(changed), len(outcome.written), unchanged,
                      outcome.location)


def _record_sent(session: Session, destination: str, ledger: dict[str, Any],
                 by_key: dict[str, OutboundResult], outcome: PushOutcome,
                 run_id: int | None) -> None:
    """Write the ledger rows of what was sent: new keys in one bulk insert, the rest by id."""
    now = utcnow()
    sent = [(key, {"payload_hash": by_key[key].payload_hash, "level_value": by_key[key].score,
                   "status": "sent", "pushed_at": now, "run_id": run_id,
                   "location": outcome.location}) for key in outcome.written]
    insert_rows(session, m.PushLedger, [
        {"destination": destination, "record_key": key, **values}
        for key, values in sent if key not in ledger])
    again = [{"id": ledger[key].id, **values} for key, values in sent if key in ledger]
    if again:
        session.execute(update(m.PushLedger), again)


def _recover(session: Session, adapter: StagedDestination) -> list[StagedBundle]:
    """Finish what a killed push left: publish bundles the ledger names, return the rest.

    A staged bundle whose ledger rows committed was sent as far as the connector is
    concerned, so it is published now. One no ledger names may be adopted by this
    push if its plan is the same (see :func:`_send_staged`).
    """
    unsent = []
    for staged in adapter.leftovers():
        named = session.scalar(select(m.PushLedger.id).where(
            m.PushLedger.destination == adapter.key,
            m.PushLedger.location == staged.location).limit(1))
        if named is not None:
            log.warning("push to %s: publishing bundle %s, staged by a push that stopped "
                        "after recording it", adapter.key, staged.name)
            adapter.publish(staged)
        else:
            unsent.append(staged)
    return unsent


def _send_staged(session: Session, adapter: StagedDestination, plan: PushPlan, digest: str,
                 leftovers: list[StagedBundle]) -> PushOutcome:
    """Stage the bundle (or adopt an identical one left behind); publish after the commit.

    The ledger rows naming the bundle are written in the caller's transaction, and
    the bundle is renamed into the SIS's folder only once that transaction commits:
    a kill at any moment leaves each result sent once.
    """
    if not plan.results:
        for staged in leftovers:
            adapter.discard(staged)
        return PushOutcome(written=(), location="")
    same = [s for s in leftovers if s.digest == digest and s.first_push == plan.first_push]
    for staged in leftovers:
        if not same or staged is not same[0]:
            adapter.discard(staged)
    if same:
        staged = same[0]
        log.warning("push to %s: adopting bundle %s, staged by a push that stopped before "
                    "recording it", adapter.key, staged.name)
    else:
        staged = adapter.stage(plan, digest)

    settled = {"done": False}

    def publish(_session: Session) -> None:
        if settled["done"]:
            return
        settled["done"] = True
        try:
            adapter.publish(staged)
        except OSError as exc:  # the ledger names it: the next push publishes it
            log.error("push to %s: bundle %s is recorded but could not be published (%s); "
                      "the next push publishes it", adapter.key, staged.name, exc)

    def forget(_session: Session) -> None:
        settled["done"] = True  # rolled back: the bundle stays staged for the next push

    event.listen(session, "after_commit", publish)
    event.listen(session, "after_rollback", forget)
    return PushOutcome(written=tuple(r.record_key for r in plan.results),
                       location=staged.location)


def _score_status(state: str) -> str:
    """OneRoster scoreStatus: a level is graded, exempt is exempt, a state is still open."""
    if state == MasteryState.LEVEL.value:
        return "fully graded"
    if state == MasteryState.EXEMPT.value:
        return "exempt"
    return "partially graded"


def _midnight(day: object) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)  # type: ignore[arg-type]
