"""One student's records: everything the connector holds, for a records request, and its purge.

A family's request under FERPA (or a state privacy law) asks what a vendor holds
about a student, and a district leaving a product, or a student's record sealed,
needs it removed. Both go through the same list of what belongs to a student:
the roster row and demographics, enrollments, raw scores with the learning
events they came from, evidence, mastery records, overrides, what the push
ledger and push audit kept of the results sent, and rejections that name the
student's scores.

A purge cannot recall what was already sent: it says which destinations hold
results for the student, so the registrar can ask the SIS to remove them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session

from connector.errors import DataError, NotFoundError
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.sync import audit

#: The export's own version: a reader can tell what layout it has.
EXPORT_VERSION = 1


@dataclass
class PurgeReport:
    """What a purge removed, and what it could not recall."""

    sis_id: str
    removed: dict[str, int] = field(default_factory=dict)
    #: destination -> results sent there for this student (still held by the destination)
    sent: dict[str, int] = field(default_factory=dict)
    audit_id: int | None = None


def _student(session: Session, sis_id: str) -> m.Student:
    found = session.scalars(select(m.Student).where(m.Student.sourced_id == sis_id)).first()
    if found is None:
        raise NotFoundError(f"no student with SIS id {sis_id!r} in this district")
    return found


def _row(obj: Any, skip: tuple[str, ...] = ("district_id",)) -> dict[str, Any]:
    """A table row as JSON-ready data (dates as ISO text)."""
    out: dict[str, Any] = {}
    for column in obj.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        out[column.key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


def _ledger_key(sis_id: str) -> ColumnElement[bool]:
    """Ledger and audit keys end in the student's SIS id (class|competency|student)."""
    return or_(m.PushLedger.record_key.endswith(f"|{sis_id}", autoescape=True),
               m.PushLedger.record_key == sis_id)


def _audit_key(sis_id: str) -> ColumnElement[bool]:
    return or_(m.PushAudit.record_key.endswith(f"|{sis_id}", autoescape=True),
               m.PushAudit.record_key == sis_id)


def _agent_of(sis_id: str) -> Any:
    """The roster's parent and guardian links that name this student, from either side."""
    return (m.RosterAgent.person_sourced_id == sis_id) | (m.RosterAgent.agent_sourced_id == sis_id)


def export_student(session: Session, sis_id: str) -> dict[str, Any]:
    """Everything held about one student, as one JSON document."""
    student = _student(session, sis_id)
    sid = student.id
    scores = session.scalars(select(m.RawScore).where(m.RawScore.student_id == sid)
                             .order_by(m.RawScore.id)).all()
    score_ids = [s.sourced_id for s in scores]
    items = {i.id: i for i in session.scalars(select(m.SourceItem).where(
        m.SourceItem.id.in_({s.source_item_id for s in scores})))}
    competencies = {c.id: c.identifier for c in session.scalars(select(m.Competency))}
    demographics = session.scalars(select(m.StudentDemographics).where(
        m.StudentDemographics.student_id == sid)).first()

    def named(row: dict[str, Any]) -> dict[str, Any]:
        if "competency_id" in row:
            row["competency"] = competencies.get(row.pop("competency_id"), "")
        row.pop("student_id", None)
        return row

    return {
        "export_version": EXPORT_VERSION,
        "exported_at": utcnow().isoformat(),
        "student": _row(student),
        "demographics": _row(demographics, ("district_id", "student_id"))
        if demographics else None,
        "enrollments": [_row(e) for e in session.scalars(select(m.Enrollment).where(
            m.Enrollment.user_sourced_id == sis_id).order_by(m.Enrollment.id))],
        "guardian_links": [_row(a) for a in session.scalars(select(m.RosterAgent).where(
            _agent_of(sis_id)).order_by(m.RosterAgent.id))],
        "scores": [{**named(_row(s)), "item": items[s.source_item_id].title
                    if s.source_item_id in items else ""} for s in scores],
        "learning_events": [_row(e) for e in session.scalars(select(m.LearningEvent).where(
            m.LearningEvent.event_id.in_(score_ids)).order_by(m.LearningEvent.id))],
        "evidence": [named(_row(e)) for e in session.scalars(select(m.Evidence).where(
            m.Evidence.student_id == sid).order_by(m.Evidence.id))],
        "mastery_records": [named(_row(r)) for r in session.scalars(select(m.MasteryRecord)
                            .where(m.MasteryRecord.student_id == sid)
                            .order_by(m.MasteryRecord.id))],
        "overrides": [named(_row(o)) for o in session.scalars(select(m.MasteryOverride).where(
            m.MasteryOverride.student_id == sid).order_by(m.MasteryOverride.id))],
        "sent_results": [_row(p) for p in session.scalars(select(m.PushLedger).where(
            _ledger_key(sis_id)).order_by(m.PushLedger.id))],
        "push_audit": [_row(a) for a in session.scalars(select(m.PushAudit).where(
            _audit_key(sis_id)).order_by(m.PushAudit.id))],
        "rejections": [_row(r) for r in session.scalars(select(m.SyncRejection).where(
            m.SyncRejection.record_key.in_(score_ids)).order_by(m.SyncRejection.id))],
        "identity_links": [_row(i) for i in session.scalars(select(m.IdentityLink).where(
            m.IdentityLink.student_id == sid).order_by(m.IdentityLink.id))],
        # Each version's facts; the transcript itself is the student's records above.
        "transcripts": [_row(t, ("district_id", "snapshot", "pdf")) for t in session.scalars(
            select(m.TranscriptDocument).where(m.TranscriptDocument.student_sis_id == sis_id)
            .order_by(m.TranscriptDocument.id))],
    }


def purge_student(session: Session, sis_id: str, *, actor: str, reason: str) -> PurgeReport:
    """Remove everything held about one student, in one transaction, and audit it.

    The audit entry names the SIS id, who and why, and the counts; nothing else
    about the student survives in this store.
    """
    if not reason.strip():
        raise DataError("a purge needs a reason, for the audit entry", field="reason")
    student = _student(session, sis_id)
    sid = student.id
    report = PurgeReport(sis_id)
    score_ids = list(session.scalars(select(m.RawScore.sourced_id).where(
        m.RawScore.student_id == sid)))
    report.sent = dict(Counter(session.scalars(select(m.PushLedger.destination).where(
        _ledger_key(sis_id)))))

    def gone(name: str, statement: Any) -> None:
        result: Any = session.execute(statement)
        report.removed[name] = int(result.rowcount or 0)

    gone("rejections", delete(m.SyncRejection).where(m.SyncRejection.record_key.in_(score_ids)))
    gone("learning_events", delete(m.LearningEvent).where(m.LearningEvent.event_id.in_(score_ids)))
    gone("push_audit", delete(m.PushAudit).where(_audit_key(sis_id)))
    gone("sent_results", delete(m.PushLedger).where(_ledger_key(sis_id)))
    gone("overrides", delete(m.MasteryOverride).where(m.MasteryOverride.student_id == sid))
    gone("mastery_records", delete(m.MasteryRecord).where(m.MasteryRecord.student_id == sid))
    gone("evidence", delete(m.Evidence).where(m.Evidence.student_id == sid))
    gone("score_objectives", delete(m.RawScoreObjective).where(
        m.RawScoreObjective.raw_score_id.in_(select(m.RawScore.id).where(
            m.RawScore.student_id == sid))))
    gone("scores", delete(m.RawScore).where(m.RawScore.student_id == sid))
    gone("enrollments", delete(m.Enrollment).where(m.Enrollment.user_sourced_id == sis_id))
    gone("guardian_links", delete(m.RosterAgent).where(_agent_of(sis_id)))
    gone("demographics", delete(m.StudentDemographics).where(
        m.StudentDemographics.student_id == sid))
    gone("identity_links", delete(m.IdentityLink).where(m.IdentityLink.student_id == sid))
    gone("transcripts", delete(m.TranscriptDocument).where(
        m.TranscriptDocument.student_sis_id == sis_id))
    gone("student", delete(m.Student).where(m.Student.id == sid))
    report.audit_id = audit.record(
        session, actor=actor, action="student.purge", subject=sis_id, reason=reason,
        details={"removed": report.removed, "still_at_destinations": report.sent}).id
    return report
