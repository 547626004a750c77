"""Canvas evidence through a whole sync: aligned by vendor_guid, resumable when killed.

The roster comes from the sample district's SIS export (the module's first
nightly sync); the Canvas job reads only Canvas, from the fake in this process,
while the sync itself runs in a child process that the test kills.
"""

from __future__ import annotations

import json
import os
import random
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

from connector.app import create_app
from connector.cli.main import cli
from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import accounts, api_tokens
from connector.sync.district import ensure_district
from tests.conftest import ROOT, SampleDistrict, _store, make_workspace
from tests.fakes.canvas_seed import expected_scores, sample_plan, seed
from tests.fakes.canvas_server import FakeCanvas
from tests.fakes.server import serve

SAMPLE = ROOT / "examples" / "sample-district" / "oneroster"


@pytest.fixture(scope="module", params=["sqlite"])
def module_db_url(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded store: the engine under test here is the runner's, the same on both."""
    yield from _store(request, tmp_path_factory.mktemp("store"))


@pytest.fixture
def canvas(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeCanvas, str]]:
    monkeypatch.setenv("CANVAS_TOKEN", "canvas-token")
    fake = FakeCanvas(throttling=False)
    # The middle schools' twelve classes: the kill test needs a course to finish within a
    # few requests, which a high school class of fifty students' pages would not.
    seed(fake, {k: v for k, v in sample_plan(SAMPLE).items() if "-crhs-" not in k})
    with serve(fake.app) as url:
        yield fake, url


def with_canvas(folder: Path, url: str, key: str, **options: Any) -> Path:
    """The sample config plus a Canvas source and a job that reads only it."""
    config = make_workspace(folder) / "config"
    district = config / "districts" / "cedar-ridge"
    sources = yaml.safe_load((district / "sources.yaml").read_text())
    sources["sources"].append({
        "key": key, "kind": "canvas", "name": "Cedar Ridge Canvas", "base_url": url,
        "token": "${CANVAS_TOKEN}", "retry_delay": 0.01, **options,
        "evidence": {"evidence_type": "teacher_task", "dok": 2},
        "score_conversion": {"cuts": [{"min_percent": 0, "level": "1"},
                                      {"min_percent": 50, "level": "2"},
                                      {"min_percent": 75, "level": "3"},
                                      {"min_percent": 100, "level": "4"}]}})
    (district / "sources.yaml").write_text(yaml.safe_dump(sources))
    jobs = yaml.safe_load((district / "jobs.yaml").read_text())
    jobs["jobs"].append({"key": "lms-pull", "kind": "sync", "schedule": "0 * * * *",
                         "sources": [key]})
    (district / "jobs.yaml").write_text(yaml.safe_dump(jobs))
    return config


def staged(district: SampleDistrict, key: str) -> dict[str, tuple[str, float | str | None, str]]:
    """Staged scores: (item, the score or a rubric rating's name, status)."""
    with tenant_session(district.factory, ensure_district(
            district.factory, district.settings.district)) as session:
        return {sid: (item, score if score is not None else text or None, status)
                for sid, item, score, text, status in session.execute(
            select(m.RawScore.sourced_id, m.SourceItem.sourced_id, m.RawScore.score,
                   m.RawScore.text_score, m.RawScore.status)
            .join(m.SourceItem, m.SourceItem.id == m.RawScore.source_item_id)
            .where(m.RawScore.source_system == key))}


def test_canvas_evidence_aligns_by_vendor_guid_and_reaches_mastery(
        sample_district: SampleDistrict, canvas: tuple[FakeCanvas, str], tmp_path: Path) -> None:
    fake, url = canvas
    settings = load_settings(with_canvas(tmp_path, url, "canvas-a"))
    report = definitions.run(sample_district.factory, settings, "lms-pull")
    assert not report.errors and report.rejections == 0, report.errors
    want = expected_scores(fake)
    assert staged(sample_district, "canvas-a") == {k: (v[0], v[2], v[3]) for k, v in want.items()}
    district = ensure_district(sample_district.factory, settings.district)
    with tenant_session(sample_district.factory, district) as session:
        rows = session.execute(
            select(m.SourceItem.kind, m.SourceItem.learning_objectives, m.Competency.identifier,
                   m.Alignment.evidence_type, m.Alignment.dok)
            .join(m.Alignment, m.Alignment.source_item_id == m.SourceItem.id)
            .join(m.Competency, m.Competency.id == m.Alignment.competency_id)
            .where(m.SourceItem.source_system == "canvas-a")).all()
        cited = {row[0] for inputs in session.scalars(select(m.MasteryRecord.inputs))
                 for row in inputs}
        canvas_evidence = set(session.scalars(
            select(m.Evidence.id).join(m.RawScore, m.RawScore.id == m.Evidence.raw_score_id)
            .where(m.RawScore.source_system == "canvas-a")))
    # Every aligned criterion is aligned to exactly the competency its vendor_guid names.
    assert rows and all(kind == "rubric_criterion" and [["case", ident]] == objectives
                        for kind, objectives, ident, _t, _d in rows)
    assert {(t, d) for *_x, t, d in rows} == {("teacher_task", 2)}
    assert canvas_evidence and canvas_evidence <= cited  # the levels rest on it
    again = definitions.run(sample_district.factory, settings, "lms-pull")
    assert again.changes == 0 and not again.errors


def test_a_sync_killed_at_random_points_ends_with_every_record_once(
        sample_district: SampleDistrict, canvas: tuple[FakeCanvas, str], tmp_path: Path,
        module_db_url: str) -> None:
    fake, url = canvas
    # A throttled Canvas, so that the pull takes long enough to be killed in the middle.
    fake.throttling, fake.cost = True, 40.0
    fake.bucket_settings = {"hwm": 600.0, "outflow": 200.0, "up_front": 50.0}
    config = with_canvas(tmp_path, url, "canvas-kill", rate_limit_outflow=200.0, per_page=25)
    env = {**os.environ, "CONNECTOR_DATABASE_URL": module_db_url, "CANVAS_TOKEN": "canvas-token"}
    command = [sys.executable, "-m", "connector.cli.main", "--config-dir", str(config),
               "sync", "run", "lms-pull"]
    rng = random.Random(4)
    settings = load_settings(config)
    district = ensure_district(sample_district.factory, settings.district)
    total = 0
    for _ in range(3):
        kill_after = rng.randint(4, 15)  # requests Canvas sees before the kill
        before = len(fake.calls)
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(fake.calls) - before < kill_after and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert process.poll() is None, "the sync ended before it could be killed"
        process.kill()
        process.wait()
        total += len(fake.calls) - before
    with tenant_session(sample_district.factory, district) as session:
        cursor = session.scalars(select(m.SourceSystem.cursor).where(
            m.SourceSystem.key == "canvas-kill")).one() or {}
    finished_courses = cursor.get("pass_done", [])
    assert finished_courses, "no course finished before the kills: nothing resumed"
    fake.calls.clear()
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    # Courses finished before a kill were not read again.
    assert not any(f"/courses/{c}/" in path for c in finished_courses
                   for _m, path, _s in fake.calls)
    want = expected_scores(fake)
    assert staged(sample_district, "canvas-kill") == {
        k: (v[0], v[2], v[3]) for k, v in want.items()}
    # Evidence and mastery caught up with what the killed runs staged but never built.
    with tenant_session(sample_district.factory, district) as session:
        built = session.scalars(
            select(m.RawScore.sourced_id).join(m.Evidence, m.Evidence.raw_score_id == m.RawScore.id)
            .where(m.RawScore.source_system == "canvas-kill")).all()
    criteria = {k for k in want if ":" in k}
    assert set(built) == criteria and len(built) == len(criteria)
    assert total > 0


def test_unmatched_students_are_listed_by_connector_exceptions_until_the_crosswalk_names_them(
        sample_district: SampleDistrict, canvas: tuple[FakeCanvas, str], tmp_path: Path,
        module_db_url: str) -> None:
    fake, url = canvas
    first, second = sorted(fake.courses)[:2]
    nameless, stranger = fake.enrollments[first][0], fake.enrollments[second][0]
    sis, real = nameless["sis_user_id"], stranger["sis_user_id"]
    nameless["sis_user_id"] = nameless["user"]["sis_user_id"] = None
    stranger["sis_user_id"] = stranger["user"]["sis_user_id"] = "S999999"  # not on the roster
    crosswalk = tmp_path / "identity.csv"
    crosswalk.write_text("system,kind,external_id,sis_id\n")
    config = with_canvas(tmp_path, url, "canvas-x", identity_crosswalk=str(crosswalk))
    base = ["--config-dir", str(config), "--database-url", module_db_url]
    runner = CliRunner()
    env = {"CANVAS_TOKEN": "canvas-token"}
    ran = runner.invoke(cli, [*base, "sync", "run", "lms-pull"], env=env)
    assert ran.exit_code == 0, ran.output

    shown = runner.invoke(cli, [*base, "exceptions", "--json"])
    assert shown.exit_code == 0, shown.output
    rows = [r for r in json.loads(shown.output) if r["job"] == "lms-pull"]
    per_student = 3 * 3  # three assignments, each a score and two criterion scores
    by_reason = {r["reason"]: r["records"] for r in rows}
    assert by_reason == {
        f"Canvas user {nameless['user_id']} has no SIS id in Canvas and no entry in the "
        "crosswalk; add the student to the identity crosswalk or fix sis_user_id in Canvas": 3,
        "unknown student: no student on the roster has sourced_id 'S999999'": per_student}
    table_view = runner.invoke(cli, [*base, "exceptions"])
    assert f"{len(json.loads(shown.output))} unmatched student(s)" in table_view.output
    assert "lms-pull" in table_view.output and "S999999" in table_view.output
    assert "--full" in table_view.output
    assert "Student " not in table_view.output  # no names, only ids

    # The crosswalk names the first student; Canvas gets the second's SIS id right.
    crosswalk.write_text("system,kind,external_id,sis_id\n"
                         f"canvas-x,user,{nameless['user_id']},{sis}\n")
    stranger["sis_user_id"] = stranger["user"]["sis_user_id"] = real

    def staged_for(student: str) -> int:
        return len(set(staged(sample_district, "canvas-x")) & held_back[student])

    held_back = {
        sis: {k for k, v in expected_scores(fake).items() if v[1] == sis
              and fake.assignments[int(v[0].split(":")[0])]["course_id"] == first},
        real: {k for k, v in expected_scores(fake).items() if v[1] == real
               and fake.assignments[int(v[0].split(":")[0])]["course_id"] == second}}
    fixed = runner.invoke(cli, [*base, "sync", "run", "lms-pull"], env=env)
    assert fixed.exit_code == 0, fixed.output
    # The adapter asked again for the work it had refused: the crosswalk brings it in.
    assert staged_for(sis) == len(held_back[sis]) == per_student
    # Staging refused the other student's work after Canvas had sent it: only a full read
    # brings that back, which is what the exceptions report says to run.
    assert staged_for(real) == 0
    full = runner.invoke(cli, [*base, "sync", "run", "lms-pull", "--full"], env=env)
    assert full.exit_code == 0, full.output
    assert staged_for(real) == len(held_back[real]) == per_student
    after = runner.invoke(cli, [*base, "exceptions", "--json"])
    assert [r for r in json.loads(after.output) if r["job"] == "lms-pull"] == []


DOCUMENTED_CUTS = {"cuts": [{"min_percent": 0, "level": "1"}, {"min_percent": 60, "level": "2"},
                            {"min_percent": 80, "level": "3"}, {"min_percent": 95, "level": "4"}]}


def _pulled_levels(sample_district: SampleDistrict, settings: Any, key: str) -> dict[str, float]:
    """Run the LMS pull; each score of source ``key`` with the level value it became."""
    report = definitions.run(sample_district.factory, settings, "lms-pull")
    assert not report.errors and report.rejections == 0, report.errors
    district = ensure_district(sample_district.factory, sample_district.settings.district)
    with tenant_session(sample_district.factory, district) as session:
        return dict(session.execute(
            select(m.RawScore.sourced_id, m.Evidence.value)
            .join(m.Evidence, m.Evidence.raw_score_id == m.RawScore.id)
            .where(m.RawScore.source_system == key)).all())


@pytest.mark.parametrize(("ratings", "three_of_four"), [("label", 3.0), ("points", 2.0),
                                                        ("mastery", 3.0)])
def test_a_rubric_rating_is_the_level_the_teacher_picked(
        sample_district: SampleDistrict, canvas: tuple[FakeCanvas, str], tmp_path: Path,
        ratings: str, three_of_four: float) -> None:
    # With the cut scores the operations guide shows, 3 of 4 points is 75%: level 2. The
    # teacher picked "Proficient", level 3: read by name, the rating is that level.
    fake, url = canvas
    key = f"canvas-{ratings}"
    config = with_canvas(tmp_path, url, key, rubric_ratings=ratings)
    sources_file = config / "districts" / "cedar-ridge" / "sources.yaml"
    sources = yaml.safe_load(sources_file.read_text())
    sources["sources"][-1]["score_conversion"] = DOCUMENTED_CUTS
    sources_file.write_text(yaml.safe_dump(sources))
    levels = _pulled_levels(sample_district, load_settings(config), key)
    threes = {f"{s['id']}:{cid}" for s in fake.submissions.values()
              for cid, rated in (s.get("rubric_assessment") or {}).items()
              if rated.get("points") == 3.0 and cid != "_9000"}
    assert threes and {levels[k] for k in threes if k in levels} == {three_of_four}


def test_a_rubric_rating_read_against_mastery_points_is_a_level_around_proficient(
        sample_district: SampleDistrict, canvas: tuple[FakeCanvas, str], tmp_path: Path) -> None:
    # An outcome whose mastery is 2 of 4 points: 2 meets mastery (proficient, 3), 3 and 4
    # exceed it (4), 1 is near it (2), 0 well below (1). By name, 3 would read Proficient.
    fake, url = canvas
    for assignment in fake.assignments.values():
        for criterion in assignment["rubric"]:
            if "mastery_points" in criterion:
                criterion["mastery_points"] = 2.0
    key = "canvas-mastery-two"
    config = with_canvas(tmp_path, url, key, rubric_ratings="mastery")
    sources_file = config / "districts" / "cedar-ridge" / "sources.yaml"
    sources = yaml.safe_load(sources_file.read_text())
    sources["sources"][-1]["score_conversion"] = DOCUMENTED_CUTS  # its own cuts, no words
    sources_file.write_text(yaml.safe_dump(sources))
    settings = load_settings(config)
    assert settings.sources[key].conversion.text_levels == {
        "Exceeds Mastery": "4", "Meets Mastery": "3", "Near Mastery": "2",
        "Well Below Mastery": "1"}
    levels = _pulled_levels(sample_district, settings, key)
    want = {1.0: 2.0, 2.0: 3.0, 3.0: 4.0, 4.0: 4.0}
    rated = {f"{s['id']}:{cid}": rated["points"] for s in fake.submissions.values()
             for cid, rated in (s.get("rubric_assessment") or {}).items() if cid != "_9000"}
    checked = {k: levels[k] for k in rated if k in levels}
    assert len(checked) > 100
    assert checked == {k: want[rated[k]] for k in checked}


def test_an_identity_link_from_the_queue_brings_the_refused_work_in_on_the_next_run(
        sample_district: SampleDistrict, canvas: tuple[FakeCanvas, str], tmp_path: Path,
        module_db_url: str) -> None:
    """IT resolves both kinds of exception by picking the roster student, through the API."""
    fake, url = canvas
    first, second = sorted(fake.courses)[2:4]
    nameless, stranger = fake.enrollments[first][0], fake.enrollments[second][0]
    sis, real = nameless["sis_user_id"], stranger["sis_user_id"]
    nameless["sis_user_id"] = nameless["user"]["sis_user_id"] = None
    stranger["sis_user_id"] = stranger["user"]["sis_user_id"] = "X-77"  # the vendor's own id
    key = "canvas-links"
    config = with_canvas(tmp_path, url, key)
    base = ["--config-dir", str(config), "--database-url", module_db_url]
    runner, env = CliRunner(), {"CANVAS_TOKEN": "canvas-token"}
    assert runner.invoke(cli, [*base, "sync", "run", "lms-pull"], env=env).exit_code == 0
    held_back = {
        who: {k for k, v in expected_scores(fake).items() if v[1] == who
              and fake.assignments[int(v[0].split(":")[0])]["course_id"] == course}
        for who, course in ((sis, first), (real, second))}
    held_back[real] = {k for k, v in expected_scores(fake).items()
                       if v[1] == "X-77" and fake.assignments[int(v[0].split(":")[0])]
                       ["course_id"] == second}
    assert not set(staged(sample_district, key)) & (held_back[sis] | held_back[real])

    district = ensure_district(sample_district.factory, sample_district.settings.district)
    with tenant_session(sample_district.factory, district) as session, session.begin():
        accounts.create_user(session, "it@cedar-ridge.example", name="IT", by="test",
                             password=None)
        accounts.grant(session, "it@cedar-ridge.example", "it", "", by="test")
        token = api_tokens.make_token(session, name="it", scopes=["write"], by="test",
                                      days=None, user="it@cedar-ridge.example").token
    auth = {"Authorization": f"Bearer {token}"}
    app = create_app({"CONNECTOR_CONFIG_DIR": str(config),
                      "CONNECTOR_DATABASE_URL": module_db_url})
    api = app.test_client()
    exceptions = "/api/v1/districts/cedar-ridge/identity/exceptions"
    links = "/api/v1/districts/cedar-ridge/identity/links"
    try:
        queue = [r for r in api.get(exceptions, headers=auth).json["exceptions"]
                 if r["source"] == key]
        assert {(r["kind"], r["external_id"], r["linked"]) for r in queue} == {
            ("user", str(nameless["user_id"]), None), ("sourced_id", "X-77", None)}
        # A link names a roster student by SIS id, never by name; a wrong one is refused.
        wrong = api.post(links, headers=auth, json={
            "source": key, "kind": "user", "external_id": str(nameless["user_id"]),
            "student": "S000000"})
        assert wrong.status_code == 400 and "student" in wrong.json["detail"]
        made = [api.post(links, headers=auth, json={
            "source": key, "kind": r["kind"], "external_id": r["external_id"],
            "student": sis if r["kind"] == "user" else real}) for r in queue]
        assert [r.status_code for r in made] == [201, 201]
        again = api.post(links, headers=auth, json={
            "source": key, "kind": "sourced_id", "external_id": "X-77", "student": real})
        assert again.status_code == 200 and again.json["id"] in {r.json["id"] for r in made}
        other = api.post(links, headers=auth, json={
            "source": key, "kind": "sourced_id", "external_id": "X-77", "student": sis})
        assert other.status_code == 409 and real in other.json["detail"]
        shown = [r for r in api.get(exceptions, headers=auth).json["exceptions"]
                 if r["source"] == key]
        assert {r["linked"] for r in shown} == {sis, real}

        # The next run, without --full, brings in the work both were waiting for.
        assert runner.invoke(cli, [*base, "sync", "run", "lms-pull"], env=env).exit_code == 0
        now = set(staged(sample_district, key))
        assert held_back[sis] and held_back[sis] <= now
        assert held_back[real] and held_back[real] <= now
        assert [r for r in api.get(exceptions, headers=auth).json["exceptions"]
                if r["source"] == key] == []
        with tenant_session(sample_district.factory, district) as session:
            owners = set(session.scalars(select(m.Student.sourced_id).join(
                m.RawScore, m.RawScore.student_id == m.Student.id)
                .where(m.RawScore.sourced_id.in_(held_back[real]))))
            system = session.scalars(select(m.SourceSystem)
                                     .where(m.SourceSystem.key == key)).one()
            assert owners == {real} and system.reread_asked_at is None
        # Once done, a rerun reads only what changed again.
        rerun = runner.invoke(cli, [*base, "sync", "run", "lms-pull"], env=env)
        assert rerun.exit_code == 0 and set(staged(sample_district, key)) == now

        # Every link is audited with who made it and what it says; removal needs a reason.
        gone = api.delete(f"{links}/{made[0].json['id']}", headers=auth,
                          json={"reason": "linked the wrong account"})
        assert gone.status_code == 200
        assert api.delete(f"{links}/{made[0].json['id']}", headers=auth,
                          json={"reason": "twice"}).status_code == 404
        with tenant_session(sample_district.factory, district) as session:
            events = [(e.action, e.actor, e.before, e.after) for e in session.scalars(
                select(m.AuditEvent).where(m.AuditEvent.action.startswith("identity."))
                .order_by(m.AuditEvent.id))]
        assert [(a, who) for a, who, _, _ in events] == [
            ("identity.link", "user:it@cedar-ridge.example")] * 2 + [
            ("identity.unlink", "user:it@cedar-ridge.example")]
        assert events[0][3]["student"] in {sis, real} and events[2][2]["id"] == made[0].json["id"]

        # The same from a terminal.
        user = str(nameless["user_id"])
        linked = runner.invoke(cli, [*base, "identity", "link", key, "user", user, sis])
        assert linked.exit_code == 0 and "next run" in linked.output, linked.output
        listed = json.loads(runner.invoke(cli, [*base, "identity", "links", "--json"]).output)
        assert [(r["kind"], r["external_id"], r["student"]) for r in listed] == [
            ("sourced_id", "X-77", real), ("user", user, sis)]
        refused = runner.invoke(cli, [*base, "identity", "link", key, "user", user, real])
        assert refused.exit_code == 1 and "already linked" in refused.output
        removed = runner.invoke(cli, [*base, "identity", "unlink", str(listed[1]["id"]),
                                      "--reason", "test"])
        assert removed.exit_code == 0, removed.output
    finally:
        app.extensions["connector"].engine.dispose()
