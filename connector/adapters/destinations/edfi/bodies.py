"""The Ed-Fi Data Standard 5.x resources a district's mastery becomes (pure).

- ``competencyObjectives``: each pushed competency, so the records that refer to
  it resolve (parents first);
- ``studentCompetencyObjectives``: a student's level on a competency in a
  grading period at a school, its CompetencyLevelDescriptor mapped from the
  district scale in config;
- ``grades`` (when configured): per student and section a grade whose
  ``learningStandardGrades`` carry the level of each competency the section
  assesses;
- ``gradebookEntries`` and ``studentGradebookEntries`` (when configured): per
  section a gradebook entry for each competency it assesses, aligned to the
  learning standard, and per student the level as a CompetencyLevelDescriptor;
- ``studentAcademicRecords`` and ``courseTranscripts`` (when configured): each
  issued transcript as the SIS keeps one, a record per school year with the
  credits earned that year and in all, and a line per course with the credit
  earned by demonstrating its competencies (:func:`transcript_records`).

Ed-Fi addresses records by server ids but identifies them by natural key, so a
record's ``remote_id`` here is its natural key as the query that finds it
(DS 5.x: grading periods are keyed by name, not sequence; decision 0011).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connector.adapters.base import OutboundCredit, OutboundResult, OutboundTranscript
from connector.adapters.destinations.records import RemoteRecord

ORDER = {"competencyObjectives": 1, "studentCompetencyObjectives": 3, "grades": 3,
         "gradebookEntries": 2, "studentGradebookEntries": 3,
         "studentAcademicRecords": 1, "courseTranscripts": 2}


@dataclass(frozen=True)
class TranscriptMapping:
    """How issued transcripts become Ed-Fi academic records (destination option transcripts)."""

    #: The education organization of a student's academic records: "school" (the student's
    #: school's schoolId) or "district" (the LEA's educationOrganizationId).
    record_organization: str
    #: The education organization that defines the courses: "district" or "school".
    course_organization: str
    term_descriptor: str
    #: CourseAttemptResultDescriptor per outcome: "earned" (and transfer) and "not_earned".
    results: Mapping[str, str]
    credit_type: str | None
    #: MethodCreditEarnedDescriptor for credit earned here by competency, and on transfer.
    method_earned: str | None
    method_transfer: str | None
    #: AcademicSubjectDescriptor per course subject; a subject not named is not sent.
    subjects: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EdFiMapping:
    """What the district's config says about its Ed-Fi identifiers and descriptors."""

    education_organization_id: int
    school_year: int
    schools: Mapping[str, int]  # OneRoster org sourcedId -> Ed-Fi schoolId
    grading_period_descriptor: str
    grading_period_name: str
    objective_grade_level: str
    competency_levels: Mapping[str, str]  # scale level code or state -> descriptor URI
    grades: bool
    grade_type: str
    learning_standard_id: str  # identifier | code
    #: The namespace of gradebook entries we own; None when they are not pushed.
    gradebook_namespace: str | None = None
    #: Short forms of level and state labels for letterGradeEarned (checked at config time).
    letter_grades: Mapping[str, str] = field(default_factory=dict)
    #: The section association's sessionName; None: the SIS term's title.
    session_name: str | None = None
    #: Competency levels (and grades, gradebook) pushed; off for a transcripts-only ODS.
    competencies: bool = True
    #: Issued transcripts pushed as academic records; None when they are not.
    transcripts: TranscriptMapping | None = None


#: Ed-Fi's letterGradeEarned is a string of at most 20 characters.
LETTER_GRADE_LENGTH = 20
#: Short forms of the states, for state labels too long for letterGradeEarned
#: ("Insufficient evidence" has 21 characters, "Needs teacher judgment" 22).
STATE_LETTERS = {"not_yet": "Not yet", "insufficient_evidence": "Insufficient",
                 "exempt": "Exempt", "needs_teacher_judgment": "Needs judgment"}


def letter_grade(r: OutboundResult, mapping: EdFiMapping) -> str:
    """The result's letter grade: the district's short form, else the label when it fits.

    A level label too long has no short form of ours: the configuration check asks the
    district for one (``letter_grades``), so the cut below is never reached in a run.
    """
    given = mapping.letter_grades.get(r.level_code or r.state)
    if given:
        return given
    if len(r.text_score) <= LETTER_GRADE_LENGTH:
        return r.text_score
    short = None if r.level_code else STATE_LETTERS.get(r.state)
    return short or r.text_score[:LETTER_GRADE_LENGTH]


def natural_key(resource: str, query: Mapping[str, Any]) -> str:
    return json.dumps({"resource": resource, **query}, sort_keys=True, separators=(",", ":"))


def key_query(remote_id: str) -> dict[str, Any]:
    query = dict(json.loads(remote_id))
    query.pop("resource", None)
    return query


def _record(resource: str, query: dict[str, Any], body: dict[str, Any],
            label: str, result: OutboundResult | None = None) -> RemoteRecord:
    """Keyed by a digest of the natural key (a ledger key stays short); addressed by the key."""
    remote = natural_key(resource, query)
    digest = hashlib.sha256(remote.encode()).hexdigest()[:40]
    return RemoteRecord(resource, f"{resource}:{digest}", remote, body, ORDER[resource], label,
                        student_level=result is not None,
                        level=result.score if result is not None else None)


def objective(result: OutboundResult) -> str:
    """Ed-Fi's objective is at most 60 characters: the competency's code, else its title."""
    li = result.line_item
    return (li.competency_code or li.title)[:60]


def records(results: Iterable[OutboundResult], mapping: EdFiMapping,
            skipped: list[tuple[str, str]]) -> list[RemoteRecord]:
    """The wanted records; results that cannot be mapped are listed in ``skipped`` with why."""
    out: list[RemoteRecord] = []
    objectives: set[str] = set()
    entries: set[str] = set()
    seen: set[str] = set()
    per_section: dict[str, list[tuple[OutboundResult, str]]] = defaultdict(list)
    for r in results:
        li = r.line_item
        school = mapping.schools.get(li.school_sourced_id)
        if school is None:
            skipped.append((r.record_key, f"no Ed-Fi schoolId configured for org "
                                          f"{li.school_sourced_id!r} (destination option schools)"))
            continue
        level = mapping.competency_levels.get(r.level_code if r.state == "level" else r.state)
        if level is None:
            skipped.append((r.record_key, f"no CompetencyLevelDescriptor for "
                                          f"{r.level_code or r.state!r} (option competency_levels)"))
            continue
        name = objective(r)
        objective_ref = {"educationOrganizationId": mapping.education_organization_id,
                         "objective": name,
                         "objectiveGradeLevelDescriptor": mapping.objective_grade_level}
        if name not in objectives:
            objectives.add(name)
            query = {"educationOrganizationId": mapping.education_organization_id,
                     "objective": name,
                     "objectiveGradeLevelDescriptor": mapping.objective_grade_level}
            out.append(_record("competencyObjectives", query, {
                "educationOrganizationReference": {
                    "educationOrganizationId": mapping.education_organization_id},
                "objective": name,
                "objectiveGradeLevelDescriptor": mapping.objective_grade_level,
                "competencyObjectiveId": li.competency_identifier[:60],
                "description": li.description[:1024],
            }, name))
        period = {"gradingPeriodDescriptor": mapping.grading_period_descriptor,
                  "gradingPeriodName": mapping.grading_period_name,
                  "schoolId": school, "schoolYear": mapping.school_year}
        query = {"studentUniqueId": r.student_sourced_id, "objective": name,
                 "objectiveEducationOrganizationId": mapping.education_organization_id,
                 "objectiveGradeLevelDescriptor": mapping.objective_grade_level,
                 "gradingPeriodDescriptor": mapping.grading_period_descriptor,
                 "gradingPeriodName": mapping.grading_period_name,
                 "gradingPeriodSchoolId": school,
                 "gradingPeriodSchoolYear": mapping.school_year}
        remote = natural_key("studentCompetencyObjectives", query)
        # A student assessed on a competency in two classes at one school: one record.
        if remote not in seen:
            seen.add(remote)
            out.append(_record("studentCompetencyObjectives", query, {
                "studentReference": {"studentUniqueId": r.student_sourced_id},
                "objectiveCompetencyObjectiveReference": objective_ref,
                "gradingPeriodReference": period,
                "competencyLevelDescriptor": level,
                "diagnosticStatement": r.text_score[:1024],
            }, f"{name} for student {r.student_sourced_id}", result=r))
        if mapping.grades:
            per_section[f"{li.class_sourced_id}|{r.student_sourced_id}"].append((r, level))
        if mapping.gradebook_namespace:
            out.extend(_gradebook(r, level, mapping, mapping.gradebook_namespace, entries))
    for section_key in sorted(per_section):
        grade = _grade(per_section[section_key], mapping, skipped)
        if grade is not None:
            out.append(grade)
    return out


def _standard(r: OutboundResult, mapping: EdFiMapping) -> str:
    li = r.line_item
    if mapping.learning_standard_id == "code" and li.competency_code:
        return li.competency_code
    return li.competency_identifier


def _gradebook(r: OutboundResult, level: str, mapping: EdFiMapping, namespace: str,
               entries: set[str]) -> list[RemoteRecord]:
    """The section's gradebook entry for the competency (once) and the student's entry."""
    li = r.line_item
    entry = {"gradebookEntryIdentifier": li.sourced_id[:60], "namespace": namespace}
    out = []
    if li.sourced_id not in entries:
        entries.add(li.sourced_id)
        section_entry: dict[str, Any] = {
            **entry, "dateAssigned": li.assign_date.date().isoformat(),
            "sourceSectionIdentifier": li.class_sourced_id, "title": li.title[:100],
            "description": li.description[:1024],
            "learningStandards": [{"learningStandardReference": {
                "learningStandardId": _standard(r, mapping)}}],
        }
        section = _section(r, mapping)
        if section is not None:  # known to the SIS: the entry belongs to the section itself
            section_entry["sectionReference"] = section
        out.append(_record("gradebookEntries", dict(entry), section_entry,
                           f"{li.competency_code or li.competency_identifier} in section "
                           f"{li.class_sourced_id}"))
    body: dict[str, Any] = {
        "gradebookEntryReference": dict(entry),
        "studentReference": {"studentUniqueId": r.student_sourced_id},
        "competencyLevelDescriptor": level, "letterGradeEarned": letter_grade(r, mapping),
        "dateFulfilled": r.score_date.date().isoformat()}
    if r.score is not None:
        body["numericGradeEarned"] = r.score
    out.append(_record("studentGradebookEntries",
                       {**entry, "studentUniqueId": r.student_sourced_id}, body,
                       f"{li.competency_code or li.competency_identifier} for student "
                       f"{r.student_sourced_id} in section {li.class_sourced_id}"))
    return out


def _section(r: OutboundResult, mapping: EdFiMapping) -> dict[str, Any] | None:
    """The Ed-Fi section the line item's class is, when every part of its key is known."""
    li = r.line_item
    session = mapping.session_name or li.term_title
    school = mapping.schools.get(li.school_sourced_id)
    if not (li.course_code and session and school is not None):
        return None
    return {"localCourseCode": li.course_code, "schoolId": school,
            "schoolYear": mapping.school_year, "sectionIdentifier": li.class_sourced_id,
            "sessionName": session}


def _grade(items: list[tuple[OutboundResult, str]], mapping: EdFiMapping,
           skipped: list[tuple[str, str]]) -> RemoteRecord | None:
    first = items[0][0]
    li = first.line_item
    school = mapping.schools[li.school_sourced_id]
    missing = [name for name, value in (("the course code", li.course_code),
                                        ("the term title", mapping.session_name or li.term_title),
                                        ("the enrollment begin date", first.enrollment_begin))
               if not value]
    if missing:
        skipped.append((f"grade {li.class_sourced_id}|{first.student_sourced_id}",
                        "the section association cannot be named without " + ", ".join(missing)))
        return None
    assert first.enrollment_begin is not None
    section_id = li.class_sourced_id
    association = {"beginDate": first.enrollment_begin.isoformat(),
                   "localCourseCode": li.course_code, "schoolId": school,
                   "schoolYear": mapping.school_year, "sectionIdentifier": section_id,
                   "sessionName": mapping.session_name or li.term_title,
                   "studentUniqueId": first.student_sourced_id}
    standards = []
    for r, _level in sorted(items, key=lambda item: item[0].line_item.competency_identifier):
        entry: dict[str, Any] = {"learningStandardReference": {
                                     "learningStandardId": _standard(r, mapping)},
                                 "letterGradeEarned": letter_grade(r, mapping)}
        if r.score is not None:
            entry["numericGradeEarned"] = r.score
        standards.append(entry)
    query = {**association, "gradeTypeDescriptor": mapping.grade_type,
             "gradingPeriodDescriptor": mapping.grading_period_descriptor,
             "gradingPeriodName": mapping.grading_period_name,
             "gradingPeriodSchoolYear": mapping.school_year}
    return _record("grades", query, {
        "studentSectionAssociationReference": association,
        "gradingPeriodReference": {"gradingPeriodDescriptor": mapping.grading_period_descriptor,
                                   "gradingPeriodName": mapping.grading_period_name,
                                   "schoolId": school, "schoolYear": mapping.school_year},
        "gradeTypeDescriptor": mapping.grade_type,
        "learningStandardGrades": standards,
    }, f"grade for student {first.student_sourced_id} in section {section_id}")


#: Ed-Fi's limits on a course line: courseTitle and the name of the sending institution.
COURSE_TITLE_LENGTH = 60
INSTITUTION_LENGTH = 75


def school_year(label: str) -> int | None:
    """Ed-Fi's SchoolYear is the year a school year ends: "2024-2025" is 2025.

    >>> school_year("2024-2025"), school_year("2025"), school_year("")
    (2025, 2025, None)
    """
    tail = label.strip().rsplit("-", 1)[-1].strip()
    return int(tail) if tail.isdigit() and len(tail) == 4 else None


def transcript_records(transcripts: Iterable[OutboundTranscript], mapping: EdFiMapping,
                       skipped: list[tuple[str, str]]) -> list[RemoteRecord]:
    """Each issued transcript as Ed-Fi academic records: a record per year, a line per course.

    A course under way this year is not a completed attempt and is not sent until a
    re-issue shows it earned. A course whose credit is not earned by the end of a past
    year is sent with the district's "not earned" result (Incomplete by default): a
    competency-based district does not fail a student on a course still being worked
    on. Credit accepted on transfer names the sending school. What the configuration
    cannot express (an unmapped school, a school year not named) goes to ``skipped``.
    """
    options = mapping.transcripts
    if options is None:
        return []
    out: list[RemoteRecord] = []
    for transcript in transcripts:
        student = transcript.student_sourced_id
        if options.record_organization == "school":
            organization = mapping.schools.get(transcript.school_sourced_id)
            if organization is None:
                skipped.append((f"transcript {student}",
                                f"no Ed-Fi schoolId configured for org "
                                f"{transcript.school_sourced_id!r} (destination option schools)"))
                continue
        else:
            organization = mapping.education_organization_id
        course_organization = (organization if options.course_organization == "school"
                               else mapping.education_organization_id)
        by_year: dict[int, list[OutboundCredit]] = defaultdict(list)
        for credit in transcript.credits:
            if credit.in_progress and not credit.earned:
                continue
            year = school_year(credit.school_year)
            if year is None:
                skipped.append((f"transcript {student} {credit.course_code}",
                                f"the school year {credit.school_year!r} is not a year like "
                                f"2024-2025, so Ed-Fi's schoolYear cannot be named"))
                continue
            by_year[year].append(credit)
        cumulative_earned = cumulative_attempted = 0.0
        for year in sorted(by_year):
            record_key = {"educationOrganizationId": organization, "schoolYear": year,
                          "studentUniqueId": student, "termDescriptor": options.term_descriptor}
            lines: list[RemoteRecord] = []
            seen: set[str] = set()
            earned = attempted = 0.0
            for credit in by_year[year]:
                passed = credit.earned or bool(credit.transfer_from)
                result = options.results["earned" if passed else "not_earned"]
                query = {"courseAttemptResultDescriptor": result,
                         "courseCode": credit.course_code,
                         "courseEducationOrganizationId": course_organization, **record_key}
                remote = natural_key("courseTranscripts", query)
                if remote in seen:
                    skipped.append((f"transcript {student} {credit.course_code}",
                                    f"{credit.course_code} appears twice in {year}; "
                                    f"the first line is sent"))
                    continue
                seen.add(remote)
                earned += credit.credits if passed else 0.0
                attempted += credit.credits
                lines.append(_record("courseTranscripts", query,
                                     _course_line(credit, passed, result, course_organization,
                                                  record_key, options),
                                     f"course {credit.course_code} ({credit.school_year}) "
                                     f"for student {student}"))
            cumulative_earned += earned
            cumulative_attempted += attempted
            body: dict[str, Any] = {
                "studentReference": {"studentUniqueId": student},
                "educationOrganizationReference": {"educationOrganizationId": organization},
                "schoolYearTypeReference": {"schoolYear": year},
                "termDescriptor": options.term_descriptor,
                "sessionEarnedCredits": round(earned, 3),
                "sessionAttemptedCredits": round(attempted, 3),
                "cumulativeEarnedCredits": round(cumulative_earned, 3),
                "cumulativeAttemptedCredits": round(cumulative_attempted, 3),
            }
            if options.credit_type:
                for name in ("session", "cumulative"):
                    body[f"{name}EarnedCreditTypeDescriptor"] = options.credit_type
                    body[f"{name}AttemptedCreditTypeDescriptor"] = options.credit_type
            out.append(_record("studentAcademicRecords", record_key, body,
                               f"academic record {year} for student {student}"))
            out.extend(lines)
    return out


def _course_line(credit: OutboundCredit, passed: bool, result: str, course_organization: int,
                 record_key: Mapping[str, Any], options: TranscriptMapping) -> dict[str, Any]:
    body: dict[str, Any] = {
        "courseAttemptResultDescriptor": result,
        "courseReference": {"courseCode": credit.course_code,
                            "educationOrganizationId": course_organization},
        "studentAcademicRecordReference": dict(record_key),
        "courseTitle": credit.title[:COURSE_TITLE_LENGTH],
        "attemptedCredits": round(credit.credits, 3),
        "earnedCredits": round(credit.credits if passed else 0.0, 3),
    }
    if options.credit_type:
        body["attemptedCreditTypeDescriptor"] = options.credit_type
        body["earnedCreditTypeDescriptor"] = options.credit_type
    method = options.method_transfer if credit.transfer_from else (
        options.method_earned if passed else None)
    if method:
        body["methodCreditEarnedDescriptor"] = method
    if credit.transfer_from:
        body["externalEducationOrganizationNameOfInstitution"] = (
            credit.transfer_from[:INSTITUTION_LENGTH])
    subject = options.subjects.get(credit.subject)
    if subject:
        body["academicSubjects"] = [{"academicSubjectDescriptor": subject}]
    return body
