"""Benchmark transcript rendering: PDF and HTML, one process and a process pool.

Usage::

    python bench/bench_transcripts.py [--count N] [--processes P]

The product goal is 60 transcripts per second on two cores (issue 18; 40 before)
for documents of a few pages (a counselling office printing a graduating class while the sync keeps
running). The transcript here is built the way production builds one, through
``build_transcript``: a page-1 summary (4 domains, 4 credit courses), 40 academic rows
in 4 content areas under 8 competency headings, 6 habit rows, a performance snapshot
and a full letter with its key.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from pypdf import PdfReader

from connector.domain.scale import Level, MasteryState, ProficiencyScale
from connector.transcripts.build import (
    CompetencyFacts,
    RecordFacts,
    build_letter,
    build_transcript,
)
from connector.transcripts.html import render_html
from connector.transcripts.model import (
    CreditRow,
    DomainLevel,
    SchoolInfo,
    StudentInfo,
    Summary,
    Transcript,
)
from connector.transcripts.pdf import render_pdf

AREAS = ("Mathematics", "English Language Arts", "Science", "Social Studies")
VERBS = ("analyze", "model", "explain", "evaluate", "construct an argument about",
         "compare and contrast", "design an investigation into", "interpret evidence about")
TOPICS = ("proportional relationships in real-world problems", "the structure of a text",
          "energy transfer in ecosystems", "the causes of the American Revolution",
          "linear functions and their graphs", "an author's use of figurative language",
          "chemical reactions and conservation of mass", "civic participation")


def sample_transcript() -> Transcript:
    """A realistic grade-10 transcript of about three pages."""
    scale = ProficiencyScale(
        key="district-4pt", name="District four-point proficiency scale", proficient_code="3",
        levels=(
            Level("1", "Beginning", 1, "With help, shows partial understanding of simpler ideas."),
            Level("2", "Developing", 2, "Shows understanding of simpler ideas; errors on complex."),
            Level("3", "Proficient", 3, "Independently meets the competency at its target DOK."),
            Level("4", "Advanced", 4, "Goes beyond the competency with in-depth applications."),
        ),
    )
    letter = build_letter(
        district_name="Riverbend Unified School District", scale=scale,
        school_profile=("Riverbend High School serves 1,140 students in grades 9-12 in a rural "
                        "county; 48% qualify for free or reduced-price meals.\n\nThe school "
                        "has reported proficiency-based transcripts since 2019. Students "
                        "advance when they demonstrate mastery, not by seat time."),
        method_sentences=(
            "A competency's level is the decaying average of its evidence, with the most "
            "recent evidence weighted 65%.",
            "At least three pieces of evidence are required before a level is reported.",
            "A level of Proficient or above requires evidence at the competency's target "
            "depth of knowledge (DOK); otherwise the level is capped at Developing.",
            "Teachers may override a computed level with a written reason, which is kept.",
        ),
        graduation_requirements="Graduates demonstrate Proficient on every required "
                                "competency in the four core content areas.",
        habits_note="Habits of success are reported separately and never change academic "
                    "levels.",
        gpa_translation=(("4", 4.0), ("3", 3.0), ("2", 2.0), ("1", 1.0)),
        signatory_name="Dr. Amara Okafor", signatory_title="Director of Counseling",
        contact="counseling@riverbend.example.org · (555) 010-4477",
    )
    comps: dict[str, CompetencyFacts] = {}
    records: list[RecordFacts] = []
    start = datetime(2024, 9, 3, 15, tzinfo=UTC)
    for a, area in enumerate(AREAS):
        root = CompetencyFacts(f"area-{a}", area[:4].upper(), area, None, 0, a, None,
                               f"Riverbend {area}", "academic", (area,))
        comps[root.identifier] = root
        for c in range(2):
            comp = CompetencyFacts(f"c-{a}-{c}", f"{root.code}.{c + 1}",
                                   f"Students {VERBS[(a + c) % 8]} {TOPICS[(a * 2 + c) % 8]}.",
                                   root.identifier, 1, c, 3, root.framework_title, "academic")
            comps[comp.identifier] = comp
            for t in range(5):
                n = a * 10 + c * 5 + t
                target = CompetencyFacts(
                    f"t-{n}", f"{comp.code}.{chr(97 + t)}",
                    f"I can {VERBS[n % 8]} {TOPICS[(n * 3) % 8]}"
                    + (" and justify my reasoning with evidence." if n % 3 == 0 else "."),
                    comp.identifier, 2, t, 2 + n % 2, root.framework_title, "academic")
                comps[target.identifier] = target
                records.append(_record(target.identifier, n, start + timedelta(days=n * 5)))
    habits_root = CompetencyFacts("h", "HOS", "Habits of Success", None, 0, 0, None,
                                  "Habits of Success", "habits")
    comps["h"] = habits_root
    for i, habit in enumerate(("Perseverance", "Collaboration", "Self-direction",
                               "Organization", "Communication", "Reflection")):
        hc = CompetencyFacts(f"h-{i}", f"HOS.{i + 1}", f"{habit}: I show {habit.lower()} "
                             "in my daily work.", "h", 1, i, None, "Habits of Success", "habits")
        comps[hc.identifier] = hc
        records.append(_record(hc.identifier, i, start + timedelta(days=30 * i)))
    student = StudentInfo("S-204881", "Renée", "O’Brien", "10", "Riverbend High School")
    summary = Summary(
        school=SchoolInfo("Riverbend High School", "400 River Road, Riverbend, OR 97000",
                          "380123", "(555) 010-4477", "Dana Whitfield, Registrar"),
        school_year="2024-2025", birth_date="2009-02-11", expected_graduation="2027",
        domains=tuple(DomainLevel(area, "10", 6 + a, 10, "on pace",
                                  (("9", "2024-10-01"), ("10", "2025-03-12"), ("11", None)))
                      for a, area in enumerate(AREAS)),
        credits=tuple(CreditRow(f"{area[:3].upper()}-10", f"{area} 10", 1.0, a % 2 == 0,
                                "2025-05-30" if a % 2 == 0 else None)
                      for a, area in enumerate(AREAS)),
        graduation="2 of 4 course credits earned by demonstrated competency",
        performance_snapshot=True)
    return build_transcript(district_name=letter.district_name, student=student,
                            records=records, competencies=comps, letter=letter,
                            issued_on=date(2025, 6, 13), summary=summary)


def _record(identifier: str, n: int, when: datetime) -> RecordFacts:
    if n % 9 == 8:
        return RecordFacts(identifier, MasteryState.INSUFFICIENT_EVIDENCE.value, None,
                           "Insufficient evidence", False, None, None, 1, "Only one score.")
    code = str(1 + n % 4)
    label = ("Beginning", "Developing", "Proficient", "Advanced")[n % 4]
    return RecordFacts(identifier, MasteryState.LEVEL.value, code, label, n % 4 >= 2, when,
                       1 + n % 4 // 2 + n % 2, 3 + n % 5, "Decaying average of evidence.")


_TRANSCRIPT: Transcript | None = None


def _init_worker(transcript: Transcript) -> None:
    global _TRANSCRIPT
    _TRANSCRIPT = transcript


def _render_one(_: int) -> int:
    assert _TRANSCRIPT is not None
    return len(render_pdf(_TRANSCRIPT))


def _timed(label: str, count: int, run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    rate = count / (time.perf_counter() - started)
    print(f"{label:<34} {rate:8.1f} transcripts/s")
    return rate


def measure(count: int = 200, processes: int = 2) -> list[tuple[str, str]]:
    """Rendering rates as (metric, value) rows for docs/benchmarks.md."""
    transcript = sample_transcript()
    pdf = render_pdf(transcript)  # warm-up: imports, font metrics, template compile
    render_html(transcript)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(f"transcript: {transcript.academic_count} academic rows, "
          f"{sum(s.row_count for s in transcript.habits)} habit rows, "
          f"{pages} PDF pages, {len(pdf) / 1024:.0f} KiB")
    single = _timed("PDF, 1 process", count, lambda: [render_pdf(transcript) for _ in range(count)])
    with multiprocessing.Pool(processes, _init_worker, (transcript,)) as pool:
        pool.map(_render_one, range(processes))  # warm every worker
        chunk = max(1, count // (processes * 4))
        pooled = _timed(f"PDF, {processes} processes", count,
                        lambda: pool.map(_render_one, range(count), chunksize=chunk))
    html = _timed("HTML, 1 process", count, lambda: [render_html(transcript) for _ in range(count)])
    rows = _weasyprint(render_html(transcript))
    return [*rows,
        ("Transcript size", f"{transcript.academic_count} academic + "
                            f"{sum(s.row_count for s in transcript.habits)} habit rows, "
                            f"{pages} PDF pages"),
        ("PDF transcripts/s, 1 process", f"{single:.1f}"),
        (f"PDF transcripts/s, {processes} processes", f"{pooled:.1f}"),
        ("HTML transcripts/s, 1 process", f"{html:.0f}"),
    ]


def _weasyprint(page: str, count: int = 10) -> list[tuple[str, str]]:
    """The same HTML through WeasyPrint, an engine that writes tagged PDF (PDF/UA).

    Not a dependency of the product: installed only to compare (``pip install
    weasyprint``, which needs the system's Pango).
    """
    try:
        import weasyprint  # type: ignore[import-not-found]
    except ImportError:
        print("WeasyPrint not installed: pip install weasyprint to compare")
        return []
    weasyprint.HTML(string=page).write_pdf()
    plain = _timed("WeasyPrint PDF, 1 process", count,
                   lambda: [weasyprint.HTML(string=page).write_pdf() for _ in range(count)])
    tagged = _timed("WeasyPrint PDF/UA-1, 1 process", count, lambda: [
        weasyprint.HTML(string=page).write_pdf(pdf_variant="pdf/ua-1") for _ in range(count)])
    return [(f"WeasyPrint {weasyprint.__version__} PDF of the same HTML, 1 process",
             f"{plain:.1f}"), ("WeasyPrint tagged PDF/UA-1, 1 process", f"{tagged:.1f}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="renders per measurement")
    parser.add_argument("--processes", type=int, default=2, help="pool size for the PDF run")
    args = parser.parse_args()
    measure(args.count, args.processes)


if __name__ == "__main__":
    main()
