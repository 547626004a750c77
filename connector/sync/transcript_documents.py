"""Official transcripts: drafts from the records, review, issue, re-issue and revocation.

The rules are :mod:`connector.transcripts.workflow`; this module applies them to
the store, one version row per step (:class:`~connector.persistence.models.TranscriptDocument`),
and audits each step. The CLI, the API and the registrar's desk all call these
functions, inside the caller's transaction.

Drafting is safe to repeat: a draft rebuilt from unchanged records is the same
draft (its review stands), and records unchanged since the issued version give
no new draft at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.adapters.base import OutboundCredit, OutboundTranscript
from connector.config.model import Settings
from connector.errors import DataError, NotFoundError
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.sync import audit
from connector.sync.transcript_summary import build_for_students
from connector.transcripts import pesc
from connector.transcripts import snapshot as snap
from connector.transcripts import workflow as wf
from connector.transcripts.html import render_html
from connector.transcripts.pdf import render_pdf


@dataclass(frozen=True)
class Drafted:
    """What drafting did for one student: ``drafted``, ``redrafted`` or ``unchanged``."""

    student: str
    outcome: str
    document: m.TranscriptDocument | None
    note: str = ""


def find(session: Session, document_id: int, *, lock: bool = False) -> m.TranscriptDocument:
    query = select(m.TranscriptDocument).where(m.TranscriptDocument.id == document_id)
    found = session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise NotFoundError(f"no transcript version {document_id} in this district")
    return found


def versions(session: Session, sis_id: str | None = None, status: str | None = None,
             limit: int = 500) -> list[m.TranscriptDocument]:
    """Versions newest first, for one student or all, of one status or all."""
    query = select(m.TranscriptDocument).order_by(m.TranscriptDocument.id.desc()).limit(limit)
    if sis_id is not None:
        query = query.where(m.TranscriptDocument.student_sis_id == sis_id)
    if status is not None:
        query = query.where(m.TranscriptDocument.status == status)
    return list(session.scalars(query))


def open_version(session: Session, sis_id: str) -> m.TranscriptDocument | None:
    return session.scalars(select(m.TranscriptDocument).where(
        m.TranscriptDocument.student_sis_id == sis_id,
        m.TranscriptDocument.status.in_(sorted(wf.OPEN)))).first()


def issued_version(session: Session, sis_id: str) -> m.TranscriptDocument | None:
    return session.scalars(select(m.TranscriptDocument).where(
        m.TranscriptDocument.student_sis_id == sis_id,
        m.TranscriptDocument.status == wf.ISSUED)).first()


def outbound(session: Session) -> list[OutboundTranscript]:
    """Every student's issued version as a SIS destination receives it, by student.

    Only ``issued`` counts: a superseded version gave way to its re-issue, and a
    revoked one is withdrawn, so a destination removes what it holds of it.
    """
    doc = m.TranscriptDocument  # the snapshot, not the PDF: a cohort's PDFs are megabytes
    documents = session.execute(
        select(doc.student_sis_id, doc.version, doc.snapshot, doc.snapshot_sha256,
               m.Student.school_sourced_id)
        .outerjoin(m.Student, m.Student.sourced_id == doc.student_sis_id)
        .where(doc.status == wf.ISSUED).order_by(doc.student_sis_id)).all()
    out = []
    for sis_id, version, snapshot, digest, school in documents:
        transcript = snapshot["transcript"]
        summary = transcript.get("summary") or {}
        out.append(OutboundTranscript(
            student_sourced_id=sis_id, school_sourced_id=school or "", version=version,
            issued_on=str(transcript.get("issued_on") or ""), snapshot_sha256=digest,
            credits=tuple(OutboundCredit(
                course_code=c["course"], title=c["title"], credits=float(c["credits"]),
                earned=bool(c["earned"]), earned_on=c.get("earned_on"),
                subject=c.get("subject", ""), school_year=c.get("school_year", ""),
                in_progress=bool(c.get("in_progress")),
                transfer_from=c.get("transfer_from", "")) for c in summary.get("credits", ())),
            expected_graduation=str(summary.get("expected_graduation") or "")))
    return out


def latest(session: Session, sis_id: str, status: str | None = None) -> m.TranscriptDocument:
    """The student's newest version (of ``status`` when given), or NotFoundError."""
    found = versions(session, sis_id, status, limit=1)
    if not found:
        what = f"{status} transcript" if status else "transcript version"
        raise NotFoundError(f"student {sis_id!r} has no {what}")
    return found[0]


def draft(session: Session, settings: Settings, sis_ids: Sequence[str] | None, *, by: str,
          now: datetime | None = None) -> list[Drafted]:
    """Draft (or refresh the draft of) each student's transcript from the records now."""
    now = now or utcnow()
    day = now.astimezone(ZoneInfo(settings.district.timezone)).date()
    built = build_for_students(session, settings, sis_ids, day)
    out: list[Drafted] = []
    for transcript in built:
        sis_id = transcript.student.sis_id
        fresh = snap.to_snapshot(transcript)
        current = open_version(session, sis_id)
        if current is not None:
            if snap.same_content(current.snapshot, fresh):
                out.append(Drafted(sis_id, "unchanged", current,
                                   f"version {current.version} is {current.status}"))
                continue
            before = current.status
            current.snapshot, current.snapshot_sha256 = fresh, snap.content_hash(fresh)
            current.status, current.reviewed_at, current.reviewed_by = wf.DRAFT, None, ""
            current.created_at, current.created_by = now, by[:255]
            audit.record(session, at=now, actor=by, action="transcripts.redraft",
                         subject=sis_id, before={"status": before},
                         after={"status": wf.DRAFT, "version": current.version},
                         details={"document": current.id,
                                  "snapshot_sha256": current.snapshot_sha256})
            out.append(Drafted(sis_id, "redrafted", current,
                               "the records changed: review it again"))
            continue
        issued = issued_version(session, sis_id)
        if issued is not None and snap.same_content(issued.snapshot, fresh):
            out.append(Drafted(sis_id, "unchanged", issued,
                               f"the records are as issued in version {issued.version}"))
            continue
        number = (session.scalar(select(func.max(m.TranscriptDocument.version)).where(
            m.TranscriptDocument.student_sis_id == sis_id)) or 0) + 1
        document = m.TranscriptDocument(
            student_sis_id=sis_id, version=number, status=wf.DRAFT, snapshot=fresh,
            snapshot_sha256=snap.content_hash(fresh), pdf=None, pdf_sha256="",
            created_at=now, created_by=by[:255])
        session.add(document)
        session.flush()
        audit.record(session, at=now, actor=by, action="transcripts.draft", subject=sis_id,
                     after={"status": wf.DRAFT, "version": number},
                     details={"document": document.id,
                              "snapshot_sha256": document.snapshot_sha256})
        out.append(Drafted(sis_id, "drafted", document))
    return out


def review(session: Session, document: m.TranscriptDocument, *, by: str,
           now: datetime | None = None) -> m.TranscriptDocument:
    """Mark a draft reviewed: someone read it and it may be issued."""
    status = wf.after_review(wf.Step(document.status, document.version))
    if status == document.status:
        return document
    now = now or utcnow()
    document.status, document.reviewed_at, document.reviewed_by = status, now, by[:255]
    audit.record(session, at=now, actor=by, action="transcripts.review",
                 subject=document.student_sis_id, before={"status": wf.DRAFT},
                 after={"status": status, "version": document.version},
                 details={"document": document.id})
    return document


@dataclass(frozen=True)
class Stepped:
    """One student's outcome in a step taken for many: the version, or why not."""

    student: str
    document: m.TranscriptDocument | None
    problem: str = ""


def step_many(session: Session, settings: Settings, sis_ids: Sequence[str], step: str, *,
              by: str, now: datetime | None = None) -> list[Stepped]:
    """Review or issue each student's open version, each in a savepoint of its own.

    The registrar's desk marks a cohort reviewed, then issues it. A student with no open
    version, or whose version may not take the step (issuing a draft nobody reviewed, a
    re-issue without a reason), is reported with the reason and the others go on. A step
    already taken (reviewed twice, issued twice) is done already, not an error.
    """
    if step not in ("review", "issue"):
        raise DataError(f"no step {step!r} for many students: review or issue")
    out: list[Stepped] = []
    for sis_id in dict.fromkeys(sis_ids):
        found = open_version(session, sis_id)
        if found is None:
            issued = issued_version(session, sis_id)
            out.append(Stepped(sis_id, issued) if issued is not None else
                       Stepped(sis_id, None, "no draft: draft it first"))
            continue
        try:
            with session.begin_nested():
                done = (review(session, found, by=by, now=now) if step == "review"
                        else issue(session, settings, found, by=by, now=now))
            out.append(Stepped(sis_id, done))
        except (wf.WorkflowError, DataError) as exc:
            out.append(Stepped(sis_id, None, exc.message))
    return out


def issue(session: Session, settings: Settings, document: m.TranscriptDocument, *, by: str,
          reason: str = "", now: datetime | None = None) -> m.TranscriptDocument:
    """Issue a reviewed version: freeze its PDF and snapshot, hash both, number its status.

    Over an issued version this is a re-issue: the old version is superseded (still
    readable) and ``reason`` says why.
    """
    if document.status == wf.ISSUED:
        return document  # asked twice: already done
    current = issued_version(session, document.student_sis_id)
    wf.after_issue(wf.Step(document.status, document.version,
                           current.version if current else None, reason))
    now = now or utcnow()
    day = now.astimezone(ZoneInfo(settings.district.timezone)).date()
    frozen = snap.dated(document.snapshot, day)
    pdf = render_pdf(snap.from_snapshot(frozen), created=now)
    document.snapshot, document.snapshot_sha256 = frozen, snap.content_hash(frozen)
    document.pdf, document.pdf_sha256 = pdf, hashlib.sha256(pdf).hexdigest()
    document.status, document.issued_at, document.issued_by = wf.ISSUED, now, by[:255]
    highest = session.scalar(select(func.max(m.TranscriptDocument.status_index)))
    document.status_index = 0 if highest is None else highest + 1
    if current is not None:
        current.status, current.closed_at, current.closed_by = wf.SUPERSEDED, now, by[:255]
        current.reason = reason.strip()
        document.supersedes_id, document.reason = current.id, reason.strip()
    audit.record(session, at=now, actor=by,
                 action="transcripts.reissue" if current else "transcripts.issue",
                 subject=document.student_sis_id, reason=reason.strip(),
                 before={"status": wf.REVIEWED, "superseded_version": current.version}
                 if current else {"status": wf.REVIEWED},
                 after={"status": wf.ISSUED, "version": document.version},
                 details={"document": document.id, "pdf_sha256": document.pdf_sha256,
                          "snapshot_sha256": document.snapshot_sha256})
    session.flush()
    return document


def revoke(session: Session, document: m.TranscriptDocument, *, by: str, reason: str,
           now: datetime | None = None) -> m.TranscriptDocument:
    """Revoke an issued version: it stays readable, marked revoked, and its credential fails."""
    status = wf.after_revoke(wf.Step(document.status, document.version, reason=reason))
    if status == document.status:
        return document
    now = now or utcnow()
    document.status, document.closed_at, document.closed_by = status, now, by[:255]
    document.reason = reason.strip()
    audit.record(session, at=now, actor=by, action="transcripts.revoke",
                 subject=document.student_sis_id, reason=reason.strip(),
                 before={"status": wf.ISSUED}, after={"status": status,
                                                      "version": document.version},
                 details={"document": document.id})
    return document


def pdf_of(document: m.TranscriptDocument) -> bytes:
    """The version's PDF: as issued once frozen, else rendered now with the DRAFT mark."""
    if document.pdf is not None:
        return bytes(document.pdf)
    return render_pdf(snap.from_snapshot(document.snapshot), watermark=wf.WATERMARK)


def html_of(document: m.TranscriptDocument) -> str:
    return render_html(snap.from_snapshot(document.snapshot),
                       watermark=wf.watermark(document.status))


def export_pesc(settings: Settings, document: m.TranscriptDocument, *,
                destination: str = "Admissions office") -> bytes:
    """An issued version as a PESC High School Transcript v1.5.0 document.

    Made from the frozen snapshot and dated the moment of issue, so the same version
    always gives the same file; a re-issue says so (``TransmissionType`` Reissue).
    """
    if document.status not in wf.FROZEN or document.issued_at is None:
        raise DataError(f"version {document.version} of {document.student_sis_id} is "
                        f"{document.status}: only an issued transcript is sent as PESC XML")
    return pesc.high_school_transcript(
        snap.from_snapshot(document.snapshot), created=document.issued_at,
        document_id=f"{settings.district.key}-{document.id}-v{document.version}",
        reissue=document.supersedes_id is not None, destination=destination)


def intact(document: m.TranscriptDocument) -> bool:
    """Whether a frozen version's PDF and snapshot still hash as they did when issued."""
    if document.pdf is None:
        return False
    return (hashlib.sha256(bytes(document.pdf)).hexdigest() == document.pdf_sha256
            and snap.content_hash(document.snapshot) == document.snapshot_sha256)


def describe(document: m.TranscriptDocument) -> dict[str, Any]:
    """The version as the CLI, the API and the desk show it (never the student's name)."""
    return {
        "id": document.id, "student": document.student_sis_id, "version": document.version,
        "status": document.status, "created_at": document.created_at,
        "created_by": document.created_by, "reviewed_at": document.reviewed_at,
        "reviewed_by": document.reviewed_by, "issued_at": document.issued_at,
        "issued_by": document.issued_by, "closed_at": document.closed_at,
        "closed_by": document.closed_by, "reason": document.reason,
        "supersedes": document.supersedes_id, "snapshot_sha256": document.snapshot_sha256,
        "pdf_sha256": document.pdf_sha256 or None,
        "as_of": document.snapshot.get("transcript", {}).get("issued_on"),
    }
