"""Pushing mastery to a OneRoster 1.2 gradebook API: plan, run, verify, audit, restore.

The fake provider (tests/fakes/oneroster_server.py) holds the sample district's
roster, validates every PUT against the 1EdTech binding's schemas, checks that
references resolve, and answers with the binding's status codes and errors.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from connector.adapters.base import AdapterContext
from connector.adapters.destinations.oneroster_rest.destination import OneRosterRestOptions
from connector.adapters.destinations.records import RemoteRecord
from connector.adapters.sources.oneroster_rest import OneRosterRestSource
from connector.cli.main import cli
from connector.config.model import DestinationConfig, Settings
from connector.config.secrets import resolve_secret
from connector.domain import records as r
from connector.errors import BusyError
from connector.persistence import models as m
from connector.persistence.locks import exclusive
from connector.persistence.tenancy import tenant_session
from connector.sync import safe_push
from connector.sync.district import ensure_district
from connector.sync.overrides import clear_override, set_override
from connector.sync.push_diff import RESOURCE_ORDER, diff
from tests.conftest import ROOT, SampleDistrict, _store, make_workspace
from tests.fakes.oneroster_seed import rest_objects
from tests.fakes.oneroster_server import GRADEBOOK, FakeOneRoster

SAMPLE = ROOT / "examples" / "sample-district" / "oneroster"
ROSTER = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")


@pytest.fixture(scope="module", params=["sqlite"])
def module_db_url(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """These pushes run on the embedded store; the Ed-Fi push tests run the same engine on
    PostgreSQL. One backend each keeps the suite's time in check."""
    yield from _store(request, tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def sample_district(small_district: SampleDistrict) -> SampleDistrict:
    """Every result goes over HTTP here, so the small sample: every class and line item of
    the full one, a sixth of its results."""
    return small_district


@pytest.fixture
def sis_roster(small_sample: Path) -> Path:
    return small_sample / "oneroster"


def same_sample(district: SampleDistrict) -> Path:
    """The sample a district was synced from, for another workspace over the same store."""
    return (district.workspace / "examples" / "sample-district").resolve()


def with_destination(settings: Settings, key: str, url: str, **options: Any) -> Settings:
    loaded = OneRosterRestOptions().load({
        "base_url": url, "client_id": "${SIS_CLIENT_ID}", "client_secret": "${SIS_CLIENT_SECRET}",
        "retry_delay": 0.01, **options})
    config = DestinationConfig(key, "oneroster_rest", "SIS gradebook API", loaded)
    return dataclasses.replace(settings, destinations={**settings.destinations, key: config})


def gradebook(fake: FakeOneRoster) -> dict[str, dict[str, dict[str, Any]]]:
    snapshot = fake.snapshot()
    return {name: snapshot[name] for name in GRADEBOOK}


def without_stamp(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "dateLastModified"}


def test_run_sends_exactly_the_plan_verifies_and_round_trips(
        sample_district: SampleDistrict, sis: tuple[FakeOneRoster, str]) -> None:
    fake, url = sis
    settings = with_destination(sample_district.settings, "gb-roundtrip", url)
    factory = sample_district.factory
    district = ensure_district(factory, settings.district)

    plan = safe_push.plan(factory, district, settings, "gb-roundtrip")
    assert plan.count("update") == plan.count("delete") == 0
    by_resource = plan.by_resource()
    assert by_resource["categories"]["create"] == 1
    assert by_resource["scoreScales"]["create"] == 12  # one per class that assesses competencies
    assert by_resource["results"]["create"] > 400  # 24 students, about 20 competencies each

    report = safe_push.run(factory, district, settings, "gb-roundtrip", actor="test:registrar")
    assert report.status == "completed", report.problems[:3]
    assert report.counts["create"] == len(plan.changes)

    # What went over the wire is the plan: the same records, the same bodies, parents first.
    puts = [c for c in fake.writes() if c.method == "PUT"]
    sent = {(c.path.split("/")[-2], c.path.split("/")[-1]): c.body for c in puts}
    planned = {(c.resource, c.remote_id): c.record.body for c in plan.changes if c.record}
    assert sent.keys() == planned.keys() and len(puts) == len(planned)
    for key, wrapped in sent.items():
        (inner,) = wrapped.values()
        assert without_stamp(inner) == planned[key]
    order = [RESOURCE_ORDER[c.path.split("/")[-2]] for c in puts]
    assert order == sorted(order)

    # Every record was read before (absent) and after (equal) and audited with its actor.
    with tenant_session(factory, district) as session:
        audits = list(session.scalars(select(m.PushAudit).where(
            m.PushAudit.run_id == report.run_id)))
        run = session.get(m.PushRun, report.run_id)
        assert run is not None and run.actor == "test:registrar" and run.status == "completed"
    assert len(audits) == len(planned)
    assert all(a.status == "ok" and a.before is None and a.after is not None for a in audits)

    # A second plan is empty: the ledger knows what the SIS holds.
    again = safe_push.plan(factory, district, settings, "gb-roundtrip")
    assert again.changes == () and again.unchanged == len(planned)

    # Read back through the OneRoster REST source: the same levels on the same competencies.
    source = OneRosterRestSource("readback", {
        "base_url": url, "client_id": "${SIS_CLIENT_ID}", "client_secret": "${SIS_CLIENT_SECRET}",
        "collections": ["lineItems", "results"], "page_size": 500},
        AdapterContext(lambda p: Path(p), "America/Denver",
                       lambda ref, purpose: resolve_secret(ref, purpose=purpose)))
    records = [e.record for e in source.read() if not isinstance(e, Exception)]
    scores = {s.sourced_id: s for s in records if isinstance(s, r.Score)}
    objectives = {o.score_sourced_id: o for o in records if isinstance(o, r.ScoreObjective)}
    items = {i.sourced_id: i for i in records if isinstance(i, r.SourceItem)}
    wanted = {c.remote_id: c.record.body for c in plan.changes
              if c.resource == "results" and c.record}
    assert scores.keys() == wanted.keys()
    for sourced_id, body in wanted.items():
        score = scores[sourced_id]
        assert score.score == body.get("score") and score.text_score == body["textScore"]
        assert score.status == body["scoreStatus"]
        competency = body["learningObjectiveSet"][0]["learningObjectiveResults"][0]
        assert objectives[sourced_id].learning_objective.identifier == (
            competency["learningObjectiveId"])
        item = items[score.item_sourced_id]
        assert [lo.identifier for lo in item.learning_objectives] == [
            competency["learningObjectiveId"]]


def test_restore_returns_the_sis_to_its_exact_earlier_state(
        sample_district: SampleDistrict, sis: tuple[FakeOneRoster, str]) -> None:
    fake, url = sis
    settings = with_destination(sample_district.settings, "gb-restore", url)
    factory = sample_district.factory
    district = ensure_district(factory, settings.district)
    empty = gradebook(fake)
    first = safe_push.run(factory, district, settings, "gb-restore")
    assert first.status == "completed"
    after_first = gradebook(fake)

    # A teacher override changes one student's level: the next push updates exactly that.
    plan = safe_push.plan(factory, district, settings, "gb-restore")
    assert plan.changes == ()
    result = next(b for b in after_first["results"].values() if b.get("score") == 2)
    student = result["student"]["sourcedId"]
    competency = result["learningObjectiveSet"][0]["learningObjectiveResults"][0][
        "learningObjectiveId"]
    with tenant_session(factory, district) as session, session.begin():
        set_override(session, settings, student, competency, level="4",
                     reason="portfolio defence", by="teacher:t-1")
    plan = safe_push.plan(factory, district, settings, "gb-restore")
    assert plan.count("create") == plan.count("delete") == 0
    assert plan.count("update") >= 1
    assert {c.resource for c in plan.changes} == {"results"}
    second = safe_push.run(factory, district, settings, "gb-restore")
    assert second.counts["update"] == plan.count("update")
    assert gradebook(fake) != after_first

    # Restoring the first run while the second's changes stand needs --force.
    with pytest.raises(Exception, match="restore those first"):
        safe_push.restore(factory, district, settings, first.run_id)

    undone = safe_push.restore(factory, district, settings, second.run_id, actor="test:it")
    assert undone.status == "completed" and undone.counts["restored"] == plan.count("update")
    assert gradebook(fake) == after_first  # byte for byte, dateLastModified included
    # The ledger now knows those records differ from what the district wants.
    assert safe_push.plan(factory, district, settings, "gb-restore").count("update") == (
        plan.count("update"))

    # With the second run undone, the first can be restored without --force.
    safe_push.restore(factory, district, settings, first.run_id)
    assert gradebook(fake) == empty
    assert safe_push.plan(factory, district, settings, "gb-restore").count("create") == (
        first.counts["create"])
    with tenant_session(factory, district) as session, session.begin():
        clear_override(session, settings, student, competency, reason="test done",
                       by="teacher:t-1")


def test_a_rejected_record_is_reported_and_does_not_block_the_others(
        sample_district: SampleDistrict, sis: tuple[FakeOneRoster, str]) -> None:
    fake, url = sis
    settings = with_destination(sample_district.settings, "gb-reject", url, batch_size=97)
    factory = sample_district.factory
    district = ensure_district(factory, settings.district)
    missing = "S100003"
    fake.store["users"].pop(missing)  # the SIS does not know this student
    plan = safe_push.plan(factory, district, settings, "gb-reject")
    theirs = {c.key for c in plan.changes if c.record and c.resource == "results"
              and c.record.body["student"]["sourcedId"] == missing}
    assert theirs

    report = safe_push.run(factory, district, settings, "gb-reject")
    assert report.status == "completed_with_errors"
    assert {p.key for p in report.problems} == theirs
    assert all(p.http_status == 404 and "does not exist" in p.message and missing in p.label
               for p in report.problems)
    assert report.counts["create"] == len(plan.changes) - len(theirs)
    left = safe_push.plan(factory, district, settings, "gb-reject")
    assert {c.key for c in left.changes} == theirs  # only the refused ones are left to send

    fake.load("users", [u for u in rest_objects(SAMPLE)["users"] if u["sourcedId"] == missing])
    final = safe_push.run(factory, district, settings, "gb-reject")
    assert final.status == "completed" and final.counts["create"] == len(theirs)


def test_throttling_outages_and_expired_tokens_do_not_surface(
        sample_district: SampleDistrict, sis: tuple[FakeOneRoster, str]) -> None:
    fake, url = sis
    settings = with_destination(sample_district.settings, "gb-faults", url, concurrency=6,
                                timeout=1.0, retries=10)
    factory = sample_district.factory
    district = ensure_district(factory, settings.district)
    fake.faults.status(5, 503, method="PUT", retry_after="0")
    fake.faults.status(3, 429, method="GET", retry_after="0")
    fake.faults.status(2, 502, method="PUT")
    fake.faults.truncate(2, method="GET")
    fake.faults.stall(1, 1.5, method="PUT")
    fake.tokens.lifetime = 1  # tokens expire while the push runs
    report = safe_push.run(factory, district, settings, "gb-faults")
    assert report.status == "completed", report.problems[:3]
    assert len(fake.faults.fired) == 13
    assert safe_push.plan(factory, district, settings, "gb-faults").changes == ()
    assert fake.tokens.count > 1


def test_a_push_killed_at_any_point_converges_when_rerun(
        sample_district: SampleDistrict, sis: tuple[FakeOneRoster, str], module_db_url: str,
        tmp_path: Path) -> None:
    fake, url = sis
    config = make_workspace(tmp_path, same_sample(sample_district)) / "config"
    destinations = config / "districts" / "cedar-ridge" / "destinations.yaml"
    data = yaml.safe_load(destinations.read_text())
    data["destinations"].append({
        "key": "gb-kill", "kind": "oneroster_rest", "name": "SIS gradebook API",
        "base_url": url, "client_id": "${SIS_CLIENT_ID}", "client_secret": "${SIS_CLIENT_SECRET}",
        "concurrency": 2, "batch_size": 40})
    destinations.write_text(yaml.safe_dump(data))
    env = {**os.environ, "CONNECTOR_DATABASE_URL": module_db_url,
           "CEDAR_RIDGE_API_TOKEN": "t", "CEDAR_RIDGE_API_WRITE_TOKEN": "w"}
    command = [sys.executable, "-m", "connector.cli.main", "--config-dir", str(config),
               "push", "run", "gb-kill"]
    settings = with_destination(sample_district.settings, "gb-kill", url)
    district = ensure_district(sample_district.factory, settings.district)
    wanted = safe_push.plan(sample_district.factory, district, settings, "gb-kill")

    for kill_after in (7, 130, 400):  # writes seen by the SIS before the kill
        before = len(fake.writes())
        process = subprocess.Popen(command, env=env, cwd=sample_district.workspace,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(fake.writes()) - before < kill_after and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert process.poll() is None, "the push ended before it could be killed"
        process.kill()
        process.wait()
    finished = subprocess.run(command, env=env, cwd=sample_district.workspace,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr

    store = gradebook(fake)
    planned = {(c.resource, c.remote_id): c.record.body for c in wanted.changes if c.record}
    held = {(resource, sid): without_stamp(body) for resource, rows in store.items()
            for sid, body in rows.items()}
    assert held == planned  # every record exactly once, as wanted
    assert safe_push.plan(sample_district.factory, district, settings, "gb-kill").changes == ()
    with tenant_session(sample_district.factory, district) as session:
        statuses = [run.status for run in session.scalars(
            select(m.PushRun).where(m.PushRun.destination == "gb-kill").order_by(m.PushRun.id))]
    assert statuses[:3] == ["interrupted"] * 3 and statuses[-1] == "completed"


def _config_with_api(workspace: Path, url: str, key: str) -> Path:
    config = workspace / "config"
    destinations = config / "districts" / "cedar-ridge" / "destinations.yaml"
    data = yaml.safe_load(destinations.read_text())
    data["destinations"].append({
        "key": key, "kind": "oneroster_rest", "name": "SIS gradebook API", "base_url": url,
        "client_id": "${SIS_CLIENT_ID}", "client_secret": "${SIS_CLIENT_SECRET}"})
    destinations.write_text(yaml.safe_dump(data))
    jobs = config / "districts" / "cedar-ridge" / "jobs.yaml"
    job_data = yaml.safe_load(jobs.read_text())
    job_data["jobs"][0]["destinations"].append(key)
    jobs.write_text(yaml.safe_dump(job_data))
    return config


def test_cli_plan_json_run_audit_and_a_sync_job_pushing_through_the_api(
        sample_district: SampleDistrict, sis: tuple[FakeOneRoster, str],
        module_db_url: str, tmp_path: Path) -> None:
    fake, url = sis
    config = _config_with_api(make_workspace(tmp_path, same_sample(sample_district)), url, "gb-cli")
    runner = CliRunner()
    base = ["--config-dir", str(config), "--database-url", module_db_url]

    shown = runner.invoke(cli, [*base, "push", "plan", "gb-cli", "--json"])
    assert shown.exit_code == 0, shown.output
    plan = json.loads(shown.output)
    assert plan["summary"]["create"] == len(plan["changes"]) and plan["summary"]["update"] == 0
    table = runner.invoke(cli, [*base, "push", "plan", "gb-cli"])
    assert f"{plan['summary']['create']} to create" in table.output and "results" in table.output

    fake.store["users"].pop("S100005")
    ran = runner.invoke(cli, [*base, "push", "run", "gb-cli", "--actor", "registrar:kim"])
    assert ran.exit_code == 1  # some records were refused: a script must notice
    assert "completed_with_errors" in ran.output and "S100005" in ran.output
    sent = {(c.path.split("/")[-2], c.path.split("/")[-1]) for c in fake.writes()}
    assert sent == {(c["resource"], c["remote_id"]) for c in plan["changes"]}

    runs = runner.invoke(cli, [*base, "push", "runs", "--json"])
    latest = json.loads(runs.output)[0]
    assert latest["actor"] == "registrar:kim" and latest["status"] == "completed_with_errors"
    audit = runner.invoke(cli, [*base, "push", "audit", str(latest["run_id"]), "--json"])
    rows = json.loads(audit.output)
    assert len(rows) == len(plan["changes"])
    refused = [r for r in rows if r["status"] == "rejected"]
    assert refused and all(r["http_status"] == 404 and "S100005" in r["message"]
                           for r in refused)

    # The nightly job pushes through the API too: the refused records are its rejections,
    # sent again once the SIS knows the student.
    fake.load("users", [u for u in rest_objects(SAMPLE)["users"] if u["sourcedId"] == "S100005"])
    synced = runner.invoke(cli, [*base, "sync", "run", "nightly-sync", "--json"],
                           env={"CEDAR_RIDGE_API_TOKEN": "t", "CEDAR_RIDGE_API_WRITE_TOKEN": "w"})
    assert synced.exit_code == 0, synced.output
    report = json.loads(synced.output)
    pushed = next(p for p in report["push"] if p["destination"] == "gb-cli")
    assert pushed["written"] == len(refused)
    assert safe_push.plan(sample_district.factory, ensure_district(
        sample_district.factory, sample_district.settings.district),
        with_destination(sample_district.settings, "gb-cli", url), "gb-cli").changes == ()


def test_a_client_without_the_write_scope_is_refused_record_by_record(
        sample_district: SampleDistrict, sis: tuple[FakeOneRoster, str]) -> None:
    fake, url = sis
    fake.clients = {"mastery-connector": ("push-secret", frozenset({
        "https://purl.imsglobal.org/spec/or/v1p2/scope/gradebook.readonly"}))}
    settings = with_destination(sample_district.settings, "gb-scope", url)
    adapter = safe_push.record_destination(settings, "gb-scope")
    category = RemoteRecord("categories", "categories:c1", "c1",
                            {"sourcedId": "c1", "status": "active", "title": "Mastery"}, 0)
    district = ensure_district(sample_district.factory, settings.district)
    report = safe_push.send(sample_district.factory, district, adapter, diff([category], {}))
    assert report.status == "completed_with_errors"
    (problem,) = report.problems
    assert problem.http_status == 403 and "gradebook.createput" in problem.message
    assert "forbidden" in problem.message and fake.store["categories"] == {}


def test_a_second_push_to_a_destination_is_refused_while_one_is_running(
        sample_district: SampleDistrict, sis: tuple[FakeOneRoster, str],
        module_db_url: str, tmp_path: Path) -> None:
    """Two pushes at once would each plan without the other; the second waits its turn."""
    fake, url = sis
    factory = sample_district.factory
    settings = with_destination(sample_district.settings, "gb-busy", url)
    district = ensure_district(factory, settings.district)
    with tenant_session(factory, district) as session, session.begin():
        live = m.PushRun(destination="gb-busy", kind="push", actor="job:nightly-sync")
        session.add(live)
    # The live run's process holds the destination's lock (another open file here).
    with exclusive(factory.kw["bind"], f"push:{district}:gb-busy", "the live run"):
        with pytest.raises(BusyError, match="destination 'gb-busy' is already running"):
            safe_push.run(factory, district, settings, "gb-busy")
        config = _config_with_api(make_workspace(tmp_path, same_sample(sample_district)), url, "gb-busy")
        refused = CliRunner().invoke(cli, ["--config-dir", str(config), "--database-url",
                                           module_db_url, "push", "run", "gb-busy"])
        assert refused.exit_code == 3 and "already running" in refused.output
        with tenant_session(factory, district) as session:
            assert session.get(m.PushRun, live.id).status == "running"  # not ours to judge
        assert fake.writes() == []
    # Once the lock is free, a run still marked running was a killed one.
    report = safe_push.send(factory, district, safe_push.record_destination(settings, "gb-busy"),
                            diff([], {}))
    assert report.status == "completed"
    with tenant_session(factory, district) as session:
        assert session.get(m.PushRun, live.id).status == "interrupted"
