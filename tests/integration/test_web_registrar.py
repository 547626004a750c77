"""The registrar's desk in a real browser: a cohort, a preview, a PDF, a batch and its zip.

The batch is rendered the way production renders it: queued by the page, taken by
the district's scheduler (or, in the browser test, by the same function on a thread),
followed by the batch page without reloading.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from connector.config.loader import load_settings
from connector.errors import DataError
from connector.jobs.scheduler import Scheduler
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import credentials, transcript_batches
from connector.sync.stop import StopToken
from tests.browser import check_page, follow, sign_in, site_for
from tests.integration.test_tenancy import TwoDistricts, two  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def site(two: TwoDistricts) -> Iterator[str]:  # noqa: F811
    with site_for(two, [("registrar@cedar-ridge.example", "registrar", "", ""),
                        ("viewer@cedar-ridge.example", "viewer", "org-crms", "")]) as url:
        yield url


def cohort(two: TwoDistricts, school: str, grade: str) -> list[tuple[str, str, str]]:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        return [tuple(r) for r in session.execute(select(  # type: ignore[misc]
            m.Student.sourced_id, m.Student.given_name, m.Student.family_name).where(
            m.Student.school_sourced_id == school, m.Student.grade == grade)
            .order_by(m.Student.family_name, m.Student.given_name))]


def test_a_registrar_previews_downloads_and_generates_a_cohorts_transcripts(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    students = cohort(two, "org-crms", "06")
    assert len(students) >= 3
    page = sign_in(browser, site, "registrar@cedar-ridge.example", "/districts/cedar-ridge/")
    follow(page.get_by_role("navigation").get_by_role("link", name="Transcripts"))
    page.select_option("select[name=school]", "org-crms")
    page.select_option("select[name=grade]", "06")
    follow(page.get_by_role("button", name="Show"))
    assert "school=org-crms" in page.url and "grade=06" in page.url  # a cohort is a URL
    assert page.locator("table.cohort caption").inner_text() == f"{len(students)} students match"
    listed = page.locator("table.cohort tbody td:nth-child(3)").all_inner_texts()
    assert listed == [sis for sis, _, _ in students]
    check_page(page, "registrar-desk")

    sis, given, family = students[0]
    follow(page.get_by_role("link", name=f"Preview the transcript of {sis}"))
    assert f"{given} {family}" in page.locator("body").inner_text()
    page.go_back()
    answer = page.request.get(f"{site}/districts/cedar-ridge/registrar/students/{sis}/transcript.pdf")
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.body())).pages)
    assert sis in text and family in text

    chosen = [sis for sis, _, _ in students[:2]]
    for pick in chosen:
        page.locator(f"input[name=student][value={pick}]").check()
    follow(page.get_by_role("button", name="Generate transcripts for the chosen students"))
    batch_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert "is queued" in page.locator(".notice").inner_text()
    assert page.locator("#batch .badge").inner_text() == "Queued"
    check_page(page, "registrar-batch-queued")
    page.evaluate("window.followed = true")
    settings = load_settings(two.config, "cedar-ridge")
    worker = threading.Thread(target=transcript_batches.run_batch,
                              args=(two.factory, settings, two.cedar, batch_id),
                              kwargs={"processes": 1})
    worker.start()
    try:
        expect(page.locator("#batch .badge")).to_have_text("Ready", timeout=60_000)
    finally:
        worker.join()
    assert page.evaluate("window.followed") is True  # followed, not reloaded
    assert "2 of 2" in page.locator("#batch").inner_text()
    check_page(page, "registrar-batch-ready")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the transcripts (zip)").click()
    with zipfile.ZipFile(Path(download.value.path())) as bundle:
        assert sorted(bundle.namelist()) == sorted(f"{s}.pdf" for s in chosen)
    with tenant_session(two.factory, two.cedar) as session:
        actors = session.scalars(select(m.AuditEvent.actor).where(
            m.AuditEvent.action == "transcripts.batch",
            m.AuditEvent.subject == f"batch:{batch_id}")).all()
    assert actors == ["user:registrar@cedar-ridge.example"]
    page.close()

    viewer = sign_in(browser, site, "viewer@cedar-ridge.example", "/districts/cedar-ridge/")
    assert viewer.get_by_role("navigation").get_by_role("link", name="Transcripts").count() == 0
    for path in ("/registrar/", f"/registrar/students/{sis}/transcript.pdf",
                 f"/registrar/batches/{batch_id}/transcripts.zip"):
        answer = viewer.goto(f"{site}/districts/cedar-ridge{path}")
        assert answer is not None and answer.status == 403, path
    viewer.close()


def test_the_scheduler_renders_a_queued_batch_once_and_a_bad_request_queues_nothing(
        two: TwoDistricts) -> None:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        for wrong, said in (([], "at least one"), (["S100001", "NOPE-1"], "NOPE-1")):
            with pytest.raises(DataError, match=said):
                transcript_batches.request_batch(session, wrong, by="test")
        before = len(transcript_batches.recent(session))
        batch_id = transcript_batches.request_batch(session, ["S100003", "S100003"], by="test")
    settings = load_settings(two.config, "cedar-ridge")
    stop, told = StopToken(), []

    def out(line: str) -> None:
        told.append(line)
        if line.startswith(f"transcripts: batch {batch_id} "):
            stop.request("the batch is done")

    def no_job(job: str, token: StopToken) -> Any:
        pytest.fail(f"the scheduler ran {job}: only the queued batch was due")

    Scheduler(two.factory, settings, stop, out=out, sleep=lambda _: False, run=no_job).serve()
    assert f"transcripts: batch {batch_id} succeeded: 1 transcripts" in told
    with tenant_session(two.factory, two.cedar) as session:
        batch = transcript_batches.find(session, batch_id)
        assert (batch.status, batch.done, batch.total) == ("succeeded", 1, 1)
        assert len(transcript_batches.recent(session)) == before + 1
        path = transcript_batches.archive(settings, batch)
    assert re.fullmatch(rf"{batch_id}\.zip", path.name)
    with zipfile.ZipFile(path) as bundle:
        assert bundle.namelist() == ["S100003.pdf"]
    again = transcript_batches.run_batch(two.factory, settings, two.cedar, batch_id)
    assert again["status"] == "succeeded" and again["done"] == 1  # rendered once, kept


def test_a_registrar_drafts_reviews_issues_and_revokes_the_official_transcript(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    sis, given, family = cohort(two, "org-jhms", "07")[0]
    page = sign_in(browser, site, "registrar@cedar-ridge.example",
                   f"/districts/cedar-ridge/registrar/?q={sis}")
    follow(page.get_by_role("link", name=f"The official transcript of {sis}"))
    assert page.locator("h1").inner_text() == f"Official transcript of {given} {family}"
    assert "No version is issued" in page.locator("main").inner_text()
    follow(page.get_by_role("button", name="Draft from today's records"))
    assert "Version 1 is drafted" in page.locator(".notice").inner_text()
    assert page.locator("table.versions tbody tr .badge").inner_text() == "Draft"
    draft = page.request.get(site + page.get_by_role("link", name="PDF of version 1")
                             .get_attribute("href"))
    assert "DRAFT" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(draft.body())).pages)
    check_page(page, "registrar-official-draft")
    follow(page.get_by_role("button", name="Mark version 1 reviewed"))
    follow(page.get_by_role("button", name="Issue version 1"))
    assert "Version 1 is issued" in page.locator(".notice").inner_text()
    assert page.locator("table.versions tbody tr .badge").inner_text() == "Issued"
    issued = page.request.get(site + page.get_by_role("link", name="PDF of version 1")
                              .get_attribute("href"))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(issued.body())).pages)
    assert "DRAFT" not in text and sis in text
    with tenant_session(two.factory, two.cedar) as session:
        stored = session.scalars(select(m.TranscriptDocument).where(
            m.TranscriptDocument.student_sis_id == sis)).one()
        assert bytes(stored.pdf or b"") == issued.body()  # the download is the frozen file
    # A signed credential is offered only once the district's signing key is in place.
    key = credentials.key_path(load_settings(two.config, "cedar-ridge"))
    credential = page.get_by_role("link", name="Signed credential of version 1")
    assert credential.count() == (1 if key.is_file() else 0)
    check_page(page, "registrar-official-issued")
    # Revoking asks for a reason (the browser holds the form until one is given).
    page.get_by_label("Reason to revoke").fill("issued to the wrong college")
    follow(page.get_by_role("button", name="Revoke version 1"))
    assert page.locator("table.versions tbody tr .badge").inner_text() == "Revoked"
    assert "issued to the wrong college" in page.locator("table.versions").inner_text()
    page.close()

    viewer = sign_in(browser, site, "viewer@cedar-ridge.example", "/districts/cedar-ridge/")
    answer = viewer.goto(f"{site}/districts/cedar-ridge/registrar/students/{sis}/")
    assert answer is not None and answer.status == 403
    viewer.close()


def test_a_registrar_drafts_reviews_and_issues_a_cohort_at_once(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    students = cohort(two, "org-crms", "08")
    assert len(students) >= 3
    (a, ga, fa), (b, gb, fb), (c, gc, fc) = students[:3]
    page = sign_in(browser, site, "registrar@cedar-ridge.example",
                   "/districts/cedar-ridge/registrar/?school=org-crms&grade=08")

    def choose(*who: tuple[str, str, str]) -> None:
        for sis, given, family in who:
            page.get_by_label(f"Choose {given} {family} ({sis})").check()

    choose((a, ga, fa), (b, gb, fb))
    follow(page.get_by_role("button", name="Draft", exact=True))
    assert "2 drafted, 0 drafted again" in page.locator(".notice").inner_text()
    assert "school=org-crms" in page.url  # back to the same cohort
    choose((a, ga, fa), (b, gb, fb), (c, gc, fc))
    follow(page.get_by_role("button", name="Issue", exact=True))  # nobody reviewed them yet
    notice = page.locator(".notice").inner_text()
    assert notice.startswith("0 issued; 3 not done") and f"{c}: no draft" in notice
    choose((a, ga, fa), (b, gb, fb))
    follow(page.get_by_role("button", name="Mark reviewed"))
    assert "2 reviewed" in page.locator(".notice").inner_text()
    choose((a, ga, fa), (b, gb, fb))
    follow(page.get_by_role("button", name="Issue", exact=True))
    assert page.locator(".notice").inner_text() == "2 issued."
    check_page(page, "registrar-cohort-issued")
    page.close()
    with tenant_session(two.factory, two.cedar) as session:
        statuses = dict(session.execute(select(
            m.TranscriptDocument.student_sis_id, m.TranscriptDocument.status).where(
            m.TranscriptDocument.student_sis_id.in_([a, b, c]))).all())
        actions = list(session.scalars(select(m.AuditEvent.action).where(
            m.AuditEvent.subject.in_([a, b]), m.AuditEvent.action.like("transcripts.%"))))
    assert statuses == {a: "issued", b: "issued"}
    assert sorted(actions) == sorted(["transcripts.draft", "transcripts.review",
                                      "transcripts.issue"] * 2)
