"""Page 1 of a transcript: the school, the year, levels per domain, credit, graduation.

Reads progress and course credit (:mod:`connector.sync.progress`), which the
transcripts service below this layer may not, and hands the summaries to
:func:`connector.transcripts.service.build_for_students`. Callers build transcripts
through :func:`build_for_students` here, so every transcript starts with its summary.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.errors import ConfigurationError
from connector.persistence import models as m
from connector.sync.progress import credit_report, progress
from connector.transcripts import service
from connector.transcripts import transfer_credit as transfer
from connector.transcripts.build import (
    expected_graduation,
    graduation_progress,
    school_year,
    school_year_start,
)
from connector.transcripts.model import CreditRow, DomainLevel, SchoolInfo, Summary, Transcript

log = logging.getLogger(__name__)


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
    zone = ZoneInfo(settings.district.timezone)
    credits: dict[str, list[CreditRow]] = defaultdict(list)
    for sis_id, rows in transfer_credit(settings).items():
        credits[sis_id] += rows
    for row in credit_report(session, settings, ids):
        credits[row["student"]].append(CreditRow(
            row["course"], row["title"], float(row["credits"]), bool(row["earned"]),
            _local_day(row["earned_on"], zone), row["subject"],
            row["school_year"], bool(row["in_progress"])))
    configured = settings.district.transcript.schools
    titles = {d.key: d.title for d in settings.district.progress.domains}
    out = {}
    for s in students:
        born = births.get(s.sourced_id)
        info = configured.get(s.school_sourced_id)
        school = SchoolInfo(schools.get(s.school_sourced_id, ""), *(
            (info.address, info.ceeb, info.phone, info.registrar) if info else ()))
        mine = sorted(credits.get(s.sourced_id, []), key=lambda c: (c.school_year, c.subject))
        requirements, graduation = graduation_progress(
            mine, info.graduation_credits if info else {},
            final_year=expected_graduation(s.grade, as_of) == str(school_year_start(as_of) + 1))
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
            credits=tuple(mine), graduation=graduation, requirements=requirements)
    return out


def _local_day(when: datetime | date | None, zone: ZoneInfo) -> str | None:
    """The district's calendar day of a moment (a transcript dates credit by day)."""
    if when is None:
        return None
    if isinstance(when, datetime):
        aware = when if when.tzinfo else when.replace(tzinfo=UTC)
        return aware.astimezone(zone).date().isoformat()
    return when.isoformat()


def transfer_credit(settings: Settings) -> dict[str, list[CreditRow]]:
    """The SIS's transfer credit per student; rows it cannot read are logged and left out.

    A missing file is an error, not an empty list: a transcript that quietly drops a
    student's transfer credit misstates their record.
    """
    name = settings.district.transcript.transfer_credit
    if not name:
        return {}
    path = settings.resolve_path(name)
    if not path.is_file():
        raise ConfigurationError(f"transcript.transfer_credit: no file at {path}")
    found, rejected = transfer.read(path)
    for problem in rejected:
        log.warning("transfer credit row set aside: %s", problem)
    return found

