"""Canonical records that source adapters yield after parsing at the boundary.

Every record carries its natural key, ``(source_system, sourced_id)``, and
timezone-aware UTC datetimes. Adapters never hand raw strings downstream: a
value that cannot be parsed becomes a :class:`~connector.errors.Rejection`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class ScoreStatus(StrEnum):
    """OneRoster 1.2 scoreStatus values (1.1 values map onto these)."""

    EXEMPT = "exempt"
    FULLY_GRADED = "fully graded"
    NOT_SUBMITTED = "not submitted"
    PARTIALLY_GRADED = "partially graded"
    SUBMITTED = "submitted"


@dataclass(frozen=True)
class Org:
    source_system: str
    sourced_id: str
    name: str
    type: str
    identifier: str = ""
    parent_sourced_id: str = ""


@dataclass(frozen=True)
class AcademicSession:
    source_system: str
    sourced_id: str
    title: str
    type: str
    start_date: date | None
    end_date: date | None
    parent_sourced_id: str = ""
    school_year: str = ""


@dataclass(frozen=True)
class Course:
    source_system: str
    sourced_id: str
    title: str
    course_code: str = ""
    org_sourced_id: str = ""
    school_year_sourced_id: str = ""
    grades: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClassSection:
    source_system: str
    sourced_id: str
    title: str
    course_sourced_id: str
    school_sourced_id: str
    class_code: str = ""
    term_sourced_ids: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Person:
    """A user from the roster: student, teacher or other role."""

    source_system: str
    sourced_id: str
    role: str
    given_name: str
    family_name: str
    username: str = ""
    email: str = ""
    identifier: str = ""
    grades: tuple[str, ...] = ()
    org_sourced_ids: tuple[str, ...] = ()
    enabled: bool = True
    #: Parents and guardians of a student, or the students of a guardian (agentSourcedIds).
    agents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Demographics:
    """Kept apart from the student so equity reports can be permissioned separately."""

    source_system: str
    user_sourced_id: str
    birth_date: date | None = None
    sex: str = ""
    races: tuple[str, ...] = ()
    hispanic_or_latino: bool | None = None


@dataclass(frozen=True)
class Enrollment:
    source_system: str
    sourced_id: str
    class_sourced_id: str
    school_sourced_id: str
    user_sourced_id: str
    role: str
    primary: bool | None = None
    begin_date: date | None = None
    end_date: date | None = None
    #: The source asked for this enrollment to be removed (OneRoster "tobedeleted").
    deleted: bool = False


@dataclass(frozen=True)
class Category:
    source_system: str
    sourced_id: str
    title: str


@dataclass(frozen=True)
class LearningObjectiveRef:
    """An alignment a source carries itself, e.g. a OneRoster learningObjectiveId."""

    source: str
    identifier: str


@dataclass(frozen=True)
class SourceItem:
    """Something a student is scored on: an assignment, an assessment, a vendor skill."""

    source_system: str
    sourced_id: str
    title: str
    kind: str = "assignment"
    description: str = ""
    class_sourced_id: str = ""
    category_sourced_id: str = ""
    assign_date: datetime | None = None
    due_date: datetime | None = None
    result_value_min: float | None = None
    result_value_max: float | None = None
    learning_objectives: tuple[LearningObjectiveRef, ...] = ()
    #: The source asked for this item to be removed (OneRoster "tobedeleted"): its scores go too.
    deleted: bool = False


@dataclass(frozen=True)
class StudentRef:
    """How a source names a student: by SIS id (sourcedId), username, email or identifier."""

    kind: str
    value: str


@dataclass(frozen=True)
class Score:
    """One raw score as the source reported it, before any mapping."""

    source_system: str
    sourced_id: str
    item_sourced_id: str
    student: StudentRef
    score: float | None
    status: str
    scored_at: datetime | None
    max_score: float | None = None
    text_score: str = ""
    attempt: int = 1
    comment: str = ""
    #: When the student turned the work in, where the source says (Canvas submitted_at).
    submitted_at: datetime | None = None
    #: The source asked for this score to be deleted (OneRoster delta "tobedeleted").
    deleted: bool = False
    #: Turned in after the due date (OneRoster 1.2 ``late``, Canvas ``late``): a habit of
    #: work, kept apart; the score itself carries no late penalty.
    late: bool = False


@dataclass(frozen=True)
class ScoreObjective:
    """A score on one learning objective within a result (OneRoster 1.2 learningObjectiveResults).

    A common assessment may score each competency it covers separately; this is
    that per-competency score, on the same points scale as the result itself.
    """

    source_system: str
    sourced_id: str
    score_sourced_id: str
    learning_objective: LearningObjectiveRef
    score: float | None
    text_score: str = ""


Record = (
    Org
    | AcademicSession
    | Course
    | ClassSection
    | Person
    | Demographics
    | Enrollment
    | Category
    | SourceItem
    | Score
    | ScoreObjective
)
