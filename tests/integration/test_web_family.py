"""The student and family view in a real browser, and the roster links that scope it.

A guardian is linked to a student by the roster (OneRoster users.csv
``agentSourcedIds``, which the sample fills both ways); the guardian and the student
sign in and see that student's progress in plain language, and nobody else's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from connector.config.loader import load_settings
from connector.domain import records as r
from connector.domain import roles
from connector.domain.roles import Grant
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.tenancy import tenant_session
from connector.sync import accounts, progress, staging
from connector.transcripts.service import district_today
from tests.browser import check_page, follow, sign_in, site_for
from tests.integration.test_tenancy import TwoDistricts, two  # noqa: F401  (fixture)

CHILD, OTHER, PUPIL = "S100001", "S100002", "S100003"


@pytest.fixture(scope="module")
def site(two: TwoDistricts) -> Iterator[str]:  # noqa: F811
    with site_for(two, [("parent@cedar-ridge.example", "guardian", "", f"g-{CHILD}"),
                        ("pupil@cedar-ridge.example", "student", "", PUPIL)]) as url:
        yield url


def test_the_roster_links_each_student_and_guardian_both_ways(
        two: TwoDistricts) -> None:  # noqa: F811
    guardian = [Grant(roles.GUARDIAN)]
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        links = session.execute(select(m.RosterAgent.person_sourced_id,
                                       m.RosterAgent.agent_sourced_id).where(
            m.RosterAgent.person_sourced_id.in_([CHILD, f"g-{CHILD}"]))).all()
        assert sorted(links) == [(CHILD, f"g-{CHILD}"), (f"g-{CHILD}", CHILD)]
        assert accounts.linked_students(session, f"g-{CHILD}", guardian) == [CHILD]
        assert accounts.linked_students(session, f"g-{CHILD}", [Grant(roles.TEACHER)]) == []
        assert accounts.linked_students(session, PUPIL, [Grant(roles.STUDENT)]) == [PUPIL]
        count = session.scalar(select(func.count()).select_from(m.RosterAgent))
        source = session.scalars(select(m.RosterAgent.source_system)).first()
        person = r.Person(str(source), CHILD, "student", "A", "B")
        # The student's row stops naming the guardian: the guardian's row still does.
        staging._agents(session, [person])
        assert accounts.linked_students(session, f"g-{CHILD}", guardian) == [CHILD]
        staging._agents(session, [r.Person(str(source), f"g-{CHILD}", "guardian", "A", "B")])
        assert accounts.linked_students(session, f"g-{CHILD}", guardian) == []
        staging._agents(session, [r.Person(str(source), CHILD, "student", "A", "B",
                                           agents=(f"g-{CHILD}",))])
        staging._agents(session, [r.Person(str(source), CHILD, "student", "A", "B",
                                           agents=(f"g-{CHILD}",))])  # again: nothing new
        assert session.scalar(select(func.count()).select_from(m.RosterAgent)) == count - 1
        session.rollback()


def test_a_guardian_reads_the_linked_students_progress_and_no_one_elses(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    with tenant_session(two.factory, two.cedar) as session:
        (row,) = progress.progress(session, settings, district_today(settings), [CHILD])
        records = {x["code"]: x for x in queries.student_mastery(
            session, CHILD, settings.district.scale) or []}
        child = queries.find_student(session, CHILD)
    page = sign_in(browser, site, "parent@cedar-ridge.example", "/")
    menu = page.get_by_role("navigation").get_by_role("link").all_inner_texts()
    assert menu == ["Home", "Learning progress"]  # no staff pages
    follow(page.get_by_role("navigation").get_by_role("link", name="Learning progress"))
    assert page.url.endswith(f"/family/{CHILD}/")  # the one linked student, straight away
    assert page.locator("h1").inner_text() == f"{child.given_name}'s progress"
    sections = page.locator("section.domain")
    assert sections.count() == len(row.domains)
    for n, pace in enumerate(row.domains):
        section = sections.nth(n)
        assert f"{pace.mastered} of {pace.total}" in section.locator("p.summary").inner_text()
        proficient = section.locator("table.proficient tbody th")
        codes = [t.split("\n")[0] for t in proficient.all_inner_texts()]
        assert len(codes) == pace.mastered
        assert all(records[c]["proficient"] for c in codes)
        for step in section.locator("ol.next > li").all():
            code = step.locator("strong").first.inner_text()
            assert code not in codes and not (code in records and records[code]["proficient"])
            assert "Still needed" in step.inner_text()
    check_page(page, "guardian-progress")

    for path in (f"/districts/cedar-ridge/family/{OTHER}/", f"/districts/cedar-ridge/students/{CHILD}/",
                 "/districts/cedar-ridge/classes/"):
        answer = page.goto(f"{site}{path}")
        assert answer is not None and answer.status == 403, path
    answer = page.goto(f"{site}/districts/pine-valley/family/{CHILD}/")
    assert answer is not None and answer.status == 404
    page.close()


def test_a_student_reads_her_own_progress_only(browser: Any, site: str) -> None:
    page = sign_in(browser, site, "pupil@cedar-ridge.example", "/districts/cedar-ridge/family/")
    assert page.url.endswith(f"/family/{PUPIL}/")
    assert page.get_by_role("heading", name="What to work on next").count() >= 1
    check_page(page, "student-progress")
    answer = page.goto(f"{site}/districts/cedar-ridge/family/{CHILD}/")
    assert answer is not None and answer.status == 403
    page.close()
