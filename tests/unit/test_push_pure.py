"""The pure parts of SIS pushes and REST pulls: diffing, matching, bodies, flattening."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.adapters.base import (
    OutboundCredit,
    OutboundLineItem,
    OutboundResult,
    OutboundTranscript,
)
from connector.adapters.destinations.edfi import bodies as edfi
from connector.adapters.destinations.oneroster_rest import bodies as oneroster
from connector.adapters.destinations.records import PushContext, RemoteRecord, matches
from connector.adapters.oneroster.flatten import flatten, objective_ids, objective_results
from connector.domain.hashing import canonical_json, content_hash
from connector.sync.push import payload_hash
from connector.sync.push_diff import LedgerEntry, diff
from tests.fakes.oneroster_server import SCHEMAS

CONTEXT = PushContext("cedar-ridge", "cr-4", "Cedar Ridge 4-level",
                      (("1", "Beginning", 1.0), ("2", "Developing", 2.0),
                       ("3", "Proficient", 3.0), ("4", "Advanced", 4.0)))
MOMENT = datetime(2026, 1, 15, 17, 5, tzinfo=UTC)


def result(student: str = "S1", klass: str = "C1", level: str | None = "3",
           state: str = "level", competency: str = "uuid-1") -> OutboundResult:
    item = OutboundLineItem(
        sourced_id=f"li-{klass}-{competency}", title="RP.1 Ratios", description="Ratios",
        class_sourced_id=klass, school_sourced_id="org-1", academic_session_sourced_id="t1",
        competency_identifier=competency, result_value_min=1, result_value_max=4,
        assign_date=MOMENT, due_date=MOMENT, competency_code="RP.1", course_code="MA06",
        term_title="Semester 1", term_school_year="2026")
    return OutboundResult(
        record_key=f"{klass}|{competency}|{student}", sourced_id=f"r-{klass}-{student}",
        line_item=item, student_sourced_id=student,
        score=float(level) if level else None, text_score="Proficient" if level else "Not yet",
        score_status="fully graded" if level else "partially graded", score_date=MOMENT,
        comment="", payload_hash="", level_code=level or "", state=state,
        enrollment_begin=date(2025, 8, 25))


def record(key: str, body: dict[str, object], order: int = 3) -> RemoteRecord:
    return RemoteRecord("results", key, key, body, order)


def test_diff_creates_updates_deletes_in_dependency_order() -> None:
    wanted = [record("b", {"v": 2}), record("a", {"v": 1}), record("p", {"v": 0}, order=1)]
    ledger = {"a": LedgerEntry("a", "results", "a", record("a", {"v": 1}).digest),
              "b": LedgerEntry("b", "results", "b", "old"),
              "gone": LedgerEntry("gone", "lineItems", "gone", "x"),
              "gone-child": LedgerEntry("gone-child", "results", "gone-child", "x")}
    plan = diff(wanted, ledger)
    assert [(c.action, c.key) for c in plan.changes] == [
        ("create", "p"), ("update", "b"), ("delete", "gone-child"), ("delete", "gone")]
    assert plan.unchanged == 1
    assert [c.key for c in diff(wanted, ledger, deletes=False).changes] == ["p", "b"]
    with pytest.raises(ValueError, match="share the key"):
        diff([record("a", {}), record("a", {"v": 1})], {})


@given(st.dictionaries(st.text(min_size=1, max_size=3), st.integers(), max_size=6),
       st.sets(st.text(min_size=1, max_size=3), max_size=6))
def test_diff_then_ledger_of_the_same_records_plans_nothing(
        bodies: dict[str, int], stale: set[str]) -> None:
    wanted = [record(k, {"v": v}) for k, v in bodies.items()]
    ledger = {k: LedgerEntry(k, "results", k, "x") for k in stale}
    first = diff(wanted, ledger)
    assert {c.key for c in first.changes if c.action != "delete"} == set(bodies)
    assert {c.key for c in first.changes if c.action == "delete"} == stale - set(bodies)
    after = {r.key: LedgerEntry(r.key, "results", r.key, r.digest) for r in wanted}
    assert diff(wanted, after).changes == ()


def test_matching_ignores_server_fields_and_number_spelling() -> None:
    sent = {"score": 4, "ref": {"sourcedId": "x"}, "note": None, "list": [1, 2]}
    held = {"score": 4.0, "ref": {"sourcedId": "x", "link": {"href": "/x"}}, "list": [1, 2],
            "dateLastModified": "now", "extra": True}
    assert matches(sent, held, frozenset({"link"}))
    assert not matches({**sent, "score": 3}, held, frozenset({"link"}))
    assert not matches({**sent, "list": [2, 1]}, held, frozenset({"link"}))
    assert not matches({"flag": True}, {"flag": 1}, frozenset())
    assert not matches(sent, None, frozenset())


def test_oneroster_bodies_follow_the_binding_schemas() -> None:
    records = oneroster.records([result("S1"), result("S2", level=None, state="not_yet")],
                                CONTEXT, layout="results", category_title="Mastery")
    by_resource: dict[str, list[RemoteRecord]] = {}
    for r in records:
        by_resource.setdefault(r.resource, []).append(r)
    assert {k: len(v) for k, v in by_resource.items()} == {
        "categories": 1, "scoreScales": 1, "lineItems": 1, "results": 2}
    for r in records:
        jsonschema.validate(dict(r.body), SCHEMAS[r.resource])
    scored, not_yet = by_resource["results"]
    assert scored.body["learningObjectiveSet"] == [{"source": "case", "learningObjectiveResults": [
        {"learningObjectiveId": "uuid-1", "score": 3.0, "textScore": "Proficient"}]}]
    assert "score" not in not_yet.body and not_yet.body["scoreStatus"] == "partially graded"
    assert scored.body["scoreDate"] == "2026-01-15"
    assert by_resource["lineItems"][0].body["learningObjectiveSet"] == [
        {"source": "case", "learningObjectiveIds": ["uuid-1"]}]
    again = oneroster.records([result("S1")], CONTEXT, layout="results", category_title="Mastery")
    assert [r.remote_id for r in again] == [r.remote_id for r in records[:3]] + [scored.remote_id]


def test_assessment_layout_gives_one_result_per_student_and_competency() -> None:
    records = oneroster.records([result("S1", klass="C1"), result("S1", klass="C2")], CONTEXT,
                                layout="assessment", category_title="")
    assert [r.resource for r in records] == ["assessmentLineItems", "assessmentResults"]
    for r in records:
        jsonschema.validate(dict(r.body), SCHEMAS[r.resource])


def test_edfi_records_map_levels_and_list_what_cannot_be_mapped() -> None:
    mapping = edfi.EdFiMapping(
        education_organization_id=255901, school_year=2026, schools={"org-1": 255901001},
        grading_period_descriptor="uri://ed-fi.org/GradingPeriodDescriptor#End of Year",
        grading_period_name="2025-2026 End of Year",
        objective_grade_level="uri://ed-fi.org/GradeLevelDescriptor#Sixth grade",
        competency_levels={"3": "uri://ed-fi.org/CompetencyLevelDescriptor#Proficient"},
        grades=True, grade_type="uri://ed-fi.org/GradeTypeDescriptor#Grading Period",
        learning_standard_id="code")
    skipped: list[tuple[str, str]] = []
    records = edfi.records([result("S1", klass="C1"), result("S1", klass="C2"),
                            result("S2", level=None, state="not_yet")], mapping, skipped)
    kinds = [r.resource for r in records]
    assert kinds.count("competencyObjectives") == 1
    assert kinds.count("studentCompetencyObjectives") == 1  # one per student, not per class
    assert kinds.count("grades") == 2  # one per student and section
    assert [why for _k, why in skipped] == [
        "no CompetencyLevelDescriptor for 'not_yet' (option competency_levels)"]
    sco = next(r for r in records if r.resource == "studentCompetencyObjectives")
    assert sco.body["gradingPeriodReference"] == {
        "gradingPeriodDescriptor": "uri://ed-fi.org/GradingPeriodDescriptor#End of Year",
        "gradingPeriodName": "2025-2026 End of Year", "schoolId": 255901001, "schoolYear": 2026}
    assert edfi.key_query(sco.remote_id)["gradingPeriodSchoolId"] == 255901001
    assert len(sco.key) < 255
    grade = next(r for r in records if r.resource == "grades")
    assert grade.body["learningStandardGrades"] == [{
        "learningStandardReference": {"learningStandardId": "RP.1"},
        "letterGradeEarned": "Proficient", "numericGradeEarned": 3.0}]


EDFI = dict(
    education_organization_id=255901, school_year=2026, schools={"org-1": 255901001},
    grading_period_descriptor="uri://ed-fi.org/GradingPeriodDescriptor#End of Year",
    grading_period_name="2025-2026 End of Year",
    objective_grade_level="uri://ed-fi.org/GradeLevelDescriptor#Sixth grade",
    competency_levels={"3": "uri://ed-fi.org/CompetencyLevelDescriptor#Proficient",
                       "insufficient_evidence": "uri://ed-fi.org/CompetencyLevelDescriptor#NA"},
    grades=True, grade_type="uri://ed-fi.org/GradeTypeDescriptor#Grading Period",
    learning_standard_id="code", gradebook_namespace="uri://cr.example/gradebook")


def test_edfi_letter_grades_fit_twenty_characters_without_being_cut() -> None:
    # "Insufficient evidence" (21) used to arrive as "Insufficient evidenc".
    waiting = dataclasses.replace(result("S2", level=None, state="insufficient_evidence"),
                                  text_score="Insufficient evidence")
    records = edfi.records([result("S1"), waiting], edfi.EdFiMapping(**EDFI), [])
    letters = {r.body["studentReference"]["studentUniqueId"]: r.body["letterGradeEarned"]
               for r in records if r.resource == "studentGradebookEntries"}
    assert letters == {"S1": "Proficient", "S2": "Insufficient"}
    short = edfi.EdFiMapping(**{**EDFI, "letter_grades": {"3": "P", "insufficient_evidence":
                                                          "IE"}})
    records = edfi.records([result("S1"), waiting], short, [])
    assert sorted(r.body["letterGradeEarned"] for r in records
                  if r.resource == "studentGradebookEntries") == ["IE", "P"]


def test_edfi_gradebook_entries_name_their_section_and_the_session_can_be_configured() -> None:
    mapping = edfi.EdFiMapping(**{**EDFI, "session_name": "2025-2026 Fall Semester"})
    records = edfi.records([result("S1")], mapping, [])
    entry = next(r for r in records if r.resource == "gradebookEntries")
    assert entry.body["sectionReference"] == {
        "localCourseCode": "MA06", "schoolId": 255901001, "schoolYear": 2026,
        "sectionIdentifier": "C1", "sessionName": "2025-2026 Fall Semester"}
    grade = next(r for r in records if r.resource == "grades")
    assert grade.body["studentSectionAssociationReference"]["sessionName"] == (
        "2025-2026 Fall Semester")
    unknown = dataclasses.replace(result("S1"), line_item=dataclasses.replace(
        result("S1").line_item, course_code=""))
    entry = next(r for r in edfi.records([unknown], mapping, []) if r.resource ==
                 "gradebookEntries")
    assert "sectionReference" not in entry.body  # not known: sourceSectionIdentifier only


def test_edfi_configuration_asks_for_short_forms_of_long_level_labels() -> None:
    from connector.adapters.destinations.edfi.destination import EdFiDestination
    from connector.domain.scale import Level, ProficiencyScale

    scale = ProficiencyScale("s", "S", (Level("1", "Beginning", 1),
                                        Level("4", "Exceeds the standard consistently", 4)), "4")
    problems = EdFiDestination.scale_problems({}, scale)
    assert [path for path, _ in problems] == ["letter_grades.4"]
    assert "'Exceeds the standard consistently' has 33" in problems[0][1]
    assert EdFiDestination.scale_problems({"letter_grades": {"4": "Exceeds"}}, scale) == []
    wrong = EdFiDestination.scale_problems({"letter_grades": {"4": "E", "9": "x"}}, scale)
    assert [path for path, _ in wrong] == ["letter_grades.9"]


def test_flatten_reads_both_learning_objective_shapes() -> None:
    official = {"sourcedId": "r1", "learningObjectiveSet": [{"source": "case",
                "learningObjectiveResults": [{"learningObjectiveId": "u1", "score": 3}]}]}
    vendor = {"sourcedId": "r1", "learningObjectiveSet": {"source": "case",
              "learningObjectiveIds": [{"learningObjectiveId": "u1", "score": 3}]}}
    assert objective_results(official) == objective_results(vendor)
    assert objective_ids({"learningObjectiveSet": [{"source": "case",
                          "learningObjectiveIds": ["u1", {"learningObjectiveId": "u2"}]}]}
                         ) == tuple(objective_ids({"learningObjectiveSet": [
                             {"source": "case", "learningObjectiveIds": ["u1", "u2"]}]}))


def test_flatten_turns_references_roles_and_lists_into_csv_columns() -> None:
    row = flatten({
        "sourcedId": "u1", "enabledUser": True, "grades": ["06", "07"],
        "roles": [{"roleType": "secondary", "role": "aide", "org": {"sourcedId": "o2"}},
                  {"roleType": "primary", "role": "student", "org": {"sourcedId": "o1"}}],
        "terms": [{"sourcedId": "t1"}, {"sourcedId": "t2"}], "course": {"sourcedId": "c1"},
        "score": 4.0, "userIds": [{"type": "SIS", "identifier": "x"}]})
    assert row == {"sourcedId": "u1", "enabledUser": "true", "grades": "06,07",
                   "role": "student", "orgSourcedIds": "o1", "termSourcedIds": "t1,t2",
                   "courseSourcedId": "c1", "score": "4"}


def transcript_mapping(**options: object) -> edfi.EdFiMapping:
    ed_fi = "uri://ed-fi.org/"
    transcripts = edfi.TranscriptMapping(
        record_organization="school", course_organization="district",
        term_descriptor=ed_fi + "TermDescriptor#Year Round",
        results={"earned": ed_fi + "CourseAttemptResultDescriptor#Pass",
                 "not_earned": ed_fi + "CourseAttemptResultDescriptor#Incomplete"},
        credit_type=ed_fi + "CreditTypeDescriptor#Carnegie unit", method_earned=None,
        method_transfer=ed_fi + "MethodCreditEarnedDescriptor#Transfer credit")
    return edfi.EdFiMapping(
        education_organization_id=255901, school_year=2026, schools={"org-hs": 255901003},
        grading_period_descriptor="", grading_period_name="", objective_grade_level="",
        competency_levels={}, grades=False, grade_type="", learning_standard_id="identifier",
        competencies=False, transcripts=dataclasses.replace(transcripts, **options))


def senior(*credits: OutboundCredit, school: str = "org-hs") -> OutboundTranscript:
    return OutboundTranscript("S9", school, 1, "2026-05-01", "ab" * 32, credits)


def credit(course: str, year: str, *, earned: bool = True, in_progress: bool = False,
           transfer: str = "", credits: float = 1.0) -> OutboundCredit:
    return OutboundCredit(course, course.title(), credits, earned,
                          "2025-05-01" if earned else None, "Mathematics", year,
                          in_progress=in_progress, transfer_from=transfer)


def test_edfi_transcripts_give_a_record_per_year_and_a_line_per_completed_course() -> None:
    skipped: list[tuple[str, str]] = []
    records = edfi.transcript_records([senior(
        credit("ALG1", "2022-2023", transfer="Lakeview High School"),
        credit("GEOM", "2024-2025"), credit("BIO", "2024-2025", earned=False),
        credit("ALG2", "2025-2026", credits=0.5),
        credit("PREC", "2025-2026", earned=False, in_progress=True))],
        transcript_mapping(), skipped)
    assert skipped == []
    by_year = {r.body["schoolYearTypeReference"]["schoolYear"]: r.body for r in records
               if r.resource == "studentAcademicRecords"}
    assert sorted(by_year) == [2023, 2025, 2026]
    assert [(by_year[y]["sessionEarnedCredits"], by_year[y]["cumulativeEarnedCredits"],
             by_year[y]["cumulativeAttemptedCredits"]) for y in (2023, 2025, 2026)] == [
        (1.0, 1.0, 1.0), (1.0, 2.0, 3.0), (0.5, 2.5, 3.5)]
    lines = {r.body["courseReference"]["courseCode"]: r.body for r in records
             if r.resource == "courseTranscripts"}
    # A course still under way this year is not a completed attempt: not sent.
    assert sorted(lines) == ["ALG1", "ALG2", "BIO", "GEOM"]
    assert lines["BIO"]["courseAttemptResultDescriptor"].endswith("#Incomplete")
    assert lines["BIO"]["earnedCredits"] == 0 and lines["BIO"]["attemptedCredits"] == 1
    assert lines["ALG1"]["externalEducationOrganizationNameOfInstitution"] == (
        "Lakeview High School")
    assert lines["ALG1"]["methodCreditEarnedDescriptor"].endswith("#Transfer credit")
    assert "methodCreditEarnedDescriptor" not in lines["GEOM"]
    assert lines["GEOM"]["studentAcademicRecordReference"] == {
        "educationOrganizationId": 255901003, "schoolYear": 2025, "studentUniqueId": "S9",
        "termDescriptor": "uri://ed-fi.org/TermDescriptor#Year Round"}
    assert lines["GEOM"]["courseReference"]["educationOrganizationId"] == 255901
    # Each year's record comes before its lines; records are parents in the push order.
    assert {r.order for r in records if r.resource == "studentAcademicRecords"} == {1}
    assert {r.order for r in records if r.resource == "courseTranscripts"} == {2}


def test_edfi_transcripts_list_what_the_configuration_cannot_express() -> None:
    skipped: list[tuple[str, str]] = []
    records = edfi.transcript_records(
        [senior(credit("ALG1", "2024-2025"), school="org-elsewhere"),
         senior(credit("ALG1", "last year"), credit("GEOM", "2024-2025"),
                credit("GEOM", "2024-2025"))],
        transcript_mapping(), skipped)
    assert [why.split(":")[0].split(" (")[0] for _k, why in skipped] == [
        "no Ed-Fi schoolId configured for org 'org-elsewhere'",
        "the school year 'last year' is not a year like 2024-2025, so Ed-Fi's schoolYear "
        "cannot be named",
        "GEOM appears twice in 2025; the first line is sent"]
    assert [r.resource for r in records] == ["studentAcademicRecords", "courseTranscripts"]
    # A district's own records (not a school's) when configured so.
    district = edfi.transcript_records([senior(credit("ALG1", "2024-2025"), school="org-x")],
                                       transcript_mapping(record_organization="district"), [])
    assert district[0].body["educationOrganizationReference"] == {
        "educationOrganizationId": 255901}


def test_edfi_transcript_that_earns_a_course_replaces_its_incomplete_line() -> None:
    """The result is part of Ed-Fi's key: earning the credit is a new line, the old one goes."""
    before = edfi.transcript_records([senior(credit("BIO", "2024-2025", earned=False))],
                                     transcript_mapping(), [])
    after = edfi.transcript_records([senior(credit("BIO", "2024-2025"))],
                                    transcript_mapping(), [])
    ledger = {r.key: LedgerEntry(r.key, r.resource, r.remote_id, r.digest) for r in before}
    plan = diff(after, ledger)
    assert [(c.action, c.resource) for c in plan.changes] == [
        ("update", "studentAcademicRecords"), ("create", "courseTranscripts"),
        ("delete", "courseTranscripts")]


@given(score=st.none() | st.floats(allow_nan=False, allow_infinity=False),
       text=st.text(max_size=30), state=st.sampled_from(["level", "not_yet", "exempt"]),
       title=st.text(max_size=30), day=st.dates().map(date.isoformat))
def test_a_results_payload_hash_is_the_content_hash_of_its_payload(
        score: float | None, text: str, state: str, title: str, day: str) -> None:
    """The push serialises a line item once per class; the ledger's hashes must not move."""
    line = OutboundLineItem("li-1", title, "All of it", "cls-1", "org-1", "term-1", "comp-1",
                            1.0, 4.0, MOMENT, MOMENT, competency_code="MA.6.1")
    payload = {"line_item": line.__dict__, "score": score, "text": text, "state": state,
               "date": day}
    assert payload_hash(canonical_json(line.__dict__), score, text, state, day) == \
        content_hash(payload)
