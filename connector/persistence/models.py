"""The database schema: one district (tenant) owns every row but its own.

Natural keys are unique *within a district*: ``(district, source system,
sourced id)`` for anything pulled from a source and ``(district, CASE
identifier)`` for competencies. Surrogate integer ids exist for joins only and
never leave the database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from connector.persistence.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class District(Base):
    """The tenant. Created from the district's config on first use."""

    __tablename__ = "district"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    config_version: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TenantMixin:
    """Every row belongs to one district; the tenancy guard scopes every query by it."""

    #: Whether ``district_id`` gets an index of its own. The tables a sync fills set it
    #: False: their composite indexes all lead with the district, which serves the
    #: tenancy predicate and the district's cascade, while a district-only index matches
    #: every row of a one-district store and was the planners' pick for lookups by other
    #: keys (a scan of the district per lookup). It also costs a write per row loaded.
    district_index: ClassVar[bool] = True
    #: Whether ``district_id`` is a foreign key. Only evidence sets it False: it is
    #: derived from a raw score of the same district, whose own key cascades to it.
    district_foreign_key: ClassVar[bool] = True

    @declared_attr
    def district_id(cls) -> Mapped[int]:
        if not cls.district_foreign_key:
            return mapped_column(Integer, index=cls.district_index)
        return mapped_column(ForeignKey("district.id", ondelete="CASCADE"),
                             index=cls.district_index)


class Sourced(TenantMixin):
    """A record pulled from a source, keyed by (source system, sourced id) and hashed."""

    source_system: Mapped[str] = mapped_column(String(64))
    sourced_id: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _natural_key(table: str) -> UniqueConstraint:
    return UniqueConstraint("district_id", "source_system", "sourced_id", name=f"uq_{table}_natural")


# ---- roster -------------------------------------------------------------------


class Organisation(Sourced, Base):
    """A OneRoster org: a school, or the district/department above it."""

    __tablename__ = "organisation"
    __table_args__ = (_natural_key("organisation"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(40))
    identifier: Mapped[str] = mapped_column(String(255), default="")
    parent_sourced_id: Mapped[str] = mapped_column(String(255), default="")


class AcademicSession(Sourced, Base):
    """School year, term, semester or grading period."""

    __tablename__ = "academic_session"
    __table_args__ = (_natural_key("academic_session"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(40))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    parent_sourced_id: Mapped[str] = mapped_column(String(255), default="")
    school_year: Mapped[str] = mapped_column(String(16), default="")


class Student(Sourced, Base):
    """A student; ``sourced_id`` is the SIS id. Names are stored, never logged."""

    __tablename__ = "student"
    __table_args__ = (
        _natural_key("student"),
        Index("ix_student_username", "district_id", "username"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    given_name: Mapped[str] = mapped_column(String(120))
    family_name: Mapped[str] = mapped_column(String(120))
    username: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    identifier: Mapped[str] = mapped_column(String(255), default="")
    grade: Mapped[str] = mapped_column(String(16), default="")
    school_sourced_id: Mapped[str] = mapped_column(String(255), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Staff(Sourced, Base):
    """A non-student user (teacher, administrator) from the roster."""

    __tablename__ = "staff"
    __table_args__ = (_natural_key("staff"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(40))
    given_name: Mapped[str] = mapped_column(String(120))
    family_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(255), default="")


class RosterAgent(TenantMixin, Base):
    """One link the roster declares between a person and an agent (OneRoster ``agentSourcedIds``).

    A student's row names its parents and guardians; a guardian's row names the
    students. Either side may declare the link, so each row keeps which person
    declared it (``person_sourced_id``): a new roster row for that person replaces
    exactly the links it declared. The guardian role reaches a student linked from
    either side.
    """

    __tablename__ = "roster_agent"
    __table_args__ = (
        UniqueConstraint("district_id", "source_system", "person_sourced_id", "agent_sourced_id",
                         name="uq_roster_agent_natural"),
        Index("ix_roster_agent_agent", "district_id", "agent_sourced_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source_system: Mapped[str] = mapped_column(String(64))
    person_sourced_id: Mapped[str] = mapped_column(String(255))
    agent_sourced_id: Mapped[str] = mapped_column(String(255))


class StudentDemographics(TenantMixin, Base):
    """Kept apart from ``student`` so equity reports can be permissioned on their own."""

    __tablename__ = "student_demographics"
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), unique=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(20), default="")
    races: Mapped[list[Any]] = mapped_column(default=list)
    hispanic_or_latino: Mapped[bool | None] = mapped_column(Boolean)
    content_hash: Mapped[str] = mapped_column(String(64))


class Course(Sourced, Base):
    __tablename__ = "course"
    __table_args__ = (_natural_key("course"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    course_code: Mapped[str] = mapped_column(String(120), default="")
    org_sourced_id: Mapped[str] = mapped_column(String(255), default="")
    school_year_sourced_id: Mapped[str] = mapped_column(String(255), default="")
    grades: Mapped[list[Any]] = mapped_column(default=list)
    subjects: Mapped[list[Any]] = mapped_column(default=list)


class ClassSection(Sourced, Base):
    """A class (section) of a course in a term."""

    __tablename__ = "class_section"
    __table_args__ = (_natural_key("class_section"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    course_sourced_id: Mapped[str] = mapped_column(String(255))
    school_sourced_id: Mapped[str] = mapped_column(String(255))
    class_code: Mapped[str] = mapped_column(String(120), default="")
    term_sourced_ids: Mapped[list[Any]] = mapped_column(default=list)
    subjects: Mapped[list[Any]] = mapped_column(default=list)


class Enrollment(Sourced, Base):
    __tablename__ = "enrollment"
    __table_args__ = (
        _natural_key("enrollment"),
        Index("ix_enrollment_class", "district_id", "class_sourced_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    class_sourced_id: Mapped[str] = mapped_column(String(255))
    school_sourced_id: Mapped[str] = mapped_column(String(255))
    user_sourced_id: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    primary: Mapped[bool | None] = mapped_column(Boolean)
    begin_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


class Category(Sourced, Base):
    """A gradebook category (e.g. "Performance Tasks"), which can imply an evidence type."""

    __tablename__ = "category"
    __table_args__ = (_natural_key("category"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))


# ---- frameworks -----------------------------------------------------------------


class Framework(TenantMixin, Base):
    """A CASE CFDocument imported for this district."""

    __tablename__ = "framework"
    __table_args__ = (UniqueConstraint("district_id", "identifier", name="uq_framework_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(20), default="academic")
    title: Mapped[str] = mapped_column(Text)
    uri: Mapped[str] = mapped_column(Text, default="")
    creator: Mapped[str] = mapped_column(Text, default="")
    publisher: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str] = mapped_column(String(120), default="")
    adoption_status: Mapped[str] = mapped_column(String(60), default="")
    language: Mapped[str] = mapped_column(String(20), default="")
    case_version: Mapped[str] = mapped_column(String(8), default="1.0")
    last_change: Mapped[datetime | None] = mapped_column()
    location: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Competency(TenantMixin, Base):
    """A CASE CFItem: competency, measurement topic, learning target or grouping."""

    __tablename__ = "competency"
    __table_args__ = (
        UniqueConstraint("district_id", "identifier", name="uq_competency_natural"),
        Index("ix_competency_code", "district_id", "human_coding_scheme"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("framework.id", ondelete="CASCADE"), index=True
    )
    identifier: Mapped[str] = mapped_column(String(255))
    full_statement: Mapped[str] = mapped_column(Text)
    human_coding_scheme: Mapped[str] = mapped_column(String(255), default="")
    abbreviated_statement: Mapped[str] = mapped_column(Text, default="")
    item_type: Mapped[str] = mapped_column(String(255), default="")
    education_levels: Mapped[list[Any]] = mapped_column(default=list)
    subjects: Mapped[list[Any]] = mapped_column(default=list)
    target_dok: Mapped[int | None] = mapped_column(Integer)
    parent_identifier: Mapped[str | None] = mapped_column(String(255))
    root_identifier: Mapped[str] = mapped_column(String(255), default="")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    uri: Mapped[str] = mapped_column(Text, default="")
    list_enumeration: Mapped[str] = mapped_column(String(120), default="")
    language: Mapped[str] = mapped_column(String(20), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    last_change: Mapped[datetime | None] = mapped_column()
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64), default="")


class CompetencyAssociation(TenantMixin, Base):
    """A CASE CFAssociation; destinations may live in another framework or none we hold."""

    __tablename__ = "competency_association"
    __table_args__ = (
        UniqueConstraint("district_id", "framework_id", "identifier",
                         name="uq_competency_association_natural"),
        Index("ix_association_type", "district_id", "association_type"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("framework.id", ondelete="CASCADE"), index=True
    )
    identifier: Mapped[str] = mapped_column(String(255))
    association_type: Mapped[str] = mapped_column(String(60))
    origin_identifier: Mapped[str] = mapped_column(String(255), index=True)
    destination_identifier: Mapped[str] = mapped_column(String(255))
    origin_uri: Mapped[str] = mapped_column(Text, default="")
    destination_uri: Mapped[str] = mapped_column(Text, default="")
    destination_title: Mapped[str] = mapped_column(Text, default="")
    sequence_number: Mapped[int | None] = mapped_column(Integer)
    grouping_identifier: Mapped[str | None] = mapped_column(String(255))
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64), default="")


class CompetencyItemType(TenantMixin, Base):
    """A CASE CFItemType definition from a framework's CFDefinitions."""

    __tablename__ = "competency_item_type"
    __table_args__ = (
        UniqueConstraint("district_id", "framework_id", "identifier",
                         name="uq_competency_item_type_natural"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("framework.id", ondelete="CASCADE"))
    identifier: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    type_code: Mapped[str] = mapped_column(String(120), default="")
    hierarchy_code: Mapped[str] = mapped_column(String(60), default="")
    description: Mapped[str] = mapped_column(Text, default="")


class Rubric(TenantMixin, Base):
    """A CASE CFRubric with its criteria and levels kept as JSON."""

    __tablename__ = "rubric"
    __table_args__ = (
        UniqueConstraint("district_id", "framework_id", "identifier", name="uq_rubric_natural"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("framework.id", ondelete="CASCADE"))
    identifier: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    criteria: Mapped[list[Any]] = mapped_column(default=list)


# ---- scale, sources, mapping --------------------------------------------------------


class ProficiencyScale(TenantMixin, Base):
    """The district's scale as configured, versioned so old records stay readable."""

    __tablename__ = "proficiency_scale"
    __table_args__ = (
        UniqueConstraint("district_id", "key", "version", name="uq_proficiency_scale_natural"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(255))
    proficient_code: Mapped[str] = mapped_column(String(20))
    state_labels: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ScaleLevel(TenantMixin, Base):
    __tablename__ = "scale_level"
    __table_args__ = (UniqueConstraint("scale_id", "code", name="uq_scale_level_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(ForeignKey("proficiency_scale.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(120))
    value: Mapped[float] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")


class SourceSystem(TenantMixin, Base):
    """A system we pull from (an LMS export, an adaptive vendor's report)."""

    __tablename__ = "source_system"
    __table_args__ = (UniqueConstraint("district_id", "key", name="uq_source_system_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    #: Where an incremental source resumes (e.g. the newest dateLastModified per resource),
    #: saved only after a read that finished without errors.
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Set when an identity link asks for the records this source sent before and staging
    #: refused: the next read is a full one, and clears it when it gets to the end.
    reread_asked_at: Mapped[datetime | None] = mapped_column(default=None)
    #: A file source's last complete read: its files' digest, what staging matched the
    #: rows against, the run and what it counted (:mod:`connector.sync.unchanged_input`).
    last_read: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SourceItem(Sourced, Base):
    """An assignment, assessment or vendor skill that students are scored on."""

    __tablename__ = "source_item"
    __table_args__ = (_natural_key("source_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), default="assignment")
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    class_sourced_id: Mapped[str] = mapped_column(String(255), default="")
    category_sourced_id: Mapped[str] = mapped_column(String(255), default="")
    assign_date: Mapped[datetime | None] = mapped_column()
    due_date: Mapped[datetime | None] = mapped_column()
    result_value_min: Mapped[float | None] = mapped_column(Float)
    result_value_max: Mapped[float | None] = mapped_column(Float)
    learning_objectives: Mapped[list[Any]] = mapped_column(default=list)
    mapped: Mapped[bool] = mapped_column(Boolean, default=False)
    mapping_note: Mapped[str] = mapped_column(Text, default="")


class Alignment(TenantMixin, Base):
    """Source item -> competency, with the DOK and evidence type its scores carry."""

    __tablename__ = "alignment"
    __table_args__ = (
        UniqueConstraint("source_item_id", "competency_id", name="uq_alignment_pair"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source_item_id: Mapped[int] = mapped_column(
        ForeignKey("source_item.id", ondelete="CASCADE"), index=True
    )
    competency_id: Mapped[int] = mapped_column(ForeignKey("competency.id", ondelete="CASCADE"))
    dok: Mapped[int | None] = mapped_column(Integer)
    evidence_type: Mapped[str] = mapped_column(String(40))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    origin: Mapped[str] = mapped_column(String(20))


class RawScore(Sourced, Base):
    """A score exactly as the source reported it; evidence is derived from it."""

    district_index = False
    __tablename__ = "raw_score"
    __table_args__ = (
        _natural_key("raw_score"),
        Index("ix_raw_score_item", "source_item_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source_item_id: Mapped[int] = mapped_column(ForeignKey("source_item.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    text_score: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(40))
    scored_at: Mapped[datetime | None] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column()
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    comment: Mapped[str] = mapped_column(Text, default="")
    #: Turned in after the due date: a habit of work, counted apart from mastery.
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RawScoreObjective(Sourced, Base):
    """A result's score on one learning objective (OneRoster resultLearningObjectiveIds)."""

    district_index = False
    __tablename__ = "raw_score_objective"
    __table_args__ = (
        _natural_key("raw_score_objective"),
        # Led by the district, so the tenancy guard's own predicate is part of the lookup:
        # with a separate district index the planner can pick a whole-district scan.
        Index("ix_raw_score_objective_district_score", "district_id", "raw_score_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    raw_score_id: Mapped[int] = mapped_column(ForeignKey("raw_score.id", ondelete="CASCADE"))
    learning_objective_source: Mapped[str] = mapped_column(String(40))
    learning_objective_id: Mapped[str] = mapped_column(String(255))
    score: Mapped[float | None] = mapped_column(Float)
    text_score: Mapped[str] = mapped_column(String(255), default="")


class Evidence(TenantMixin, Base):
    """One raw score seen through one alignment: a level on the district scale.

    It carries what the engine orders and selects by (the item and attempt, the
    assessed, submitted and due dates), so a recompute reads one table.
    """

    district_index = False
    #: The district, student and item are the raw score's, copied for the indexes the
    #: engine and the reports read by. Deleting any of them deletes the raw score, which
    #: cascades here, so they are not foreign keys of their own: PostgreSQL checks each
    #: foreign key of each row inserted, and three redundant checks were most of the
    #: cost of loading evidence (decision 0039).
    district_foreign_key = False
    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("raw_score_id", "competency_id", name="uq_evidence_pair"),
        Index("ix_evidence_student_competency", "student_id", "competency_id"),
        # Evidence of given scores (sync, retention), within the tenancy guard's district.
        Index("ix_evidence_district_score", "district_id", "raw_score_id"),
        # Reports count evidence per item, type and DOK (DOK exposure, content impact)
        # from this index alone, never reading the district's evidence row by row.
        Index("ix_evidence_district_item", "district_id", "source_item_id", "evidence_type",
              "dok", "missing"),
        # Partial: the few pairs with missing work, found without reading every row.
        Index("ix_evidence_missing", "student_id", "competency_id",
              sqlite_where=text("missing"), postgresql_where=text("missing")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    raw_score_id: Mapped[int] = mapped_column(ForeignKey("raw_score.id", ondelete="CASCADE"))
    competency_id: Mapped[int] = mapped_column(ForeignKey("competency.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(Integer)
    source_item_id: Mapped[int | None] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    level_code: Mapped[str] = mapped_column(String(20))
    value: Mapped[float] = mapped_column(Float)
    dok: Mapped[int | None] = mapped_column(Integer)
    evidence_type: Mapped[str] = mapped_column(String(40))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    observed_at: Mapped[datetime] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    #: Work not turned in: kept so the explanation shows it; the policy decides if it counts.
    missing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    content_hash: Mapped[str] = mapped_column(String(64))


class MasteryRecord(TenantMixin, Base):
    """The current level or state of one student on one competency, with how it was reached.

    ``state`` .. ``proficient`` are authoritative: a teacher's override when there is
    one, the engine's result otherwise. ``computed_*`` always hold the engine's
    result, so an override keeps the computed suggestion beside it. ``inputs``
    (compact rows: evidence id, value, assessed date, DOK, type, status, value
    counted) and ``decisions`` (codes with their facts) are the explanation as
    data; :mod:`connector.mastery.explain` renders them.
    """

    district_index = False
    __tablename__ = "mastery_record"
    __table_args__ = (
        UniqueConstraint("student_id", "competency_id", name="uq_mastery_record_pair"),
        # Progress, equity, content impact and the letter read these columns of every record in
        # reach; held in the index, they are read without the wide explanation rows.
        Index("ix_mastery_record_district_progress", "district_id", "student_id",
              "competency_id", "proficient_since", "first_evidence_at", "proficient",
              "policy_version"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"))
    competency_id: Mapped[int] = mapped_column(ForeignKey("competency.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(30))
    level_code: Mapped[str | None] = mapped_column(String(20))
    level_label: Mapped[str] = mapped_column(String(120))
    score: Mapped[float | None] = mapped_column(Float)
    proficient: Mapped[bool] = mapped_column(Boolean, default=False)
    computed_state: Mapped[str] = mapped_column(String(30))
    computed_level_code: Mapped[str | None] = mapped_column(String(20))
    computed_score: Mapped[float | None] = mapped_column(Float)
    override_id: Mapped[int | None] = mapped_column(
        ForeignKey("mastery_override.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(40))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inputs: Mapped[list[Any]] = mapped_column(default=list)
    decisions: Mapped[list[Any]] = mapped_column(default=list)
    evidence_count: Mapped[int] = mapped_column(Integer, default=0)
    highest_dok: Mapped[int | None] = mapped_column(Integer)
    engine_version: Mapped[str] = mapped_column(String(20))
    policy_version: Mapped[str] = mapped_column(String(20))
    first_evidence_at: Mapped[datetime | None] = mapped_column()
    proficient_since: Mapped[datetime | None] = mapped_column()
    achieved_at: Mapped[datetime | None] = mapped_column()
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    input_hash: Mapped[str] = mapped_column(String(64))


class MasteryOverride(TenantMixin, Base):
    """A teacher's authoritative call on one student and competency; rows are never deleted.

    The active row (``cleared_at`` empty) wins over the engine until it is cleared or
    replaced by a newer override. Each row keeps the computed result it overrode, so
    the audit trail shows what the teacher saw and decided.
    """

    __tablename__ = "mastery_override"
    __table_args__ = (
        Index("ix_mastery_override_pair", "student_id", "competency_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"))
    competency_id: Mapped[int] = mapped_column(ForeignKey("competency.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(30))
    level_code: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    computed_state: Mapped[str | None] = mapped_column(String(30))
    computed_level_code: Mapped[str | None] = mapped_column(String(20))
    computed_score: Mapped[float | None] = mapped_column(Float)
    cleared_at: Mapped[datetime | None] = mapped_column()
    cleared_by: Mapped[str] = mapped_column(String(255), default="")
    cleared_reason: Mapped[str] = mapped_column(Text, default="")


class MasteryPolicyVersion(TenantMixin, Base):
    """What a policy version meant: records name the version, this row holds its rules."""

    __tablename__ = "mastery_policy_version"
    __table_args__ = (
        UniqueConstraint("district_id", "version", name="uq_mastery_policy_version_natural"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(20))
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_used_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---- runs and pushes -----------------------------------------------------------------


class SyncRun(TenantMixin, Base):
    """One execution of a job: when, how it ended, what each stage counted."""

    __tablename__ = "sync_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(40), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rejection_count: Mapped[int] = mapped_column(Integer, default=0)
    config_version: Mapped[str] = mapped_column(String(64), default="")
    #: Hashes of the parts of the configuration later steps depend on (see the runner).
    fingerprints: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")


class SyncRejection(TenantMixin, Base):
    """A record a run refused, with where it was and why."""

    __tablename__ = "sync_rejection"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_run.id", ondelete="CASCADE"), index=True)
    file: Mapped[str] = mapped_column(Text)
    row: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(120), default="")
    reason: Mapped[str] = mapped_column(Text)
    record_key: Mapped[str] = mapped_column(String(255), default="")
    #: The source that sent it (blank for rejections of later steps) and, for a student
    #: the source could not match, how it names them (``kind:value``).
    source: Mapped[str] = mapped_column(String(64), default="")
    subject: Mapped[str] = mapped_column(String(255), default="")


class PushLedger(TenantMixin, Base):
    """What was last sent to a destination for each record key, by payload hash."""

    __tablename__ = "push_ledger"
    __table_args__ = (
        UniqueConstraint("district_id", "destination", "record_key", name="uq_push_ledger_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    destination: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str] = mapped_column(String(255))
    payload_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    pushed_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))
    location: Mapped[str] = mapped_column(Text, default="")
    #: For API destinations: the resource and the id the API addresses the record by.
    resource: Mapped[str] = mapped_column(String(60), default="")
    remote_id: Mapped[str] = mapped_column(Text, default="")
    #: The level value last sent for a result, so a push can tell how many levels it lowers.
    level_value: Mapped[float | None] = mapped_column(Float, nullable=True)


class PushRun(TenantMixin, Base):
    """One push to, or restore of, a destination: who started it and how it ended.

    A push too large to send unreviewed is kept here as ``held`` with the digest of
    its plan, until someone approves it (it is sent if the plan is still the same)
    or discards it.
    """

    __tablename__ = "push_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    destination: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # push | restore
    actor: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(30), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: For a restore: the push run whose before-images it put back.
    restores_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_run.id", ondelete="SET NULL"))
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(Text, default="")
    #: For a held push: the digest of the plan that was held, and who decided on it.
    plan_digest: Mapped[str] = mapped_column(String(64), default="")
    decided_by: Mapped[str] = mapped_column(String(255), default="")
    decided_at: Mapped[datetime | None] = mapped_column()


class PushStatus(StrEnum):
    """What became of one record's write, as its push audit row says."""

    #: The before-image is kept and the write is not confirmed: a rerun sends it again.
    PENDING = "pending"
    #: Written, and read back as written.
    OK = "ok"
    #: The destination answered no (a 4xx): nothing changed there.
    REJECTED = "rejected"
    #: Written, but read back different from what was sent.
    MISMATCH = "mismatch"
    #: Not sent (the record could not be read first), or no answer came.
    FAILED = "failed"


class PushAudit(TenantMixin, Base):
    """Every record a push touched: the state before, what was sent, the state after.

    The row is written with its before-image *before* the write goes out, so a
    push killed mid-write still leaves what is needed to put the record back.
    """

    __tablename__ = "push_audit"
    __table_args__ = (Index("ix_push_audit_run_seq", "run_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("push_run.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    resource: Mapped[str] = mapped_column(String(60))
    record_key: Mapped[str] = mapped_column(String(255))
    remote_id: Mapped[str] = mapped_column(Text)  # Ed-Fi: the natural key, which can be long
    action: Mapped[str] = mapped_column(String(20))  # create | update | delete | restore
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    sent: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: A :class:`PushStatus`.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    http_status: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LearningEvent(TenantMixin, Base):
    """An xAPI statement or Caliper event as its provider sent it, until a sync reads it.

    Intake only validates and stores; a sync's ``learning_events`` source turns
    stored events into scores in arrival order (``id``), so the endpoint answers
    fast and a provider's retry never reaches the evidence twice.
    """

    __tablename__ = "learning_event"
    __table_args__ = (
        UniqueConstraint("district_id", "provider", "event_id", name="uq_learning_event_natural"),
        Index("ix_learning_event_provider_order", "district_id", "provider", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    #: The statement id or Caliper event id (a UUID, lower case).
    event_id: Mapped[str] = mapped_column(String(64))
    spec: Mapped[str] = mapped_column(String(20))  # xapi | caliper
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The event a voiding statement voids ("" for every other event).
    voids: Mapped[str] = mapped_column(String(64), default="")
    #: A voiding statement for this one was received (before or after it).
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(TenantMixin, Base):
    """A notification sent (or attempted) to the district's IT staff, once per event.

    ``dedupe_key`` names the event ("failure:12", "stale:nightly-sync:40"), so a
    job that stays stale alerts once, and a retry after a mail server outage
    never sends the same alert twice.
    """

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("district_id", "dedupe_key", name="uq_alert_dedupe_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # failure | rejections | stale | push_held | digest
    dedupe_key: Mapped[str] = mapped_column(String(200))
    job: Mapped[str] = mapped_column(String(64), default="")
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subject: Mapped[str] = mapped_column(Text)
    #: sent | failed (every channel failed; retried) | partial (some channels failed)
    status: Mapped[str] = mapped_column(String(20), default="failed")
    #: channel -> "sent" or the reason it failed (no secrets, no student data)
    channels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class AuditEvent(TenantMixin, Base):
    """A change made by a person outside the sync: who, when, what, and why.

    ``subject`` names what was changed by its identifier (a SIS id, a job key), never
    by a person's name; ``details`` holds counts and outcomes.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "district_id", "at"),
                      Index("ix_audit_event_action", "district_id", "action", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: What the subject was and became, where a change has a before and an after.
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()


class ApiToken(TenantMixin, Base):
    """A machine token for the API: its SHA-256 only, its scopes, expiry and revocation.

    The token itself is shown once, when it is made; what is kept cannot be turned
    back into it. ``prefix`` (the token's first characters) lets people tell tokens
    apart in a list without revealing them.
    """

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_api_token_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    #: A person's own token acts with that person's roles, capped by its scopes; a
    #: service token (None) acts with its scopes over the whole district.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))


class CrosswalkRow(TenantMixin, Base):
    """A crosswalk entry made through the API (the mapping queue), beside the file ones.

    Columns as in a crosswalk CSV (:mod:`connector.mapping.crosswalk`); the next sync's
    alignment reads these with the district's files, and ``mapping crosswalk`` exports
    them back to CSV.
    """

    __tablename__ = "crosswalk_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(255))
    competency: Mapped[str] = mapped_column(String(255))
    dok: Mapped[int | None] = mapped_column(Integer)
    evidence_type: Mapped[str | None] = mapped_column(String(40))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    match: Mapped[str] = mapped_column(String(10), default="id")
    course: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))


class IdentityLink(TenantMixin, Base):
    """An id a source gave a student, linked by a person to the roster student it means.

    Made from the identity queue: ``kind`` is ``user`` for an LMS user id (read by the
    LMS adapters beside their crosswalk file) or the kind of a score's student reference
    (``sourced_id``, ``email``, ``username``, ``identifier``), read by staging.
    """

    __tablename__ = "identity_link"
    __table_args__ = (UniqueConstraint("district_id", "source", "kind", "external_id",
                                       name="uq_identity_link_natural"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(255))
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"),
                                            index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))


class TranscriptBatch(TenantMixin, Base):
    """Transcripts a registrar asked for at the desk: queued, then rendered by the scheduler.

    Rendering a cohort takes minutes, longer than a web request may hold a worker, so
    the desk queues the batch and the district's scheduler renders it, counting
    ``done`` as it goes for the desk to show. The files are kept under the
    district's output folder (``folder``, relative to the configuration), zipped.
    """

    __tablename__ = "transcript_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # queued, running, succeeded, failed
    students: Mapped[list[Any]] = mapped_column(default=list)
    formats: Mapped[list[Any]] = mapped_column(default=list)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(255))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    message: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str] = mapped_column(Text, default="")


class TranscriptDocument(TenantMixin, Base):
    """One version of a student's official transcript: draft, reviewed, issued, then closed.

    A draft holds a ``snapshot`` of every value the transcript shows (the records as
    they were when it was drafted); issuing freezes it: the PDF as sent
    (``pdf``), the SHA-256 of the snapshot and of the PDF, who issued it and when.
    Nothing changes an issued row's content afterwards; a re-issue adds a new
    version and marks this one ``superseded`` (``closed_*`` and ``reason`` say by whom
    and why), a revocation marks it ``revoked``. ``status_index`` is the
    credential's place in the district's revocation status list.
    """

    __tablename__ = "transcript_document"
    __table_args__ = (UniqueConstraint("district_id", "student_sis_id", "version",
                                       name="uq_transcript_document_version"),
                      Index("ix_transcript_document_student", "district_id", "student_sis_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    student_sis_id: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # draft reviewed issued superseded revoked
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    snapshot_sha256: Mapped[str] = mapped_column(String(64), default="")
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column()
    reviewed_by: Mapped[str] = mapped_column(String(255), default="")
    issued_at: Mapped[datetime | None] = mapped_column()
    issued_by: Mapped[str] = mapped_column(String(255), default="")
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by: Mapped[str] = mapped_column(String(255), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    supersedes_id: Mapped[int | None] = mapped_column(Integer)
    status_index: Mapped[int | None] = mapped_column(Integer)


class TranscriptDelivery(TenantMixin, Base):
    """One file handed to a delivery target: an issued version's PDF or XML, or a revocation.

    A transcript service may take files away once it has read them, so what was sent is
    remembered here, never read back from the target: each file goes once.
    """

    __tablename__ = "transcript_delivery"
    __table_args__ = (UniqueConstraint("district_id", "target", "file_name",
                                       name="uq_transcript_delivery_file"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(300))
    document_id: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    delivered_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---- people who sign in --------------------------------------------------------------------


class User(TenantMixin, Base):
    """A person who signs in: a district admin, IT, a registrar, a leader, a teacher.

    ``password_hash`` is Argon2id, or empty for an account that signs in only by the
    district's single sign-on. ``roster_id`` links the person to the SIS roster (a
    staff sourcedId): a teacher's classes are the roster's teacher enrollments of it.
    """

    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("district_id", "email", name="uq_app_user_email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    roster_id: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255), default="")
    password_changed_at: Mapped[datetime | None] = mapped_column()
    last_sign_in_at: Mapped[datetime | None] = mapped_column()


class RoleGrant(TenantMixin, Base):
    """One role a user holds; school roles name their school (an org sourcedId)."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", "school", name="uq_role_grant"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"),
                                         index=True)
    role: Mapped[str] = mapped_column(String(40))
    school: Mapped[str] = mapped_column(String(255), default="")
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by: Mapped[str] = mapped_column(String(255), default="")


class SignIn(TenantMixin, Base):
    """A browser session: the SHA-256 of its random id, which the signed cookie carries.

    A new one is made at every sign-in (the session id is renewed), it is deleted at
    sign-out, and disabling a user or resetting a password ends them all.
    """

    __tablename__ = "sign_in"
    __table_args__ = (UniqueConstraint("session_hash", name="uq_sign_in_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"),
                                         index=True)
    session_hash: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(20))  # password | oidc
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


TENANT_MODELS = tuple(
    mapper.class_ for mapper in Base.registry.mappers if issubclass(mapper.class_, TenantMixin)
)
