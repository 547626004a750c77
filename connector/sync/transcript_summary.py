"""Page 1 of a transcript: the school, the year, levels per domain, credit, graduation.

Reads progress and course credit (:mod:`connector.sync.progress`), which the
transcripts service below this layer may not, and hands the summaries to
:func:`connector.transcripts.service.build_for_students`. Callers build transcripts
through :func:`build_for_students` here, so every transcript starts with its summary.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.persistence import models as m
from connector.sync.progress import credit_report, progress
from connector.transcripts import service
from connector.transcripts.build import expected_graduation, school_year
from connector.transcripts.model import CreditRow, DomainLevel, SchoolInfo, Summary, Transcript


def build_for_students(session: Session, settings: Settings, sis_ids: Sequence[str] | None,
                       issued_on: date) -> list[Transcript]:
    """Transcripts for these students (all when ``sis_ids`` is None), each with page 1."""
    return service.build_for_students(session, settings, sis_ids, issued_on,
                                      summaries=summaries_for)


def summaries_for(session: Session, settings: Settings, students: Sequence[m.Student],
                  schools: dict[str, str], as_of: date) -> dict[str, Summary]:
    """Page 1 of each student's transcript: school, year, levels per domain, credit."""
    if not students:
        return {}
    ids = [s.sourced_id for s in students]
    births = dict(session.execute(select(m.Student.sourced_id, m.StudentDemographics.birth_date)
                                  .join(m.StudentDemographics,
                                        m.StudentDemographics.student_id == m.Student.id)
                                  .where(m.Student.sourced_id.in_(ids))).all())
    paces = {p.sis_id: p for p in progress(session, settings, as_of, ids)}
    credits: dict[str, list[CreditRow]] = defaultdict(list)
    for row in credit_report(session, settings, ids):
        credits[row["student"]].append(CreditRow(
            row["course"], row["title"], float(row["credits"]), bool(row["earned"]),
            row["earned_on"].isoformat() if row["earned_on"] else None))
    configured = settings.district.transcript.schools
    titles = {d.key: d.title for d in settings.district.progress.domains}
    zone = ZoneInfo(settings.district.timezone)
    out = {}
    for s in students:
        born = births.get(s.sourced_id)
        info = configured.get(s.school_sourced_id)
        school = SchoolInfo(schools.get(s.school_sourced_id, ""), *(
            (info.address, info.ceeb, info.phone, info.registrar) if info else ()))
        mine = credits.get(s.sourced_id, [])
        earned = sum(c.credits for c in mine if c.earned)
        total = sum(c.credits for c in mine)
        paced = paces.get(s.sourced_id)
        out[s.sourced_id] = Summary(
            school=school, school_year=school_year(as_of),
            birth_date=born.isoformat() if born else None,
            expected_graduation=expected_graduation(s.grade, as_of),
            domains=tuple(DomainLevel(
                titles.get(d.domain) or d.domain, d.academic_level or "—", d.mastered, d.total,
                d.label, tuple((name, when.astimezone(zone).date().isoformat() if when else None)
                               for name, when in d.levels))
                for d in (paced.domains if paced else [])),
            performance_snapshot=settings.district.transcript.performance_snapshot,
            credits=tuple(mine),
            graduation=(f"{earned:g} of {total:g} course credits earned by demonstrated "
                        f"competency" if mine else ""))
    return out

