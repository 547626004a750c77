"""Progress reports from the store: academic levels, pace, exceptions, credit, time to proficiency.

Everything here reads mastery records and calls the pure rules in
:mod:`connector.mastery.progress`; nothing is written. Domains come from
``progress.domains`` in district.yaml, or, when none are configured, one domain
per top-level competency of each academic framework with levels from the CASE
``educationLevel`` of its learning targets.
"""

from __future__ import annotations

import fnmatch
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.domain.framework import FrameworkKind
from connector.errors import ConfigurationError, NotFoundError
from connector.mastery import pace_batch
from connector.mastery.placement import Diagnostic, Placement, place
from connector.mastery.progress import (
    Domain,
    DomainPace,
    credit,
    days_to_proficiency,
    domain_pace,
    exception_reasons,
)
from connector.persistence import bulk_io
from connector.persistence import models as m
from connector.persistence.tenancy import session_district
from connector.sync.util import chunks


@dataclass(frozen=True)
class Target:
    """An academic competency that progress counts: a leaf of an academic framework."""

    id: int
    identifier: str
    code: str
    root: str
    education_levels: tuple[str, ...]


@dataclass
class StudentProgress:
    sis_id: str
    name: str
    grade: str
    domains: list[DomainPace] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"student": self.sis_id, "name": self.name, "grade": self.grade,
                "domains": [d.as_dict() for d in self.domains], "exceptions": self.reasons}


def targets(session: Session) -> list[Target]:
    """Leaves of academic frameworks: what levels, pace and credit are counted in."""
    kinds = dict(session.execute(select(m.Framework.id, m.Framework.kind)).all())
    rows = [c for c in session.scalars(select(m.Competency).where(m.Competency.deprecated.is_(False)))
            if (kinds.get(c.framework_id) or FrameworkKind.ACADEMIC.value)
            == FrameworkKind.ACADEMIC.value]
    parents = {c.parent_identifier for c in rows if c.parent_identifier}
    return [Target(c.id, c.identifier, c.human_coding_scheme, c.root_identifier or c.identifier,
                   tuple(str(x) for x in c.education_levels or ()))
            for c in rows if c.identifier not in parents]


def domains(session: Session, settings: Settings, found: Sequence[Target]) -> list[Domain]:
    """The configured domains with patterns resolved, or one per top-level competency."""
    configured = settings.district.progress.domains
    if configured:
        out = []
        for d in configured:
            levels = []
            for name, patterns in d.levels:
                ids = frozenset(t.identifier for t in found if any(_matches(t, p) for p in patterns))
                if not ids:
                    raise ConfigurationError(f"progress domain {d.key!r}, level {name!r}: no "
                                             f"academic competency matches {list(patterns)}")
                levels.append((name, ids))
            out.append(Domain(d.key, d.title, tuple(levels), d.graduation_level,
                              frozenset(d.grades)))
        return out
    titles = dict(session.execute(select(m.Competency.identifier, m.Competency.full_statement)))
    codes = dict(session.execute(select(m.Competency.identifier, m.Competency.human_coding_scheme)))
    by_root: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for t in found:
        level = min(t.education_levels, default="-")
        by_root[t.root][level].add(t.identifier)
    return [Domain(codes.get(root) or root, titles.get(root, root),
                   tuple((name, frozenset(ids)) for name, ids in sorted(levels.items())))
            for root, levels in sorted(by_root.items(), key=lambda kv: codes.get(kv[0]) or kv[0])]


def _matches(target: Target, pattern: str) -> bool:
    if pattern.endswith("*"):
        return fnmatch.fnmatchcase(target.code, pattern)
    return pattern in (target.code, target.identifier)


class Pupil(NamedTuple):
    """The columns of a student that progress needs (not the ORM object: reports read thousands)."""

    id: int
    sourced_id: str
    given_name: str
    family_name: str
    grade: str


def _students(session: Session, sis_ids: Sequence[str] | None) -> list[Pupil]:
    """The students asked for, by SIS id (NotFoundError naming any unknown), or every one.

    A list as long as the district's is read as the district and filtered here, rather
    than sent as thousands of bound values.
    """
    s = m.Student
    query = select(s.id, s.sourced_id, s.given_name, s.family_name, s.grade).order_by(s.sourced_id)
    wanted = set(sis_ids or ())
    narrow = bool(wanted) and len(wanted) < (session.scalar(select(func.count(s.id))) or 0)
    if narrow:
        query = query.where(s.sourced_id.in_(sorted(wanted)))
    found = [Pupil(*row) for row in session.execute(query)
             if not wanted or row[1] in wanted]
    missing = sorted(wanted - {p.sourced_id for p in found})
    if missing:
        raise NotFoundError(f"no student with SIS id {', '.join(missing)}")
    return found


#: What progress reads of each record: both are answered from the index
#: ``ix_mastery_record_district_progress`` alone (``tests/integration/test_query_plans.py``).
SINCE_SQL = ("SELECT student_id, competency_id, proficient_since FROM mastery_record"
             " WHERE district_id = ? AND proficient_since IS NOT NULL"
             " AND competency_id IN ({targets}){only}")
FIRST_EVIDENCE_SQL = ("SELECT student_id, MIN(first_evidence_at) FROM mastery_record"
                      " WHERE district_id = ? AND first_evidence_at IS NOT NULL"
                      " AND competency_id IN ({targets}){only} GROUP BY student_id")


def _since(session: Session, wanted: Sequence[Target], student_ids: Sequence[int] | None = None,
           *, first_evidence: bool = True
           ) -> tuple[dict[int, dict[str, datetime | None]], dict[int, datetime | None]]:
    """Per student: proficient-since by competency identifier, and the first evidence date.

    Only the learning targets' proficient records carry what is read for the first map
    (a competency absent from it reads as not proficient, as a None date would). The
    first evidence date is one aggregate per student, read only when ``first_evidence``.
    ``student_ids`` narrows both reads to those students: one student's progress reads
    that student's records, not the district's.
    """
    by_id = {t.id: t.identifier for t in wanted}
    since: dict[int, dict[str, datetime | None]] = defaultdict(dict)
    first: dict[int, datetime | None] = {}
    if not by_id:
        return since, first
    # The driver's rows (bulk_io.driver_rows): a district's report reads every
    # proficient record, and the ORM's per-row work was most of the report's time.
    district = session_district(session)
    moment = bulk_io.utc_moments()
    targets_in = ",".join(str(int(i)) for i in sorted(by_id))
    narrowing = [""] if student_ids is None else [
        " AND student_id IN (" + ",".join(str(int(s)) for s in chunk) + ")"
        for chunk in chunks(student_ids)]
    for only in narrowing:
        for sid, cid, prof in bulk_io.driver_rows(
                session, SINCE_SQL.format(targets=targets_in, only=only), district):
            since[sid][by_id[cid]] = moment(prof)
        if first_evidence:
            for sid, start in bulk_io.driver_rows(
                    session, FIRST_EVIDENCE_SQL.format(targets=targets_in, only=only), district):
                first[sid] = moment(start)
    return since, first


def progress(session: Session, settings: Settings, as_of: date,
             sis_ids: Sequence[str] | None = None, *, snapshot: bool = True,
             exceptions: bool = True) -> list[StudentProgress]:
    """Academic level and pace per domain, and the exception reasons, for each student.

    ``snapshot=False`` leaves out when each level was reached: a report over a school or
    district does not show it, and it was a third of such a report's time.
    ``exceptions=False`` leaves the reasons empty, for reports that show none (equity).
    """
    found = targets(session)
    resolved = domains(session, settings, found)
    rules = settings.district.progress.pace
    students = _students(session, sis_ids)
    # The whole district asked for by id is read as the whole district: one pass, not chunks.
    everyone = not sis_ids or len(students) == session.scalar(select(func.count(m.Student.id)))
    since, first = _since(session, found, None if everyone else [p.id for p in students],
                          first_evidence=exceptions)
    placements = _placements(session, settings, [s.id for s in students], as_of)
    # Reports (no snapshot) take the batch path for the students without a placement.
    batched = [] if snapshot else [p for p in students if p.id not in placements]
    computed: dict[int, tuple[list[DomainPace], list[str]]] = {}
    if batched:
        identifiers = [t.identifier for t in found]
        matrix = pace_batch.since_matrix([since.get(p.id, {}) for p in batched], identifiers)
        computed = dict(zip([p.id for p in batched], pace_batch.batch_paces(
            resolved, identifiers, matrix, [p.grade for p in batched],
            [first.get(p.id) is not None for p in batched], as_of, rules), strict=True))
    out = []
    for student in students:
        if student.id in computed:
            paces, reasons = computed[student.id]
        else:
            mine = since.get(student.id, {})
            placed = placements.get(student.id, {})
            paces = [domain_pace(d, mine, as_of, rules, placed.get(d.key), snapshot=snapshot)
                     for d in resolved if d.applies_to(student.grade)]
            reasons = exception_reasons(mine, paces, as_of, rules,
                                        has_evidence=first.get(student.id) is not None)
        out.append(StudentProgress(student.sourced_id,
                                   f"{student.given_name} {student.family_name}",
                                   student.grade, paces, reasons if exceptions else []))
    return out


def _placements(session: Session, settings: Settings, student_ids: Sequence[int],
                as_of: date) -> dict[int, dict[str, Placement]]:
    """Each student's placement per domain from the diagnostics the district places by."""
    rules = settings.district.progress.placement
    if not rules or not student_ids:
        return {}
    sources = sorted({r.source for r in rules})
    taken: dict[int, list[Diagnostic]] = defaultdict(list)
    for chunk in chunks(student_ids):
        for student_id, source, item, title, score, when in session.execute(
                select(m.RawScore.student_id, m.SourceItem.source_system, m.SourceItem.sourced_id,
                       m.SourceItem.title, m.RawScore.score, m.RawScore.scored_at)
                .join(m.SourceItem, m.SourceItem.id == m.RawScore.source_item_id)
                .where(m.SourceItem.source_system.in_(sources),
                       m.RawScore.student_id.in_(list(chunk)), m.RawScore.score.is_not(None),
                       m.RawScore.scored_at.is_not(None))):
            if score is not None and when is not None:  # the query filtered; for the types
                taken[student_id].append(Diagnostic(source, item, title, score, when))
    return {sid: place(rules, results, as_of) for sid, results in taken.items()}


def credit_report(session: Session, settings: Settings,
                  sis_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Course credit by mastery: every required competency proficient -> earned, with the date.

    A course's required competencies are the ones configured for it, or else every
    academic competency its classes' items are aligned to. A course not yet earned is in
    progress when it belongs to the latest school year the roster has (the SIS's current
    one: the roster, not the clock, says which year is under way).
    """
    configured = {c.course: c for c in settings.district.progress.courses}
    courses = list(session.scalars(select(m.Course).order_by(m.Course.sourced_id)))
    if configured:
        courses = [c for c in courses if c.sourced_id in configured or c.course_code in configured]
    leaf_ids = {t.id: t for t in targets(session)}
    assessed: dict[str, set[str]] = defaultdict(set)
    for course_id, cid in session.execute(
            select(m.ClassSection.course_sourced_id, m.Alignment.competency_id)
            .join(m.SourceItem, m.SourceItem.class_sourced_id == m.ClassSection.sourced_id)
            .join(m.Alignment, m.Alignment.source_item_id == m.SourceItem.id).distinct()):
        if cid in leaf_ids:
            assessed[course_id].add(leaf_ids[cid].identifier)
    enrolled: dict[str, set[str]] = defaultdict(set)
    query = (select(m.ClassSection.course_sourced_id, m.Enrollment.user_sourced_id)
             .join(m.Enrollment, m.Enrollment.class_sourced_id == m.ClassSection.sourced_id)
             .where(m.Enrollment.role == "student"))
    if sis_ids is not None:  # one student's transcript reads that student's enrollments
        query = query.where(m.Enrollment.user_sourced_id.in_(list(sis_ids)))
    for course_id, user in session.execute(query):
        enrolled[course_id].add(user)
    students = {s.sourced_id: s for s in _students(session, sis_ids)}
    since, _ = _since(session, list(leaf_ids.values()),
                      None if sis_ids is None else [s.id for s in students.values()])
    by_code = {t.code: t.identifier for t in leaf_ids.values() if t.code}
    years = {sourced: (title, start) for sourced, title, start in session.execute(
        select(m.AcademicSession.sourced_id, m.AcademicSession.title,
               m.AcademicSession.start_date).where(m.AcademicSession.type == "schoolYear"))}
    starts = [start for c in courses
              if (start := years.get(c.school_year_sourced_id, ("", None))[1]) is not None]
    latest = max(starts, default=None)
    rows = []
    for course in courses:
        setting = configured.get(course.sourced_id) or configured.get(course.course_code)
        required = ({by_code.get(c, c) for c in setting.competencies}
                    if setting and setting.competencies else assessed.get(course.sourced_id, set()))
        title, start = years.get(course.school_year_sourced_id, ("", None))
        current = start is not None and start == latest
        for sis_id in sorted(enrolled.get(course.sourced_id, set()) & set(students)):
            status = credit(required, since.get(students[sis_id].id, {}))
            rows.append({"student": sis_id, "course": course.course_code or course.sourced_id,
                         "title": course.title, "credits": setting.credits if setting else 1.0,
                         "earned": status.earned, "earned_on": status.earned_on,
                         "required": len(required), "missing": len(status.missing),
                         "subject": course.subjects[0] if course.subjects else "",
                         "school_year": title, "in_progress": current and not status.earned})
    return rows


def time_to_proficiency(session: Session) -> list[dict[str, Any]]:
    """Per competency: how many students are proficient, and the days it took (median, mean)."""
    codes = dict(session.execute(select(m.Competency.id, m.Competency.human_coding_scheme)).all())
    days: dict[int, list[int]] = defaultdict(list)
    for cid, first, since in session.execute(select(
            m.MasteryRecord.competency_id, m.MasteryRecord.first_evidence_at,
            m.MasteryRecord.proficient_since)):
        taken = days_to_proficiency(first, since)
        if taken is not None:
            days[cid].append(taken)
    return [{"competency": codes.get(cid) or cid, "proficient": len(values),
             "median_days": round(float(statistics.median(values)), 1),
             "mean_days": round(statistics.fmean(values), 1)}
            for cid, values in sorted(days.items(), key=lambda kv: str(codes.get(kv[0])))]


def content_summary(session: Session, settings: Settings, as_of: date,
                    sis_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per student and domain: how many targets sit at each level or state, and the academic level.

    The summary a report card or a student-led conference starts from: counts, not
    averages, so "not yet" stays visible as a state.
    """
    found = targets(session)
    resolved = domains(session, settings, found)
    by_identifier = {t.identifier: t.id for t in found}
    records: dict[tuple[int, int], str] = {}
    for sid, cid, state, level in session.execute(select(
            m.MasteryRecord.student_id, m.MasteryRecord.competency_id, m.MasteryRecord.state,
            m.MasteryRecord.level_code)):
        records[(sid, cid)] = level if state == "level" and level else state
    rows = {p.sis_id: p for p in progress(session, settings, as_of, sis_ids)}
    out = []
    for student in _students(session, sis_ids):
        mine = [d for d in resolved if d.applies_to(student.grade)]
        for domain, pace in zip(mine, rows[student.sourced_id].domains, strict=True):
            counts: dict[str, int] = defaultdict(int)
            for identifier in domain.competencies:
                counts[records.get((student.id, by_identifier[identifier]), "no_evidence")] += 1
            out.append({"student": student.sourced_id, "grade": student.grade,
                        "domain": domain.key, "title": domain.title,
                        "academic_level": pace.academic_level, "proficient": pace.mastered,
                        "targets": pace.total, "counts": dict(sorted(counts.items())),
                        "graduation_met": pace.graduation_met})
    return out
