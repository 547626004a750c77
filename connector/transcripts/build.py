"""Build a transcript from a student's mastery records and the district's rules (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from connector.domain.framework import FrameworkKind
from connector.domain.scale import MasteryState, ProficiencyScale
from connector.transcripts.model import (
    Letter,
    LevelMeaning,
    StudentInfo,
    Transcript,
    TranscriptGroup,
    TranscriptRow,
    TranscriptSection,
)


@dataclass(frozen=True)
class CompetencyFacts:
    identifier: str
    code: str
    statement: str
    parent_identifier: str | None
    depth: int
    sequence: int
    target_dok: int | None
    framework_title: str
    framework_kind: str
    subjects: tuple[str, ...] = ()
    uri: str = ""

    @property
    def label(self) -> str:
        return f"{self.code} {self.statement}".strip()


@dataclass(frozen=True)
class RecordFacts:
    competency_identifier: str
    state: str
    level_code: str | None
    level_label: str
    proficient: bool
    achieved_at: datetime | None
    highest_dok: int | None
    evidence_count: int
    explanation: str


def build_letter(
    *,
    district_name: str,
    scale: ProficiencyScale,
    method_sentences: Sequence[str],
    school_profile: str = "",
    graduation_requirements: str = "",
    habits_note: str = "",
    gpa_translation: Iterable[tuple[str, float]] = (),
    signatory_name: str = "",
    signatory_title: str = "",
    contact: str = "",
) -> Letter:
    levels = tuple(
        LevelMeaning(lv.code, lv.label, lv.value, lv.description, scale.is_proficient(lv))
        for lv in reversed(scale.levels)
    )
    states = tuple((scale.state_label(s), meaning) for s, meaning in _STATE_MEANING.items())
    gpa = tuple((code, scale.level(code).label, value) for code, value in gpa_translation)
    return Letter(
        district_name=district_name,
        school_profile=school_profile.strip(),
        scale_name=scale.name,
        levels=levels,
        state_labels=states,
        method_sentences=tuple(method_sentences),
        graduation_requirements=graduation_requirements.strip(),
        habits_note=habits_note.strip(),
        gpa_translation=gpa,
        signatory_name=signatory_name,
        signatory_title=signatory_title,
        contact=contact,
    )


_STATE_MEANING = {
    MasteryState.NOT_YET: "the student is still working toward this competency; it is a "
                          "normal state in a proficiency-based school, not a failing grade",
    MasteryState.INSUFFICIENT_EVIDENCE: "there is not yet enough evidence to report a level",
    MasteryState.EXEMPT: "the student is excused from this competency (for example by an "
                         "individualized plan); it does not count toward any requirement",
    MasteryState.NEEDS_JUDGMENT: "the evidence points two ways (for example equally frequent "
                                 "scores) and the teacher has yet to decide the level",
}


def build_transcript(
    *,
    district_name: str,
    student: StudentInfo,
    records: Iterable[RecordFacts],
    competencies: Mapping[str, CompetencyFacts],
    letter: Letter,
    issued_on: date,
    timezone: str = "UTC",
) -> Transcript:
    """Group records by content area and competency, in the framework's own order.

    Dates are shown in the district's time zone: evidence scored on a Tuesday
    evening in Denver was achieved on Tuesday, not on Wednesday in UTC.
    """
    zone = ZoneInfo(timezone)
    sections: dict[tuple[str, str], dict[str, list[tuple[tuple[int, ...], TranscriptRow]]]] = (
        defaultdict(lambda: defaultdict(list)))
    group_order: dict[tuple[tuple[str, str], str], tuple[int, ...]] = {}
    section_order: dict[tuple[str, str], tuple[int, ...]] = {}
    for record in records:
        comp = competencies.get(record.competency_identifier)
        if comp is None or comp.framework_kind == FrameworkKind.REFERENCE.value:
            continue
        chain = _ancestors(comp, competencies)
        root = chain[0]
        kind = "habits" if comp.framework_kind == FrameworkKind.HABITS.value else "academic"
        title = comp.framework_title if kind == "habits" else (
            root.subjects[0] if root.subjects else comp.framework_title)
        section_key = (kind, title)
        parent = chain[-2] if len(chain) > 1 else None
        group_title = parent.label if parent else ""
        path = tuple(c.sequence for c in chain)
        scored = record.state == MasteryState.LEVEL.value
        row = TranscriptRow(
            code=comp.code,
            statement=comp.statement,
            level_code=record.level_code if scored else None,
            level_label=record.level_label,
            proficient=record.proficient and scored,
            achieved_on=(record.achieved_at.astimezone(zone).date()
                         if record.achieved_at and scored else None),
            highest_dok=record.highest_dok,
            target_dok=comp.target_dok,
            evidence_count=record.evidence_count,
            explanation=record.explanation,
            identifier=comp.identifier,
            uri=comp.uri,
            framework=comp.framework_title,
        )
        sections[section_key][group_title].append((path, row))
        group_order.setdefault((section_key, group_title), path[:-1])
        section_order[section_key] = min(section_order.get(section_key, path), path)

    def make(kind: str) -> tuple[TranscriptSection, ...]:
        keys = sorted((k for k in sections if k[0] == kind), key=lambda k: section_order[k])
        out = []
        for key in keys:
            groups = sorted(sections[key].items(), key=lambda g: group_order[(key, g[0])])
            out.append(TranscriptSection(
                title=key[1], kind=kind,
                groups=tuple(TranscriptGroup(title, tuple(row for _, row in sorted(
                    rows, key=lambda pr: pr[0]))) for title, rows in groups)))
        return tuple(out)

    return Transcript(
        district_name=district_name,
        student=student,
        issued_on=issued_on,
        academic=make("academic"),
        habits=make("habits"),
        letter=letter,
    )


def _ancestors(comp: CompetencyFacts, competencies: Mapping[str, CompetencyFacts]) -> list[CompetencyFacts]:
    """Root first, ``comp`` last; stops at a missing parent or a cycle."""
    chain = [comp]
    seen = {comp.identifier}
    current = comp
    while current.parent_identifier and current.parent_identifier in competencies:
        current = competencies[current.parent_identifier]
        if current.identifier in seen:
            break
        seen.add(current.identifier)
        chain.append(current)
    return list(reversed(chain))
