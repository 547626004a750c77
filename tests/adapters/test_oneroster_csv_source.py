"""The OneRoster CSV source against the sample export, the 1.1 reference sample and bad files."""

from __future__ import annotations

import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from connector.adapters.base import AdapterContext, Envelope
from connector.adapters.sources.oneroster_csv import OneRosterCsvSource
from connector.domain import records as r
from connector.errors import FatalSourceError, Rejection
from tests.conftest import FIXTURES, ROOT

SAMPLE = ROOT / "examples" / "sample-district" / "oneroster"


def read(path: Path, **options: object) -> tuple[list[Envelope], list[Rejection]]:
    source = OneRosterCsvSource("sis", {"path": str(path), "encoding": "utf-8-sig", **options},
                                AdapterContext(lambda p: Path(p), "America/Denver"))
    envelopes, rejections = [], []
    for item in source.read():
        (rejections if isinstance(item, Rejection) else envelopes).append(item)
    return envelopes, rejections


def kinds(envelopes: list[Envelope]) -> Counter[str]:
    return Counter(type(e.record).__name__ for e in envelopes)


def test_sample_bundle_directory_and_zip_read_the_same(tmp_path: Path) -> None:
    from_dir, rejected = read(SAMPLE)
    assert rejected == []
    assert kinds(from_dir) == {
        # three schools and the district; four school years at the high school and a term
        "Org": 4, "AcademicSession": 5,
        # the middle schools' 6 courses, the high school's 12 once per school year taken
        "Course": 36, "ClassSection": 42,
        # people: 350 students, their 350 guardians, 24 teachers
        "Person": 724, "Demographics": 350, "Enrollment": 1806,
        "Category": 5, "SourceItem": 618, "Score": 18252, "ScoreObjective": 1150}
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in SAMPLE.iterdir():
            zf.write(path, f"oneroster/{path.name}")  # members in a folder still count
    from_zip, rejected = read(archive)
    assert rejected == []
    assert [e.record for e in from_zip] == [e.record for e in from_dir]


def test_dependency_order_and_parsed_values() -> None:
    envelopes, _ = read(SAMPLE)
    order = [type(e.record).__name__ for e in envelopes]
    assert order.index("Score") > order.index("SourceItem") > order.index("Person")
    students = [e.record for e in envelopes
                if isinstance(e.record, r.Person) and e.record.role == "student"]
    assert len(students) == 350  # roles.csv (1.2) says who is a student
    item = next(e.record for e in envelopes if isinstance(e.record, r.SourceItem)
                and e.record.sourced_id == "li-cls-crms-ma06-ma-01b")
    assert item.result_value_max == 20
    assert item.learning_objectives[0].source == "case"
    assert item.due_date is not None and item.due_date.tzinfo is not None
    score = next(e for e in envelopes if isinstance(e.record, r.Score))
    assert score.file == "results.csv" and score.row == 2
    assert score.record.scored_at is not None and score.record.scored_at.utcoffset().total_seconds() == 0


def test_oneroster_11_reference_sample() -> None:
    envelopes, rejected = read(FIXTURES / "oneroster" / "v1p1-sample-csv")
    assert rejected == []
    people = [e.record for e in envelopes if isinstance(e.record, r.Person)]
    assert Counter(p.role for p in people)["student"] >= 1
    mary = next(p for p in people if p.sourced_id == "604863")
    assert (mary.role, mary.given_name, mary.grades) == ("student", "Mary", ("09",))
    classes = [e.record for e in envelopes if isinstance(e.record, r.ClassSection)]
    assert classes[0].term_sourced_ids == ("255901001_2021_2020-2021_Fall",
                                           "255901001_2021_2020-2021_Spring")
    demo = next(e.record for e in envelopes if isinstance(e.record, r.Demographics))
    assert demo.birth_date is not None


def _result(sourced_id: str, student: str, score: str, day: str = "2026-09-05",
            comment: str = "") -> str:
    return (f"{sourced_id},,,li-cls-crms-ma06-ma-01a,{student},fully graded,{score},{day},"
            f"{comment},,cls-crms-ma06,,,,")


def _broken_bundle(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(SAMPLE, bundle)
    header = (bundle / "results.csv").read_bytes().split(b"\r\n")[0]
    rows = [
        _result("r-good", "S100001", "8").encode(),
        _result("r-letter", "S100001", "A-").encode(),           # non-numeric score
        _result("r-stranger", "S999001", "7").encode(),          # unknown student (staging)
        _result("r-good", "S100001", "8").encode(),              # duplicate row
        _result("r-accent", "S100003", "9", comment="Tr\u00e8s bien").encode("cp1252"),
        _result("r-us-date", "S100005", "9", day="12/31/2026").encode(),
        _result("r-cut", "S100007", "9").encode()[:30],          # truncated last row
    ]
    (bundle / "results.csv").write_bytes(b"\r\n".join([header, *rows]))
    return bundle


def test_bad_rows_are_rejected_with_file_row_field_and_the_rest_kept(tmp_path: Path) -> None:
    envelopes, rejected = read(_broken_bundle(tmp_path))
    scores = [e.record.sourced_id for e in envelopes if isinstance(e.record, r.Score)]
    assert scores == ["r-good", "r-stranger"]  # unknown students are rejected later, in staging
    by_row = {rj.row: rj for rj in rejected}
    assert set(by_row) == {3, 5, 6, 7, 8}
    assert by_row[3].file == "results.csv" and by_row[3].field == "score"
    assert "must be a number" in by_row[3].reason
    assert by_row[5].field == "sourcedId" and "duplicate" in by_row[5].reason
    assert by_row[6].field == "comment" and "not valid" in by_row[6].reason
    assert by_row[7].field == "scoreDate" and "YYYY-MM-DD" in by_row[7].reason
    assert by_row[8].field == "" and "fewer than the header" in by_row[8].reason


def test_missing_required_column_rejects_the_file_not_the_run(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(SAMPLE, bundle)
    text = (bundle / "lineItems.csv").read_text(encoding="utf-8")
    (bundle / "lineItems.csv").write_text(text.replace("classSourcedId", "klass", 1),
                                          encoding="utf-8")
    envelopes, rejected = read(bundle)
    missing = [rj for rj in rejected if rj.file == "lineItems.csv"]
    assert len(missing) == 1 and missing[0].row == 1 and missing[0].field == "classSourcedId"
    assert kinds(envelopes)["Person"] == 724  # the other files are still read


def test_manifest_rules(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(SAMPLE, bundle)
    manifest = (bundle / "manifest.csv").read_text(encoding="utf-8")
    manifest = manifest.replace("file.demographics,bulk", "file.demographics,absent")
    (bundle / "manifest.csv").write_text(manifest, encoding="utf-8")
    (bundle / "categories.csv").unlink()
    envelopes, rejected = read(bundle)
    assert "Demographics" not in kinds(envelopes)
    reasons = {(rj.file, rj.reason.split(";")[0]) for rj in rejected}
    assert ("demographics.csv", "manifest marks this file absent") in reasons
    assert any(rj.file == "manifest.csv" and "categories.csv" in rj.reason for rj in rejected)


def test_truncated_zip_is_a_fatal_source_error(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in SAMPLE.iterdir():
            zf.write(path, path.name)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 3])
    with pytest.raises(FatalSourceError, match="not a readable zip"):
        read(archive)


def test_missing_bundle_is_a_fatal_source_error(tmp_path: Path) -> None:
    with pytest.raises(FatalSourceError, match="not found"):
        read(tmp_path / "nowhere")
