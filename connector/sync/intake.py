"""Store learning events as the intake endpoints receive them, and read them back in order.

A batch is stored whole or not at all. An event id seen before with the same
content is a retry and changes nothing; with different content it is a
conflict (xAPI 409) and the whole batch is refused. A voiding statement marks
its target voided whether the target came first or comes later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.base import StoredEvent
from connector.adapters.sources.learning_events import xapi
from connector.persistence import models as m
from connector.persistence.locks import serialize_transaction
from connector.persistence.models import utcnow
from connector.persistence.tenancy import session_district, tenant_session


class Conflict(Exception):
    """An event id already stored with other content."""


def store_statements(session: Session, provider: str,
                     statements: Sequence[Mapping[str, Any]]) -> list[str]:
    """Store validated xAPI statements; returns their ids in order (assigned where missing)."""
    _one_writer(session, provider)
    now = utcnow()
    prepared = [xapi.prepare(dict(s), now) for s in statements]
    ids = [p["id"] for p in prepared]
    if len(set(ids)) != len(ids):
        raise xapi.InvalidStatement("the batch holds the same statement id twice")
    existing = {e.event_id: e for e in session.scalars(select(m.LearningEvent).where(
        m.LearningEvent.provider == provider, m.LearningEvent.event_id.in_(ids)))}
    targets = {xapi.voided_target(p) for p in prepared} - {""}
    voiding = {e.event_id for e in session.scalars(select(m.LearningEvent).where(
        m.LearningEvent.provider == provider, m.LearningEvent.event_id.in_(targets),
        m.LearningEvent.voids != ""))} if targets else set()
    new_voiding = {p["id"] for p in prepared if xapi.voided_target(p)}
    for statement in prepared:
        target = xapi.voided_target(statement)
        if target and (target in voiding or target in new_voiding):
            raise xapi.InvalidStatement(f"statement {statement['id']} voids {target}, which is "
                                        "itself a voiding statement")
    # Targets of voiding statements stored before, or anywhere in this batch.
    voided_early = targets | set(session.scalars(select(m.LearningEvent.voids).where(
        m.LearningEvent.provider == provider, m.LearningEvent.voids.in_(ids))))
    for statement in prepared:
        known = existing.get(statement["id"])
        if known is not None:
            if not xapi.same_statement(known.payload, statement):
                raise Conflict(f"statement {statement['id']} was already received with "
                               "different content")
            continue
        target = xapi.voided_target(statement)
        session.add(m.LearningEvent(provider=provider, event_id=statement["id"], spec="xapi",
                                    payload=statement, voids=target,
                                    # a voiding statement cannot be voided (xAPI 2.3.2)
                                    voided=statement["id"] in voided_early and not target))
        if target:
            session.execute(update(m.LearningEvent).where(
                m.LearningEvent.provider == provider, m.LearningEvent.event_id == target)
                .values(voided=True))
    session.flush()
    return ids


def store_caliper(session: Session, provider: str, events: Sequence[Mapping[str, Any]],
                  key: Any) -> int:
    """Store Caliper events by id; returns how many were new."""
    _one_writer(session, provider)
    ids = [key(e) for e in events]
    if len(set(ids)) != len(ids):
        raise xapi.InvalidStatement("the envelope holds the same event id twice")
    existing = {e.event_id: e for e in session.scalars(select(m.LearningEvent).where(
        m.LearningEvent.provider == provider, m.LearningEvent.event_id.in_(ids)))}
    new = 0
    for event_id, event in zip(ids, events, strict=True):
        known = existing.get(event_id)
        if known is not None:
            if known.payload != dict(event):
                raise Conflict(f"event urn:uuid:{event_id} was already received with "
                               "different content")
            continue
        session.add(m.LearningEvent(provider=provider, event_id=event_id, spec="caliper",
                                    payload=dict(event)))
        new += 1
    session.flush()
    return new


def _one_writer(session: Session, provider: str) -> None:
    """One intake transaction per provider at a time.

    Ids then commit in order, so the source's cursor never steps over an event
    still in flight, and a statement and its voiding statement posted together
    cannot both miss each other.
    """
    serialize_transaction(session, f"learning-events:{session_district(session)}:{provider}")


def find_statement(session: Session, provider: str, statement_id: str) -> m.LearningEvent | None:
    return session.scalars(select(m.LearningEvent).where(
        m.LearningEvent.provider == provider, m.LearningEvent.spec == "xapi",
        m.LearningEvent.event_id == statement_id.lower())).first()


def stored_events(factory: sessionmaker[Session], district_id: int, provider: str, after: int,
                  limit: int) -> list[StoredEvent]:
    """The provider's next events after ``after``, in arrival order (a source's reader)."""
    with tenant_session(factory, district_id) as session:
        rows = session.execute(select(m.LearningEvent.id, m.LearningEvent.spec,
                                      m.LearningEvent.payload, m.LearningEvent.voided)
                               .where(m.LearningEvent.provider == provider,
                                      m.LearningEvent.id > after)
                               .order_by(m.LearningEvent.id).limit(limit)).all()
    return [StoredEvent(r[0], r[1], r[2], bool(r[3])) for r in rows]
