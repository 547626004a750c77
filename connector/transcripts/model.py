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


@dataclass(frozen=True)
class TranscriptGroup:
    """Rows under one competency heading (the learning targets of a competency)."""

    title: str
    rows: tuple[TranscriptRow, ...]


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
class Transcript:
    district_name: str
    student: StudentInfo
    issued_on: date
    academic: tuple[TranscriptSection, ...]
    habits: tuple[TranscriptSection, ...]
    letter: Letter

    @property
    def proficient_count(self) -> int:
        return sum(1 for s in self.academic for g in s.groups for r in g.rows if r.proficient)

    @property
    def academic_count(self) -> int:
        return sum(s.row_count for s in self.academic)
