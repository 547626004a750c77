"""Teacher overrides: professional judgment over the computed level, audited and durable.

Competency-based districts hold that teachers credential proficiency on a body
of evidence; the engine's number is a suggestion they can overrule. An override
names the level (or a state such as exempt), the reason and who decided. It is
never deleted: replacing or clearing it closes the row with who and why, so the
history of every call stays readable. The record is recomputed at once, and every
later recomputation keeps the override on top and the computed result beside it.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.domain.scale import MasteryState, ProficiencyScale
from connector.errors import DataError, NotFoundError
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.models import utcnow
from connector.sync import audit, compute

log = logging.getLogger(__name__)

#: States a teacher may set instead of a level.
OVERRIDE_STATES = (MasteryState.EXEMPT.value, MasteryState.NOT_YET.value)


@dataclass(frozen=True)
class OverrideOutcome:
    override_id: int | None
    student: str
    competency: str
    record: dict[str, Any] | None


def _level_code(scale: ProficiencyScale, given: str) -> str:
    for level in scale.levels:
        if given.strip().lower() in (level.code.lower(), level.label.lower()):
            return level.code
    raise DataError(f"{given!r} is not a level of {scale.name}; levels: "
                    f"{', '.join(f'{lv.code} {lv.label}' for lv in scale.levels)}")


def set_override(session: Session, settings: Settings, sis_id: str, competency_ref: str, *,
                 level: str | None = None, state: str | None = None, reason: str,
                 by: str) -> OverrideOutcome:
    """Record a teacher's level (or state) for one student and competency, then recompute."""
    scale = settings.district.scale
    if (level is None) == (state is None):
        raise DataError("give either a level or a state (exempt or not_yet), not both")
    if not reason.strip():
        raise DataError("an override needs a reason: it is shown with the record and audited")
    if not by.strip():
        raise DataError("an override needs the name or id of the teacher who made it")
    if state is not None and state not in OVERRIDE_STATES:
        raise DataError(f"state must be one of {list(OVERRIDE_STATES)}: {state!r}")
    code = _level_code(scale, level) if level is not None else None
    student = queries.find_student(session, sis_id)
    competency = queries.find_competency(session, competency_ref)
    record = _record(session, student.id, competency.id)
    before = _as_audited(record)  # now: the recompute below changes the same row
    now = utcnow()
    new = m.MasteryOverride(
        student_id=student.id, competency_id=competency.id,
        state=MasteryState.LEVEL.value if code else str(state), level_code=code,
        reason=reason.strip(), author=by.strip(), created_at=now,
        computed_state=record.computed_state if record else None,
        computed_level_code=record.computed_level_code if record else None,
        computed_score=record.computed_score if record else None)
    session.add(new)
    session.flush()
    for previous in _active(session, student.id, competency.id):
        if previous.id != new.id:
            previous.cleared_at, previous.cleared_by = now, by.strip()
            previous.cleared_reason = f"replaced by override {new.id}"
    compute.recompute(session, settings, {(student.id, competency.id)})
    log.info("override %s set on student %s, competency %s", new.id, student.id,
             competency.identifier)
    shown = _shown(session, settings, sis_id, competency.id)
    audit.record(session, at=now, actor=by.strip(), action="override.set",
                 subject=f"{sis_id}/{competency.identifier}", reason=reason.strip(),
                 before=before, after=_as_audited(_record(session, student.id, competency.id)),
                 details={"override": new.id})
    return OverrideOutcome(new.id, sis_id, competency.identifier, shown)


def clear_override(session: Session, settings: Settings, sis_id: str, competency_ref: str, *,
                   reason: str, by: str) -> OverrideOutcome:
    """Close the active override; the computed result becomes authoritative again."""
    if not reason.strip() or not by.strip():
        raise DataError("clearing an override needs a reason and who cleared it")
    student = queries.find_student(session, sis_id)
    competency = queries.find_competency(session, competency_ref)
    active = _active(session, student.id, competency.id)
    if not active:
        raise NotFoundError(f"student {sis_id!r} has no active override on {competency_ref!r}")
    now = utcnow()
    before = _as_audited(_record(session, student.id, competency.id))
    for row in active:
        row.cleared_at, row.cleared_by, row.cleared_reason = now, by.strip(), reason.strip()
    session.flush()
    compute.recompute(session, settings, {(student.id, competency.id)})
    log.info("override(s) %s cleared on student %s", [r.id for r in active], student.id)
    shown = _shown(session, settings, sis_id, competency.id)
    audit.record(session, at=now, actor=by.strip(), action="override.clear",
                 subject=f"{sis_id}/{competency.identifier}", reason=reason.strip(),
                 before=before, after=_as_audited(_record(session, student.id, competency.id)),
                 details={"overrides": [r.id for r in active]})
    return OverrideOutcome(None, sis_id, competency.identifier, shown)


def _as_audited(record: m.MasteryRecord | None) -> dict[str, Any] | None:
    """What an audit event keeps of a record: its level and state, and whose they are."""
    if record is None:
        return None
    return {"state": record.state, "level": record.level_code, "score": record.score,
            "override": record.override_id, "computed_level": record.computed_level_code}


def override_history(session: Session, sis_id: str, competency_ref: str) -> list[dict[str, Any]]:
    """Every override ever made on this pair, oldest first: the audit trail."""
    student = queries.find_student(session, sis_id)
    competency = queries.find_competency(session, competency_ref)
    rows = session.scalars(select(m.MasteryOverride).where(
        m.MasteryOverride.student_id == student.id,
        m.MasteryOverride.competency_id == competency.id).order_by(m.MasteryOverride.id))
    return [{"id": r.id, "state": r.state, "level": r.level_code, "reason": r.reason,
             "by": r.author, "at": r.created_at, "computed_state": r.computed_state,
             "computed_level": r.computed_level_code, "computed_score": r.computed_score,
             "cleared_at": r.cleared_at, "cleared_by": r.cleared_by,
             "cleared_reason": r.cleared_reason} for r in rows]


def _active(session: Session, student_id: int, competency_id: int) -> list[m.MasteryOverride]:
    return list(session.scalars(select(m.MasteryOverride).where(
        m.MasteryOverride.student_id == student_id,
        m.MasteryOverride.competency_id == competency_id,
        m.MasteryOverride.cleared_at.is_(None)).order_by(m.MasteryOverride.id)))


def _record(session: Session, student_id: int, competency_id: int) -> m.MasteryRecord | None:
    return session.scalars(select(m.MasteryRecord).where(
        m.MasteryRecord.student_id == student_id,
        m.MasteryRecord.competency_id == competency_id)).first()


def _shown(session: Session, settings: Settings, sis_id: str,
           competency_id: int) -> dict[str, Any] | None:
    found = queries.student_mastery(session, sis_id, settings.district.scale, competency_id)
    return found[0] if found else None


@dataclass(frozen=True)
class ImportResult:
    """What an override file did: set, already in place, and rows set aside (with why)."""

    set: int
    unchanged: int
    rejected: tuple[str, ...]


#: The columns of an override file; ``level`` or ``state``, one of them.
IMPORT_COLUMNS = ("student", "competency", "level", "state", "reason", "by")


def import_overrides(session: Session, settings: Settings, path: Path) -> ImportResult:
    """Apply a file of teachers' overrides (judgements brought over from another system).

    Each row is applied through :func:`set_override`, so it is audited and the record is
    recomputed. A row whose override is already active, same level or state and reason,
    is left alone: importing the same file again changes nothing. A row that cannot be
    applied is set aside with its row number, field and reason; the others go in.
    """
    done = same = 0
    rejected: list[str] = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("student", "competency", "reason", "by")
                   if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path.name}: column{'s' if len(missing) > 1 else ''} missing: "
                            f"{', '.join(missing)}")
        for n, row in enumerate(reader, start=2):
            got = {k: (row.get(k) or "").strip() for k in IMPORT_COLUMNS}
            blank = next((k for k in ("student", "competency", "reason", "by") if not got[k]),
                         None)
            if blank or not (got["level"] or got["state"]):
                rejected.append(f"{path.name} row {n}, {blank or 'level'}: required")
                continue
            problem = _problem(session, settings, got)
            if problem:
                rejected.append(f"{path.name} row {n}, {problem}")
                continue
            if _already(session, settings, got):
                same += 1
                continue
            with session.begin_nested():
                set_override(session, settings, got["student"], got["competency"],
                             level=got["level"] or None, state=got["state"] or None,
                             reason=got["reason"], by=got["by"])
            done += 1
    return ImportResult(done, same, tuple(rejected))


def _problem(session: Session, settings: Settings, row: dict[str, str]) -> str | None:
    """``field: reason`` when a row cannot be applied, checked field by field."""
    if row["level"] and row["state"]:
        return "state: give a level or a state, not both"
    checks = (("student", lambda: queries.find_student(session, row["student"])),
              ("competency", lambda: queries.find_competency(session, row["competency"])),
              ("level", lambda: row["level"] and _level_code(settings.district.scale,
                                                             row["level"])))
    for name, check in checks:
        try:
            check()
        except (DataError, NotFoundError) as exc:
            return f"{name}: {exc}"
    if row["state"] and row["state"] not in OVERRIDE_STATES:
        return f"state: must be one of {list(OVERRIDE_STATES)}: {row['state']!r}"
    return None


def _already(session: Session, settings: Settings, row: dict[str, str]) -> bool:
    """Whether the row's override is the one active now (same level or state, same reason)."""
    student = queries.find_student(session, row["student"])
    competency = queries.find_competency(session, row["competency"])
    code = _level_code(settings.district.scale, row["level"]) if row["level"] else None
    return any((o.level_code == code if code else o.state == row["state"])
               and o.reason == row["reason"]
               for o in _active(session, student.id, competency.id))
