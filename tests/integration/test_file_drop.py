"""Vendor exports dropped in a folder: read once, archived or quarantined with a report.

The sample district's roster comes from its SIS export; two vendor drop folders
(an IXL-style skill report and a Khan Academy mastery download) feed a second
job. Every check here is on what a district would look at: the archive and
quarantine folders, the run report, the rejections table, evidence and the
unmapped queue.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.adapters.vendor_profiles import shipped_profiles
from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.tenancy import tenant_session
from connector.sample.vendor_exports import SampleSkill, write
from connector.sync.district import find_district
from connector.sync.progress import progress
from tests.conftest import ROOT, SampleDistrict

SOURCES = """
  - key: ixl
    kind: file_drop
    name: IXL skill scores (drop folder)
    profile: ixl-skill-scores
    inbox: drops/ixl
    settle_seconds: 0
  - key: khan
    kind: file_drop
    name: Khan Academy mastery (drop folder)
    profile: khan-mastery
    inbox: drops/khan
    settle_seconds: 0
  - key: map
    kind: file_drop
    name: NWEA MAP Growth (drop folder)
    profile: nwea-map-growth
    inbox: drops/map
    settle_seconds: 0
"""
PLACEMENT = """
progress:
  placement:
    - {source: map, item: Mathematics, domain: math,
       cuts: [{min_score: 0, level: "6"}, {min_score: 50, level: "7"}, {min_score: 80, level: "8"}]}
"""
JOB = """
  - key: vendor-drops
    kind: sync
    frameworks: [dok, math-ela, habits]
    sources: [ixl, khan, map]
"""
#: IXL skills carrying district codes in their "Standard" column align without a crosswalk.
IXL_SKILLS = [SampleSkill("F.7", "Understand ratios", "CR.MA.RP.1.a"),
              SampleSkill("G.2", "Equivalent ratios", "CR.MA.RP.1.b"),
              SampleSkill("H.4", "Unit rates", "6.RP.A.3"),
              SampleSkill("Z.9", "Probability of compound events", "7.SP.C.8")]
KHAN_SKILLS = [SampleSkill("Intro to rates", "Intro to rates")]


def _add_exact_match(workspace: Path) -> None:
    """The district says CR.MA.RP.2.a is an exact match of Common Core 6.RP.A.3 (CASE)."""
    package = json.loads((ROOT / "examples" / "sample-district" / "case" /
                          "cedar-ridge-math-ela.json").read_text(encoding="utf-8"))
    origin = next(i for i in package["CFItems"] if i["humanCodingScheme"] == "CR.MA.RP.2.a")
    document = package["CFDocument"]
    common_core = "5f7c0b8e-3d2a-4e61-9c4b-6a1d2e3f4a5b"
    package["CFAssociations"].append({
        "identifier": "0b7e4c1a-9f3d-4a2b-8c6e-1d2f3a4b5c6d",
        "uri": "https://case.cedar-ridge.example/ims/case/v1p0/CFAssociations/"
               "0b7e4c1a-9f3d-4a2b-8c6e-1d2f3a4b5c6d",
        "lastChangeDateTime": "2026-11-01T12:00:00+00:00",
        "associationType": "exactMatchOf",
        "originNodeURI": {"title": "CR.MA.RP.2.a", "identifier": origin["identifier"],
                          "uri": origin["uri"]},
        "destinationNodeURI": {"title": "6.RP.A.3", "identifier": common_core,
                               "uri": f"https://casenetwork.example/ims/case/v1p0/CFItems/"
                                      f"{common_core}"},
        "CFDocumentURI": {"title": document["title"], "identifier": document["identifier"],
                          "uri": document["uri"]},
    })
    copy = workspace / "frameworks" / "math-ela-with-common-core.json"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(json.dumps(package), encoding="utf-8")
    district = workspace / "config" / "districts" / "cedar-ridge" / "district.yaml"
    text = district.read_text(encoding="utf-8")
    district.write_text(text.replace("examples/sample-district/case/cedar-ridge-math-ela.json",
                                     str(copy)), encoding="utf-8")


def _students() -> list[str]:
    path = ROOT / "examples" / "sample-district" / "oneroster" / "users.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        return [r["sourcedId"] for r in csv.DictReader(handle) if r["sourcedId"].startswith("S1")][:20]


@pytest.fixture(scope="module")
def district(sample_district: SampleDistrict) -> SampleDistrict:
    """The sample district (roster synced) with the two drop sources and a job to read them."""
    config = sample_district.workspace / "config" / "districts" / "cedar-ridge"
    sources = (config / "sources.yaml").read_text(encoding="utf-8")
    sources = sources.replace("\ncrosswalks:", SOURCES + "\ncrosswalks:")
    (config / "sources.yaml").write_text(sources, encoding="utf-8")
    with open(config / "jobs.yaml", "a", encoding="utf-8") as handle:
        handle.write(JOB)
    for folder in ("ixl", "khan", "map"):
        (sample_district.workspace / "drops" / folder).mkdir(parents=True)
    _add_exact_match(sample_district.workspace)
    district = config / "district.yaml"
    text = district.read_text(encoding="utf-8")
    assert "\nprogress:\n" in text
    district.write_text(text.replace("\nprogress:\n", PLACEMENT), encoding="utf-8")
    settings = load_settings(sample_district.workspace / "config")
    return SampleDistrict(sample_district.factory, settings, sample_district.workspace, {})


def _drop(district: SampleDistrict, folder: str, name: str, text: str | None = None,
          profile: str = "ixl-skill-scores", rows: int = 60, seed: int = 7) -> Path:
    inbox = district.workspace / "drops" / folder
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    if text is None:
        skills = KHAN_SKILLS if profile == "khan-mastery" else IXL_SKILLS
        write(path, shipped_profiles()[profile], _students(), skills, rows, seed=seed)
    else:
        path.write_text(text, encoding="utf-8")
    past = time.time() - 5
    os.utime(path, (past, past))
    return path


def _reports(district: SampleDistrict, folder: str, kind: str) -> list[dict[str, object]]:
    where = district.workspace / "drops" / folder / kind
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(where.glob("*.report.json"))] if where.is_dir() else []


def _count(district: SampleDistrict, model: type, **where: object) -> int:
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return int(session.scalar(query) or 0)


def test_export_is_read_archived_and_aligned_by_its_standard_column(
        district: SampleDistrict) -> None:
    _drop(district, "ixl", "skill-scores.csv", rows=80)
    report = definitions.run(district.factory, district.settings, "vendor-drops")
    assert not report.errors, report.errors
    archived = _reports(district, "ixl", "archive")
    assert [r["outcome"] for r in archived] == ["archived"]
    assert archived[0]["rows"] == 80 and archived[0]["rejected"] == 0
    assert not (district.workspace / "drops" / "ixl" / "skill-scores.csv").exists()
    assert _count(district, m.RawScore, source_system="ixl") == archived[0]["scores"]
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session:
        aligned = session.execute(
            select(m.SourceItem.sourced_id, m.Competency.human_coding_scheme, m.Alignment.dok,
                   m.Alignment.evidence_type)
            .join(m.Alignment, m.Alignment.source_item_id == m.SourceItem.id)
            .join(m.Competency, m.Competency.id == m.Alignment.competency_id)
            .where(m.SourceItem.source_system == "ixl")).all()
        unmapped = {(u["source"], u["item"]): u["scores"] for u in queries.unmapped_items(session)}
    # The profile's DOK 1 and "adaptive practice" reach every alignment. H.4's Common Core
    # code reaches the district competency that the framework says is its exact match.
    assert sorted(aligned) == [("F.7", "CR.MA.RP.1.a", 1, "adaptive_practice"),
                               ("G.2", "CR.MA.RP.1.b", 1, "adaptive_practice"),
                               ("H.4", "CR.MA.RP.2.a", 1, "adaptive_practice")]
    # A standard the district's framework does not hold waits in the unmapped queue, counted.
    assert unmapped[("ixl", "Z.9")] == 20
    assert _count(district, m.Evidence) > 0


def test_same_file_uploaded_again_changes_nothing(district: SampleDistrict) -> None:
    _drop(district, "ixl", "skill-scores-monday.csv", seed=11)
    first = definitions.run(district.factory, district.settings, "vendor-drops")
    assert first.changes > 0
    scores = _count(district, m.RawScore, source_system="ixl")
    evidence = _count(district, m.Evidence)
    # The vendor's upload job runs again with the same content under another name.
    _drop(district, "ixl", "skill-scores-monday (1).csv", seed=11)
    again = definitions.run(district.factory, district.settings, "vendor-drops")
    assert again.changes == 0, again.as_dict()
    assert again.status == "succeeded"
    assert _count(district, m.RawScore, source_system="ixl") == scores
    assert _count(district, m.Evidence) == evidence
    duplicate = [r for r in _reports(district, "ixl", "archive") if r["outcome"] == "duplicate"]
    assert len(duplicate) == 1
    assert "skill-scores-monday.csv" in str(duplicate[0]["note"])


def test_bad_rows_are_rejected_one_by_one_and_the_rest_is_read(district: SampleDistrict) -> None:
    students = _students()
    text = ("Student ID,Student Name,Skill ID,Skill,Standard,SmartScore,Last practiced\r\n"
            f"{students[0]},\"Moreno, Avery\",F.7,Understand ratios,CR.MA.RP.1.a,85,10/02/2026\r\n"
            f"{students[1]},\"Haddad, Quinn\",F.7,Understand ratios,CR.MA.RP.1.a,90,2026-10-02\r\n"
            f"{students[2]},\"Okafor, Riley\",F.7,Understand ratios,CR.MA.RP.1.a,185,10/02/2026\r\n"
            "not-a-student,\"Lindqvist, Rowan\",F.7,Understand ratios,CR.MA.RP.1.a,70,10/02/2026\r\n"
            f"{students[3]},\"Nakamura, Sawyer\",,Understand ratios,CR.MA.RP.1.a,70,10/02/2026\r\n")
    _drop(district, "ixl", "skills-oct.csv", text)
    report = definitions.run(district.factory, district.settings, "vendor-drops")
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session:
        rejected = session.execute(select(m.SyncRejection.file, m.SyncRejection.row,
                                          m.SyncRejection.field, m.SyncRejection.reason)
                                   .where(m.SyncRejection.run_id == report.run_id)
                                   .order_by(m.SyncRejection.row)).all()
        kept = session.scalars(select(m.RawScore.sourced_id).where(
            m.RawScore.sourced_id.like(f"{students[0]}|F.7|2026-10-02%"))).all()
    assert [(r.file, r.row, r.field) for r in rejected] == [
        ("skills-oct.csv", 3, "Last practiced"), ("skills-oct.csv", 4, "SmartScore"),
        ("skills-oct.csv", 5, "student"), ("skills-oct.csv", 6, "Skill ID")]
    assert "MM/DD/YYYY" in rejected[0].reason or "%m/%d/%Y" in rejected[0].reason
    assert "between 0 and 100" in rejected[1].reason
    assert len(kept) == 1
    archived = [r for r in _reports(district, "ixl", "archive") if r["file"] == "skills-oct.csv"]
    assert archived[0]["outcome"] == "archived" and archived[0]["rejected"] == 3
    # Student names are never copied into reports or rejections.
    assert "Moreno" not in json.dumps(archived) and all("Lindqvist" not in r.reason
                                                         for r in rejected)


def test_unreadable_files_are_quarantined_with_the_reason(district: SampleDistrict) -> None:
    before = _count(district, m.RawScore)
    semicolons = "Student ID;Skill ID;Skill;SmartScore;Last practiced\r\nx;F.7;Ratios;80;10/01/2026\r\n"
    _drop(district, "ixl", "semicolons.csv", semicolons)
    _drop(district, "ixl", "no-score.csv",
          "Student ID,Skill ID,Skill,Last practiced\r\nS100001,F.7,Ratios,10/01/2026\r\n")
    _drop(district, "ixl", "no-header.csv",
          "S100002,\"Fitzgerald, Rowan\",F.7,Ratios,6.RP.A.1,80,10/01/2026\r\n")
    _drop(district, "khan", "khan-mastery.csv", profile="khan-mastery", rows=10)
    report = definitions.run(district.factory, district.settings, "vendor-drops")
    assert report.status == "succeeded_with_rejections", report.as_dict()
    quarantined = {r["file"]: r for r in _reports(district, "ixl", "quarantine")}
    assert "semicolons" in str(quarantined["semicolons.csv"]["reason"])
    assert "['SmartScore'] missing" in str(quarantined["no-score.csv"]["reason"])
    headless = json.dumps(quarantined["no-header.csv"])
    assert "header row missing" in headless and "Fitzgerald" not in headless
    khan = {r["file"]: r for r in _reports(district, "khan", "quarantine")}
    assert "file name" in str(khan["khan-mastery.csv"]["reason"])
    assert _count(district, m.RawScore) == before
    # Fixed (renamed with its period) and dropped again, the file is read.
    fixed = district.workspace / "drops" / "khan" / "khan-mastery_20260901_20260930.csv"
    shutil.move(next((district.workspace / "drops" / "khan" / "quarantine").glob("*-khan-mastery.csv")),
                fixed)
    past = time.time() - 5
    os.utime(fixed, (past, past))
    definitions.run(district.factory, district.settings, "vendor-drops")
    assert _count(district, m.RawScore, source_system="khan") > 0


def test_a_map_diagnostic_places_a_student_in_a_domain(district: SampleDistrict) -> None:
    as_of = date(2026, 10, 1)
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session:
        before = {p.sis_id: p for p in progress(session, district.settings, as_of)}
    student = next(sis for sis, p in sorted(before.items())
                   if next(d for d in p.domains if d.domain == "math").academic_level is None)
    text = ("TermName,StudentID,SchoolName,Subject,Course,TestStartDate,TestRITScore,"
            "TestPercentile\r\n"
            f"Winter 2025-2026,{student},Cedar Ridge Middle School,Mathematics,Math K-12,"
            "1/20/2026,214,40\r\n"
            f"Fall 2026-2027,{student},Cedar Ridge Middle School,Mathematics,Math K-12,"
            "9/10/2026,238,85\r\n"
            f"Fall 2026-2027,{student},Cedar Ridge Middle School,Language Arts,Reading,"
            "9/11/2026,230,97\r\n")
    _drop(district, "map", "AssessmentResults.csv", text)
    report = definitions.run(district.factory, district.settings, "vendor-drops")
    assert not report.errors, report.errors
    with tenant_session(district.factory, district_id) as session:
        (after,) = progress(session, district.settings, as_of, [student])
        (earlier,) = progress(session, district.settings, date(2026, 9, 1), [student])
        staged = session.scalar(select(func.count()).select_from(m.RawScore).where(
            m.RawScore.source_system == "map", m.RawScore.student_id == session.scalar(
                select(m.Student.id).where(m.Student.sourced_id == student))))
    math = next(d for d in after.domains if d.domain == "math")
    assert (math.level_basis, math.academic_level, math.working_level) == ("placement", "7", "8")
    assert math.placement is not None
    assert (math.placement.level, math.placement.score, math.placement.placed_on) == \
        ("8", 85, date(2026, 9, 10))
    unplaced = next(d for d in before[student].domains if d.domain == "math")
    assert math.graduation_met is False and math.mastered == unplaced.mastered  # not mastery
    ela = next(d for d in after.domains if d.domain == "ela")
    assert ela.placement is None  # no placement rule reads MAP Language Arts
    # Before the fall test, the winter result (40th percentile) placed the student at 6.
    old = next(d for d in earlier.domains if d.domain == "math")
    assert old.placement is not None and old.placement.level == "6"
    assert staged == 3  # kept with source and date: what the placement rests on
    with tenant_session(district.factory, district_id) as session:
        notes = {u["item"]: u["note"] for u in queries.unmapped_items(session)
                 if u["source"] == "map"}
    assert "used for placement in math" in notes["Mathematics"]
    assert notes["Language Arts"] == ""  # no rule reads it: plainly unmapped


def test_the_same_bytes_for_another_period_are_another_export(district: SampleDistrict) -> None:
    text = ("Student SIS ID,Skill Name,Current Skill Mastery Level\r\n"
            f"{_students()[0]},Intro to rates,Familiar\r\n")
    _drop(district, "khan", "cr_MasteryProgressStudent_20261001_20261031.csv", text)
    definitions.run(district.factory, district.settings, "vendor-drops")
    _drop(district, "khan", "cr_MasteryProgressStudent_20261101_20261130.csv", text)
    definitions.run(district.factory, district.settings, "vendor-drops")
    reports = {r["file"]: r["outcome"] for r in _reports(district, "khan", "archive")}
    assert reports["cr_MasteryProgressStudent_20261001_20261031.csv"] == "archived"
    assert reports["cr_MasteryProgressStudent_20261101_20261130.csv"] == "archived"
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session:
        dates = session.scalars(select(m.RawScore.scored_at).where(
            m.RawScore.source_system == "khan",
            m.RawScore.sourced_id.like(f"{_students()[0]}|Intro to rates|%"))).all()
    assert sorted(d.date().isoformat() for d in dates)[-2:] == ["2026-10-31", "2026-11-30"]
