"""The IT console in a real browser: sign in, see each job's state, run one now.

Pages are read as people read them: by their headings, table rows and buttons, through
Playwright driving chromium against the app served on loopback.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.tenancy import tenant_session
from connector.sync import identity_links, stored_crosswalk
from connector.sync.report import QUEUED
from tests.browser import check_page, follow, sign_in, site_for
from tests.integration.test_tenancy import TwoDistricts, two  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def site(two: TwoDistricts) -> Iterator[str]:  # noqa: F811
    with site_for(two, [("it@cedar-ridge.example", "it", "", ""),
                        ("viewer@cedar-ridge.example", "viewer", "org-crms", "")]) as url:
        yield url


def queued_id(two: TwoDistricts) -> int:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        found = session.scalars(select(m.SyncRun.id).where(m.SyncRun.status == QUEUED)).one()
    return int(found)


def test_it_staff_see_every_jobs_state_and_queue_a_run(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    page = sign_in(browser, site, "it@cedar-ridge.example", "/districts/cedar-ridge/console/")
    assert page.url.endswith("/districts/cedar-ridge/console/")
    assert page.locator("h1").inner_text() == "Sync status"
    assert page.get_by_role("link", name="Sync status").get_attribute("aria-current") == "page"
    check_page(page, "it-sync-status")
    row = page.locator("#job-nightly-sync")
    assert row.locator(".badge").all_inner_texts() in (["Succeeded"], ["With rejections"])
    with tenant_session(two.factory, two.cedar) as session:
        last = session.scalars(select(m.SyncRun).where(m.SyncRun.job == "nightly-sync")
                               .order_by(m.SyncRun.id.desc())).first()
        assert last is not None
    assert f"run {last.id}" in row.inner_text()
    assert str(last.rejection_count) in row.locator("td").nth(4).inner_text()

    follow(row.get_by_role("button", name="Run now"))
    run_id = queued_id(two)
    assert page.url.endswith(f"/console/runs/{run_id}")  # the run's page, to follow it
    assert "is queued" in page.locator(".notice").inner_text()
    assert page.locator("#run .badge").first.inner_text() == "Queued"
    assert "Waiting for the scheduler" in page.locator("#run [role=status]").inner_text()
    check_page(page, "it-run-queued")
    with tenant_session(two.factory, two.cedar) as session:
        queued = session.scalars(select(m.SyncRun).where(
            m.SyncRun.job == "nightly-sync", m.SyncRun.status == QUEUED)).all()
        events = session.scalars(select(m.AuditEvent.actor).where(
            m.AuditEvent.action == "job.run_now")).all()
    assert len(queued) == 1 and "user:it@cedar-ridge.example" in events

    follow(page.get_by_role("link", name="Sync status").first)
    badges = page.locator("#job-nightly-sync .badge").all_inner_texts()
    assert badges[0] in ("Succeeded", "With rejections")  # the last run's, still
    assert badges[1] == f"Run {run_id} queued"
    follow(page.locator("#job-nightly-sync").get_by_role("button"))  # asking twice: one run
    assert "already waiting" in page.locator(".notice").inner_text()
    assert page.url.endswith(f"/console/runs/{run_id}")

    # The scheduler's part, as it does it: the queued run, run as itself. The page
    # follows it without being reloaded (the marker set on it survives).
    page.evaluate("window.followed = true")
    settings = load_settings(two.config, "cedar-ridge")
    worker = threading.Thread(target=definitions.run, args=(two.factory, settings,
                                                            "nightly-sync"),
                              kwargs={"run_id": run_id})
    worker.start()
    try:
        expect(page.locator("#run .badge").first).to_have_text(
            re.compile("^(Succeeded|With rejections)$"), timeout=120_000)
    finally:
        worker.join()
    assert page.evaluate("window.followed") is True
    stages = page.locator("#run table").first.locator("tbody th").all_inner_texts()
    assert "mastery" in stages and any(s.startswith("source ") for s in stages)
    assert page.locator("#run [role=status]").count() == 0  # finished: no longer followed
    check_page(page, "it-run-finished")
    page.close()


def test_a_viewer_has_no_console_and_is_told_why(browser: Any, site: str) -> None:
    page = sign_in(browser, site, "viewer@cedar-ridge.example", "/")
    assert page.url.endswith("/districts/cedar-ridge/")
    assert page.get_by_role("link", name="Sync status").count() == 0
    check_page(page, "viewer-home")
    answer = page.goto(f"{site}/districts/cedar-ridge/console/")
    assert answer is not None and answer.status == 403
    policy = answer.headers["content-security-policy"]  # every page, refusals included
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.locator("h1").inner_text() == "You may not see this page"
    assert "runs.read" in page.locator("main p").first.inner_text()
    check_page(page, "viewer-refused")
    other = page.goto(f"{site}/districts/pine-valley/console/")
    assert other is not None and other.status == 404
    page.close()


def test_a_run_page_shows_stages_and_the_rejections_filtered_and_as_csv(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        run = session.scalars(select(m.SyncRun).where(
            m.SyncRun.job == "nightly-sync", m.SyncRun.status != QUEUED)
            .order_by(m.SyncRun.id)).first()
        assert run is not None
        fields = [f for f in session.scalars(select(m.SyncRejection.field).where(
            m.SyncRejection.run_id == run.id))]
    assert fields, "the sample's nightly run rejects some rows"
    page = sign_in(browser, site, "it@cedar-ridge.example",
                   f"/districts/cedar-ridge/console/runs/{run.id}")
    assert page.locator("h1").inner_text() == f"Run {run.id} of nightly-sync"
    stages = page.locator("table").first.locator("tbody th").all_inner_texts()
    assert "mapping" in stages and "mastery" in stages
    table = page.locator("table.rejections tbody tr")
    assert table.count() == min(len(fields), 200)
    assert f"({len(fields)} in all)" in page.locator("main").inner_text()
    check_page(page, "it-run-rejections")

    field = max(set(fields), key=fields.count)
    page.select_option("select[name=field]", field)
    follow(page.get_by_role("button", name="Filter"))
    assert f"field={field}" in page.url  # a filtered view is a URL to share
    shown = page.locator("table.rejections tbody tr td:nth-child(3)").all_inner_texts()
    assert shown and set(shown) == {field} and len(shown) == min(fields.count(field), 200)
    page.fill("input[name=q]", "no reason says this")
    follow(page.get_by_role("button", name="Filter"))
    assert page.locator("table.rejections tbody").inner_text().strip() == "No rejection matches."

    with page.expect_download() as download:
        page.get_by_role("link", name="Download every rejection as CSV").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "file,row,field,reason,record" and len(lines) == len(fields) + 1
    assert page.goto(f"{site}/districts/cedar-ridge/console/runs/999999").status == 404
    page.close()


def test_it_staff_resolve_an_unmatched_student_from_the_identity_queue(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        pending = [e for e in queries.identity_exceptions(session) if e["kind"]]
        student, family = session.execute(select(
            m.Student.sourced_id, m.Student.family_name).order_by(m.Student.sourced_id)).first()
    # The sample's adaptive export names a student the roster lacks; every run of the
    # job (the board test's too) meets it again until it is linked.
    assert [e["external_id"] for e in pending] == ["S999999"]
    first = pending[0]
    label = f"Link {first['kind']} {first['external_id']}"
    page = sign_in(browser, site, "it@cedar-ridge.example", "/districts/cedar-ridge/")
    follow(page.get_by_role("navigation").get_by_role("link", name="Identity queue"))
    assert page.locator("h1").inner_text() == "Identity queue"
    row = page.locator("table.queue tbody tr").filter(has_text=first["external_id"]).first
    row.get_by_label("SIS id").fill("S000000")  # no such student: said beside the field
    follow(row.get_by_role("button", name=label))
    field = page.locator("input[aria-invalid=true]")
    assert field.count() == 1
    assert "no student with SIS id 'S000000'" in page.locator("p.error").inner_text()
    check_page(page, "it-identity-queue-error")

    # The person finds the student by name, and picks them: the SIS id fills itself in.
    page.fill("input[name=who]", family.upper())
    follow(page.get_by_role("button", name="Find"))
    assert str(student) in page.locator("table.people").inner_text()
    follow(page.get_by_role("link", name=f"Use {student}"))
    row = page.locator("table.queue tbody tr").filter(has_text=first["external_id"]).first
    assert row.get_by_label("SIS id").input_value() == student
    check_page(page, "it-identity-queue-found")
    follow(row.get_by_role("button", name=label))
    assert "next run" in page.get_by_role("status").inner_text()
    row = page.locator("table.queue tbody tr").filter(has_text=first["external_id"]).first
    assert f"Linked to {student}" in row.inner_text()
    with tenant_session(two.factory, two.cedar) as session:
        links = identity_links.list_links(session)
        trail = session.scalars(select(m.AuditEvent.actor).where(
            m.AuditEvent.action == "identity.link")).all()
    assert [(x["source"], x["external_id"], x["student"]) for x in links] == [
        (first["source"], first["external_id"], student)]
    assert "user:it@cedar-ridge.example" in trail

    page.get_by_label("Reason").fill("linked to test the page")
    follow(page.get_by_role("button", name=f"Remove link {links[0]['id']}"))
    assert "removed" in page.get_by_role("status").inner_text()
    page.close()


def test_it_staff_map_unmapped_items_to_a_competency_found_by_code(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        waiting = queries.unmapped_items(session)
        target = session.scalars(select(m.Competency).where(
            m.Competency.human_coding_scheme == "CR.MA.RP.1.a")).one()
    assert waiting, "the sample has items no rule aligns"
    item = waiting[0]
    choose = f"Choose {item['title'] or item['item']} ({item['source']} {item['item']})"
    page = sign_in(browser, site, "it@cedar-ridge.example", "/districts/cedar-ridge/")
    follow(page.get_by_role("navigation").get_by_role("link", name="Mapping queue"))
    page.fill("input[name=q]", "CR.MA.RP.1")
    follow(page.get_by_role("button", name="Search"))
    found = page.locator("table.found tbody tr")
    assert found.count() >= 1 and "CR.MA.RP.1.a" in found.all_inner_texts()[0] + \
        " ".join(found.all_inner_texts())
    assert str(target.target_dok or "—") in page.locator("table.found").inner_text()
    check_page(page, "it-mapping-queue")

    page.get_by_label(choose).check()
    page.fill("input[name=competency]", "CR.NOPE.1")  # a code no framework has
    follow(page.get_by_role("button", name="Map the chosen items"))
    assert page.locator("input[name=competency][aria-invalid=true]").count() == 1
    assert "CR.NOPE.1" in page.locator("#map-error").inner_text()
    assert page.get_by_label(choose).is_checked()
    check_page(page, "it-mapping-queue-error")

    follow(page.get_by_role("link", name="Use CR.MA.RP.1.a"))
    assert page.locator("input[name=competency]").input_value() == "CR.MA.RP.1.a"
    page.get_by_label(choose).check()
    follow(page.get_by_role("button", name="Map the chosen items"))
    assert "count as aligned after the next run" in page.get_by_role("status").inner_text()
    with tenant_session(two.factory, two.cedar) as session:
        entries = stored_crosswalk.list_entries(session)
        actors = session.scalars(select(m.AuditEvent.actor).where(
            m.AuditEvent.action == "crosswalk.add")).all()
    assert [(e["source"], e["item"], e["competency"]) for e in entries] == [
        (item["source"], item["item"], target.identifier)]
    assert actors == ["user:it@cedar-ridge.example"]

    report = definitions.run(two.factory, load_settings(two.config, "cedar-ridge"),
                             "nightly-sync")
    assert report.errors == []
    page.reload()
    assert item["item"] not in page.locator("table.unmapped").inner_text() \
        if page.locator("table.unmapped").count() else True
    with tenant_session(two.factory, two.cedar) as session:
        assert (item["source"], item["item"]) not in {
            (i["source"], i["item"]) for i in queries.unmapped_items(session)}
    page.close()


def test_it_staff_see_each_systems_settings_masked_and_test_its_connection(
        browser: Any, site: str, two: TwoDistricts,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(two.config, "cedar-ridge")
    source = next(iter(settings.sources))
    page = sign_in(browser, site, "it@cedar-ridge.example", "/districts/cedar-ridge/")
    follow(page.get_by_role("navigation").get_by_role("link", name="Sources and destinations"))
    sections = page.locator("section.system")
    assert sections.count() == len(settings.sources) + len(settings.destinations)
    check_page(page, "it-systems")
    mine = page.locator(f"#system-{source}")
    follow(mine.get_by_role("button", name="Test connection"))
    told = page.locator(f"#system-{source} [role=status]").inner_text()
    assert told.startswith("Connected in"), told
    check_page(page, "it-systems-tested")
    page.close()
    viewer = sign_in(browser, site, "viewer@cedar-ridge.example", "/districts/cedar-ridge/")
    answer = viewer.goto(f"{site}/districts/cedar-ridge/console/systems/")
    assert answer is not None and answer.status == 403
    viewer.close()
