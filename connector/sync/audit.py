"""The audit trail: one append-only table of the changes people make, with before and after.

Overrides, token creation and revocation, purges and retention each add an event:
who (``actor``), when, what (``action`` and the ``subject`` it changed, named by an
identifier such as a SIS id, never by a person's name), why, and the state before
and after. Nothing here updates or deletes an event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.persistence import models as m
from connector.persistence.models import utcnow


def record(session: Session, *, actor: str, action: str, subject: str, reason: str = "",
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           details: dict[str, Any] | None = None, at: datetime | None = None) -> m.AuditEvent:
    event = m.AuditEvent(at=at or utcnow(), actor=actor[:255], action=action[:60],
                         subject=subject[:255], reason=reason, before=before, after=after,
                         details=details or {})
    session.add(event)
    session.flush()
    return event


def events(session: Session, *, action: str | None = None, subject: str | None = None,
           actor: str | None = None, since: datetime | None = None, before_id: int | None = None,
           limit: int = 100) -> list[dict[str, Any]]:
    """Events newest first, narrowed by what is given; ``subject`` matches a prefix."""
    chosen = select(m.AuditEvent).order_by(m.AuditEvent.id.desc()).limit(limit)
    if action is not None:
        chosen = chosen.where(m.AuditEvent.action == action)
    if subject is not None:
        chosen = chosen.where(m.AuditEvent.subject.startswith(subject, autoescape=True))
    if actor is not None:
        chosen = chosen.where(m.AuditEvent.actor == actor)
    if since is not None:
        chosen = chosen.where(m.AuditEvent.at >= since)
    if before_id is not None:
        chosen = chosen.where(m.AuditEvent.id < before_id)
    return [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
             "subject": e.subject, "reason": e.reason, "before": e.before, "after": e.after,
             "details": e.details} for e in session.scalars(chosen)]
