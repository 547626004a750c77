"""Identity links made from the identity queue: a source's id for a student, tied to the roster.

A score that names a student the roster does not know is refused, and waits in the
identity queue. IT staff resolve it by picking the roster student the id means; the
link is stored, audited, and read by the next sync:

- an LMS user id (``kind`` ``user``) is read by the Canvas, Google Classroom and
  Schoology adapters beside their crosswalk file (the file wins where both name it);
- any other kind (``sourced_id``, ``username``, ``email``, ``identifier``) is how a
  score names its student, read by staging when the roster finds nobody.

A link never overrides what the roster matches: it only fills a gap. Because the
refused records were not stored, making a link asks for one full read of its source
(``SourceSystem.reread_asked_at``), so the next run brings them in without ``--full``.
Nothing here matches by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.errors import ConnectorError, DataError, NotFoundError
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.models import utcnow
from connector.sync import audit
from connector.sync.util import chunks

#: How a source can name a student: an LMS user id, or a score's student reference kind.
KINDS = ("user", "sourced_id", "username", "email", "identifier")


class LinkConflict(ConnectorError):
    """The id is already linked to another student: remove that link first (409)."""


def _as_row(link: m.IdentityLink, sis_id: str) -> dict[str, Any]:
    return {"id": link.id, "source": link.source, "kind": link.kind,
            "external_id": link.external_id, "student": sis_id,
            "created_at": link.created_at.isoformat(), "created_by": link.created_by}


def _audited(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("created_at", "created_by")}


def _subject(source: str, kind: str, external_id: str) -> str:
    return f"identity:{source}/{kind}/{external_id}"[:255]


def add_link(session: Session, settings: Settings, given: dict[str, Any], *,
             by: str) -> tuple[dict[str, Any], bool]:
    """Link one id to a roster student (or find the same link); whether this call made it.

    DataError names the field; LinkConflict when the id already means someone else.
    """
    source = str(given.get("source") or "")
    kind = str(given.get("kind") or "")
    external_id = str(given.get("external_id") or "").strip()
    sis_id = str(given.get("student") or "").strip()
    if source not in settings.sources:
        raise DataError(f"source: no source {source[:64]!r} is configured; the sources are "
                        f"{', '.join(sorted(settings.sources))}")
    if kind not in KINDS:
        raise DataError(f"kind: one of {', '.join(KINDS)} (got {kind[:20]!r})")
    if not 1 <= len(external_id) <= 255:
        raise DataError("external_id: 1 to 255 characters")
    try:
        student = queries.find_student(session, sis_id)
    except NotFoundError as exc:
        raise DataError(f"student: {exc.message}") from None
    existing = session.scalars(select(m.IdentityLink).where(
        m.IdentityLink.source == source, m.IdentityLink.kind == kind,
        m.IdentityLink.external_id == external_id)).first()
    if existing is not None:
        if existing.student_id == student.id:
            return _as_row(existing, student.sourced_id), False
        other = session.get(m.Student, existing.student_id)
        raise LinkConflict(f"{kind} {external_id[:64]!r} of {source} is already linked to "
                           f"student {other.sourced_id if other else '?'} (link "
                           f"{existing.id}); remove that link first")
    link = m.IdentityLink(source=source, kind=kind, external_id=external_id,
                          student_id=student.id, created_at=utcnow(), created_by=by[:255])
    session.add(link)
    system = session.scalars(select(m.SourceSystem).where(m.SourceSystem.key == source)).first()
    if system is not None:
        system.reread_asked_at = utcnow()
    session.flush()
    made = _as_row(link, student.sourced_id)
    audit.record(session, actor=by, action="identity.link",
                 subject=_subject(source, kind, external_id), after=_audited(made))
    return made, True


def remove_link(session: Session, link_id: int, *, by: str, reason: str) -> dict[str, Any]:
    """Remove a link with the reason (audited); records already stored through it stay."""
    link = session.get(m.IdentityLink, link_id)
    if link is None:
        raise NotFoundError(f"no identity link {link_id}")
    student = session.get(m.Student, link.student_id)
    gone = _as_row(link, student.sourced_id if student else "")
    session.delete(link)
    audit.record(session, actor=by, action="identity.unlink",
                 subject=_subject(link.source, link.kind, link.external_id), reason=reason,
                 before=_audited(gone))
    return gone


def list_links(session: Session) -> list[dict[str, Any]]:
    return [_as_row(link, sis_id) for link, sis_id in session.execute(
        select(m.IdentityLink, m.Student.sourced_id)
        .join(m.Student, m.Student.id == m.IdentityLink.student_id)
        .order_by(m.IdentityLink.id))]


def user_links(session: Session, source: str) -> dict[str, str]:
    """A source's linked LMS user ids -> the student's SIS id, for its adapter."""
    return {user: sis for user, sis in session.execute(
        select(m.IdentityLink.external_id, m.Student.sourced_id)
        .join(m.Student, m.Student.id == m.IdentityLink.student_id)
        .where(m.IdentityLink.source == source, m.IdentityLink.kind == "user"))}


def student_links(session: Session, keys: Iterable[tuple[str, str, str]]
                  ) -> dict[tuple[str, str, str], int]:
    """(source, kind, value) -> student id, for the score references the roster missed."""
    wanted = sorted(set(keys))
    found: dict[tuple[str, str, str], int] = {}
    if not wanted or session.scalars(select(m.IdentityLink.id).limit(1)).first() is None:
        return found
    for part in chunks(wanted, 300):
        for source, kind, value, sid in session.execute(
                select(m.IdentityLink.source, m.IdentityLink.kind, m.IdentityLink.external_id,
                       m.IdentityLink.student_id)
                .where(or_(*(and_(m.IdentityLink.source == s, m.IdentityLink.kind == k,
                                  m.IdentityLink.external_id == v) for s, k, v in part)))):
            found[(source, kind, value)] = sid
    return found
