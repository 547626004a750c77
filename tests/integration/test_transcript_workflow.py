"""Official transcripts: drafted, reviewed, issued, re-issued and revoked, each version kept.

Through the service (with an injected clock), the CLI and the API, on both stores.
The district is the small sample; an override changes a record between versions,
the way a late piece of evidence or a teacher's judgement would.
"""

from __future__ import annotations

import hashlib
import io
import json
import stat
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import select

from connector.app import create_app
from connector.cli.main import cli
from connector.config.loader import load_settings
from connector.config.model import DeliveryTarget, JobConfig
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import accounts, api_tokens, audit, credentials, overrides, transcript_delivery
from connector.sync import transcript_documents as docs
from connector.sync.student_records import export_student, purge_student
from connector.transcripts import status_list
from connector.transcripts import workflow as wf
from tests.fakes.sftp_server import serve_sftp
from tests.integration.test_tenancy import TwoDistricts, two  # noqa: F401  (fixture)

T0 = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


def _text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def _students(two: TwoDistricts, school: str = "org-crms") -> list[str]:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        return list(session.scalars(select(m.Student.sourced_id).where(
            m.Student.school_sourced_id == school).order_by(m.Student.sourced_id)))


def _a_record(session: object, sis_id: str) -> tuple[str, str]:
    """A competency the student has a level in, and a different level to override it to."""
    row = session.execute(  # type: ignore[attr-defined]
        select(m.Competency.identifier, m.MasteryRecord.level_code)
        .join(m.MasteryRecord, m.MasteryRecord.competency_id == m.Competency.id)
        .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
        .where(m.Student.sourced_id == sis_id, m.MasteryRecord.state == "level")
        .order_by(m.Competency.identifier)).first()
    assert row is not None
    return row[0], "1" if row[1] != "1" else "4"


def test_a_transcript_is_drafted_reviewed_issued_reissued_and_revoked(
        two: TwoDistricts) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    sis = _students(two)[0]
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        [made] = docs.draft(session, settings, [sis], by="user:registrar", now=T0)
        assert made.outcome == "drafted" and made.document is not None
        first = made.document
        assert (first.version, first.status, first.pdf) == (1, wf.DRAFT, None)
        assert "DRAFT" in _text(docs.pdf_of(first))
        # Drafting again from the same records is the same draft.
        [again] = docs.draft(session, settings, [sis], by="user:registrar",
                             now=T0 + timedelta(days=1))
        assert again.outcome == "unchanged" and again.document is first
        with pytest.raises(wf.WorkflowError, match="review it before issuing"):
            docs.issue(session, settings, first, by="user:registrar", now=T0)
        docs.review(session, first, by="user:counsellor", now=T0 + timedelta(minutes=5))
        issued_at = T0 + timedelta(hours=1)
        docs.issue(session, settings, first, by="user:registrar", now=issued_at)
        frozen_pdf, frozen_hash = bytes(first.pdf or b""), first.pdf_sha256
    assert hashlib.sha256(frozen_pdf).hexdigest() == frozen_hash
    text = _text(frozen_pdf)
    assert "DRAFT" not in text and sis in text
    meta = PdfReader(io.BytesIO(frozen_pdf)).metadata
    assert meta is not None and meta.creation_date == issued_at  # a true creation date

    with tenant_session(two.factory, two.cedar) as session, session.begin():
        first = docs.latest(session, sis)
        assert docs.intact(first) and first.snapshot["transcript"]["issued_on"] == "2026-12-03"
        assert (first.status, first.issued_by, first.reviewed_by) == (
            wf.ISSUED, "user:registrar", "user:counsellor")
        # Records unchanged since the issue: no new draft.
        [same] = docs.draft(session, settings, [sis], by="user:registrar", now=T0)
        assert same.outcome == "unchanged" and "issued in version 1" in same.note
        # A teacher's judgement changes a level: the next draft is version 2.
        competency, level = _a_record(session, sis)
        overrides.set_override(session, settings, sis, competency, level=level,
                               reason="portfolio defence", by="teacher:t-crms-ma06")
        [second_made] = docs.draft(session, settings, [sis], by="user:registrar",
                                   now=T0 + timedelta(days=2))
        second = second_made.document
        assert second is not None and (second.version, second.status) == (2, wf.DRAFT)
        docs.review(session, second, by="user:registrar")
        with pytest.raises(wf.WorkflowError, match="needs a reason"):
            docs.issue(session, settings, second, by="user:registrar")
        docs.issue(session, settings, second, by="user:registrar", reason="teacher override",
                   now=T0 + timedelta(days=2, hours=1))
        first = docs.find(session, first.id)
        assert (first.status, first.reason, second.supersedes_id) == (
            wf.SUPERSEDED, "teacher override", first.id)
        # The superseded version stays readable, byte for byte as it was issued.
        assert docs.pdf_of(first) == frozen_pdf and docs.intact(first)
        assert second.status_index is not None and second.status_index != first.status_index
        with pytest.raises(wf.WorkflowError, match="needs a reason"):
            docs.revoke(session, second, by="user:registrar", reason=" ")
        docs.revoke(session, second, by="user:registrar", reason="sent to the wrong college")
        assert second.status == wf.REVOKED and docs.intact(second)
        actions = [e["action"] for e in audit.events(session, subject=sis)
                   if e["action"].startswith("transcripts.")]
    assert actions == ["transcripts.revoke", "transcripts.reissue", "transcripts.review",
                       "transcripts.draft", "transcripts.issue", "transcripts.review",
                       "transcripts.draft"]
    with tenant_session(two.factory, two.pine) as session:
        assert docs.versions(session) == []  # another district sees none of it


def _cli(two: TwoDistricts, *args: str) -> Any:  # noqa: F811
    return CliRunner().invoke(cli, ["--config-dir", str(two.config), "--database-url",
                                    two.db_url, "--district", "cedar-ridge", *args])


def test_the_cli_drafts_a_cohort_and_issues_what_was_reviewed(two: TwoDistricts,  # noqa: F811
                                                              tmp_path: Path) -> None:
    cohort = _students(two, "org-jhms")[:3]
    drafted = _cli(two, "transcripts", "draft", *cohort, "--json")
    assert drafted.exit_code == 0, drafted.output
    assert [d["outcome"] for d in json.loads(drafted.output)["drafts"]] == ["drafted"] * 3
    reviewed = _cli(two, "transcripts", "review", *cohort[:2])
    assert reviewed.exit_code == 0, reviewed.output
    # The third is not reviewed: it is refused with the reason, the other two are issued.
    issued = _cli(two, "transcripts", "issue", *cohort, "--json")
    assert issued.exit_code == 1
    outcome = json.loads(issued.output.split("\n" + cohort[2])[0])
    assert [d["student"] for d in outcome["done"]] == cohort[:2]
    assert outcome["failed"] == [{"student": cohort[2], "reason":
                                  "version 1 is a draft: review it before issuing it"}]
    listed = json.loads(_cli(two, "transcripts", "list", "--status", "issued", "--json").output)
    assert sorted(v["student"] for v in listed["versions"]) >= sorted(cohort[:2])
    pdf = tmp_path / "issued.pdf"
    shown = _cli(two, "transcripts", "show", cohort[0], "--pdf", str(pdf), "--json")
    assert shown.exit_code == 0, shown.output
    facts = json.loads(shown.output)
    assert facts["status"] == "issued" and facts["intact"] is True
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == facts["pdf_sha256"]
    # Issuing again what is issued changes nothing; re-issuing needs a new draft.
    again = _cli(two, "transcripts", "issue", cohort[0], "--json")
    assert again.exit_code == 0, again.output
    [same] = json.loads(again.output)["done"]
    assert (same["status"], same["version"], same["pdf_sha256"], same["issued_at"]) == (
        "issued", 1, facts["pdf_sha256"], facts["issued_at"])
    no_draft = _cli(two, "transcripts", "reissue", cohort[0], "--reason", "typo")
    assert no_draft.exit_code == 1 and "transcripts reissue" in no_draft.output
    revoked = _cli(two, "transcripts", "revoke", cohort[1], "--reason", "duplicate request")
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    no_reason = _cli(two, "transcripts", "reissue", cohort[0])
    assert no_reason.exit_code == 2  # --reason is required


@pytest.fixture(scope="module")
def client(two: TwoDistricts) -> Iterator[FlaskClient]:  # noqa: F811
    app = create_app({"CONNECTOR_CONFIG_DIR": str(two.config),
                      "CONNECTOR_DATABASE_URL": two.db_url})
    yield app.test_client()
    app.extensions["connector"].engine.dispose()


def test_a_registrar_issues_through_the_api_and_gets_the_frozen_pdf(
        two: TwoDistricts, client: FlaskClient) -> None:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        accounts.create_user(session, "desk@cedar-ridge.example", name="Desk", by="test",
                             password=None)
        accounts.grant(session, "desk@cedar-ridge.example", "registrar", "", by="test")
        token = api_tokens.make_token(session, name="desk", scopes=["write"], by="test",
                                      days=None, user="desk@cedar-ridge.example").token
    auth = {"Authorization": f"Bearer {token}"}
    base = "/api/v1/districts/cedar-ridge"
    sis = _students(two)[1]
    made = client.post(f"{base}/students/{sis}/transcripts", json={}, headers=auth)
    assert made.status_code == 201, made.json
    version = made.json["transcript"]
    assert (version["status"], version["created_by"]) == ("draft", "user:desk@cedar-ridge.example")
    assert client.post(f"{base}/students/{sis}/transcripts", json={},
                       headers=auth).status_code == 200  # unchanged: the same draft
    step = f"{base}/transcripts/{version['id']}"
    refused = client.post(f"{step}/issue", json={}, headers=auth)
    assert refused.status_code == 409 and "review it" in refused.json["detail"]
    draft_pdf = client.get(f"{step}/pdf", headers=auth)
    assert draft_pdf.mimetype == "application/pdf" and "DRAFT" in _text(draft_pdf.data)
    assert client.post(f"{step}/review", json={}, headers=auth).json["status"] == "reviewed"
    issued = client.post(f"{step}/issue", json={}, headers=auth)
    assert issued.status_code == 200 and issued.json["status"] == "issued"
    pdf = client.get(f"{step}/pdf", headers=auth)
    assert hashlib.sha256(pdf.data).hexdigest() == issued.json["pdf_sha256"]
    assert "DRAFT" not in _text(pdf.data)
    listed = client.get(f"{base}/transcripts?student={sis}", headers=auth).json["versions"]
    assert [v["id"] for v in listed] == [version["id"]]
    assert client.get(f"{base}/transcripts?status=bogus", headers=auth).status_code == 400
    assert client.get(f"{base}/transcripts/99999", headers=auth).status_code == 404
    no_reason = client.post(f"{step}/revoke", json={}, headers=auth)
    assert no_reason.status_code == 409 and "reason" in no_reason.json["detail"]
    assert client.post(f"{step}/revoke", json={"reason": 5}, headers=auth).status_code == 400


def test_a_records_request_lists_the_versions_and_a_purge_removes_them(
        two: TwoDistricts) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    sis = _students(two)[-1]
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        docs.draft(session, settings, [sis], by="user:registrar", now=T0)
        exported = export_student(session, sis)
        assert [v["version"] for v in exported["transcripts"]] == [1]
        assert "snapshot" not in exported["transcripts"][0]
        report = purge_student(session, sis, actor="user:admin", reason="left the district")
        assert report.removed["transcripts"] == 1
        assert docs.versions(session, sis) == []


def test_an_issued_transcript_exports_a_clr_credential_that_verifies_until_revoked(
        two: TwoDistricts, client: FlaskClient, tmp_path: Path) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    made = _cli(two, "transcripts", "keygen")
    assert made.exit_code == 0 and "z6Mk" in made.output, made.output
    key = credentials.key_path(settings)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    kept = _cli(two, "transcripts", "keygen")
    assert "already" in kept.output and key.read_bytes() == key.read_bytes()
    sis, unissued = _students(two, "org-jhms")[-2:]
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        [drafted] = docs.draft(session, settings, [sis], by="user:registrar", now=T0)
        assert drafted.document is not None
        docs.review(session, drafted.document, by="user:registrar")
        docs.issue(session, settings, drafted.document, by="user:registrar", now=T0)
        docs.draft(session, settings, [unissued], by="user:registrar", now=T0)

    out = tmp_path / "transcript.clr.json"
    exported = _cli(two, "transcripts", "export", sis, "--out", str(out))
    assert exported.exit_code == 0, exported.output
    credential = json.loads(out.read_text(encoding="utf-8"))
    assert credential["issuer"]["id"] == "did:web:cedar-ridge.example"
    assert credential["credentialSubject"]["identifier"][0]["identityHash"] == sis
    assert len(credential["credentialSubject"]["verifiableCredential"]) >= 1
    # The official schema as published refuses nothing but the three members a VC 2.0
    # status entry must have and its draft predates (decision 0031).
    pristine = json.loads((Path(credentials.__file__).parents[1] / "transcripts" / "contexts" /
                           "clr_v2p0_clrcredential_schema_draft4.json").read_text())
    refused = [e for e in jsonschema.Draft4Validator(pristine).iter_errors(credential)]
    assert {tuple(e.path) for e in refused} == {("credentialStatus",)}
    assert "statusListIndex" in refused[0].message
    again = tmp_path / "again.json"
    _cli(two, "transcripts", "export", sis, "--out", str(again))
    assert again.read_bytes() == out.read_bytes()  # the same version: the same file

    verified = _cli(two, "transcripts", "verify", str(out), "--json")
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["valid"] is True
    tampered = tmp_path / "tampered.json"
    text = out.read_text(encoding="utf-8")
    tampered.write_text(text.replace(f'"identityHash": "{sis}"', f'"identityHash": "{sis}0"', 1),
                        encoding="utf-8")
    refused_file = _cli(two, "transcripts", "verify", str(tampered))
    assert refused_file.exit_code == 1 and "does not match" in refused_file.output
    assert "NOT valid" in refused_file.output
    broken = tmp_path / "broken.json"
    broken.write_bytes(out.read_bytes()[:-40])
    assert _cli(two, "transcripts", "verify", str(broken)).exit_code == 1

    draft_only = _cli(two, "transcripts", "export", unissued)
    assert draft_only.exit_code == 2 and "no issued transcript" in draft_only.output

    # Published for verifiers, without signing in.
    issuer_doc = client.get("/api/v1/districts/cedar-ridge/credentials/issuer")
    assert issuer_doc.status_code == 200 and issuer_doc.mimetype == "application/did+ld+json"
    assert issuer_doc.json == json.loads(_cli(two, "transcripts", "issuer-document").output)
    revoked = _cli(two, "transcripts", "revoke", sis, "--reason", "issued to the wrong student")
    assert revoked.exit_code == 0, revoked.output
    listed = client.get("/api/v1/districts/cedar-ridge/credentials/status")
    assert listed.status_code == 200 and listed.mimetype == "application/vc+ld+json"
    index = int(credential["credentialStatus"]["statusListIndex"])
    assert status_list.is_set(listed.json["credentialSubject"]["encodedList"], index)
    # A verifier elsewhere, with only the published documents, reaches the same answer.
    (tmp_path / "did.json").write_text(json.dumps(issuer_doc.json))
    (tmp_path / "status.json").write_text(json.dumps(listed.json))
    elsewhere = credentials.verify(credential, issuer_documents=[issuer_doc.json],
                                   status_lists=[listed.json])
    assert ("status", False, "revoked by the issuer") in elsewhere.checks
    after = _cli(two, "transcripts", "verify", str(out))
    assert after.exit_code == 1 and "revoked by the issuer" in after.output
    # Another district's list (its config is a copy of this one's) holds none of it.
    theirs = client.get("/api/v1/districts/pine-valley/credentials/status").json
    assert theirs["id"].endswith("/districts/pine-valley/credentials/status")
    assert not status_list.is_set(theirs["credentialSubject"]["encodedList"], index)


def test_an_issued_transcript_exports_as_pesc_xml(two: TwoDistricts, tmp_path: Path) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    sis = _students(two)[2]
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        [made] = docs.draft(session, settings, [sis], by="user:registrar", now=T0)
        assert made.document is not None
        refused = _cli(two, "transcripts", "export", sis, "--format", "pesc")
        docs.review(session, made.document, by="user:registrar")
        docs.issue(session, settings, made.document, by="user:registrar", now=T0)
        student = session.scalars(select(m.Student).where(m.Student.sourced_id == sis)).one()
    assert refused.exit_code == 2 and "no issued transcript" in refused.output
    out = tmp_path / "transcript.xml"
    done = _cli(two, "transcripts", "export", sis, "--format", "pesc", "--out", str(out),
                "--destination", "State University")
    assert done.exit_code == 0, done.output
    root = etree.fromstring(out.read_bytes())
    assert etree.QName(root).localname == "HighSchoolTranscript"
    assert root.findtext("Student/Person/SchoolAssignedPersonID") == sis
    assert root.findtext("Student/Person/Name/LastName") == student.family_name
    assert root.findtext("TransmissionData/CreatedDateTime") == "2026-12-03T16:00:00Z"
    assert root.findtext("TransmissionData/Destination/Organization/OrganizationName") == \
        "State University"
    assert root.findall(".//Proficiency")
    again = tmp_path / "again.xml"
    _cli(two, "transcripts", "export", sis, "--format", "pesc", "--out", str(again),
         "--destination", "State University")
    assert again.read_bytes() == out.read_bytes()


def test_issued_transcripts_are_delivered_once_to_a_folder_and_over_sftp(
        two: TwoDistricts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    base = load_settings(two.config, "cedar-ridge")
    sis = _students(two)[3]
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        [made] = docs.draft(session, base, [sis], by="user:registrar", now=T0)
        assert made.document is not None
        docs.review(session, made.document, by="user:registrar")
        docs.issue(session, base, made.document, by="user:registrar", now=T0)
        pdf, xml = docs.pdf_of(made.document), docs.export_pesc(base, made.document)
    (tmp_path / "remote" / "inbound").mkdir(parents=True)
    monkeypatch.setenv("SERVICE_SFTP_PASSWORD", "s3cret-pass")
    with serve_sftp(tmp_path / "remote") as service:
        (tmp_path / "known_hosts").write_text(service.known_hosts_line())
        settings = replace(base, district=replace(base.district, transcript=replace(
            base.district.transcript, delivery=(
                DeliveryTarget("registrar-share", "folder", str(tmp_path / "share")),
                DeliveryTarget("service", "sftp", "inbound", formats=("pesc",),
                               host="127.0.0.1", port=service.port, username=service.username,
                               password="${SERVICE_SFTP_PASSWORD}",
                               known_hosts=str(tmp_path / "known_hosts"))))))
        with tenant_session(two.factory, two.cedar) as session:
            first = transcript_delivery.deliver(session, settings)
        assert first.ok, first.failed
        stem = f"{sis}-v1"
        assert {f"{stem}.pdf", f"{stem}.xml"} <= set(first.sent["registrar-share"])
        assert f"{stem}.xml" in first.sent["service"] and f"{stem}.pdf" not in first.sent["service"]
        assert (tmp_path / "share" / f"{stem}.pdf").read_bytes() == pdf
        assert (tmp_path / "share" / f"{stem}.xml").read_bytes() == xml
        assert (service.root / "inbound" / f"{stem}.xml").read_bytes() == xml
        left = [p.name for p in (*(tmp_path / "share").iterdir(),
                                 *(service.root / "inbound").iterdir())]
        assert not [n for n in left if n.endswith(".part")]  # written, then renamed

        # The service takes its files away; nothing is sent twice.
        for taken in (service.root / "inbound").iterdir():
            taken.unlink()
        with tenant_session(two.factory, two.cedar) as session:
            again = transcript_delivery.deliver(session, settings)
        assert again.ok and again.sent == {"registrar-share": [], "service": []}

        with tenant_session(two.factory, two.cedar) as session, session.begin():
            docs.revoke(session, docs.latest(session, sis, wf.ISSUED), by="user:registrar",
                        reason="sent to the wrong college")
        with tenant_session(two.factory, two.cedar) as session:
            revoked = transcript_delivery.deliver(session, settings)
        assert revoked.sent == {"registrar-share": [f"{stem}.revoked.json"],
                                "service": [f"{stem}.revoked.json"]}
        notice = json.loads((service.root / "inbound" / f"{stem}.revoked.json").read_text())
        assert (notice["student"], notice["version"], notice["reason"]) == (
            sis, 1, "sent to the wrong college")
    # The service is gone: it is reported, the folder still gets what is new.
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        other = _students(two)[4]
        [made] = docs.draft(session, base, [other], by="user:registrar", now=T0)
        assert made.document is not None
        docs.review(session, made.document, by="user:registrar")
        docs.issue(session, base, made.document, by="user:registrar", now=T0)
    with tenant_session(two.factory, two.cedar) as session:
        down = transcript_delivery.deliver(session, settings)
    assert not down.ok and "could not be reached" in down.failed["service"]
    assert f"{other}-v1.pdf" in down.sent["registrar-share"]
    with tenant_session(two.factory, two.cedar) as session:
        waiting = transcript_delivery.outgoing(session, settings, settings.district.transcript
                                               .delivery[1])
    assert [f.name for f in waiting] == [f"{other}-v1.xml"]  # sent when the service is back

    # Unattended: a delivery job, whose failed target is the run's error (and its alert).
    job = JobConfig("deliver-transcripts", "delivery", None)
    scheduled = replace(settings, jobs={**settings.jobs, job.key: job})
    run = definitions.run(two.factory, scheduled, job.key)
    assert any("delivery service:" in e and "could not be reached" in e for e in run.errors)
    assert "transcripts delivered: registrar-share 0 file(s), service 0 file(s)" in run.notes
