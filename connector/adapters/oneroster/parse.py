"""One function per OneRoster record type: a row in, a canonical record out.

A row is a CSV line or a REST object flattened to the CSV column names
(:mod:`connector.adapters.oneroster.flatten`).

Column names follow the 1EdTech CSV binding (1.1 "CSV Tables", 1.2.1 "CSV
Binding"). Where 1.1 and 1.2 differ the parser accepts both (``role`` on
users.csv in 1.1 vs roles.csv in 1.2; ``gradingPeriodSourcedId`` vs
``academicSessionSourcedId`` on lineItems.csv).
"""

from __future__ import annotations

from connector.adapters.csvfiles import CsvRow
from connector.adapters.values import (
    parse_bool,
    parse_date,
    parse_datetime,
    parse_float,
    required,
    split_list,
)
from connector.domain.records import (
    AcademicSession,
    Category,
    ClassSection,
    Course,
    Demographics,
    Enrollment,
    LearningObjectiveRef,
    Org,
    Person,
    Score,
    ScoreObjective,
    ScoreStatus,
    SourceItem,
    StudentRef,
)
from connector.errors import DataError

RACE_COLUMNS = (
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
)
SCORE_STATUSES = {s.value for s in ScoreStatus}


#: OneRoster's record status: 1.2 has active and tobedeleted; 1.1 also inactive (kept).
STATUSES = ("active", "tobedeleted", "inactive")


def to_be_deleted(row: CsvRow) -> bool:
    """Whether the row's ``status`` removes the record; an unknown status is rejected.

    A status the spec does not define (``weird``) was read as active, which keeps a
    record the sender meant to remove, or removes one it meant to keep.
    """
    status = row.get("status").lower()
    if status and status not in STATUSES:
        raise DataError(f"'status' must be one of {list(STATUSES)} or empty: {status!r}",
                        field="status")
    return status == "tobedeleted"


def org(row: CsvRow, source: str) -> Org:
    to_be_deleted(row)  # an unknown status is refused, not read as active
    return Org(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        name=required(row.get("name"), "name"),
        type=required(row.get("type"), "type"),
        identifier=row.get("identifier"),
        parent_sourced_id=row.get("parentSourcedId"),
    )


def academic_session(row: CsvRow, source: str) -> AcademicSession:
    to_be_deleted(row)  # an unknown status is refused, not read as active
    return AcademicSession(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        title=required(row.get("title"), "title"),
        type=required(row.get("type"), "type"),
        start_date=parse_date(row.get("startDate"), "startDate"),
        end_date=parse_date(row.get("endDate"), "endDate"),
        parent_sourced_id=row.get("parentSourcedId"),
        school_year=row.get("schoolYear"),
    )


def course(row: CsvRow, source: str) -> Course:
    to_be_deleted(row)  # an unknown status is refused, not read as active
    return Course(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        title=required(row.get("title"), "title"),
        course_code=row.get("courseCode"),
        org_sourced_id=row.get("orgSourcedId"),
        school_year_sourced_id=row.get("schoolYearSourcedId"),
        grades=split_list(row.get("grades")),
        subjects=split_list(row.get("subjects")),
    )


def class_section(row: CsvRow, source: str) -> ClassSection:
    to_be_deleted(row)  # an unknown status is refused, not read as active
    return ClassSection(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        title=required(row.get("title"), "title"),
        course_sourced_id=required(row.get("courseSourcedId"), "courseSourcedId"),
        school_sourced_id=required(row.get("schoolSourcedId"), "schoolSourcedId"),
        class_code=row.get("classCode"),
        term_sourced_ids=split_list(row.get("termSourcedIds")),
        subjects=split_list(row.get("subjects")),
    )


def person(row: CsvRow, source: str, role: str, org: str = "") -> Person:
    """A user; 1.2 files carry the role and org in roles.csv, passed in as ``role``/``org``."""
    orgs = (split_list(row.get("orgSourcedIds")) or split_list(row.get("primaryOrgSourcedId"))
            or split_list(org))
    enabled = parse_bool(row.get("enabledUser"), "enabledUser")
    if to_be_deleted(row):  # removed from the roster: kept with its records, disabled
        enabled = False
    return Person(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        role=role,
        given_name=required(row.get("givenName"), "givenName"),
        family_name=required(row.get("familyName"), "familyName"),
        username=row.get("username"),
        email=row.get("email"),
        identifier=row.get("identifier"),
        grades=split_list(row.get("grades")),
        org_sourced_ids=orgs,
        enabled=True if enabled is None else enabled,
        agents=split_list(row.get("agentSourcedIds")),
    )


def demographics(row: CsvRow, source: str) -> Demographics:
    to_be_deleted(row)  # an unknown status is refused, not read as active
    races = tuple(col for col in RACE_COLUMNS if parse_bool(row.get(col), col))
    return Demographics(
        source_system=source,
        user_sourced_id=required(row.get("sourcedId"), "sourcedId"),
        birth_date=parse_date(row.get("birthDate"), "birthDate"),
        sex=row.get("sex"),
        races=races,
        hispanic_or_latino=parse_bool(row.get("hispanicOrLatinoEthnicity"),
                                      "hispanicOrLatinoEthnicity"),
    )


def enrollment(row: CsvRow, source: str) -> Enrollment:
    return Enrollment(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        class_sourced_id=required(row.get("classSourcedId"), "classSourcedId"),
        school_sourced_id=required(row.get("schoolSourcedId"), "schoolSourcedId"),
        user_sourced_id=required(row.get("userSourcedId"), "userSourcedId"),
        role=required(row.get("role"), "role"),
        primary=parse_bool(row.get("primary"), "primary"),
        begin_date=parse_date(row.get("beginDate"), "beginDate"),
        end_date=parse_date(row.get("endDate"), "endDate"),
        deleted=to_be_deleted(row),
    )


def category(row: CsvRow, source: str) -> Category:
    to_be_deleted(row)  # an unknown status is refused, not read as active
    return Category(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        title=required(row.get("title"), "title"),
    )


def line_item(
    row: CsvRow, source: str, tz: str, objectives: tuple[LearningObjectiveRef, ...]
) -> SourceItem:
    if to_be_deleted(row):
        return _deleted_item(row, source, "assignment")
    low = parse_float(row.get("resultValueMin"), "resultValueMin")
    high = parse_float(row.get("resultValueMax"), "resultValueMax")
    if low is not None and high is not None and high <= low:
        raise DataError(f"'resultValueMax' ({high:g}) must be above 'resultValueMin' ({low:g})",
                        field="resultValueMax")
    return SourceItem(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        title=required(row.get("title"), "title"),
        kind="assignment",
        description=row.get("description"),
        class_sourced_id=required(row.get("classSourcedId"), "classSourcedId"),
        category_sourced_id=row.get("categorySourcedId"),
        assign_date=parse_datetime(row.get("assignDate"), "assignDate", tz),
        due_date=parse_datetime(row.get("dueDate"), "dueDate", tz),
        result_value_min=low,
        result_value_max=high,
        learning_objectives=objectives,
    )


def assessment_line_item(row: CsvRow, source: str, tz: str,
                         objectives: tuple[LearningObjectiveRef, ...]) -> SourceItem:
    """A 1.2 assessment line item: scored like a line item, but not tied to one class."""
    if to_be_deleted(row):
        return _deleted_item(row, source, "assessment")
    low = parse_float(row.get("resultValueMin"), "resultValueMin")
    high = parse_float(row.get("resultValueMax"), "resultValueMax")
    return SourceItem(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        title=required(row.get("title"), "title"),
        kind="assessment",
        description=row.get("description"),
        class_sourced_id=row.get("classSourcedId"),
        result_value_min=low,
        result_value_max=high,
        learning_objectives=objectives,
    )


def _deleted_item(row: CsvRow, source: str, kind: str) -> SourceItem:
    """Only the key matters for a deletion; providers often strip the rest of the record."""
    key = required(row.get("sourcedId"), "sourcedId")
    return SourceItem(source_system=source, sourced_id=key, title=row.get("title") or key,
                      kind=kind, deleted=True)


def assessment_result(row: CsvRow, source: str, tz: str) -> Score:
    """A 1.2 assessment result reads as a result whose line item is the assessment."""
    values = {**row.values, "lineItemSourcedId": row.get("assessmentLineItemSourcedId")}
    return result(CsvRow(row.file, row.row, values), source, tz)


def result(row: CsvRow, source: str, tz: str) -> Score:
    status = required(row.get("scoreStatus"), "scoreStatus")
    if status not in SCORE_STATUSES and not status.startswith("ext:"):
        raise DataError(f"'scoreStatus' must be one of {sorted(SCORE_STATUSES)}: {status!r}",
                        field="scoreStatus")
    score = parse_float(row.get("score"), "score")
    if score is not None and score < 0:
        raise DataError(f"'score' must not be negative: {score:g}", field="score")
    scored_at = parse_datetime(row.get("scoreDate"), "scoreDate", tz) or parse_datetime(
        row.get("dateLastModified"), "dateLastModified", tz)
    # 1.2's ``missing`` flag: the work was not turned in, whatever score the gradebook put
    # on it (often 0). It is the same fact as ``not submitted``, and read as that.
    if (row.get("missing") or "").strip().lower() == "true" and status != "exempt":
        status = ScoreStatus.NOT_SUBMITTED.value
    return Score(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        item_sourced_id=required(row.get("lineItemSourcedId"), "lineItemSourcedId"),
        student=StudentRef("sourced_id", required(row.get("studentSourcedId"), "studentSourcedId")),
        score=score,
        status=status,
        scored_at=scored_at,
        text_score=row.get("textScore"),
        comment=row.get("comment"),
        deleted=to_be_deleted(row),
        late=(row.get("late") or "").strip().lower() == "true",
    )


def learning_objective(row: CsvRow) -> LearningObjectiveRef:
    return LearningObjectiveRef(
        source=required(row.get("source"), "source"),
        identifier=required(row.get("learningObjectiveId"), "learningObjectiveId"),
    )


def result_objective(row: CsvRow, source: str) -> ScoreObjective:
    score = parse_float(row.get("score"), "score")
    return ScoreObjective(
        source_system=source,
        sourced_id=required(row.get("sourcedId"), "sourcedId"),
        score_sourced_id=required(row.get("resultSourcedId"), "resultSourcedId"),
        learning_objective=learning_objective(row),
        score=score,
        text_score=row.get("textScore"),
    )
