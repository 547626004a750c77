"""Read queries the CLI and the API share, so both always show the same thing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from connector.domain.scale import ProficiencyScale
from connector.errors import DataError, NotFoundError
from connector.mastery.record import INPUT_COLUMNS, explain_record
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


#: Rejection fields that mean "this student could not be matched to the SIS roster":
#: ``user_id`` from LMS adapters (no SIS id, no crosswalk entry), ``student`` from staging
#: (an id no rostered student has).
IDENTITY_FIELDS = ("user_id", "student")


def identity_exceptions(session: Session) -> list[dict[str, Any]]:
    """Unmatched students in each job's latest run: one row per student and reason.

    Nothing here is ever matched by name: each row says who is unmatched (the
    source, and the kind and value of the id it sent) and how many records wait for
    them. The fix is an identity link to the roster student (``linked`` names the
    SIS id once one exists: the next run brings the records in), a crosswalk entry,
    or the vendor's SIS id.
    """
    # A run waiting in the queue or still going has not said who is unmatched yet.
    latest = (select(func.max(m.SyncRun.id))
              .where(m.SyncRun.status.not_in(("queued", "running"))).group_by(m.SyncRun.job))
    rows = session.execute(
        select(m.SyncRun.job, m.SyncRun.id, m.SyncRejection.source, m.SyncRejection.subject,
               m.SyncRejection.reason, func.count(m.SyncRejection.id),
               func.min(m.SyncRejection.file))
        .join(m.SyncRun, m.SyncRun.id == m.SyncRejection.run_id)
        .where(m.SyncRejection.run_id.in_(latest),
               m.SyncRejection.field.in_(IDENTITY_FIELDS))
        .group_by(m.SyncRun.job, m.SyncRun.id, m.SyncRejection.source,
                  m.SyncRejection.subject, m.SyncRejection.reason)
        .order_by(m.SyncRun.job, m.SyncRejection.source, m.SyncRejection.reason)).all()
    links = {(s, k, e): sis for s, k, e, sis in session.execute(
        select(m.IdentityLink.source, m.IdentityLink.kind, m.IdentityLink.external_id,
               m.Student.sourced_id)
        .join(m.Student, m.Student.id == m.IdentityLink.student_id))} if rows else {}
    found = []
    for job, run, source, subject, reason, records, where in rows:
        kind, _, external = subject.partition(":") if subject else ("", "", "")
        found.append({"job": job, "run": run, "source": source, "kind": kind,
                      "external_id": external, "reason": reason, "records": records,
                      "where": where, "linked": links.get((source, kind, external))})
    return found


def evidence_labels(session: Session, evidence_ids: Iterable[int]) -> dict[int, str]:
    """Evidence id -> the title of the item it scores, for readable explanations."""
    return {eid: title for eid, (title, _) in evidence_sources(session, evidence_ids).items()}


def evidence_sources(session: Session, evidence_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Evidence id -> (item title, the score's natural key ``source:sourced_id``)."""
    found: dict[int, tuple[str, str]] = {}
    ids = sorted(set(evidence_ids))
    for start in range(0, len(ids), 500):
        for eid, title, source, sourced_id in session.execute(
                select(m.Evidence.id, m.SourceItem.title, m.RawScore.source_system,
                       m.RawScore.sourced_id)
                .join(m.RawScore, m.RawScore.id == m.Evidence.raw_score_id)
                .join(m.SourceItem, m.SourceItem.id == m.RawScore.source_item_id)
                .where(m.Evidence.id.in_(ids[start:start + 500]))):
            found[eid] = (title, f"{source}:{sourced_id}")
    return found


def record_evidence_ids(records: Iterable[m.MasteryRecord]) -> set[int]:
    return {row[0] for r in records for row in r.inputs if row[0] is not None}


def explained(record: m.MasteryRecord, scale: ProficiencyScale,
              labels: Mapping[int, str], keys: Mapping[int, str] | None = None) -> dict[str, Any]:
    """A record's explanation as the engine would word it, and its inputs as objects."""
    steps = explain_record(record.inputs, record.decisions, scale=scale, method=record.method,
                           parameters=record.parameters, labels=labels)
    inputs = [dict(zip(INPUT_COLUMNS, row, strict=True))
              | {"label": labels.get(row[0], ""), "key": (keys or {}).get(row[0], "")}
              for row in record.inputs]
    return {"steps": [{"code": s.code, "message": s.message} for s in steps],
            "explanation": " ".join(s.message for s in steps), "inputs": inputs}


def roster_search(session: Session, words: str, limit: int = 20) -> list[dict[str, Any]]:
    """Roster students whose SIS id starts with ``words`` or whose name contains them.

    For the identity queue, where a person picks the student an id means: what tells
    two students apart (SIS id, name, grade, school), and nothing of their records.
    """
    words = words.strip()
    if not words:
        return []
    name = m.Student.given_name + " " + m.Student.family_name
    chosen = (select(m.Student.sourced_id, m.Student.given_name, m.Student.family_name,
                     m.Student.grade, m.Student.school_sourced_id)
              .where(m.Student.sourced_id.istartswith(words, autoescape=True)
                     | name.icontains(words, autoescape=True))
              .order_by(m.Student.family_name, m.Student.given_name, m.Student.sourced_id)
              .limit(limit))
    return [{"student": r.sourced_id, "name": f"{r.given_name} {r.family_name}",
             "grade": r.grade, "school": r.school_sourced_id}
            for r in session.execute(chosen)]


def find_student(session: Session, sis_id: str) -> m.Student:
    """The student with this SIS id, or a clear error (no name in it: the id is enough)."""
    student = session.scalars(select(m.Student).where(m.Student.sourced_id == sis_id)).first()
    if student is None:
        raise NotFoundError(f"no student with SIS id {sis_id!r}")
    return student


def school_name(session: Session, sourced_id: str) -> str:
    return session.scalar(select(m.Organisation.name).where(
        m.Organisation.sourced_id == sourced_id)) or sourced_id


def find_competency(session: Session, ref: str) -> m.Competency:
    """A competency by CASE identifier or by human coding scheme (e.g. ``CR.MA.RP.1.a``)."""
    found = session.scalars(select(m.Competency).where(m.Competency.identifier == ref)).first()
    if found is not None:
        return found
    matches = list(session.scalars(select(m.Competency).where(
        m.Competency.human_coding_scheme == ref, m.Competency.deprecated.is_(False))))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise DataError(f"code {ref!r} names {len(matches)} competencies; use the CASE identifier: "
                        f"{', '.join(c.identifier for c in matches)}")
    raise NotFoundError(f"no competency with CASE identifier or code {ref!r}")


def student_mastery(session: Session, sis_id: str, scale: ProficiencyScale,
                    competency_id: int | None = None) -> list[dict[str, Any]] | None:
    """A student's mastery records with their competency; None when there is no such student."""
    student = session.scalars(select(m.Student).where(m.Student.sourced_id == sis_id)).first()
    if student is None:
        return None
    query = (select(m.MasteryRecord, m.Competency, m.Framework.title)
             .join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id)
             .join(m.Framework, m.Framework.id == m.Competency.framework_id)
             .where(m.MasteryRecord.student_id == student.id)
             .order_by(m.Competency.human_coding_scheme))
    if competency_id is not None:
        query = query.where(m.MasteryRecord.competency_id == competency_id)
    rows = session.execute(query).all()
    sources = evidence_sources(session, record_evidence_ids(r for r, _, _ in rows))
    labels = {eid: title for eid, (title, _) in sources.items()}
    keys = {eid: key for eid, (_, key) in sources.items()}
    overrides = {o.id: o for o in session.scalars(select(m.MasteryOverride).where(
        m.MasteryOverride.student_id == student.id, m.MasteryOverride.cleared_at.is_(None)))}
    out = []
    for record, comp, title in rows:
        override = overrides.get(record.override_id) if record.override_id else None
        out.append({
            **{c.key: getattr(record, c.key) for c in m.MasteryRecord.__table__.columns},
            **explained(record, scale, labels, keys),
            "competency_identifier": comp.identifier, "code": comp.human_coding_scheme,
            "statement": comp.full_statement, "framework": title,
            "target_dok": comp.target_dok, "student": sis_id,
            "override": None if override is None else {
                "id": override.id, "state": override.state, "level": override.level_code,
                "reason": override.reason, "by": override.author, "at": override.created_at},
        })
    return out


def class_grid(session: Session, class_sourced_id: str, *, limit: int | None = None,
               after: int | None = None) -> dict[str, Any] | None:
    """A class's students by competency: each student's level or state on each (the grid).

    Students are the class's student enrollments from the SIS roster, in name order, a
    page of ``limit`` after the student whose row id is ``after``; competencies are
    those any student of the class has a record on, in code order, the same on every
    page. Only the columns a cell shows are read: a whole record carries its
    explanation, which is the student read's, not the grid's. None when there is no
    such class.
    """
    section = session.execute(select(
        m.ClassSection.sourced_id, m.ClassSection.title, m.ClassSection.school_sourced_id)
        .where(m.ClassSection.sourced_id == class_sourced_id)).first()
    if section is None:
        return None
    enrolled = select(m.Enrollment.user_sourced_id).where(
        m.Enrollment.class_sourced_id == class_sourced_id, m.Enrollment.role == "student")
    order = (m.Student.family_name, m.Student.given_name, m.Student.sourced_id)
    chosen = (select(m.Student.id, m.Student.sourced_id, m.Student.given_name,
                     m.Student.family_name, m.Student.grade)
              .where(m.Student.sourced_id.in_(enrolled)).order_by(*order))
    if after is not None:
        mark = session.execute(select(*order).where(m.Student.id == after)).first()
        if mark is None:  # purged between pages: where it stood is gone
            raise DataError("cursor: the page before ended at a student no longer on the "
                            "roster; start from the first page")
        chosen = chosen.where(tuple_(*order) > tuple_(*mark))
    if limit is not None:
        chosen = chosen.limit(limit)
    students = session.execute(chosen).all()
    cells: dict[int, dict[int, dict[str, Any]]] = {s.id: {} for s in students}
    ids = list(cells)
    for start in range(0, len(ids), 500):
        for student_id, competency_id, level, state, override_id in session.execute(
                select(m.MasteryRecord.student_id, m.MasteryRecord.competency_id,
                       m.MasteryRecord.level_code, m.MasteryRecord.state,
                       m.MasteryRecord.override_id)
                .where(m.MasteryRecord.student_id.in_(ids[start:start + 500]))):
            cells[student_id][competency_id] = {"level": level, "state": state,
                                                "overridden": override_id is not None}
    in_class = (select(m.MasteryRecord.competency_id).distinct()
                .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
                .where(m.Student.sourced_id.in_(enrolled)))
    ordered = session.execute(
        select(m.Competency.id, m.Competency.identifier, m.Competency.human_coding_scheme,
               m.Competency.full_statement, m.Competency.target_dok)
        .where(m.Competency.id.in_(in_class))
        .order_by(m.Competency.human_coding_scheme, m.Competency.identifier)).all()
    identifier = {c.id: c.identifier for c in ordered}
    return {
        "class": {"id": section.sourced_id, "title": section.title,
                  "school": section.school_sourced_id},
        "competencies": [{"competency": c.identifier, "code": c.human_coding_scheme,
                          "statement": c.full_statement, "target_dok": c.target_dok}
                         for c in ordered],
        "students": [{"id": s.id, "student": s.sourced_id,
                      "name": f"{s.given_name} {s.family_name}", "grade": s.grade,
                      "levels": {identifier[c]: cell for c, cell in cells[s.id].items()}}
                     for s in students],
    }


def class_list(session: Session, *, schools: Iterable[str] | None = None,
               classes: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Classes with their school, teachers and student count, by school then title.

    ``schools`` None means every class; otherwise the classes of those schools and the
    ``classes`` named (a teacher's, from the roster's teacher enrollments).
    """
    chosen = select(m.ClassSection.sourced_id, m.ClassSection.title, m.ClassSection.class_code,
                    m.ClassSection.school_sourced_id)
    if schools is not None:
        schools, classes = list(schools), list(classes)
        if not schools and not classes:
            return []
        chosen = chosen.where(or_(
            *([m.ClassSection.school_sourced_id.in_(schools)] if schools else []),
            *([m.ClassSection.sourced_id.in_(classes)] if classes else [])))
    sections = session.execute(chosen).all()
    wanted = [s.sourced_id for s in sections]
    counts: dict[str, int] = {}
    teachers: dict[str, list[str]] = {}
    teacher_ids: dict[str, list[str]] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        counts.update((class_id, int(n)) for class_id, n in session.execute(
            select(m.Enrollment.class_sourced_id, func.count())
            .where(m.Enrollment.class_sourced_id.in_(part), m.Enrollment.role == "student")
            .group_by(m.Enrollment.class_sourced_id)))
        for class_id, staff_id, given, family in session.execute(
                select(m.Enrollment.class_sourced_id, m.Staff.sourced_id, m.Staff.given_name,
                       m.Staff.family_name)
                .join(m.Staff, m.Staff.sourced_id == m.Enrollment.user_sourced_id)
                .where(m.Enrollment.class_sourced_id.in_(part), m.Enrollment.role == "teacher")
                .order_by(m.Staff.family_name, m.Staff.given_name)):
            teachers.setdefault(class_id, []).append(f"{given} {family}")
            teacher_ids.setdefault(class_id, []).append(staff_id)
    names = {sid: name for sid, name in session.execute(
        select(m.Organisation.sourced_id, m.Organisation.name))}
    rows = [{"id": s.sourced_id, "title": s.title, "code": s.class_code,
             "school": s.school_sourced_id, "school_name": names.get(s.school_sourced_id, ""),
             "teachers": teachers.get(s.sourced_id, []),
             "teacher_ids": teacher_ids.get(s.sourced_id, []),
             "students": counts.get(s.sourced_id, 0)}
            for s in sections]
    return sorted(rows, key=lambda r: (r["school_name"], r["title"], r["id"]))


def report_students(session: Session, *, schools: Iterable[str] | None,
                    classes: Iterable[str] = (), school: str = "", class_id: str = "",
                    teacher: str = "") -> list[str]:
    """SIS ids of the students a report covers, in SIS id order.

    ``schools`` None is the whole district; otherwise the students of those schools and
    of the ``classes`` named. ``school``, ``class_id`` and ``teacher`` (a staff sourcedId)
    narrow it: to a school, to a class's student enrollments, to the students enrolled
    in any class that teacher teaches.
    """
    chosen = select(m.Student.sourced_id)
    enrolled = select(m.Enrollment.user_sourced_id).where(m.Enrollment.role == "student")
    if schools is not None:
        schools, classes = list(schools), list(classes)
        if not schools and not classes:
            return []
        chosen = chosen.where(or_(
            *([m.Student.school_sourced_id.in_(schools)] if schools else []),
            *([m.Student.sourced_id.in_(enrolled.where(
                m.Enrollment.class_sourced_id.in_(classes)))] if classes else [])))
    if school:
        chosen = chosen.where(m.Student.school_sourced_id == school)
    if class_id:
        chosen = chosen.where(m.Student.sourced_id.in_(enrolled.where(
            m.Enrollment.class_sourced_id == class_id)))
    if teacher:
        taught = select(m.Enrollment.class_sourced_id).where(
            m.Enrollment.user_sourced_id == teacher, m.Enrollment.role == "teacher")
        chosen = chosen.where(m.Student.sourced_id.in_(enrolled.where(
            m.Enrollment.class_sourced_id.in_(taught))))
    return list(session.scalars(chosen.order_by(m.Student.sourced_id)))


def class_subject(session: Session, class_sourced_id: str) -> set[str]:
    """The competencies of the class's subjects (empty when none of its items is aligned).

    They are every competency under the framework roots the class's own items are
    aligned to. A mathematics class's grid then shows mathematics, adaptive practice on it included,
    and not the English records its students also have.
    """
    return class_subjects(session, [class_sourced_id]).get(class_sourced_id, set())


def class_subjects(session: Session, class_ids: Iterable[str] | None = None) -> dict[str, set[str]]:
    """:func:`class_subject` for many classes, in two queries rather than two per class.

    ``class_ids`` None: every class with aligned items.
    """
    aligned = (select(m.SourceItem.class_sourced_id, m.Competency.identifier,
                      m.Competency.root_identifier)
               .join(m.Alignment, m.Alignment.competency_id == m.Competency.id)
               .join(m.SourceItem, m.SourceItem.id == m.Alignment.source_item_id).distinct())
    aligned = aligned.where(m.SourceItem.class_sourced_id != "") if class_ids is None else \
        aligned.where(m.SourceItem.class_sourced_id.in_(sorted(set(class_ids))))
    roots: dict[str, set[str]] = defaultdict(set)
    for class_id, identifier, root in session.execute(aligned):
        roots[class_id].add(root or identifier)
    wanted = set().union(*roots.values()) if roots else set()
    if not wanted:
        return {}
    under: dict[str, set[str]] = defaultdict(set)
    for identifier, root in session.execute(
            select(m.Competency.identifier, m.Competency.root_identifier).where(
                m.Competency.root_identifier.in_(sorted(wanted))
                | m.Competency.identifier.in_(sorted(wanted)))):
        if root in wanted:
            under[root].add(identifier)
        if identifier in wanted:
            under[identifier].add(identifier)
    return {class_id: set().union(*(under[r] for r in found))
            for class_id, found in roots.items()}


def frameworks(session: Session) -> list[dict[str, Any]]:
    counts = dict(session.execute(select(m.Competency.framework_id, func.count(m.Competency.id))
                                  .group_by(m.Competency.framework_id)).all())
    return [{"framework": f.identifier, "key": f.key, "kind": f.kind, "title": f.title,
             "version": f.version, "competencies": counts.get(f.id, 0)}
            for f in session.scalars(select(m.Framework).order_by(m.Framework.key,
                                                                  m.Framework.id))]


def framework_competencies(session: Session, framework: str, *, search: str | None,
                           after: int | None, limit: int) -> list[dict[str, Any]] | None:
    """A framework's competencies in import order, found by code or statement; None if unknown.

    ``framework`` is the framework's key or CASE identifier; ``search`` matches the
    start of a code or any part of a statement, ignoring case.
    """
    found = session.scalars(select(m.Framework).where(
        (m.Framework.key == framework) | (m.Framework.identifier == framework))).first()
    if found is None:
        return None
    chosen = (select(m.Competency).where(m.Competency.framework_id == found.id)
              .order_by(m.Competency.id).limit(limit))
    if search:
        chosen = chosen.where(m.Competency.human_coding_scheme.istartswith(search, autoescape=True)
                              | m.Competency.full_statement.icontains(search, autoescape=True))
    if after is not None:
        chosen = chosen.where(m.Competency.id > after)
    return [{"id": c.id, "competency": c.identifier, "code": c.human_coding_scheme,
             "statement": c.full_statement, "target_dok": c.target_dok,
             "parent": c.parent_identifier, "depth": c.depth}
            for c in session.scalars(chosen)]
