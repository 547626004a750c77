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
    CreditRow,
    Letter,
    LevelMeaning,
    Requirement,
    StudentInfo,
    Summary,
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
    overridden: bool = False


def school_year_start(day: date) -> int:
    """The calendar year a day's school year starts in: a US school year starts in August.

    >>> school_year_start(date(2026, 12, 3)), school_year_start(date(2027, 6, 1))
    (2026, 2026)
    """
    return day.year if day.month >= 8 else day.year - 1


def school_year(day: date) -> str:
    """``2026-2027`` for any day of that school year."""
    start = school_year_start(day)
    return f"{start}-{start + 1}"


def expected_graduation(grade: str, day: date) -> str:
    """The spring a student in ``grade`` graduates from grade 12, on pace ("" if unknown).

    >>> expected_graduation("09", date(2026, 12, 3)), expected_graduation("KG", date(2026, 12, 3))
    ('2030', '')
    """
    if not grade.strip().isdigit() or not 1 <= int(grade) <= 12:
        return ""
    return str(school_year_start(day) + 1 + 12 - int(grade))


def graduation_progress(credits: Sequence[CreditRow], required: Mapping[str, float],
                        final_year: bool = True) -> tuple[tuple[Requirement, ...], str]:
    """Each subject's requirement against the credits, and the status page 1 states.

    Transfer credit counts like credit earned here. In the final year a requirement that
    earned and in-progress credit cannot meet is incomplete. Before it, courses are still
    ahead, so the status says whether any credit from an earlier year is outstanding.
    Without requirements the status is the count of credits earned.

    >>> rows = [CreditRow("ALG1", "Algebra I", 1, True, "2023-05-02", "Mathematics"),
    ...         CreditRow("GEOM", "Geometry", 1, False, None, "Mathematics", in_progress=True)]
    >>> graduation_progress(rows, {"Mathematics": 2})[1]
    'on track: 1 of 2 required credits earned, 1 in progress'
    >>> graduation_progress(rows[:1], {"Mathematics": 2})[1]
    'requirements incomplete: Mathematics needs 1 more credit'
    >>> graduation_progress(rows[:1], {"Mathematics": 2}, final_year=False)[1]
    'on track: 1 of 2 required credits earned'
    >>> late = CreditRow("BIO", "Biology", 1, False, None, "Science", "2024-2025")
    >>> graduation_progress([*rows, late], {"Mathematics": 2, "Science": 1}, False)[1]
    'credit outstanding: Biology (2024-2025) not yet earned; 1 of 3 required credits earned, 1 in progress'
    """
    earned_total = sum(c.credits for c in credits if c.earned or c.transfer_from)
    if not required:
        total = sum(c.credits for c in credits)
        return (), (f"{earned_total:g} of {total:g} course credits earned by demonstrated "
                    f"competency" if credits else "")
    rows = []
    for subject, needed in required.items():
        mine = [c for c in credits if c.subject == subject]
        rows.append(Requirement(
            subject, needed, sum(c.credits for c in mine if c.earned or c.transfer_from),
            sum(c.credits for c in mine if c.in_progress and not (c.earned or c.transfer_from))))
    needed_total = sum(r.required for r in rows)
    counted = sum(min(r.earned, r.required) for r in rows)
    if all(r.met for r in rows):
        return tuple(rows), f"requirements met: {counted:g} of {needed_total:g} required credits"
    under_way = sum(min(r.in_progress, r.required - r.earned) for r in rows if not r.met)
    so_far = f"{counted:g} of {needed_total:g} required credits earned" + (
        f", {under_way:g} in progress" if under_way else "")
    if not final_year:
        outstanding = [c for c in credits
                       if not (c.earned or c.transfer_from or c.in_progress)]
        if outstanding:
            listed = ", ".join(f"{c.title} ({c.school_year})" if c.school_year else c.title
                               for c in outstanding)
            return tuple(rows), f"credit outstanding: {listed} not yet earned; {so_far}"
        return tuple(rows), f"on track: {so_far}"
    short = [r for r in rows if r.earned + r.in_progress < r.required]
    if not short:
        return tuple(rows), f"on track: {so_far}"
    missing = "; ".join(
        f"{r.subject} needs {r.required - r.earned - r.in_progress:g} more "
        f"credit{'s' if r.required - r.earned - r.in_progress != 1 else ''}" for r in short)
    return tuple(rows), f"requirements incomplete: {missing}"


#: Webb's names, for a district whose DOK framework gives none.
WEBB_DOK = ((1, "Recall and reproduction"), (2, "Skills and concepts"),
            (3, "Strategic thinking and reasoning"), (4, "Extended thinking"))


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
    dok_levels: Iterable[tuple[int, str]] = (),
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
        dok_levels=tuple(sorted(dict(dok_levels).items())) or WEBB_DOK,
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
    summary: Summary | None = None,
) -> Transcript:
    """Group records by content area and competency, in the framework's own order.

    A competency whose parts are on the transcript is their heading, with its own
    level beside it, and never a row as well: each competency appears once.
    Dates are shown in the district's time zone: evidence scored on a Tuesday
    evening in Denver was achieved on Tuesday, not on Wednesday in UTC.
    """
    zone = ZoneInfo(timezone)
    records = [r for r in records if r.competency_identifier in competencies]
    recorded = {r.competency_identifier for r in records}
    headings = {competencies[r.competency_identifier].parent_identifier
                for r in records} & recorded
    heading_level: dict[str, tuple[str, bool]] = {}
    sections: dict[tuple[str, str], dict[tuple[str, str], list[
        tuple[tuple[int, ...], TranscriptRow]]]] = defaultdict(lambda: defaultdict(list))
    group_order: dict[tuple[tuple[str, str], tuple[str, str]], tuple[int, ...]] = {}
    section_order: dict[tuple[str, str], tuple[int, ...]] = {}
    for record in records:
        comp = competencies[record.competency_identifier]
        if comp.framework_kind == FrameworkKind.REFERENCE.value:
            continue
        if comp.identifier in headings:
            scored = record.state == MasteryState.LEVEL.value
            heading_level[comp.identifier] = (
                f"{record.level_code} {record.level_label}" if scored and record.level_code
                else record.level_label, record.overridden)
            continue
        chain = _ancestors(comp, competencies)
        root = chain[0]
        kind = "habits" if comp.framework_kind == FrameworkKind.HABITS.value else "academic"
        title = comp.framework_title if kind == "habits" else (
            root.subjects[0] if root.subjects else comp.framework_title)
        section_key = (kind, title)
        parent = chain[-2] if len(chain) > 1 else None
        group_key = (parent.identifier if parent else "", parent.label if parent else "")
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
            overridden=record.overridden,
        )
        sections[section_key][group_key].append((path, row))
        group_order.setdefault((section_key, group_key), path[:-1])
        section_order[section_key] = min(section_order.get(section_key, path), path)

    def make(kind: str) -> tuple[TranscriptSection, ...]:
        keys = sorted((k for k in sections if k[0] == kind), key=lambda k: section_order[k])
        out = []
        for key in keys:
            groups = sorted(sections[key].items(), key=lambda g: group_order[(key, g[0])])
            out.append(TranscriptSection(
                title=key[1], kind=kind,
                groups=tuple(TranscriptGroup(
                    group[1], tuple(row for _, row in sorted(rows, key=lambda pr: pr[0])),
                    *heading_level.get(group[0], ("", False))) for group, rows in groups)))
        return tuple(out)

    return Transcript(
        district_name=district_name,
        student=student,
        issued_on=issued_on,
        academic=make("academic"),
        habits=make("habits"),
        letter=letter,
        summary=summary,
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
