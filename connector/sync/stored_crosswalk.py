"""Crosswalk entries made from the mapping queue: stored, used by the next sync, exported, audited.

IT staff map an unmapped item by picking its competency in the web application
rather than editing a CSV on the server. Each entry is validated by the very rules
that read a crosswalk file (:func:`parse_crosswalk`), names a competency the district
has, and is an audit event when made and when removed. The next sync aligns with
the district's files and these together, and ``GET .../mapping/crosswalk?format=csv``
gives them back as a file the district can keep with its configuration.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.adapters.csvfiles import safe_cell
from connector.config.model import Settings
from connector.errors import DataError, NotFoundError
from connector.mapping.crosswalk import CROSSWALK_COLUMNS, CrosswalkEntry, parse_crosswalk
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.models import utcnow
from connector.sync import audit

#: Where a stored entry says it came from, in alignment notes and problems.
ORIGIN = "mapping queue"


def _as_row(entry: m.CrosswalkRow) -> dict[str, Any]:
    return {"id": entry.id, "source": entry.source, "item": entry.item,
            "competency": entry.competency, "dok": entry.dok,
            "evidence_type": entry.evidence_type, "weight": entry.weight,
            "match": entry.match, "course": entry.course,
            "created_at": entry.created_at.isoformat(), "created_by": entry.created_by}


def add_entry(session: Session, settings: Settings, given: dict[str, Any], *,
              by: str) -> tuple[dict[str, Any], bool]:
    """Store one entry (or find the same one); whether it was made by this call.

    DataError names the field: the rules are the crosswalk file's, and the source
    and competency must exist in the district.
    """
    text = {c: "" if given.get(c) is None else str(given[c]) for c in CROSSWALK_COLUMNS}
    parsed, rejected = parse_crosswalk([text], ORIGIN)
    if rejected:
        raise DataError(f"{rejected[0].field}: {rejected[0].reason}")
    (entry,) = parsed
    if entry.source != "*" and entry.source not in settings.sources:
        raise DataError(f"source: no source {entry.source[:64]!r} is configured; the sources "
                        f"are {', '.join(sorted(settings.sources))}")
    for name, value, most in (("item", entry.item, 255), ("course", entry.course, 255)):
        if len(value) > most:
            raise DataError(f"{name}: at most {most} characters")
    try:
        competency = queries.find_competency(session, entry.competency)
    except DataError as exc:
        raise DataError(f"competency: {exc.message}") from None
    same = session.scalars(select(m.CrosswalkRow).where(
        m.CrosswalkRow.source == entry.source, m.CrosswalkRow.item == entry.item,
        m.CrosswalkRow.competency == competency.identifier, m.CrosswalkRow.match == entry.match,
        m.CrosswalkRow.course == entry.course)).first()
    if same is not None:
        return _as_row(same), False
    row = m.CrosswalkRow(source=entry.source, item=entry.item, competency=competency.identifier,
                         dok=entry.dok, evidence_type=entry.evidence_type, weight=entry.weight,
                         match=entry.match, course=entry.course, created_at=utcnow(),
                         created_by=by[:255])
    session.add(row)
    session.flush()
    made = _as_row(row)
    audit.record(session, actor=by, action="crosswalk.add",
                 subject=f"item:{entry.source}/{entry.item}"[:255],
                 after={k: v for k, v in made.items() if k not in ("created_at", "created_by")})
    return made, True


def remove_entry(session: Session, entry_id: int, *, by: str, reason: str) -> dict[str, Any]:
    row = session.get(m.CrosswalkRow, entry_id)
    if row is None:
        raise NotFoundError(f"no crosswalk entry {entry_id}")
    gone = _as_row(row)
    session.delete(row)
    audit.record(session, actor=by, action="crosswalk.remove",
                 subject=f"item:{row.source}/{row.item}"[:255], reason=reason,
                 before={k: v for k, v in gone.items() if k not in ("created_at", "created_by")})
    return gone


def list_entries(session: Session) -> list[dict[str, Any]]:
    return [_as_row(r) for r in session.scalars(select(m.CrosswalkRow).order_by(
        m.CrosswalkRow.id))]


def stored_entries(session: Session) -> list[CrosswalkEntry]:
    """The stored entries as the alignment step reads crosswalk rows."""
    return [CrosswalkEntry(source=r.source, item=r.item, competency=r.competency, dok=r.dok,
                           evidence_type=r.evidence_type, weight=r.weight, file=ORIGIN,
                           row=r.id, match=r.match, course=r.course)
            for r in session.scalars(select(m.CrosswalkRow).order_by(m.CrosswalkRow.id))]


def entries_csv(session: Session) -> str:
    """The stored entries as a crosswalk CSV (the file format's columns, formula-safe)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CROSSWALK_COLUMNS), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in list_entries(session):
        writer.writerow({k: safe_cell(v) if isinstance(v, str) else ("" if v is None else v)
                         for k, v in row.items()})
    return out.getvalue()
