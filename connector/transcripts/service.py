"""Generate transcripts from the store: query, build (pure), render, write.

Files are named by SIS id, never by student name, so a directory listing or a
log line does not disclose who the files are about.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.domain.framework import FrameworkKind
from connector.errors import NotFoundError
from connector.mastery.policy import policy_from_definition
from connector.mastery.rollup import rule_from_definition
from connector.persistence import models as m
from connector.persistence import queries
from connector.transcripts.batch_progress import write_atomically
from connector.transcripts.build import (
    CompetencyFacts,
    RecordFacts,
    build_letter,
    build_transcript,
)
from connector.transcripts.html import render_html
from connector.transcripts.model import (
    Letter,
    StudentInfo,
    Summary,
    Transcript,
)
from connector.transcripts.pdf import render_pdf
from connector.transcripts.workflow import WATERMARK

FORMATS = ("pdf", "html")


@dataclass
class TranscriptBatch:
    count: int = 0
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def method_sentences(session: Session, settings: Settings) -> list[str]:
    """How proficiency is determined, from the policies the stored records name.

    The letter reads the same source as the records: each policy version a record was
    computed under is kept with its rules (``mastery_policy_version``), and those
    rules are described here. Before any record exists, the configured policy is.
    """
    scale = settings.district.scale
    # Counted per competency first, from the index that holds the policy version (never
    # the wide record rows), then summed per framework here.
    frameworks = {cid: (key, title, kind) for cid, key, title, kind in session.execute(
        select(m.Competency.id, m.Framework.key, m.Framework.title, m.Framework.kind)
        .join(m.Framework, m.Framework.id == m.Competency.framework_id))}
    tally: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for cid, version, count in session.execute(
            select(m.MasteryRecord.competency_id, m.MasteryRecord.policy_version, func.count())
            .group_by(m.MasteryRecord.competency_id, m.MasteryRecord.policy_version)):
        if cid in frameworks:
            tally[(*frameworks[cid], version)] += count
    used = [(*group, count) for group, count in sorted(tally.items())]
    definitions = {v.version: v.definition for v in session.scalars(select(m.MasteryPolicyVersion))}
    if not used or any(row[3] not in definitions for row in used):
        return _configured_sentences(session, settings)
    rolled = [row for row in used if "rollup" in definitions[row[3]]]
    used = [row for row in used if "rollup" not in definitions[row[3]]]
    # The policy most records use is "the" rule; frameworks and competencies that differ follow.
    counts: dict[str, int] = defaultdict(int)
    for *_, version, count in used:
        counts[version] += count
    sentences: list[str] = []
    seen: set[str] = set()
    if counts:
        main = max(sorted(counts), key=lambda v: counts[v])
        sentences = list(policy_from_definition(definitions[main]).describe(scale))
        seen.add(main)
    for key, title, _kind, version, _count in sorted(used, key=lambda r: (r[0], r[3])):
        if version in seen:
            continue
        seen.add(version)
        described = " ".join(policy_from_definition(definitions[version]).describe(scale))
        sentences.append(f"For {title or key} (some competencies): {described}"
                         if _several(used, key) else f"For {title or key}: {described}")
    for key, title, _kind, version, _count in sorted(rolled, key=lambda r: (r[0], r[3])):
        if version in seen:
            continue
        seen.add(version)
        rule = rule_from_definition(definitions[version])
        sentences.append(f"In {title or key}, a competency that groups others is "
                         f"{rule.describe('parts')}.")
    return sentences


def _several(used: Sequence[Any], key: str) -> bool:
    return len({row[3] for row in used if row[0] == key}) > 1


def _configured_sentences(session: Session, settings: Settings) -> list[str]:
    scale = settings.district.scale
    mastery = settings.district.mastery
    sentences = list(mastery.default.describe(scale))
    titles = dict(session.execute(select(m.Framework.key, m.Framework.title)).all())
    for key, policy in sorted(mastery.overrides.items()):
        name = titles.get(key, key)
        sentences.append(f"For {name}: " + " ".join(policy.describe(scale)))
    return sentences


def district_letter(session: Session, settings: Settings) -> Letter:
    t = settings.district.transcript
    return build_letter(
        district_name=settings.district.name,
        scale=settings.district.scale,
        method_sentences=method_sentences(session, settings),
        school_profile=t.school_profile,
        graduation_requirements=t.graduation_requirements,
        habits_note=t.habits_note,
        gpa_translation=[(row.level_code, row.gpa) for row in t.gpa_translation],
        signatory_name=t.signatory_name,
        signatory_title=t.signatory_title,
        contact=t.contact,
        dok_levels=dok_names(session),
    )


def dok_names(session: Session) -> list[tuple[int, str]]:
    """Each DOK level's name as the district's imported DOK framework states it.

    "Level 2: Skills and concepts" names DOK 2 "Skills and concepts". Empty when no
    reference framework names them (the letter then uses Webb's names).
    """
    from connector.frameworks.dok import DEFAULT_DOK_PATTERNS, compile_patterns, dok_from_texts

    patterns = compile_patterns(DEFAULT_DOK_PATTERNS)

    found: dict[int, str] = {}
    for code, statement in session.execute(
            select(m.Competency.human_coding_scheme, m.Competency.full_statement)
            .join(m.Framework, m.Framework.id == m.Competency.framework_id)
            .where(m.Framework.kind == FrameworkKind.REFERENCE.value)):
        level = dok_from_texts((code, statement), patterns, allow_level=True)
        if level is not None and level not in found:
            found[level] = re.sub(r"(?i)^\s*(level|dok)[-_ ]*\d\s*[:.\-–]\s*", "",
                                  statement).strip() or statement
    return sorted(found.items())


def school_letter(letter: Letter, settings: Settings, school: str) -> Letter:
    """The district's letter with the school's own profile and requirements, if it has them."""
    own = settings.district.transcript.schools.get(school)
    if own is None or not (own.school_profile.strip() or own.graduation_requirements.strip()):
        return letter
    return replace(letter, school_profile=own.school_profile.strip() or letter.school_profile,
                   graduation_requirements=(own.graduation_requirements.strip()
                                            or letter.graduation_requirements))


def district_today(settings: Settings) -> date:
    """Today in the district's time zone: the date printed as "issued on"."""
    return datetime.now(ZoneInfo(settings.district.timezone)).date()


#: Makes page 1 of each student's transcript (``connector.sync.transcript_summary``, which
#: reads progress and credit from the layer above this one).
SummaryMaker = Callable[[Session, Settings, Sequence[m.Student], dict[str, str], date],
                        dict[str, Summary]]


def build_for_students(session: Session, settings: Settings, sis_ids: Sequence[str] | None,
                       issued_on: date, summaries: SummaryMaker | None = None
                       ) -> list[Transcript]:
    """Transcripts for these students (all students when ``sis_ids`` is None).

    With ``summaries``, each starts with its one-page summary; callers use
    :func:`connector.sync.transcript_summary.build_for_students`, which passes it.
    """
    query = select(m.Student).order_by(m.Student.sourced_id)
    if sis_ids is not None:
        query = query.where(m.Student.sourced_id.in_(list(sis_ids)))
    students = list(session.scalars(query))
    if sis_ids is not None:
        missing = sorted(set(sis_ids) - {s.sourced_id for s in students})
        if missing:
            raise NotFoundError(f"no student with SIS id {', '.join(missing)} in district "
                            f"{settings.district.key!r}")
    schools = dict(session.execute(select(m.Organisation.sourced_id, m.Organisation.name)).all())
    frameworks = {f.id: f for f in session.scalars(select(m.Framework))}
    competencies: dict[str, CompetencyFacts] = {}
    by_id: dict[int, str] = {}
    for c in session.scalars(select(m.Competency)):
        fw = frameworks[c.framework_id]
        competencies[c.identifier] = CompetencyFacts(
            identifier=c.identifier, code=c.human_coding_scheme, statement=c.full_statement,
            parent_identifier=c.parent_identifier, depth=c.depth, sequence=c.sequence,
            target_dok=c.target_dok, framework_title=fw.title,
            framework_kind=fw.kind or FrameworkKind.ACADEMIC.value, subjects=tuple(c.subjects),
            uri=c.uri or "")
        by_id[c.id] = c.identifier
    records: dict[int, list[RecordFacts]] = defaultdict(list)
    ids = [s.id for s in students]
    scale = settings.district.scale
    for start in range(0, len(ids), 500):
        batch = list(session.scalars(select(m.MasteryRecord).where(
            m.MasteryRecord.student_id.in_(ids[start:start + 500]))))
        labels = queries.evidence_labels(session, queries.record_evidence_ids(batch))
        for r in batch:
            records[r.student_id].append(RecordFacts(
                competency_identifier=by_id[r.competency_id], state=r.state,
                level_code=r.level_code, level_label=r.level_label, proficient=r.proficient,
                achieved_at=r.achieved_at, highest_dok=r.highest_dok,
                evidence_count=r.evidence_count,
                explanation=queries.explained(r, scale, labels)["explanation"],
                overridden=r.override_id is not None))
    letter = district_letter(session, settings)
    made = summaries(session, settings, students, schools, issued_on) if summaries else {}
    return [build_transcript(
        district_name=settings.district.name,
        student=StudentInfo(s.sourced_id, s.given_name, s.family_name, s.grade,
                            schools.get(s.school_sourced_id, "")),
        records=records.get(s.id, []), competencies=competencies,
        letter=school_letter(letter, settings, s.school_sourced_id),
        issued_on=issued_on, timezone=settings.district.timezone,
        summary=made.get(s.sourced_id)) for s in students]


def safe_file_stem(sis_id: str) -> str:
    """A SIS id as a file name that cannot leave the output folder ("../x" -> "_.._x").

    >>> safe_file_stem("../../etc/passwd")
    '_.._.._etc_passwd'
    >>> safe_file_stem("S100001")
    'S100001'
    """
    stem = re.sub(r"[^A-Za-z0-9._@-]", "_", sis_id)
    return "_" + stem if stem.startswith(".") or not stem else stem


def _render(args: tuple[Transcript, tuple[str, ...], str | None]) -> dict[str, bytes]:
    transcript, formats, watermark = args
    out: dict[str, bytes] = {}
    if "pdf" in formats:
        out["pdf"] = render_pdf(transcript, watermark=watermark)
    if "html" in formats:
        out["html"] = render_html(transcript, watermark=watermark).encode("utf-8")
    return out


def write_transcripts(transcripts: Sequence[Transcript], out: Path, *,
                      formats: Sequence[str] = FORMATS, processes: int | None = None,
                      progress: Callable[[int], None] | None = None,
                      watermark: str | None = WATERMARK,
                      written: Callable[[Transcript], None] | None = None) -> TranscriptBatch:
    """Render and write; large batches use one process per core (rendering is CPU-bound).

    ``progress`` is told of each transcript written, for a progress bar, and ``written``
    of each transcript once all its files are in place (to resume a batch). Each file is
    written under a temporary name and renamed, so none is ever half written. Files
    rendered here are working copies, marked ``DRAFT`` on every page: only issuing
    (:mod:`connector.sync.transcript_documents`) makes an official transcript.
    """
    out.mkdir(parents=True, exist_ok=True)
    batch = TranscriptBatch()
    workers = processes or (min(os.cpu_count() or 1, 4) if len(transcripts) >= 40 else 1)
    jobs = [(t, tuple(formats), watermark) for t in transcripts]
    with ExitStack() as stack:
        if workers > 1:
            # spawn, not fork: the scheduler calls this from a worker thread.
            pool = stack.enter_context(ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn")))
            rendered: Iterable[dict[str, bytes]] = pool.map(_render, jobs, chunksize=8)
        else:
            rendered = map(_render, jobs)
        for transcript, files in zip(transcripts, rendered, strict=True):
            for fmt, content in files.items():
                path = out / f"{safe_file_stem(transcript.student.sis_id)}.{fmt}"
                write_atomically(path, content)
                batch.files.append(str(path))
            batch.count += 1
            if written is not None:
                written(transcript)
            if progress is not None:
                progress(1)
    return batch
