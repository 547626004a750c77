"""Run now: the API queues a run and answers 202; the scheduler runs it; its stages show as it goes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.jobs.scheduler import Scheduler
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import accounts, api_tokens
from connector.sync.district import find_district
from connector.sync.stop import StopToken
from tests.conftest import SampleDistrict, api_client

BASE = "/api/v1/districts/cedar-ridge"


@pytest.fixture
def client(sample_district: SampleDistrict, module_db_url: str) -> Iterator[FlaskClient]:
    with api_client(sample_district, module_db_url) as made:
        yield made


@pytest.fixture(scope="module")
def it_token(sample_district: SampleDistrict) -> dict[str, str]:
    district_id = find_district(sample_district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(sample_district.factory, district_id) as session, session.begin():
        accounts.create_user(session, "it.lead@cedar-ridge.example", name="IT", by="test",
                             password=None)
        accounts.grant(session, "it.lead@cedar-ridge.example", "it", by="test")
        token = api_tokens.make_token(session, name="console", scopes=["write"], by="test",
                                      days=None, user="it.lead@cedar-ridge.example").token
    return {"Authorization": f"Bearer {token}"}


def test_run_now_is_queued_then_run_by_the_scheduler_with_its_stages_visible(
        client: FlaskClient, sample_district: SampleDistrict, it_token: dict[str, str]) -> None:
    before = client.get(f"{BASE}/jobs", headers=it_token)
    assert before.status_code == 200, before.json
    nightly = next(j for j in before.json["jobs"] if j["job"] == "nightly-sync")
    assert nightly["next_run_at"] and nightly["queued_run_id"] is None
    assert nightly["last_run"]["status"].startswith("succeeded")

    asked = client.post(f"{BASE}/jobs/nightly-sync/run", headers=it_token)
    assert asked.status_code == 202, asked.json
    run_id = asked.json["run_id"]
    assert asked.json["new"] is True and asked.headers["Location"].endswith(f"/runs/{run_id}")
    again = client.post(f"{BASE}/jobs/nightly-sync/run", headers=it_token)
    assert again.status_code == 202 and again.json == {**asked.json, "new": False}
    assert client.get(f"{BASE}/runs/{run_id}", headers=it_token).json["run"]["status"] \
        == "queued"  # nothing ran inside the request
    assert client.get(f"{BASE}/jobs", headers=it_token).json["jobs"][0]["queued_run_id"] \
        == run_id
    assert client.post(f"{BASE}/jobs/no-such-job/run", headers=it_token).status_code == 404

    settings = load_settings(sample_district.workspace / "config")
    watched: dict[str, Any] = {}

    def watch(stage: str, done: int | None) -> None:
        if stage == "mastery" and done is None:  # seen from outside, while the run goes on
            watched.update(client.get(f"{BASE}/runs/{run_id}", headers=it_token).json)

    stop = StopToken()
    told: list[str] = []

    def out(line: str) -> None:
        told.append(line)
        if line.startswith(f"nightly-sync: run {run_id} "):
            stop.request("the queued run is done")

    Scheduler(sample_district.factory, settings, stop, out=out, sleep=lambda _: False,
              run_queued=lambda job, queued, token: definitions.run(
                  sample_district.factory, settings, job, stop=token, run_id=queued,
                  progress=watch)).serve()
    assert f"nightly-sync: starting run {run_id}, asked for through the API" in told
    assert watched["run"]["status"] == "running"
    names = [(s["name"], s["state"]) for s in watched["stages"]]
    assert ("mapping", "done") in names and ("evidence", "done") in names
    assert names[-1] == ("mastery", "running")

    finished = client.get(f"{BASE}/runs/{run_id}", headers=it_token).json
    assert finished["run"]["status"].startswith("succeeded"), finished["run"]
    assert {s["state"] for s in finished["stages"]} == {"done"}
    assert "mastery" in [s["name"] for s in finished["stages"]]
    trail = client.get(f"{BASE}/audit", query_string={"action": "job.run_now"},
                       headers={"Authorization": "Bearer " + _admin(sample_district)}).json
    assert [(e["actor"], e["subject"], e["after"]["run_id"]) for e in trail["events"]] == [
        ("user:it.lead@cedar-ridge.example", "job:nightly-sync", run_id)]


def _admin(district: SampleDistrict) -> str:
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session, session.begin():
        return api_tokens.make_token(session, name="audit", scopes=["admin"], by="test",
                                     days=1).token


def test_a_runs_rejections_page_and_download_as_csv(client: FlaskClient,
                                                     sample_district: SampleDistrict,
                                                     it_token: dict[str, str]) -> None:
    district_id = find_district(sample_district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(sample_district.factory, district_id) as session, session.begin():
        run = m.SyncRun(job="nightly-sync", status="succeeded_with_rejections",
                        rejection_count=3)
        session.add(run)
        session.flush()
        for row, reason in ((2, "score 7 is above the item's maximum 4"),
                            (3, "=HYPERLINK(\"http://x\") is not a student"),
                            (4, "unknown status 'maybe'")):
            session.add(m.SyncRejection(run_id=run.id, file="results.csv", row=row,
                                        field="score", reason=reason, record_key=f"r{row}"))
        run_id = run.id
    first = client.get(f"{BASE}/runs/{run_id}/rejections?limit=2", headers=it_token).json
    assert [r["row"] for r in first["rejections"]] == [2, 3] and first["next_cursor"]
    rest = client.get(f"{BASE}/runs/{run_id}/rejections",
                      query_string={"limit": 2, "cursor": first["next_cursor"]},
                      headers=it_token).json
    assert [r["row"] for r in rest["rejections"]] == [4] and rest["next_cursor"] is None

    sheet = client.get(f"{BASE}/runs/{run_id}/rejections?format=csv", headers=it_token)
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    assert f"run-{run_id}-rejections.csv" in sheet.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(sheet.get_data(as_text=True))))
    assert [r["row"] for r in rows] == ["2", "3", "4"]
    assert rows[1]["reason"].startswith("'=HYPERLINK")  # text in a spreadsheet, not a formula
    assert client.get(f"{BASE}/runs/999999/rejections", headers=it_token).status_code == 404
    with tenant_session(sample_district.factory, district_id) as session:
        assert session.scalars(select(m.SyncRejection).where(
            m.SyncRejection.run_id == run_id)).all()
