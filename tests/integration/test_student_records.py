"""``connector students export|purge``: a records request answered, and a student removed for good."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from sqlalchemy import func, select

from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import identity_links
from connector.sync.district import find_district
from tests.conftest import SampleDistrict
from tests.integration.test_mastery_cli_api import cli_run

STUDENT = "S100001"
TABLES = (m.RawScore, m.Evidence, m.MasteryRecord, m.MasteryOverride, m.StudentDemographics)


def _counts(district: SampleDistrict) -> dict[str, int]:
    district_id = find_district(district.factory, "cedar-ridge")
    with tenant_session(district.factory, district_id) as session:
        counts = {t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0
                  for t in (*TABLES, m.Student, m.Enrollment, m.PushLedger, m.IdentityLink,
                            m.RosterAgent)}
        counts["audit"] = session.scalar(select(func.count()).select_from(m.AuditEvent)) or 0
    return counts


def test_a_students_records_are_exported_then_purged_with_an_audit_entry(
        sample_district: SampleDistrict, module_db_url: str, tmp_path: Path) -> None:
    override = cli_run(sample_district, module_db_url, "mastery", "override", STUDENT,
                       "CR.MA.RP.1.a", "--level", "3", "--by", "t.teacher",
                       "--reason", "portfolio defence")
    assert override.exit_code == 0, override.output
    with tenant_session(sample_district.factory, find_district(
            sample_district.factory, "cedar-ridge")) as session, session.begin():
        identity_links.add_link(session, sample_district.settings, {
            "source": "sis-gradebook", "kind": "email", "external_id": "kid@home.example",
            "student": STUDENT}, by="it")
    out = tmp_path / "request" / f"{STUDENT}.json"
    exported = cli_run(sample_district, module_db_url, "students", "export", STUDENT,
                       "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    data = json.loads(out.read_text())
    assert data["student"]["sourced_id"] == STUDENT and data["student"]["given_name"]
    assert data["scores"] and data["evidence"] and data["mastery_records"]
    assert [o["reason"] for o in data["overrides"]] == ["portfolio defence"]
    assert data["sent_results"] and all(r["record_key"].endswith(f"|{STUDENT}")
                                        for r in data["sent_results"])
    assert {e["user_sourced_id"] for e in data["enrollments"]} == {STUDENT}
    assert [i["external_id"] for i in data["identity_links"]] == ["kid@home.example"]

    before = _counts(sample_district)
    dry = cli_run(sample_district, module_db_url, "students", "purge", STUDENT,
                  "--reason", "records request 2026-114")
    assert dry.exit_code == 0, dry.output
    assert "would remove" in dry.output and _counts(sample_district) == before

    purged = cli_run(sample_district, module_db_url, "students", "purge", STUDENT,
                     "--reason", "records request 2026-114", "--yes", "--json")
    assert purged.exit_code == 0, purged.output
    report = json.loads(purged.output)
    assert report["purged"] and report["sent"] == {"sis-results": len(data["sent_results"])}
    after = _counts(sample_district)
    # exactly this student's rows went, and no one else's
    assert before["raw_score"] - after["raw_score"] == len(data["scores"])
    assert before["mastery_record"] - after["mastery_record"] == len(data["mastery_records"])
    assert before["evidence"] - after["evidence"] == len(data["evidence"])
    assert before["student"] - after["student"] == 1
    assert before["enrollment"] - after["enrollment"] == len(data["enrollments"])
    # The guardian link, declared on both the student's and the guardian's roster rows.
    assert before["roster_agent"] - after["roster_agent"] == len(data["guardian_links"]) == 2
    assert before["push_ledger"] - after["push_ledger"] == len(data["sent_results"])
    assert after["audit"] == before["audit"] + 1
    assert before["identity_link"] - after["identity_link"] == 1 == after["identity_link"] + 1

    district_id = find_district(sample_district.factory, "cedar-ridge")
    with tenant_session(sample_district.factory, district_id) as session:
        audit = session.scalars(select(m.AuditEvent).where(
            m.AuditEvent.action == "student.purge")).one()
    assert (audit.action, audit.subject, audit.reason) == (
        "student.purge", STUDENT, "records request 2026-114")
    assert data["student"]["given_name"] not in json.dumps(audit.details)
    again = cli_run(sample_district, module_db_url, "students", "export", STUDENT)
    assert again.exit_code == 2 and f"no student with SIS id '{STUDENT}'" in again.output
