"""The status endpoint for monitoring tools: 200 while every job is fine, 503 when one is not."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.app import create_app
from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import SampleDistrict, make_workspace
from tests.integration.test_run_lifecycle import edit

TOKEN = {"Authorization": "Bearer read-t0ken"}


def status(workspace: Path, db_url: str) -> tuple[int, dict]:
    app = create_app({"CONNECTOR_CONFIG_DIR": str(workspace / "config"),
                      "CONNECTOR_DATABASE_URL": db_url})
    try:
        response = app.test_client().get("/api/v1/districts/cedar-ridge/status", headers=TOKEN)
        return response.status_code, response.get_json()
    finally:
        app.extensions["connector"].engine.dispose()


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CEDAR_RIDGE_API_TOKEN", "read-t0ken")


def test_healthy_after_a_good_run_then_503_when_a_job_fails_or_goes_stale(
        tmp_path: Path, db_url: str, factory: sessionmaker[Session], small_sample: Path) -> None:
    workspace = make_workspace(tmp_path, small_sample)  # health is about runs: the small sample
    settings = load_settings(workspace / "config")
    good = definitions.run(factory, settings, "nightly-sync")
    code, body = status(workspace, db_url)
    assert code == 200 and body["healthy"] is True
    jobs = {j["job"]: j for j in body["jobs"]}
    assert jobs["nightly-sync"]["condition"] == "succeeded_with_rejections"
    assert jobs["nightly-sync"]["last_run"]["id"] == good.run_id
    assert 0 <= jobs["nightly-sync"]["last_run_age_seconds"] < 3600
    assert jobs["weekly-transcripts"]["condition"] == "never_run"  # not unhealthy by default

    edit(workspace, "sources.yaml", lambda d: d["sources"][1].update(path="missing.csv"))
    failed = definitions.run(factory, load_settings(workspace / "config"), "nightly-sync")
    code, body = status(workspace, db_url)
    assert code == 503 and body["healthy"] is False
    job = {j["job"]: j for j in body["jobs"]}["nightly-sync"]
    assert job["unhealthy"] == ["failed"] and job["last_run"]["id"] == failed.run_id
    assert job["last_run"]["reason"].startswith("source practice-pal:")
    assert job["last_success_id"] == good.run_id

    # Only staleness counts now; the good run was two days ago.
    edit(workspace, "district.yaml", lambda d: d.setdefault("alerts", {}).update(
        unhealthy=["stale"]))
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session, session.begin():
        for run in session.scalars(select(m.SyncRun)):
            run.started_at -= timedelta(days=2)
            run.finished_at = run.started_at + timedelta(minutes=1)
    code, body = status(workspace, db_url)
    job = {j["job"]: j for j in body["jobs"]}["nightly-sync"]
    assert code == 503 and job["stale"] is True and job["unhealthy"] == ["stale"]
    assert body["unhealthy_when"] == ["stale"]


def test_status_needs_the_district_token(db_url: str, synced_district: SampleDistrict) -> None:
    app = create_app({"CONNECTOR_CONFIG_DIR": str(synced_district.workspace / "config"),
                      "CONNECTOR_DATABASE_URL": db_url})
    try:
        client = app.test_client()
        assert client.get("/api/v1/districts/cedar-ridge/status").status_code == 401
        assert client.get("/healthz").status_code == 200  # liveness stays open and plain
    finally:
        app.extensions["connector"].engine.dispose()
