"""The PDF and HTML renderers show the whole transcript and letter, escaped and in order.

Assertions read the PDF back with pypdf, the way an admissions office's software
would, so text drawn as shapes or lost to a font would fail them.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from pypdf import PdfReader

from connector.domain.scale import Level, MasteryState, ProficiencyScale
from connector.transcripts.build import (
    CompetencyFacts,
    RecordFacts,
    build_letter,
    build_transcript,
)
from connector.transcripts.html import render_html
from connector.transcripts.model import StudentInfo, Transcript
from connector.transcripts.pdf import dok_text, level_text, pdf_text, render_pdf

ESCAPE_STATEMENT = "I can write an inequality such as x <b>& y and explain what it means."
PROFILE_MARKUP = "Course titles are printed as the SIS stores them, e.g. AP Lit <b>& Comp."
FRACTIONS = "I can compare two fractions with different numerators and denominators."
HABIT = "I keep working on a hard task and try a new strategy when I am stuck."
METHOD = (
    "A competency's level is the decaying average of its evidence, weighting the most "
    "recent evidence at 65% so that growth counts more than early attempts.",
    "No level is reported until at least three pieces of evidence have been scored, "
    "because one task is not enough to judge proficiency.",
    "A level of Proficient or above requires evidence at the competency's target depth of "
    "knowledge; otherwise the level is capped one step below Proficient.",
)
SCALE = ProficiencyScale(
    key="four-point", name="Four-point proficiency scale", proficient_code="3",
    levels=(
        Level("1", "Beginning", 1, "Partial understanding with help."),
        Level("2", "Developing", 2, "Understands simpler ideas; errors on complex ones."),
        Level("3", "Proficient", 3, "Meets the competency independently at its target DOK."),
        Level("4", "Advanced", 4, "Applies the competency in new, in-depth situations."),
    ),
)


def _comp(ident: str, code: str, statement: str, parent: str | None, seq: int, *,
          framework: str = "Lakeside Academic Framework", kind: str = "academic",
          subjects: tuple[str, ...] = (), target_dok: int | None = 3) -> CompetencyFacts:
    depth = 0 if parent is None else ident.count(".")
    return CompetencyFacts(ident, code, statement, parent, depth, seq, target_dok, framework,
                           kind, subjects)


def _level(ident: str, code: str, label: str, day: int, dok: int, evidence: int) -> RecordFacts:
    return RecordFacts(ident, MasteryState.LEVEL.value, code, label, code in ("3", "4"),
                       datetime(2025, 3, day, 18, tzinfo=UTC), dok, evidence, "Decaying average.")


def make_transcript(gpa: tuple[tuple[str, float], ...] = (("4", 4.0), ("3", 3.3))) -> Transcript:
    """Two content areas, a habits framework and one competency without enough evidence."""
    comps = [
        _comp("m", "MA", "Mathematics", None, 0, subjects=("Mathematics",)),
        _comp("m.1", "MA.NF", "Number and operations: fractions", "m", 0),
        _comp("m.1.1", "MA.NF.1", FRACTIONS, "m.1", 0),
        _comp("m.1.2", "MA.NF.2", ESCAPE_STATEMENT, "m.1", 1),
        _comp("m.1.3", "MA.NF.3", "I can add fractions with unlike denominators.", "m.1", 2),
        _comp("e", "ELA", "English Language Arts", None, 1, subjects=("English Language Arts",)),
        _comp("e.1", "ELA.W", "Writing arguments", "e", 0),
        _comp("e.1.1", "ELA.W.1", "I can support a claim with relevant evidence from texts.",
              "e.1", 0),
        _comp("e.1.2", "ELA.W.2", "I can address a counterclaim fairly.", "e.1", 1),
        _comp("h", "HOS", "Perseverance", None, 0, framework="Habits of Success",
              kind="habits", target_dok=None),
        _comp("h.1", "HOS.P1", HABIT, "h", 0, framework="Habits of Success", kind="habits",
              target_dok=None),
    ]
    records = [
        _level("m.1.1", "3", "Proficient", 3, 3, 4),
        _level("m.1.2", "2", "Developing", 10, 2, 3),
        RecordFacts("m.1.3", MasteryState.INSUFFICIENT_EVIDENCE.value, None,
                    "Insufficient evidence", False, None, None, 1, "Only one score so far."),
        _level("e.1.1", "4", "Advanced", 12, 4, 5),
        _level("e.1.2", "2", "Developing", 14, 2, 3),
        _level("h.1", "3", "Proficient", 20, 1, 6),
    ]
    letter = build_letter(
        district_name="Lakeside Regional School District", scale=SCALE, method_sentences=METHOD,
        school_profile="Lakeside Regional High School enrolls 820 students.\n\n"
                       "Students advance on demonstrated proficiency, not seat time.\n\n"
                       + PROFILE_MARKUP,
        graduation_requirements="Graduates reach Proficient on every required competency.",
        habits_note="Habits of success are reported apart and never change academic levels.",
        gpa_translation=gpa, signatory_name="Dr. Mei Lin Tran",
        signatory_title="Director of Counseling", contact="counseling@lakeside.example.org",
    )
    student = StudentInfo("LRS-20931", "Renée", "O’Connor", "11", "Lakeside Regional High School")
    return build_transcript(district_name=letter.district_name, student=student,
                            records=records, competencies={c.identifier: c for c in comps},
                            letter=letter, issued_on=date(2025, 6, 2))


def _flat(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def pdf_text_of(data: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(data))
    return _flat(" ".join(page.extract_text() for page in reader.pages)), len(reader.pages)


@pytest.fixture(scope="module")
def transcript() -> Transcript:
    return make_transcript()


@pytest.fixture(scope="module")
def pdf(transcript: Transcript) -> tuple[str, int]:
    return pdf_text_of(render_pdf(transcript))


@pytest.fixture(scope="module")
def html(transcript: Transcript) -> str:
    return render_html(transcript)


def test_fixture_has_the_shapes_the_renderers_must_handle(transcript: Transcript) -> None:
    assert [s.title for s in transcript.academic] == ["Mathematics", "English Language Arts"]
    assert [s.title for s in transcript.habits] == ["Habits of Success"]
    rows = [r for s in transcript.academic for g in s.groups for r in g.rows]
    assert any(r.level_code is None for r in rows)


def test_pdf_shows_student_statements_and_summary(pdf: tuple[str, int]) -> None:
    text, pages = pdf
    assert pages >= 2
    assert "Renée O’Connor" in text
    assert "LRS-20931" in text
    assert FRACTIONS in text
    assert "2 of 5 academic competencies at Proficient or above" in text


def test_pdf_escapes_markup_in_statements(pdf: tuple[str, int]) -> None:
    # Unescaped, "<b>" would be swallowed as bold markup (or break the parser).
    assert ESCAPE_STATEMENT in pdf[0]
    assert PROFILE_MARKUP in pdf[0]


def test_pdf_row_cells(pdf: tuple[str, int]) -> None:
    text = pdf[0]
    assert "MA.NF.1 " + FRACTIONS + " 3 Proficient 2025-03-03 3 (3) 4" in text
    assert "I can add fractions with unlike denominators. Insufficient evidence — — (3) 1" in text


def test_pdf_letter_has_every_method_sentence(pdf: tuple[str, int]) -> None:
    text = pdf[0]
    letter = text.index("To admissions officers")
    for sentence in METHOD:
        assert _flat(sentence)[:60] in text[letter:]
    assert "Not yet: the student is still working toward this competency" in text
    assert "Lakeside Regional High School enrolls 820 students." in text
    assert "Dr. Mei Lin Tran" in text


def test_pdf_orders_academics_then_habits_then_letter(pdf: tuple[str, int]) -> None:
    text = pdf[0]
    last_academic = text.index("I can address a counterclaim fairly.")
    habits = text.index("Habits of Success")
    assert last_academic < habits < text.index(HABIT) < text.index("To admissions officers")
    order = ["Academic competencies", "Mathematics", "MA.NF Number and operations: fractions",
             FRACTIONS, "English Language Arts", "ELA.W Writing arguments", "I can support"]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_pdf_letter_includes_gpa_translation(pdf: tuple[str, int]) -> None:
    text = pdf[0]
    assert "Approximate GPA translation" in text
    assert "3 Proficient 3.30" in text
    assert "approximation provided on request" in text


def test_pdf_metadata_names_student_and_district(transcript: Transcript) -> None:
    meta = PdfReader(io.BytesIO(render_pdf(transcript))).metadata
    assert meta is not None
    assert meta.title == "Proficiency transcript – Renée O’Connor"
    assert meta.author == "Lakeside Regional School District"


def test_html_escapes_markup_and_keeps_content(html: str) -> None:
    assert "&lt;b&gt;&amp;" in html
    assert "<b>&" not in html
    assert str(escape(PROFILE_MARKUP)) in html
    assert "Renée O’Connor" in html
    for sentence in METHOD:
        assert str(escape(sentence)) in html
    assert '<th scope="col">Highest DOK shown</th>' in html
    assert "<td>Insufficient evidence</td>" in html
    assert "2 of 5 academic competencies at Proficient or above" in html


def test_html_orders_sections_and_isolates_the_letter(html: str) -> None:
    positions = [html.index(marker) for marker in (
        "<h3>Mathematics</h3>", "<h3>English Language Arts</h3>", "<h2>Habits of Success</h2>",
        '<section id="letter">')]
    assert positions == sorted(positions)
    letter = html[html.index('<section id="letter">'):]
    assert "3.30" in letter and "approximation provided on request" in letter


def test_empty_gpa_translation_omits_the_section() -> None:
    bare = make_transcript(gpa=())
    text, _ = pdf_text_of(render_pdf(bare))
    page = render_html(bare)
    for rendered in (text, page):
        assert "GPA" not in rendered
        assert "How proficiency is determined" in rendered


def test_cell_wording() -> None:
    row = make_transcript().academic[0].groups[0].rows[0]
    assert (level_text(row), dok_text(row)) == ("3 Proficient", "3 (3)")
    assert dok_text(replace(row, target_dok=None)) == "3"
    assert dok_text(replace(row, highest_dok=None)) == "— (3)"
    assert level_text(replace(row, level_code=None, level_label="Not yet")) == "Not yet"


def test_text_outside_the_builtin_fonts_degrades_gracefully() -> None:
    assert pdf_text("Łódź ‐ 数学 ≥ 3 ’é’") == "Lódz - ?? >= 3 ’é’"
    student = replace(make_transcript().student, school_name="Escuela Łódź 数学")
    text, _ = pdf_text_of(render_pdf(replace(make_transcript(), student=student)))
    assert "Escuela Lódz ??" in text
    assert "■" not in text


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statement=st.text(min_size=1, max_size=300), name=st.text(max_size=40))
def test_any_text_renders_without_error(statement: str, name: str) -> None:
    base = make_transcript()
    section = base.academic[0]
    group = section.groups[0]
    rows = (replace(group.rows[0], statement=statement), *group.rows[1:])
    academic = (replace(section, groups=(replace(group, rows=rows),)),)
    student = replace(base.student, given_name=name)
    t = replace(base, academic=academic, student=student)
    text, _ = pdf_text_of(render_pdf(t))
    folded = " ".join(pdf_text(statement).split())
    if re.fullmatch(r"[A-Za-z0-9 .,]{1,40}", folded):
        assert folded in text
    assert render_html(t).count("<tr") > 0
