"""Progress reports over the synced sample district: pace, exceptions, snapshot, credit, timing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.cli.main import cli
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import progress
from connector.sync.district import find_district
from tests.conftest import SampleDistrict, api_client

AS_OF = "2025-12-19"  # the end of the sample's first semester


def run(district: SampleDistrict, url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config-dir", str(district.workspace / "config"),
                                    "--database-url", url, "reports", *args])


def since_by_code(district: SampleDistrict, sis_id: str) -> dict[str, datetime | None]:
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session:
        return dict(session.execute(
            select(m.Competency.human_coding_scheme, m.MasteryRecord.proficient_since)
            .join(m.MasteryRecord, m.MasteryRecord.competency_id == m.Competency.id)
            .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
            .where(m.Student.sourced_id == sis_id)).all())


def test_pace_counts_what_the_records_say(sample_district: SampleDistrict,
                                          module_db_url: str) -> None:
    result = run(sample_district, module_db_url, "pace", "--as-of", AS_OF, "--student",
                 "S100001", "--json")
    assert result.exit_code == 0, result.output
    (student,) = json.loads(result.stdout)["students"]
    math = next(d for d in student["domains"] if d["domain"] == "math")
    since = since_by_code(sample_district, "S100001")
    end = datetime.combine(date.fromisoformat(AS_OF) + timedelta(days=1), time.min, tzinfo=UTC)
    leaves = [c for c in since if c.startswith("CR.MA.") and c.count(".") == 4]
    mastered = [c for c in leaves if since[c] is not None and since[c] < end]  # type: ignore[operator]
    assert math["mastered"] == len(mastered) and math["total"] == 11
    assert math["code"] in (1, 2, 3) and math["label"] in ("on pace", "can catch up",
                                                           "needs support")
    text = run(sample_district, module_db_url, "pace", "--as-of", AS_OF, "--student", "S100001")
    assert "S100001" in text.output and "math" in text.output and "ela" in text.output


def test_exceptions_list_only_students_with_reasons(sample_district: SampleDistrict,
                                                    module_db_url: str) -> None:
    result = run(sample_district, module_db_url, "exceptions", "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.output
    students = json.loads(result.stdout)["students"]
    assert students and all(s["exceptions"] for s in students)
    end = datetime.combine(date.fromisoformat(AS_OF) + timedelta(days=1), time.min, tzinfo=UTC)
    for s in students:
        if any(r.startswith("stalled") for r in s["exceptions"]):
            dates = [d for c, d in since_by_code(sample_district, s["student"]).items()
                     if c.count(".") == 4 and c.startswith(("CR.MA.", "CR.ELA.")) and d]
            assert not [d for d in dates if end - timedelta(days=42) < d < end]
    table = run(sample_district, module_db_url, "exceptions", "--as-of", AS_OF)
    assert f"{len(students)} student(s) need attention as of {AS_OF}" in table.output


def test_snapshot_and_time_to_proficiency(sample_district: SampleDistrict,
                                          module_db_url: str) -> None:
    snapshot = run(sample_district, module_db_url, "snapshot", "S100001", "--as-of", AS_OF,
                   "--json")
    data = json.loads(snapshot.stdout)
    math = next(d for d in data["domains"] if d["domain"] == "math")
    assert [name for name, _ in math["levels"]] == ["6", "7", "8"]
    timing = json.loads(run(sample_district, module_db_url, "time-to-proficiency",
                            "--json").stdout)
    row = next(r for r in timing if r["competency"] == "CR.MA.RP.1.a")
    assert row["proficient"] > 0 and row["median_days"] >= 0


def test_credit_is_earned_when_the_required_competencies_are_proficient(
        sample_district: SampleDistrict, module_db_url: str) -> None:
    path = sample_district.workspace / "config" / "districts" / "cedar-ridge" / "district.yaml"
    original = path.read_text(encoding="utf-8")
    data = yaml.safe_load(original)
    data["progress"]["courses"] = [{"course": "MA06", "credits": 0.5,
                                    "competencies": ["CR.MA.RP.1.a", "CR.MA.EE.1.a"]}]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    try:
        result = run(sample_district, module_db_url, "credit", "--json")
    finally:
        path.write_text(original, encoding="utf-8")
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    assert rows and {r["course"] for r in rows} == {"MA06"}
    for r in rows:
        since = since_by_code(sample_district, r["student"])
        needed = [since.get("CR.MA.RP.1.a"), since.get("CR.MA.EE.1.a")]
        assert r["earned"] == all(needed) and r["credits"] == 0.5
        if r["earned"]:
            assert r["earned_on"] == max(needed).isoformat()  # type: ignore[type-var,union-attr]
    assert any(r["earned"] for r in rows) and not all(r["earned"] for r in rows)


def test_bad_dates_and_students_are_clear_errors(sample_district: SampleDistrict,
                                                 module_db_url: str) -> None:
    bad = run(sample_district, module_db_url, "pace", "--as-of", "19/12/2025")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    missing = run(sample_district, module_db_url, "snapshot", "S0")
    assert missing.exit_code == 2 and "no student with SIS id S0" in missing.output


@pytest.fixture
def client(sample_district: SampleDistrict, module_db_url: str,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("CEDAR_RIDGE_API_TOKEN", "read-t0ken")
    with api_client(sample_district, module_db_url) as client:
        yield client


def test_api_progress(client: FlaskClient) -> None:
    auth = {"Authorization": "Bearer read-t0ken"}
    base = "/api/v1/districts/cedar-ridge/students"
    response = client.get(f"{base}/S100001/progress?as_of={AS_OF}", headers=auth)
    assert response.status_code == 200
    body = response.json
    assert body["as_of"] == AS_OF and body["student"] == "S100001"
    assert {d["domain"] for d in body["domains"]} == {"math", "ela"}
    assert {c["course"] for c in body["credit"]} == {"MA06", "ELA06"}
    assert client.get(f"{base}/S100001/progress?as_of=soon", headers=auth).status_code == 400
    assert client.get(f"{base}/S0/progress", headers=auth).status_code == 404


def test_content_summary_counts_every_target_once(sample_district: SampleDistrict,
                                                  module_db_url: str) -> None:
    result = run(sample_district, module_db_url, "summary", "--student", "S100001", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert {r["domain"] for r in rows} == {"math", "ela"}
    for row in rows:
        assert sum(row["counts"].values()) == row["targets"]
        assert row["proficient"] == row["counts"].get("3", 0) + row["counts"].get("4", 0)
        assert row["graduation_met"] in (True, False)
    text = run(sample_district, module_db_url, "summary", "--student", "S100001")
    assert "S100001" in text.output and "math" in text.output


@pytest.mark.parametrize("as_of", [date(2025, 10, 1), date(2025, 12, 19), date(2026, 6, 1)])
def test_a_report_over_the_district_says_what_each_student_page_says(
        sample_district: SampleDistrict, as_of: date) -> None:
    """The reports' path (batch pace, no snapshot, one read of the district) and the
    student page's (scalar pace, one student at a time) agree on the store's own records.

    Equity asks for no exception reasons and gets none; its paces are the same.
    """
    district = find_district(sample_district.factory, "cedar-ridge")
    assert district is not None
    settings = sample_district.settings
    with tenant_session(sample_district.factory, district) as session:
        report = progress.progress(session, settings, as_of, snapshot=False)
        quiet = progress.progress(session, settings, as_of, snapshot=False, exceptions=False)
        assert len(report) >= 100
        for row in report[::7]:
            (page,) = progress.progress(session, settings, as_of, [row.sis_id])
            assert row.reasons == page.reasons, row.sis_id
            assert row.domains == [dataclasses.replace(d, levels=()) for d in page.domains]
    assert [r.domains for r in quiet] == [r.domains for r in report]
    assert all(r.reasons == [] for r in quiet) and any(r.reasons for r in report)
