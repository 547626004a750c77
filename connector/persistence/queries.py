"""Read queries the CLI and the API share, so both always show the same thing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.persistence import models as m


def unmapped_items(session: Session) -> list[dict[str, Any]]:
    """Items no alignment rule matched, with how many scores they hold back."""
    rows = session.execute(
        select(m.SourceItem.source_system, m.SourceItem.sourced_id, m.SourceItem.title,
               m.SourceItem.mapping_note, func.count(m.RawScore.id))
        .outerjoin(m.RawScore, m.RawScore.source_item_id == m.SourceItem.id)
        .where(m.SourceItem.mapped.is_(False))
        .group_by(m.SourceItem.id, m.SourceItem.source_system, m.SourceItem.sourced_id,
                  m.SourceItem.title, m.SourceItem.mapping_note)
        .order_by(m.SourceItem.source_system, m.SourceItem.sourced_id)).all()
    return [{"source": r[0], "item": r[1], "title": r[2], "note": r[3], "scores": r[4]}
            for r in rows]


def student_mastery(session: Session, sis_id: str) -> list[dict[str, Any]] | None:
    """A student's mastery records with their competency; None when there is no such student."""
    student = session.scalars(select(m.Student).where(m.Student.sourced_id == sis_id)).first()
    if student is None:
        return None
    rows = session.execute(
        select(m.MasteryRecord, m.Competency, m.Framework.title)
        .join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id)
        .join(m.Framework, m.Framework.id == m.Competency.framework_id)
        .where(m.MasteryRecord.student_id == student.id)
        .order_by(m.Competency.human_coding_scheme)).all()
    return [{**{c.key: getattr(record, c.key) for c in m.MasteryRecord.__table__.columns},
             "competency_identifier": comp.identifier, "code": comp.human_coding_scheme,
             "statement": comp.full_statement, "framework": title,
             "target_dok": comp.target_dok} for record, comp, title in rows]
