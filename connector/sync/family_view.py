"""The student and family view from the store: levels per domain, what is proficient, what next.

Read-only. It reads one student's progress (:func:`connector.sync.progress.progress`)
and that student's records on the domains' learning targets, and hands them to
the pure rules of :mod:`connector.mastery.next_steps`. Nothing here names another
student: the page is for the student and the people the roster links to them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.mastery.next_steps import TargetStatus, next_steps
from connector.persistence import models as m
from connector.persistence import queries
from connector.sync import progress


def family_view(session: Session, settings: Settings, sis_id: str, as_of: date) -> dict[str, Any]:
    """One student's progress as the family page shows it (NotFoundError: no such student)."""
    student = queries.find_student(session, sis_id)
    (row,) = progress.progress(session, settings, as_of, [sis_id])
    resolved = [d for d in progress.domains(session, settings, progress.targets(session))
                if d.applies_to(student.grade)]
    wanted = set().union(*(d.competencies for d in resolved)) if resolved else set()
    statuses: dict[str, TargetStatus] = {}
    since: dict[str, Any] = {}
    for comp, record in session.execute(
            select(m.Competency, m.MasteryRecord).outerjoin(m.MasteryRecord, (
                m.MasteryRecord.competency_id == m.Competency.id)
                & (m.MasteryRecord.student_id == student.id))
            .where(m.Competency.identifier.in_(sorted(wanted)))):
        statuses[comp.identifier] = TargetStatus(
            comp.identifier, comp.human_coding_scheme, comp.full_statement, comp.target_dok,
            None if record is None else record.state,
            "" if record is None else record.level_label,
            bool(record is not None and record.proficient),
            0 if record is None else record.evidence_count,
            () if record is None else tuple(record.decisions or ()))
        if record is not None and record.proficient:
            since[comp.identifier] = record.proficient_since
    paces = {p.domain: p for p in row.domains}
    domains = []
    for domain in resolved:
        pace = paces[domain.key]
        proficient = sorted(
            ({"code": statuses[i].code, "statement": statuses[i].statement,
              "since": since.get(i)} for i in domain.competencies if i in since),
            key=lambda x: str(x["code"]))
        domains.append({
            "key": domain.key, "title": domain.title, "academic_level": pace.academic_level,
            "working_level": pace.working_level, "mastered": pace.mastered, "total": pace.total,
            "pace": pace.label, "proficient": proficient,
            "next": next_steps(domain, pace.working_level, statuses)})
    return {"student": sis_id, "given_name": student.given_name,
            "name": f"{student.given_name} {student.family_name}", "grade": student.grade,
            "school": queries.school_name(session, student.school_sourced_id),
            "as_of": as_of, "domains": domains}
