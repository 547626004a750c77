"""Adaptive evidence beside teacher evidence, and the DOK exposure report, on the sample district.

The sample's Practice Pal skill report is adaptive practice (DOK 1-2) and its SIS
gradebook is teacher evidence; CR.MA.RP.2.b asks for DOK 3, so the district's
DOK gate keeps adaptive evidence alone below Proficient there.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import String, func, select

from connector.cli.main import cli
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import SampleDistrict, api_client

READ = {"Authorization": "Bearer read-t0ken"}
BASE = "/api/v1/districts/cedar-ridge"
TARGET = "CR.MA.RP.2.b"


@pytest.fixture
def client(sample_district: SampleDistrict, module_db_url: str,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("CEDAR_RIDGE_API_TOKEN", "read-t0ken")
    with api_client(sample_district, module_db_url) as client:
        yield client


def _session(district: SampleDistrict) -> tenant_session:  # type: ignore[valid-type]
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    return tenant_session(district.factory, district_id)


def _student_with_both(district: SampleDistrict) -> tuple[str, dict[str, int]]:
    """A student the DOK gate holds back on TARGET, with adaptive and teacher evidence there."""
    with _session(district) as session:
        rows = session.execute(
            select(m.Student.sourced_id, m.Evidence.evidence_type, func.count())
            .join(m.Evidence, m.Evidence.student_id == m.Student.id)
            .join(m.Competency, m.Competency.id == m.Evidence.competency_id)
            .where(m.Competency.human_coding_scheme == TARGET, m.Evidence.missing.is_(False))
            .group_by(m.Student.sourced_id, m.Evidence.evidence_type)
            .order_by(m.Student.sourced_id)).all()
    by_student: dict[str, dict[str, int]] = {}
    for sis_id, etype, count in rows:
        by_student.setdefault(sis_id, {})[etype] = count
    with _session(district) as session:
        capped = set(session.scalars(
            select(m.Student.sourced_id)
            .join(m.MasteryRecord, m.MasteryRecord.student_id == m.Student.id)
            .join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id)
            .where(m.Competency.human_coding_scheme == TARGET,
                   func.cast(m.MasteryRecord.decisions, String).like("%dok_gate_capped%"))))
    for sis_id, counts in by_student.items():
        if sis_id in capped and "adaptive_practice" in counts and \
                set(counts) - {"adaptive_practice"}:
            return sis_id, counts
    raise AssertionError("no student held by the DOK gate has both kinds of evidence")


def test_adaptive_and_teacher_evidence_come_apart(client: FlaskClient,
                                                   sample_district: SampleDistrict) -> None:
    sis_id, counts = _student_with_both(sample_district)
    answer = client.get(f"{BASE}/students/{sis_id}/evidence/{TARGET}", headers=READ)
    assert answer.status_code == 200, answer.get_json()
    view = answer.get_json()
    adaptive, teacher = view["adaptive"], view["teacher"]
    assert adaptive["count"] == counts["adaptive_practice"]
    assert teacher["count"] == sum(counts.values()) - counts["adaptive_practice"]
    listed_missing = [e for e in teacher["evidence"] if e["missing"]]
    assert teacher["missing"] == len(listed_missing)
    assert all(e["label"] == "Missing" and e["value"] is None for e in listed_missing)
    assert {e["type"] for e in adaptive["evidence"]} == {"adaptive_practice"}
    assert "adaptive_practice" not in {e["type"] for e in teacher["evidence"]}
    assert adaptive["highest_dok"] <= 2  # Practice Pal's skills are DOK 1-2
    assert view["competency"]["target_dok"] == 3
    # The gate: adaptive practice cannot show DOK 3, so alone it reaches Developing at most.
    assert view["adaptive_alone"]["can_reach"] == "2"
    assert "DOK 3" in view["adaptive_alone"]["why"]
    assert view["record"]["dok_gate"] == "capped" and not view["record"]["proficient"]
    missing = client.get(f"{BASE}/students/nobody/evidence/{TARGET}", headers=READ)
    assert missing.status_code == 404 and "nobody" in missing.get_json()["message"]
    result = CliRunner().invoke(cli, ["--config-dir", str(sample_district.workspace / "config"),
                                      "--database-url", str(sample_district.factory.kw["bind"].url),
                                      "mastery", "side-by-side", sis_id, TARGET])
    assert result.exit_code == 0, result.output
    assert "adaptive evidence alone can reach: Developing" in result.output


def test_dok_exposure_shares_by_school_and_source(client: FlaskClient,
                                                  sample_district: SampleDistrict) -> None:
    answer = client.get(f"{BASE}/reports/dok-exposure?by=school", headers=READ)
    assert answer.status_code == 200
    rows = answer.get_json()["rows"]
    for row in rows:
        assert abs(sum(row["share"].values()) - 1) < 0.001
        assert sum(row["counts"].values()) == row["total"]
    with _session(sample_district) as session:
        by_source = dict(session.execute(
            select(m.SourceItem.source_system, func.count())
            .join(m.Evidence, m.Evidence.source_item_id == m.SourceItem.id)
            .where(m.Evidence.missing.is_(False))  # work not turned in is no DOK exposure
            .group_by(m.SourceItem.source_system)).all())
    gradebook = sum(r["total"] for r in rows if r["source"] == "sis-gradebook")
    assert gradebook == by_source["sis-gradebook"]  # every gradebook item belongs to a class
    practice = [r for r in rows if r["source"] == "practice-pal"]
    assert practice and {r["kind"] for r in practice} == {"adaptive"}
    assert all(r["counts"]["3"] == 0 and r["counts"]["4"] == 0 for r in practice)
    assert 0 < sum(r["total"] for r in practice) <= by_source["practice-pal"]
    assert {r["title"] for r in rows} >= {"Cedar Ridge Middle School"}
    by_class = client.get(f"{BASE}/reports/dok-exposure?by=class", headers=READ).get_json()
    assert len({r["class"] for r in by_class["rows"]}) > len({r["school"] for r in rows})
    assert client.get(f"{BASE}/reports/dok-exposure?by=teacher",
                      headers=READ).status_code == 400

