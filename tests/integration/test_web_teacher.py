"""A teacher's pages in a real browser: my classes, the mastery grid, a student, an override.

The teacher is the sample's grade 6 mathematics teacher at Cedar Ridge Middle; the
roster's teacher enrollments, not a list kept by hand, say which classes are hers.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from connector.config.loader import load_settings
from connector.mastery.equity import race_group, sex_group, suppressed
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.tenancy import tenant_session
from connector.sync import content_impact, evidence_views, progress
from connector.transcripts.service import district_today
from connector.web.classes import cell_code
from connector.web.reports import ATTENTION_LISTED, pace_distribution
from tests.browser import check_page, follow, sign_in, site_for
from tests.integration.test_tenancy import TwoDistricts, two  # noqa: F401  (fixture)

TEACHER = "t-crms-ma06"
CLASS = "cls-crms-ma06"


@pytest.fixture(scope="module")
def site(two: TwoDistricts) -> Iterator[str]:  # noqa: F811
    with site_for(two, [("teacher@cedar-ridge.example", "teacher", "", TEACHER),
                        ("leader@cedar-ridge.example", "school_leader", "org-crms", "")]) as url:
        yield url


def roster_classes(two: TwoDistricts) -> list[str]:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        return sorted(session.scalars(select(m.Enrollment.class_sourced_id).where(
            m.Enrollment.user_sourced_id == TEACHER, m.Enrollment.role == "teacher")))


def test_a_teacher_sees_her_classes_and_a_grid_coloured_by_level(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    page = sign_in(browser, site, "teacher@cedar-ridge.example", "/districts/cedar-ridge/")
    assert page.get_by_role("link", name="Sync status").count() == 0  # not IT's menu
    follow(page.get_by_role("navigation").get_by_role("link", name="Classes"))
    assert page.locator("h1").inner_text() == "My classes"
    listed = page.locator("tbody th a").all_inner_texts()
    assert len(listed) == len(roster_classes(two)) == 1
    check_page(page, "teacher-classes")
    follow(page.get_by_role("link", name=listed[0]))
    assert page.url.endswith(f"/classes/{CLASS}/")
    with tenant_session(two.factory, two.cedar) as session:
        grid = queries.class_grid(session, CLASS)
        subject = queries.class_subject(session, CLASS)
    assert grid is not None and grid["students"] and grid["competencies"]
    shown = [c for c in grid["competencies"] if c["competency"] in subject]
    assert 0 < len(shown) < len(grid["competencies"])  # mathematics, not English too
    assert page.locator("table.grid thead th").count() == 2 + len(shown)
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == len(grid["students"])
    first = grid["students"][0]
    cells = [(c["competency"], first["levels"][c["competency"]])
             for c in shown if c["competency"] in first["levels"]]
    competency, cell = cells[0]
    link = page.locator(f"a.cell[href$='/students/{first['student']}/competencies/{competency}']")
    assert link.inner_text().split()[0].rstrip("†") == cell_code(cell)
    assert "lv-" in (link.get_attribute("class") or "")  # a colour, and the legend names it
    legend = page.locator(".legend").inner_text()
    assert "Proficient" in legend and "Not yet" in legend
    check_page(page, "teacher-grid")

    # Sort by the proficient count, most first: the header says so to screen readers.
    follow(page.get_by_role("link", name="Proficient", exact=True))
    assert page.locator("th[aria-sort]").get_attribute("aria-sort") == "ascending"
    counts = [int(t) for t in page.locator("table.grid tbody td:nth-child(2)").all_inner_texts()]
    assert counts == sorted(counts, reverse=True)
    # Filter the columns by code: only matching competencies stay.
    code = next(c["code"] for c in shown if c["competency"] == competency)
    page.fill("input[name=competency]", code)
    follow(page.get_by_role("button", name="Show"))
    assert f"competency={code}" in page.url.replace("%2E", ".")
    headers = page.locator("table.grid thead th").all_inner_texts()
    assert all(h.startswith(code) for h in headers[2:]) and len(headers) >= 3

    # The CSV is the grid as shown.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows_read = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows_read[0][:4] == ["sis_id", "name", "grade", "proficient"]
    assert all(h.startswith(code) for h in rows_read[0][4:])
    assert len(rows_read) - 1 == len(grid["students"])
    page.goto(f"{site}/districts/cedar-ridge/classes/{CLASS}/?subjects=all")
    assert page.locator("table.grid thead th").count() == 2 + len(grid["competencies"])
    page.close()


def test_a_teacher_overrides_a_level_with_a_reason_and_sees_the_audit(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        grid = queries.class_grid(session, CLASS)
        assert grid is not None
        student = grid["students"][1]
        competency, cell = next((k, v) for k, v in student["levels"].items()
                                if v["state"] == "level" and not v["overridden"])
    scale = load_settings(two.config, "cedar-ridge").district.scale
    chosen = next(lv for lv in scale.levels if lv.code != cell["level"])
    page = sign_in(browser, site, "teacher@cedar-ridge.example",
                   f"/districts/cedar-ridge/students/{student['student']}/")
    assert page.locator("h1").inner_text() == student["name"]
    assert "Academic level and pace per domain" in page.locator("caption").first.inner_text()
    check_page(page, "teacher-student")
    follow(page.locator(f"a[href$='/competencies/{competency}']").first)
    assert page.get_by_role("heading", name="Evidence").count() == 1
    assert "Adaptive software" in page.locator("main").inner_text()
    assert page.locator("ol.steps li").count() >= 1  # the explanation, step by step
    check_page(page, "teacher-competency")

    page.select_option("select[name=choice]", f"level:{chosen.code}")
    page.get_by_role("button", name="Save override").click()  # no reason: refused, kept
    assert page.locator("#override-error").count() == 0  # the browser asks first (required)
    page.locator("#reason").evaluate("e => e.removeAttribute('required')")
    follow(page.get_by_role("button", name="Save override"))
    assert "Give a reason" in page.get_by_role("alert").inner_text()
    assert page.locator("select[name=choice]").input_value() == f"level:{chosen.code}"
    check_page(page, "teacher-override-error")

    page.fill("#reason", "Oral defence of the task showed it")
    follow(page.get_by_role("button", name="Save override"))
    assert "Override saved" in page.get_by_role("status").inner_text()
    assert page.locator("p.level strong").inner_text() == chosen.label
    trail = page.locator("table").last.locator("tbody tr").first.inner_text()
    assert "user:teacher@cedar-ridge.example" in trail and "Oral defence" in trail
    assert cell["level"] in trail  # the computed level then, kept beside it
    check_page(page, "teacher-overridden")
    with tenant_session(two.factory, two.cedar) as session:
        record = session.scalars(select(m.MasteryRecord).join(m.Student).where(
            m.Student.sourced_id == student["student"],
            m.MasteryRecord.override_id.is_not(None))).one()
        assert record.level_code == chosen.code and record.computed_level_code == cell["level"]
        actions = session.scalars(select(m.AuditEvent.action).where(
            m.AuditEvent.actor == "user:teacher@cedar-ridge.example")).all()
    assert "override.set" in actions

    page.fill("#clear_reason", "Entered on the wrong student")
    follow(page.get_by_role("button", name="Clear override"))
    assert "Override cleared" in page.get_by_role("status").inner_text()
    assert "Entered on the wrong student" in page.locator("table").last.inner_text()
    page.close()


def test_a_teacher_cannot_open_another_teachers_class_or_its_students(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        theirs = session.scalars(select(m.Enrollment.user_sourced_id).where(
            m.Enrollment.class_sourced_id == "cls-crhs-ma09",
            m.Enrollment.role == "student")).first() or session.scalars(
            select(m.Student.sourced_id).where(m.Student.school_sourced_id != "org-crms")).first()
    page = sign_in(browser, site, "teacher@cedar-ridge.example", "/districts/cedar-ridge/")
    answer = page.goto(f"{site}/districts/cedar-ridge/classes/cls-crms-ela06/")
    assert answer is not None and answer.status == 403
    assert "not one" in page.locator("main p").first.inner_text()
    if theirs:
        answer = page.goto(f"{site}/districts/cedar-ridge/students/{theirs}/")
        assert answer is not None and answer.status == 403
    page.close()


def test_a_school_leader_lists_the_schools_classes(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        expected = len(queries.class_list(session, schools=["org-crms"]))
    page = sign_in(browser, site, "leader@cedar-ridge.example", "/districts/cedar-ridge/classes/")
    assert page.locator("h1").inner_text() == "Classes"
    assert page.locator("caption").inner_text() == f"{expected} of {expected} classes"
    page.fill("input[name=q]", "Mathematics 6")
    follow(page.get_by_role("button", name="Show"))
    assert page.locator("tbody th a").all_inner_texts() == ["Mathematics 6 (CRMS)"]
    check_page(page, "leader-classes")
    page.close()


def test_a_school_leader_reads_the_dok_chart_of_the_school_only(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    with tenant_session(two.factory, two.cedar) as session:
        every = evidence_views.dok_exposure(session, settings, "school")
    mine = [r for r in every if r["school"] == "org-crms"]
    assert mine and len(mine) < len(every)  # another school's rows exist, and stay hidden
    page = sign_in(browser, site, "leader@cedar-ridge.example", "/districts/cedar-ridge/")
    follow(page.get_by_role("navigation").get_by_role("link", name="DOK exposure"))
    chart = page.get_by_role("img", name=re.compile("^Share of evidence at each DOK level"))
    assert chart.count() == 1 and chart.evaluate("e => e.tagName") == "svg"
    body = page.locator("table.dok tbody tr")
    assert body.count() == len(mine)
    first = body.first.locator("td").all_inner_texts()
    assert first[0] == str(mine[0]["total"])
    assert first[1:] == [f"{mine[0]['share'].get(k, 0) * 100:.0f}%"
                         for k in ("1", "2", "3", "4", "unknown")]
    check_page(page, "leader-dok-exposure")
    follow(page.get_by_role("link", name="class", exact=True))
    assert "by=class" in page.url and page.locator("table.dok tbody tr").count() >= 1
    page.close()


def test_progress_shows_pace_per_domain_and_who_needs_attention_by_teacher(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    with tenant_session(two.factory, two.cedar) as session:
        school = queries.report_students(session, schools=["org-crms"])
        taught = queries.report_students(session, schools=["org-crms"], teacher=TEACHER)
        rows = [r.as_dict() for r in progress.progress(session, settings,
                                                       district_today(settings), school)]
    assert len(school) >= 10 > len(taught) > 0  # the sample: a school, and a small class
    page = sign_in(browser, site, "leader@cedar-ridge.example", "/districts/cedar-ridge/")
    follow(page.get_by_role("navigation").get_by_role("link", name="Progress"))
    assert page.get_by_role("img", name="Students by pace in each domain").count() == 1
    counted = page.locator("table.pace tbody tr")
    labels, counts = pace_distribution(rows)
    assert counted.count() == len(counts)
    first = counted.first.locator("td").all_inner_texts()
    assert first == [str(counts[sorted(counts)[0]].get(label, 0)) for label in labels]
    flagged = [r for r in rows if r["exceptions"]]
    assert page.locator("table.exceptions caption").inner_text() == \
        f"{len(flagged)} of {len(school)} students stalled, slowing or behind"
    listed = page.locator("table.exceptions tbody th small").all_inner_texts()
    assert listed == sorted(r["student"] for r in flagged)[:ATTENTION_LISTED]
    assert (f"The first {ATTENTION_LISTED} of {len(flagged)} are listed"
            in page.locator("main").inner_text()) == (len(flagged) > ATTENTION_LISTED)
    # The download lists every one, with the reasons the page gives.
    download = page.get_by_role("link", name="Download every student needing attention (CSV)")
    answer = page.request.get(site + (download.get_attribute("href") or ""))
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(answer.text())))
    assert lines[0] == ["student", "name", "grade", "as_of", "reasons"]
    assert {(row[0], row[4]) for row in lines[1:]} == {
        (r["student"], "; ".join(r["exceptions"])) for r in flagged}
    check_page(page, "leader-progress")

    # One teacher's students: too few to count, so nothing is drawn or counted.
    page.select_option("select[name=teacher]", TEACHER)
    follow(page.get_by_role("button", name="Show"))
    assert f"teacher={TEACHER}" in page.url
    assert page.get_by_role("img").count() == 0 and page.locator("table.pace").count() == 0
    assert f"{len(taught)} students match: fewer than 10" in page.get_by_role("note").inner_text()
    check_page(page, "leader-progress-suppressed")
    answer = page.goto(f"{site}/districts/cedar-ridge/reports/progress?as_of=someday")
    assert answer is not None and answer.status == 400
    assert "As of" in page.locator("main p").first.inner_text()
    page.goto(f"{site}/districts/cedar-ridge/reports/progress?as_of=2026-01-15")
    assert page.locator("input[name=as_of]").input_value() == "2026-01-15"
    assert "as of 2026-01-15" in page.locator("main p").first.inner_text()
    page.close()


def test_the_equity_view_counts_large_groups_and_hides_small_ones_everywhere(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session:
        rows = session.execute(select(m.Student.school_sourced_id, m.StudentDemographics.sex,
                                      m.StudentDemographics.races,
                                      m.StudentDemographics.hispanic_or_latino).outerjoin(
            m.StudentDemographics, m.Student.id == m.StudentDemographics.student_id)).all()

    # At the district's minimum (10), one school by race and ethnicity has only small
    # groups: nothing is drawn or counted, on the page or in the download.
    minimum = load_settings(two.config, "cedar-ridge").district.reports.min_group
    races = Counter(race_group(list(r or []), h) for school, _, r, h in rows
                    if school == "org-crms")
    assert suppressed(dict(races), minimum) == set(races)
    page = sign_in(browser, site, "leader@cedar-ridge.example", "/districts/cedar-ridge/")
    follow(page.get_by_role("navigation").get_by_role("link", name="Equity"))
    assert page.locator("table.equity").count() == 0 and page.get_by_role("img").count() == 0
    assert "No group is large enough" in page.locator("main").inner_text()
    check_page(page, "leader-equity-suppressed")
    lines = page.request.get(page.url + "?format=csv").text().splitlines()
    assert len(lines) == 1  # the download hides them too
    page.close()

    # A district that sets its minimum lower (reports.min_group: 5) sees more groups.
    config = two.config.parent / "config-min-group-5"
    if not config.exists():
        shutil.copytree(two.config, config)
        yaml_file = config / "districts" / "cedar-ridge" / "district.yaml"
        yaml_file.write_text(yaml_file.read_text().replace("min_group: 10", "min_group: 5"))
    lower = dataclasses.replace(two, config=config)
    sizes = Counter(sex_group(sex) for _, sex, _, _ in rows)
    hidden = suppressed(dict(sizes), 5)
    assert set(sizes) - hidden, "groups large enough to show at 5"
    with site_for(lower, [("equity5@cedar-ridge.example", "district_admin", "", "")]) as other:
        page = sign_in(browser, other, "equity5@cedar-ridge.example",
                       "/districts/cedar-ridge/reports/equity?by=sex")
        assert "fewer than 5 students" in page.get_by_role("note").inner_text()
        shown = page.locator("table.equity tbody tr")
        groups = {shown.nth(i).locator("th").inner_text():
                  int(shown.nth(i).locator("td").first.inner_text())
                  for i in range(shown.count())}
        assert groups == {g: n for g, n in sizes.items() if g not in hidden}
        assert page.get_by_role("img", name=re.compile("^Share of domain places")).count() == 1
        check_page(page, "admin-equity-by-sex")
        lines = page.request.get(page.url + "&format=csv").text().splitlines()
        assert lines[0].startswith("sex,students,") and len(lines) == 1 + len(groups)
        assert {line.split(",")[0] for line in lines[1:]} == set(groups)
        page.close()


def test_a_school_leader_reads_content_impact_for_the_school_saying_it_is_no_cause(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    named = content_impact.providers(settings)
    assert named, "the sample has an adaptive provider"
    e, r, i = m.Evidence, m.RawScore, m.SourceItem
    with tenant_session(two.factory, two.cedar) as session:
        used = session.execute(select(e.student_id, e.id).join(r, r.id == e.raw_score_id)
                               .join(i, i.id == r.source_item_id).join(
            m.Student, m.Student.id == e.student_id).where(
            i.source_system.in_(sorted(named)), m.Student.school_sourced_id == "org-crms")).all()
    students, pieces = len({s for s, _ in used}), len(used)
    page = sign_in(browser, site, "leader@cedar-ridge.example", "/districts/cedar-ridge/")
    follow(page.get_by_role("navigation").get_by_role("link", name="Content impact"))
    assert "association, not cause" in page.get_by_role("note").inner_text()
    body = page.locator("table.content tbody tr")
    if students >= settings.district.reports.min_group:
        assert body.count() == len(named)  # its own school only, one row per provider
        cells = body.first.locator("td").all_inner_texts()
        assert cells[0] == "Cedar Ridge Middle School"
        assert (int(cells[1]), int(cells[2])) == (students, pieces)
    else:
        assert body.count() == 0
    check_page(page, "leader-content-impact")
    follow(page.get_by_role("button", name="Show"))
    page.select_option("select[name=by]", "class")
    follow(page.get_by_role("button", name="Show"))
    assert "by=class" in page.url
    page.close()
