"""The transcript as plain data: what every renderer (PDF, HTML, later CLR/PESC) shows.

Built by pure functions from mastery records, so the PDF, the HTML page and the
API can never disagree about a student's levels or about how they were reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class TranscriptRow:
    """One competency on the transcript."""

    code: str
    statement: str
    level_code: str | None
    level_label: str
    proficient: bool
    achieved_on: date | None
    highest_dok: int | None
    target_dok: int | None
    evidence_count: int
    explanation: str
    #: The competency's CASE identifier and URI: what a credential aligns the row to.
    identifier: str = ""
    uri: str = ""
    framework: str = ""
    #: The level is a teacher's judgement (an override), not the computed one.
    overridden: bool = False


@dataclass(frozen=True)
class TranscriptGroup:
    """Rows under one competency heading (the learning targets of a competency).

    ``level`` is the heading competency's own level (a roll-up of its parts), shown
    once with the heading rather than as a row of its own.
    """

    title: str
    rows: tuple[TranscriptRow, ...]
    level: str = ""
    overridden: bool = False


@dataclass(frozen=True)
class TranscriptSection:
    """A content area (academic) or the habits of success, reported separately."""

    title: str
    kind: str
    groups: tuple[TranscriptGroup, ...]

    @property
    def row_count(self) -> int:
        return sum(len(g.rows) for g in self.groups)


@dataclass(frozen=True)
class LevelMeaning:
    code: str
    label: str
    value: float
    description: str
    proficient: bool


@dataclass(frozen=True)
class Letter:
    """The explanatory letter: the school, the scale, and the rules actually applied."""

    district_name: str
    school_profile: str
    scale_name: str
    levels: tuple[LevelMeaning, ...]
    state_labels: tuple[tuple[str, str], ...]
    method_sentences: tuple[str, ...]
    graduation_requirements: str
    habits_note: str
    gpa_translation: tuple[tuple[str, str, float], ...]
    signatory_name: str
    signatory_title: str
    contact: str
    #: Each DOK level's name, from the district's imported DOK framework (or Webb's).
    dok_levels: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class StudentInfo:
    sis_id: str
    given_name: str
    family_name: str
    grade: str
    school_name: str

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class SchoolInfo:
    """The school as a college needs it on page 1 (from ``transcript.schools``)."""

    name: str
    address: str = ""
    ceeb: str = ""
    phone: str = ""
    registrar: str = ""


@dataclass(frozen=True)
class DomainLevel:
    """The academic level reached in one domain, beside the student's grade level."""

    domain: str
    level: str
    proficient: int
    total: int
    pace: str
    #: Each level of the domain, lowest first, with the day it was reached (ISO) or None.
    reached: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class CreditRow:
    """A course whose credit is earned by demonstrating its competencies."""

    course: str
    title: str
    credits: float
    earned: bool
    earned_on: str | None
    #: The course's subject (OneRoster ``subjects``), which graduation requirements count by.
    subject: str = ""
    #: The school year the course was taken ("2024-2025").
    school_year: str = ""
    #: Not earned yet, and the course is under way this school year.
    in_progress: bool = False
    #: Credit accepted on transfer: the school that awarded it (not earned here).
    transfer_from: str = ""

    @property
    def status(self) -> str:
        """What the credit column says: when earned, transfer, in progress or not yet."""
        if self.transfer_from:
            return "Transfer credit"
        if self.earned:
            return f"Earned {self.earned_on}" if self.earned_on else "Earned"
        return "In progress" if self.in_progress else "Not yet"


@dataclass(frozen=True)
class Requirement:
    """One subject's graduation requirement: credits required, earned, under way."""

    subject: str
    required: float
    earned: float
    in_progress: float

    @property
    def met(self) -> bool:
        return self.earned >= self.required


@dataclass(frozen=True)
class Summary:
    """What page 1 says beyond the records: who, where, when, levels, credit, graduation."""

    school: SchoolInfo
    school_year: str
    birth_date: str | None = None
    expected_graduation: str = ""
    domains: tuple[DomainLevel, ...] = ()
    credits: tuple[CreditRow, ...] = ()
    graduation: str = ""
    #: The school's graduation requirements by subject, when it has them.
    requirements: tuple[Requirement, ...] = ()
    #: Add the performance snapshot page: domains by levels, with the date each was reached.
    performance_snapshot: bool = False

    @property
    def transfer_schools(self) -> list[str]:
        """The schools whose credit was accepted on transfer, each once."""
        return list(dict.fromkeys(c.transfer_from for c in self.credits if c.transfer_from))


@dataclass(frozen=True)
class Transcript:
    district_name: str
    student: StudentInfo
    issued_on: date
    academic: tuple[TranscriptSection, ...]
    habits: tuple[TranscriptSection, ...]
    letter: Letter
    summary: Summary | None = None

    @property
    def overridden_count(self) -> int:
        """Levels on the transcript that are a teacher's judgement."""
        return (sum(1 for s in (*self.academic, *self.habits) for g in s.groups
                    for r in g.rows if r.overridden)
                + sum(1 for s in (*self.academic, *self.habits) for g in s.groups
                      if g.overridden))

    def area_counts(self) -> list[tuple[str, int, int]]:
        """(content area, competencies proficient, competencies) for page 1."""
        return [(s.title, sum(1 for g in s.groups for r in g.rows if r.proficient), s.row_count)
                for s in self.academic]

    @property
    def proficient_count(self) -> int:
        return sum(1 for s in self.academic for g in s.groups for r in g.rows if r.proficient)

    @property
    def academic_count(self) -> int:
        return sum(s.row_count for s in self.academic)
