"""Page 1 is a summary; each competency appears once; overrides and DOK are explained.

Read back with pypdf, page by page, as an admissions office's software would.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from connector.config.loader import load_settings
from connector.domain.scale import MasteryState
from connector.errors import ConfigurationError
from connector.transcripts.build import RecordFacts, build_transcript, graduation_progress
from connector.transcripts.html import render_html
from connector.transcripts.model import (
    CreditRow,
    DomainLevel,
    SchoolInfo,
    Summary,
    Transcript,
)
from connector.transcripts.pdf import OVERRIDE_MARK, render_pdf
from connector.transcripts.service import school_letter
from connector.transcripts.snapshot import from_snapshot, to_snapshot
from tests.conftest import make_workspace
from tests.unit.test_config import _edit
from tests.unit.test_transcript_render import _comp, _level, make_transcript

CREDITS = (
    CreditRow("EN-10", "English 10", 1.0, False, None, "English Language Arts", "2023-2024",
              transfer_from="Lakeview High School, Lakeview, OR"),
    CreditRow("MA-ALG2", "Algebra II", 1.0, True, "2025-05-30", "Mathematics", "2024-2025"),
    CreditRow("EN-11", "English 11", 1.0, False, None, "English Language Arts", "2024-2025",
              in_progress=True))
REQUIREMENTS, GRADUATION = graduation_progress(
    CREDITS, {"English Language Arts": 2, "Mathematics": 1})
SUMMARY = Summary(
    school=SchoolInfo("Lakeside Regional High School", "1 Lake Road, Lakeside, MN 55001",
                      "240123", "(555) 010-3000", "Ana Ruiz, Registrar"),
    school_year="2024-2025", birth_date="2008-04-17", expected_graduation="2026",
    domains=(DomainLevel("Mathematics", "10", 14, 20, "on pace",
                         (("9", "2024-09-20"), ("10", "2025-04-02"), ("11", None))),),
    credits=CREDITS, requirements=REQUIREMENTS, graduation=GRADUATION,
    performance_snapshot=True)
WHEN = datetime(2025, 6, 2, 15, tzinfo=UTC)


def _pages(pdf: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def _with_parent_and_override() -> Transcript:
    """The render tests' transcript, with its fractions topic's own (rolled-up) level
    and one learning target set by a teacher."""
    base = make_transcript()
    comps = {c.identifier: c for c in (
        _comp("m", "MA", "Mathematics", None, 0, subjects=("Mathematics",)),
        _comp("m.1", "MA.NF", "Number and operations: fractions", "m", 0),
        _comp("m.1.1", "MA.NF.1", "I can compare two fractions.", "m.1", 0),
        _comp("m.1.2", "MA.NF.2", "I can order fractions on a number line.", "m.1", 1))}
    records = [
        RecordFacts("m.1", MasteryState.LEVEL.value, "2", "Developing", False,
                    datetime(2025, 3, 12, tzinfo=UTC), 3, 7, "Rolled up from its parts."),
        _level("m.1.1", "3", "Proficient", 3, 3, 4),
        replace(_level("m.1.2", "2", "Developing", 10, 2, 3), overridden=True),
    ]
    return build_transcript(district_name=base.district_name, student=base.student,
                            records=records, competencies=comps, letter=base.letter,
                            issued_on=date(2025, 6, 2), summary=SUMMARY)


@pytest.fixture(scope="module")
def transcript() -> Transcript:
    return _with_parent_and_override()


def test_a_competency_with_parts_is_their_heading_with_its_own_level(
        transcript: Transcript) -> None:
    [section] = transcript.academic
    [group] = section.groups
    assert group.title == "MA.NF Number and operations: fractions"
    assert group.level == "2 Developing"
    assert [r.code for r in group.rows] == ["MA.NF.1", "MA.NF.2"]  # never a row as well
    text = " ".join(_pages(render_pdf(transcript, created=WHEN)))
    assert text.count("Number and operations: fractions") == 1
    assert "Number and operations: fractions 2 Developing" in text


def test_page_one_is_the_summary_and_the_detail_starts_after_it(transcript: Transcript) -> None:
    pages = _pages(render_pdf(transcript, created=WHEN))
    first = pages[0]
    for fact in ("Renée O’Connor", "Date of birth 2008-04-17", "SIS ID LRS-20931",
                 "Expected graduation 2026", "Lakeside Regional High School",
                 "CEEB 240123", "Registrar Ana Ruiz, Registrar", "School year 2024-2025",
                 "As of 2025-06-02", "Competencies by content area", "Mathematics 1 2",
                 "Academic level by domain", "Mathematics 10 14 of 20 on pace",
                 "Course credit", "2023-2024 EN-10 English 10 1 Transfer credit",
                 "2024-2025 MA-ALG2 Algebra II 1 Earned 2025-05-30",
                 "2024-2025 EN-11 English 11 1 In progress",
                 "Transfer credit accepted from Lakeview High School, Lakeview, OR.",
                 "Graduation requirements (credits)", "English Language Arts 2 1 1",
                 "Mathematics 1 1 0",
                 "Graduation: on track: 2 of 3 required credits earned, 1 in progress.",
                 f"1 level is a teacher's judgement, marked {OVERRIDE_MARK}"):
        assert fact in first, fact
    assert "I can compare two fractions" not in first
    assert "I can compare two fractions" in pages[1]


def test_an_override_is_marked_and_the_key_says_what_the_marks_and_dok_mean(
        transcript: Transcript) -> None:
    text = " ".join(_pages(render_pdf(transcript, created=WHEN)))
    assert f"2 Developing {OVERRIDE_MARK}" in text
    assert f"{OVERRIDE_MARK} marks a level set by a teacher's judgement" in text
    assert "Depth of knowledge" in text and "DOK shown (target) gives the deepest level" in text
    assert "3 Strategic thinking and reasoning" in text  # Webb's names when none imported
    html = render_html(transcript)
    assert "Competencies by content area" in html and "CEEB 240123" in html
    assert f"2 Developing {OVERRIDE_MARK}" in html and "— 2 Developing" in html


def test_the_snapshot_keeps_the_summary_and_the_headings(transcript: Transcript) -> None:
    assert from_snapshot(to_snapshot(transcript)) == transcript


def test_a_school_with_its_own_profile_gets_its_own_letter(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    _edit(workspace, "district.yaml", lambda d: d["transcript"]["schools"]["org-jhms"].update(
        school_profile="Juniper Hollow is a small school of 70 students.",
        graduation_requirements=""))
    settings = load_settings(workspace / "config")
    base = make_transcript().letter
    theirs = school_letter(base, settings, "org-jhms")
    assert theirs.school_profile == "Juniper Hollow is a small school of 70 students."
    assert theirs.graduation_requirements == base.graduation_requirements  # the district's
    assert school_letter(base, settings, "org-crms") is base
    assert settings.district.transcript.schools["org-crms"].ceeb == "060999"
    _edit(workspace, "district.yaml", lambda d: d["transcript"]["schools"]["org-crms"].update(
        ceeb="12345"))
    with pytest.raises(ConfigurationError, match="six digits"):
        load_settings(workspace / "config")


def test_the_performance_snapshot_dates_each_level_of_each_domain(transcript: Transcript) -> None:
    text = " ".join(_pages(render_pdf(transcript, created=WHEN)))
    assert "Performance snapshot" in text
    assert "Domain Level 9 Level 10 Level 11 Mathematics 2024-09-20 2025-04-02 not yet" in text
    without = replace(transcript, summary=replace(SUMMARY, performance_snapshot=False))
    assert "Performance snapshot" not in " ".join(_pages(render_pdf(without, created=WHEN)))


def test_a_delivery_target_is_checked_when_the_configuration_loads(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    share = {"key": "share", "kind": "folder", "folder": "out/delivered"}
    _edit(workspace, "district.yaml", lambda d: d["transcript"].update(delivery=[share]))
    [target] = load_settings(workspace / "config").district.transcript.delivery
    assert (target.kind, target.formats) == ("folder", ("pdf", "pesc"))
    for wrong, said in (([share, share], "its own key"),
                        ([{"key": "svc", "kind": "sftp", "folder": "in"}], "needs host"),
                        ([{"key": "svc", "kind": "sftp", "folder": "in", "host": "h",
                           "username": "u", "known_hosts": "k"}], "password"),
                        ([{"key": "svc", "kind": "sftp", "folder": "in", "host": "h",
                           "username": "u", "known_hosts": "k", "password": "plain"}],
                         "environment references"),
                        ([{**share, "formats": ["docx"]}], "Must be one of")):
        _edit(workspace, "district.yaml", lambda d, w=wrong: d["transcript"].update(delivery=w))
        with pytest.raises(ConfigurationError, match=said):
            load_settings(workspace / "config")
