"""The safety hold: a push that would rewrite much of the SIS, or lower many levels, waits for a person.

A relabelled scale changes the text of every result a destination holds: the
kind of one-line mistake the hold exists for. Tested on a OneRoster CSV bundle
and on a OneRoster REST gradebook.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.cli.main import cli
from connector.config.loader import load_settings
from connector.config.model import Settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import push_review, safe_push
from connector.sync.district import ensure_district
from connector.sync.overrides import set_override
from tests.conftest import SampleDistrict, make_workspace
from tests.fakes.oneroster_server import FakeOneRoster
from tests.integration.test_push_oneroster_rest import gradebook, with_destination
from tests.integration.test_run_lifecycle import bundles, edit, result_rows

RESULTS = 8973


def relabel(data: dict[str, Any]) -> None:
    """New words for the same levels: every result's text changes, no level does."""
    for level, label in zip(data["scale"]["levels"], ("Emerging", "Progressing", "Meeting",
                                                      "Exceeding"), strict=True):
        level["label"] = label


def cli_run(workspace: Path, factory: sessionmaker[Session], *args: str) -> Any:
    url = factory.kw["bind"].url.render_as_string(hide_password=False)
    return CliRunner().invoke(cli, ["--config-dir", str(workspace / "config"),
                                    "--database-url", url, *args])


def push_runs(factory: sessionmaker[Session], settings: Settings) -> list[m.PushRun]:
    district = ensure_district(factory, settings.district)
    with tenant_session(factory, district) as session:
        return list(session.scalars(select(m.PushRun).order_by(m.PushRun.id)))


def test_a_relabelled_scale_holds_the_bundle_until_approved(
        synced_district: SampleDistrict) -> None:
    factory, workspace = synced_district.factory, synced_district.workspace
    first = synced_district.first_run
    assert first["push"][0]["held"] is None and len(bundles(workspace)) == 1  # a first push: never

    edit(workspace, "district.yaml", relabel)
    settings = load_settings(workspace / "config")
    report = definitions.run(factory, settings, "nightly-sync")
    held = report.push[0]["held"]
    assert held is not None and report.push[0]["written"] == 0
    changed = held["counts"]["update"]  # results in a state (not yet) keep their text
    assert 0.9 * RESULTS < changed <= RESULTS
    assert held["reason"] == (f"it would change or delete {changed} of the {RESULTS} records "
                              f"the destination holds ({changed / RESULTS:.0%}; the limit is "
                              f"20%)")
    assert len(bundles(workspace)) == 1  # nothing was written
    assert any(f"connector push approve {held['push_run']}" in n for n in report.notes)
    assert report.status == "succeeded_with_rejections"  # the run itself did its work
    (run,) = push_runs(factory, settings)
    assert (run.status, run.destination, run.counts["update"]) == ("held", "sis-results",
                                                                  changed)

    again = definitions.run(factory, settings, "nightly-sync")  # nothing new: the same hold
    assert again.push[0]["held"]["push_run"] == held["push_run"]
    assert len(push_runs(factory, settings)) == 1

    plan = cli_run(workspace, factory, "push", "plan", "sis-results", "--json")
    assert plan.exit_code == 0, plan.output
    shown = json.loads(plan.stdout)
    assert shown["hold"]["held"] is True and shown["summary"]["update"] == changed
    assert {c["action"] for c in shown["changes"]} == {"update"}

    approved = cli_run(workspace, factory, "push", "approve", str(held["push_run"]),
                       "--by", "it.lead")
    assert approved.exit_code == 0, approved.output
    assert f"push run {held['push_run']} to sis-results: completed; sent {changed} results" in \
        approved.output
    newest = bundles(workspace)[-1]
    assert len(bundles(workspace)) == 2 and newest.name.endswith("-delta.zip")
    assert result_rows(newest) == changed
    with zipfile.ZipFile(newest) as archive:
        assert "Meeting" in archive.read("results.csv").decode()
    (run,) = push_runs(factory, settings)
    assert (run.status, run.decided_by) == ("completed", "it.lead")
    assert definitions.run(factory, settings, "nightly-sync").changes == 0
    assert len(bundles(workspace)) == 2


def test_approving_a_plan_that_changed_since_sends_nothing_and_holds_the_new_one(
        synced_district: SampleDistrict) -> None:
    factory, workspace = synced_district.factory, synced_district.workspace
    edit(workspace, "district.yaml", relabel)
    settings = load_settings(workspace / "config")
    held = definitions.run(factory, settings, "nightly-sync").push[0]["held"]["push_run"]
    district = ensure_district(factory, settings.district)
    with tenant_session(factory, district) as session, session.begin():
        set_override(session, settings, "S100003", "CR.MA.RP.1.a", level="4", state=None,
                     reason="Portfolio review", by="t.okafor")

    decision = push_review.approve(factory, district, settings, held, actor="it.lead")
    assert decision.status == "held" and decision.held_again is not None
    assert "the plan changed since push run" in decision.message
    assert len(bundles(workspace)) == 1
    statuses = {r.id: r.status for r in push_runs(factory, settings)}
    assert statuses == {held: "superseded", decision.held_again: "held"}
    with pytest.raises(Exception, match=f"push run {held} is not held"):
        push_review.approve(factory, district, settings, held, actor="it.lead")

    discarded = cli_run(workspace, factory, "push", "discard", str(decision.held_again),
                        "--reason", "labels not agreed yet", "--by", "it.lead")
    assert discarded.exit_code == 0 and "discarded; nothing was sent" in discarded.output
    assert len(bundles(workspace)) == 1


def test_many_lowered_levels_hold_a_push_whatever_its_share(
        synced_district: SampleDistrict) -> None:
    factory, workspace = synced_district.factory, synced_district.workspace
    edit(workspace, "destinations.yaml", lambda d: d["destinations"][0].update(
        hold={"max_lowered": 10, "min_records": 1_000_000}))

    def stricter(data: dict[str, Any]) -> None:  # a cut moved by mistake: 80% -> 99%
        data["sources"][0]["score_conversion"]["cuts"][2]["min_percent"] = 99

    edit(workspace, "sources.yaml", stricter)
    report = definitions.run(factory, load_settings(workspace / "config"), "nightly-sync")
    held = report.push[0]["held"]
    assert held is not None and held["counts"]["lowered"] > 10
    assert held["reason"] == (f"it would lower the level of {held['counts']['lowered']} results "
                              f"(the limit is 10)")
    assert len(bundles(workspace)) == 1


@pytest.fixture
def sis_roster(small_sample: Path) -> Path:
    """Every result goes over HTTP in the REST test: the small sample's roster, and data."""
    return small_sample / "oneroster"


def test_a_rest_destination_is_held_the_same_way_and_approve_sends_it(
        tmp_path: Path, factory: sessionmaker[Session], sis: tuple[FakeOneRoster, str],
        small_sample: Path) -> None:
    fake, url = sis
    workspace = make_workspace(tmp_path, small_sample)
    settings = with_destination(load_settings(workspace / "config"), "gb", url)
    definitions.run(factory, settings, "nightly-sync")
    district = ensure_district(factory, settings.district)
    first = safe_push.run(factory, district, settings, "gb", actor="test")
    assert first.status == "completed" and first.counts["create"] > 400

    edit(workspace, "district.yaml", relabel)
    settings = with_destination(load_settings(workspace / "config"), "gb", url)
    definitions.run(factory, settings, "nightly-sync")
    before = gradebook(fake)
    held = safe_push.run(factory, district, settings, "gb", actor="job:nightly-sync")
    assert held.status == "held" and held.counts["update"] > 0.2 * held.counts["at_destination"]
    assert held.message.startswith("held for review: it would change or delete")
    assert gradebook(fake) == before  # the SIS was not touched

    decision = push_review.approve(factory, district, settings, held.run_id, actor="it.lead")
    assert decision.status == "completed", decision.message
    labels = {r["textScore"] for r in gradebook(fake)["results"].values()}
    assert labels & {"Emerging", "Progressing", "Meeting", "Exceeding"}
    assert not labels & {"Beginning", "Developing", "Proficient", "Advanced"}
    assert safe_push.plan(factory, district, settings, "gb").changes == ()
    statuses = [r.status for r in push_runs(factory, settings) if r.destination == "gb"]
    assert statuses == ["completed", "completed", "completed"]  # first, the hold, its send
