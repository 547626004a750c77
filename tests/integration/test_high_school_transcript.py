"""Cedar Ridge High School's transcripts: credit by year, transfer credit, overrides, graduation.

The shipped sample after one nightly sync, on both stores. Its overrides file is
imported the way ``make demo`` does; a senior's page 1 stays one page with twelve
courses, says which credit came on transfer and whether requirements are met.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

from click.testing import CliRunner, Result
from lxml import etree
from pypdf import PdfReader

from connector.cli.main import cli
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from connector.sync.transcript_summary import build_for_students
from connector.transcripts import pesc
from connector.transcripts.html import render_html
from connector.transcripts.model import Transcript
from connector.transcripts.pdf import OVERRIDE_MARK, render_pdf
from tests.conftest import ROOT, SampleDistrict

AS_OF = date(2026, 12, 4)  # grade 12 graduates in 2027: the seniors' final year
#: S200008 is a senior who transferred in this year; S200012 a senior with an override.
TRANSFER, OVERRIDDEN = "S200008", "S200012"
OVERRIDES = ROOT / "examples" / "sample-district" / "overrides.csv"


def _cli(district: SampleDistrict, url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config-dir", str(district.workspace / "config"),
                                    "--database-url", url, *args])


def _build(district: SampleDistrict, *ids: str) -> dict[str, Transcript]:
    cedar = find_district(district.factory, "cedar-ridge")
    assert cedar is not None
    with tenant_session(district.factory, cedar) as session:
        built = build_for_students(session, district.settings, list(ids), AS_OF)
    return {t.student.sis_id: t for t in built}


def _pages(pdf: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def test_importing_the_overrides_file_sets_them_once_and_marks_the_transcript(
        sample_district: SampleDistrict, module_db_url: str, tmp_path: Path) -> None:
    rows = OVERRIDES.read_text().splitlines()[1:]
    first = _cli(sample_district, module_db_url, "mastery", "import-overrides", str(OVERRIDES))
    assert first.exit_code == 0, first.output
    assert f"{len(rows)} override(s) set, 0 already in place, 0 set aside" in first.output
    again = _cli(sample_district, module_db_url, "mastery", "import-overrides", str(OVERRIDES))
    assert f"0 override(s) set, {len(rows)} already in place, 0 set aside" in again.output

    bad = tmp_path / "overrides.csv"
    bad.write_text("student,competency,level,state,reason,by\n"
                   "S999999,CR.HS.SC.CH.c,3,,Portfolio,t-crhs-chem\n"
                   "S200012,CR.HS.SC.CH.c,9,,Portfolio,t-crhs-chem\n"
                   "S200012,CR.HS.SC.CH.c,3,,,t-crhs-chem\n")
    refused = _cli(sample_district, module_db_url, "mastery", "import-overrides", str(bad))
    assert refused.exit_code == 1
    assert "0 override(s) set, 0 already in place, 3 set aside" in refused.output
    for where in ("overrides.csv row 2, student", "overrides.csv row 3, level",
                  "overrides.csv row 4, reason: required"):
        assert where in refused.output, where

    transcript = _build(sample_district, OVERRIDDEN)[OVERRIDDEN]
    assert transcript.overridden_count == 1
    pages = _pages(render_pdf(transcript))
    assert f"1 level is a teacher's judgement, marked {OVERRIDE_MARK}" in pages[0]
    assert OVERRIDE_MARK in " ".join(pages[1:])


def test_a_transfer_seniors_page_one_lists_every_course_and_the_sending_school(
        sample_district: SampleDistrict) -> None:
    transcript = _build(sample_district, TRANSFER)[TRANSFER]
    summary = transcript.summary
    assert summary is not None and transcript.student.grade == "12"
    assert summary.expected_graduation == "2027"
    assert len(summary.credits) == 12
    years = [c.school_year for c in summary.credits]
    assert years == sorted(years) and years[0] == "2022-2023" and years[-1] == "2025-2026"
    transfers = [c for c in summary.credits if c.transfer_from]
    assert len(transfers) == 9 and {c.school_year for c in transfers} == {
        "2022-2023", "2023-2024", "2024-2025"}
    assert summary.transfer_schools == ["Lakeview High School, Lakeview, OR"]
    assert all(c.in_progress for c in summary.credits if c.school_year == "2025-2026"
               and not c.earned)

    pages = _pages(render_pdf(transcript))
    first = pages[0]
    for fact in ("CEEB 060997", "Daniel Whitfield", "Expected graduation 2027",
                 "2022-2023 ENG9 English 9 1 Transfer credit",
                 "Transfer credit accepted from Lakeview High School, Lakeview, OR.",
                 "Graduation requirements (credits)", "Graduation:",
                 "The detail by competency follows"):
        assert fact in first, fact  # all of page 1 fits on page 1
    assert "Academic competencies" not in first
    html = render_html(transcript)
    assert "Transfer credit accepted from Lakeview High School" in html
    assert "<caption>Graduation requirements (credits)</caption>" in html

    xml = etree.fromstring(pesc.high_school_transcript(
        transcript, document_id="x", created=datetime(2026, 12, 4, tzinfo=UTC)))
    records = xml.findall("Student/AcademicRecord")
    assert [r.findtext("School/OrganizationName") for r in records] == [
        "Cedar Ridge High School", "Lakeview High School, Lakeview, OR"]
    sent = records[1].findall("AcademicSession/Course")
    assert len(sent) == 9 and {c.findtext("CourseCreditEarned") for c in sent} == {"1"}
    here = {s.findtext("AcademicSessionDetail/SessionName") for s in records[0].findall(
        "AcademicSession")}
    assert here == {"2025-2026", "2026-2027"}


def test_seniors_are_mostly_on_track_and_a_few_have_requirements_incomplete(
        sample_district: SampleDistrict) -> None:
    seniors = [f"S{200001 + n}" for n in range(200) if n % 4 == 3]
    built = _build(sample_district, *seniors)
    assert len(built) == 50
    statuses = [t.summary.graduation.split(":")[0] for t in built.values() if t.summary]
    on_track = statuses.count("on track")
    incomplete = statuses.count("requirements incomplete")
    assert on_track + incomplete == 50
    assert 35 <= on_track < 50 and 1 <= incomplete <= 10, statuses
    for t in built.values():
        assert t.summary is not None
        for r in t.summary.requirements:
            assert r.earned + r.in_progress >= r.required or \
                t.summary.graduation.startswith("requirements incomplete")


def test_the_graduating_class_in_one_batch_which_resumes_where_it_stopped(
        sample_district: SampleDistrict, module_db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "class-of-2027"
    args = ["transcripts", "generate", "--cohort", "2027", "--as-of", AS_OF.isoformat(),
            "--format", "pdf", "--out", str(out)]
    first = _cli(sample_district, module_db_url, *args)
    assert first.exit_code == 0, first.output
    assert "50 transcript(s), 50 file(s)" in first.output
    seniors = sorted(p.stem for p in out.glob("*.pdf"))
    assert seniors == [f"S{200001 + n}" for n in range(200) if n % 4 == 3]
    for name in (seniors[0], TRANSFER):
        pages = _pages((out / f"{name}.pdf").read_bytes())
        assert "Expected graduation 2027" in pages[0]
        assert "The detail by competency follows" in pages[0]  # page 1 is all summary

    # A complete batch leaves only its files. Stopped after 20 students, its progress file
    # would list them (the day and formats first); a resumed batch does the rest.
    progress = out / ".transcripts-progress"
    assert not progress.exists()
    progress.write_text("\n".join(["as-of 2026-12-04 formats pdf", *seniors[:20]]) + "\n")
    for name in seniors[20:]:
        (out / f"{name}.pdf").unlink()
    resumed = _cli(sample_district, module_db_url, *args, "--resume", "--processes", "1")
    assert resumed.exit_code == 0, resumed.output
    assert "30 transcript(s), 30 file(s)" in resumed.output
    assert "20 already written by the interrupted batch" in resumed.output
    assert sorted(p.stem for p in out.glob("*.pdf")) == seniors
    assert not list(out.glob(".*.partial")) and not progress.exists()

    # Another day is another batch: --resume starts it over.
    progress.write_text("as-of 2026-12-04 formats pdf\n" + "\n".join(seniors) + "\n")
    later = _cli(sample_district, module_db_url, *args[:5], "2026-12-05", *args[6:], "--resume",
                 "--grade", "12", "--school", "org-crhs", "--processes", "1")
    assert later.exit_code == 0, later.output
    assert "50 transcript(s)" in later.output and "started over" in later.output
