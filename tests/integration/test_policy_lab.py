"""The policy lab: its counts are those a recompute under the other policy gives, and it writes nothing.

Each case runs the lab, then really recomputes the district under the changed
settings (inside a transaction rolled back afterwards) and counts, from the records
the recompute wrote, what changed: the two must agree record for record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from connector.cli.main import cli
from connector.config.loader import load_settings
from connector.errors import DataError
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import compute, policy_lab, rollups
from tests.browser import check_page, follow, sign_in, site_for
from tests.integration.test_tenancy import TwoDistricts, two  # noqa: F401  (fixture)

CASES = [
    ({"method": "highest"}, ""),                                 # the batch engine
    ({"method": "median", "min_evidence": "1"}, ""),             # the scalar engine
    ({"dok_gate": "off"}, ""),
    ({"parameters": {"weight": "0.9"}, "min_evidence": "3"}, ""),
    ({"min_evidence": "4"}, "math-ela"),                         # one framework's policy
]


def shown(session: Any, leaves: set[int], overridden: set[tuple[int, int]]
          ) -> dict[tuple[int, int], tuple[str, str | None, bool]]:
    r = m.MasteryRecord
    return {(s, c): (state, level, bool(p)) for s, c, state, level, p in session.execute(
        select(r.student_id, r.competency_id, r.state, r.level_code, r.proficient))
        if c in leaves and (s, c) not in overridden}


@pytest.mark.parametrize(("typed", "framework"), CASES)
def test_the_labs_counts_are_what_a_recompute_under_that_policy_changes(
        two: TwoDistricts, typed: dict[str, Any], framework: str) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    with tenant_session(two.factory, two.cedar) as session:
        changes = policy_lab.changes_from_text(settings, framework=framework, **typed)
        before_count = session.scalar(select(func.count()).select_from(m.MasteryRecord))
        lab = policy_lab.run_lab(session, settings, changes, framework)
        report = policy_lab.lab_report(lab, settings)
        assert not session.new and not session.dirty and not session.deleted  # read only
        tree = rollups.hierarchy(session, settings)
        leaves = {c for c in compute.policies_by_competency(session, settings)
                  if c not in tree.rules}
        overridden = {(s, c) for s, c in session.execute(select(
            m.MasteryOverride.student_id, m.MasteryOverride.competency_id).where(
            m.MasteryOverride.cleared_at.is_(None)))}
        before = shown(session, leaves, overridden)
        session.rollback()
        with session.begin():
            compute.recompute(session, lab.settings, compute.all_pairs(session))
            session.flush()
            after = shown(session, leaves, overridden)
            session.rollback()
        assert session.scalar(select(func.count()).select_from(m.MasteryRecord)) == before_count
    nothing = ("none", None, False)
    keys = set(before) | set(after)
    moved = {k for k in keys if before.get(k, nothing)[:2] != after.get(k, nothing)[:2]}
    into = {k for k in moved if after.get(k, nothing)[2] and not before.get(k, nothing)[2]}
    out = {k for k in moved if before.get(k, nothing)[2] and not after.get(k, nothing)[2]}
    total = report["total"]
    assert total["compared"] == len(keys)
    assert (total["changed"], total["into_proficient"], total["out_of_proficient"]) == (
        len(moved), len(into), len(out))
    assert moved, "each case changes something in the sample"
    crossed = {(c["student"], c["competency"]) for c in report["crossings"]}
    assert len(crossed) == report["crossing_count"] == len(into) + len(out)
    assert len(policy_lab.lab_report(lab, settings, crossings=3)["crossings"]) == min(3, len(crossed))
    assert sum(r["changed"] for r in report["by_school"]) == len(moved)
    assert sum(r["changed"] for r in report["by_competency"]) == len(moved)


def test_a_change_that_is_no_policy_is_refused_in_a_sentence(two: TwoDistricts) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    for typed, said in (({"method": "nonsense"}, "nonsense"),
                        ({"min_evidence": "two"}, "whole number"),
                        ({"min_evidence": "0"}, "min_evidence"),
                        ({"dok_gate": "maybe"}, "on or off"),
                        ({"method": "mean", "framework": "nope"}, "no framework")):
        with pytest.raises(DataError, match=said):
            framework = typed.pop("framework", "")
            changes = policy_lab.changes_from_text(settings, framework=framework, **typed)
            policy_lab.with_change(settings, changes, framework)
    with pytest.raises(DataError, match="choose something"):
        policy_lab.with_change(settings, {})


def test_compare_policies_on_the_command_line(two: TwoDistricts) -> None:  # noqa: F811
    env = {"CONNECTOR_CONFIG_DIR": str(two.config), "CONNECTOR_DATABASE_URL": two.db_url}
    ran = CliRunner().invoke(cli, ["--district", "cedar-ridge", "mastery", "compare-policies",
                                   "--method", "highest", "--crossings"], env=env)
    assert ran.exit_code == 0, ran.output
    assert "Changing the district policy: method decaying_average -> highest" in ran.output
    assert "would become proficient" in ran.output and "S1000" in ran.output
    refused = CliRunner().invoke(cli, ["--district", "cedar-ridge", "mastery",
                                       "compare-policies", "--min-evidence", "x"], env=env)
    assert refused.exit_code != 0 and "whole number" in refused.output


@pytest.fixture(scope="module")
def site(two: TwoDistricts) -> Iterator[str]:  # noqa: F811
    with site_for(two, [("admin@cedar-ridge.example", "district_admin", "", ""),
                        ("it@cedar-ridge.example", "it", "", "")]) as url:
        yield url


def test_a_district_admin_compares_a_policy_in_the_browser(
        browser: Any, site: str, two: TwoDistricts) -> None:  # noqa: F811
    settings = load_settings(two.config, "cedar-ridge")
    with tenant_session(two.factory, two.cedar) as session:
        expected = policy_lab.lab_report(policy_lab.run_lab(
            session, settings, policy_lab.changes_from_text(settings, method="highest")), settings)
    page = sign_in(browser, site, "admin@cedar-ridge.example", "/districts/cedar-ridge/")
    follow(page.get_by_role("navigation").get_by_role("link", name="Policy lab"))
    assert "Now: decaying_average" in page.locator("main").inner_text()
    page.select_option("select[name=method]", "highest")
    follow(page.get_by_role("button", name="Compare"))
    assert "method=highest" in page.url  # a comparison is a URL to share
    totals = page.locator("ul.totals").inner_text()
    t = expected["total"]
    assert f"{t['changed']} of {t['compared']} records would change level" in totals
    assert f"{t['into_proficient']} would become proficient" in totals
    rows = page.locator("table.crossings tbody tr")
    assert rows.count() == min(expected["crossing_count"], 200) or not expected["crossing_count"]
    assert f"{expected['crossing_count']} records would cross Proficient" in \
        page.locator("table.crossings caption").inner_text()
    check_page(page, "admin-policy-lab")
    answer = page.goto(f"{site}/districts/cedar-ridge/policy-lab?parameters=weight")
    assert answer is not None and answer.status == 400
    assert "NAME=VALUE" in page.get_by_role("alert").inner_text()
    page.close()
    it = sign_in(browser, site, "it@cedar-ridge.example", "/districts/cedar-ridge/")
    assert it.get_by_role("navigation").get_by_role("link", name="Policy lab").count() == 0
    answer = it.goto(f"{site}/districts/cedar-ridge/policy-lab?method=highest")
    assert answer is not None and answer.status == 403
    it.close()
