"""The OneRoster REST source against the fake provider: same records as the CSV export.

The fake serves the sample district's OneRoster CSV bundle as REST objects
(converted by tests/fakes/oneroster_seed.py, written apart from the connector's
flattener), pages it, throttles, drops tokens and truncates bodies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from connector.adapters.base import AdapterContext, Envelope
from connector.adapters.sources.oneroster_csv import OneRosterCsvSource
from connector.adapters.sources.oneroster_rest import OneRosterRestSource
from connector.config.loader import load_settings
from connector.config.secrets import resolve_secret
from connector.domain import records as r
from connector.errors import FatalSourceError, Rejection
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.db import make_engine, make_session_factory, upgrade
from connector.persistence.tenancy import tenant_session
from connector.sync.district import ensure_district
from tests.conftest import ROOT, make_workspace
from tests.fakes.oneroster_seed import rest_objects
from tests.fakes.oneroster_server import ALL_SCOPES, FakeOneRoster
from tests.fakes.server import serve

SAMPLE = ROOT / "examples" / "sample-district" / "oneroster"
CONTEXT = AdapterContext(lambda p: Path(p), "America/Denver",
                         lambda ref, purpose: resolve_secret(ref, purpose=purpose))


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeOneRoster, str]]:
    monkeypatch.setenv("OR_CLIENT_ID", "district-sync")
    monkeypatch.setenv("OR_CLIENT_SECRET", "s3cret-value")
    fake = FakeOneRoster(clients={"district-sync": ("s3cret-value", ALL_SCOPES)}, max_limit=50)
    for resource, objects in rest_objects(SAMPLE).items():
        fake.load(resource, objects)
    with serve(fake.app) as url:
        yield fake, url


def source(url: str, **options: Any) -> OneRosterRestSource:
    return OneRosterRestSource("sis", {
        "base_url": url, "client_id": "${OR_CLIENT_ID}", "client_secret": "${OR_CLIENT_SECRET}",
        "page_size": 37, "retry_delay": 0.01, **options}, CONTEXT)


def read(adapter: Any) -> tuple[list[Envelope], list[Rejection]]:
    envelopes, rejections = [], []
    for item in adapter.read():
        (rejections if isinstance(item, Rejection) else envelopes).append(item)
    return envelopes, rejections


def comparable(envelopes: list[Envelope]) -> dict[str, set[Any]]:
    """Records by type; objective scores without the id each binding makes up for them."""
    out: dict[str, set[Any]] = {}
    for e in envelopes:
        record = e.record
        if isinstance(record, r.Demographics):
            continue  # the REST source does not ask for demographics (scope kept narrow)
        if isinstance(record, r.ScoreObjective):
            record = dataclasses.replace(record, sourced_id="")
        out.setdefault(type(record).__name__, set()).add(record)
    return out


def test_rest_pull_gives_the_same_records_as_the_csv_export(
        provider: tuple[FakeOneRoster, str]) -> None:
    fake, url = provider
    from_rest, rejected = read(source(url))
    assert rejected == []
    from_csv, _ = read(OneRosterCsvSource("sis", {"path": str(SAMPLE)}, CONTEXT))
    assert comparable(from_rest) == comparable(from_csv)
    # Every page was asked for at most the server's cap and followed to the end.
    pages = [c for c in fake.calls if c.path.endswith("/results")]
    assert len(pages) == -(-18252 // 37)
    assert all(c.status == 200 for c in fake.calls)


def test_vendor_shaped_learning_objective_sets_are_read_too(
        provider: tuple[FakeOneRoster, str]) -> None:
    fake, url = provider
    for resource, objects in rest_objects(SAMPLE, vendor_shape=True).items():
        fake.load(resource, objects)
    envelopes, rejected = read(source(url, collections=["lineItems", "results"]))
    assert rejected == []
    items = [e.record for e in envelopes if isinstance(e.record, r.SourceItem)]
    objectives = [e.record for e in envelopes if isinstance(e.record, r.ScoreObjective)]
    assert sum(len(i.learning_objectives) for i in items) == 450
    assert len(objectives) == 1150 and all(o.score is not None for o in objectives)


def test_throttling_expired_tokens_and_truncated_bodies_change_nothing(
        provider: tuple[FakeOneRoster, str]) -> None:
    fake, url = provider
    clean, _ = read(source(url))
    fake.calls.clear()
    fake.faults.status(3, 503, path="/results", retry_after="0")
    fake.faults.status(2, 429, path="/users", retry_after="0")
    fake.faults.truncate(1, path="/lineItems")
    adapter = source(url)
    seen: list[Envelope] = []
    for item in adapter.read():
        assert not isinstance(item, Rejection)
        seen.append(item)
        if len(seen) == 500:
            fake.tokens.revoke_all()  # the token expires mid-run
    assert comparable(seen) == comparable(clean)
    assert {kind for kind, _m, _p in fake.faults.fired} == {"status", "truncate"}
    assert any(c.status == 401 for c in fake.calls)  # answered by fetching a new token


def test_incremental_pull_asks_only_for_what_changed(
        provider: tuple[FakeOneRoster, str]) -> None:
    fake, url = provider
    first = source(url)
    read(first)
    cursor = first.cursor()
    assert cursor["results"] == "2026-01-15T12:00:00.000Z"
    changed = dict(fake.store["results"]["res-li-cls-crms-ma06-ma-01a-S100001"])
    changed.update(score=7.0, dateLastModified="2026-02-01T08:00:00.000Z")
    removed = dict(fake.store["enrollments"]["enr-cls-jhms-ma06-S100002"])
    removed.update(status="tobedeleted", dateLastModified="2026-02-01T08:00:01.000Z")
    fake.load("results", [changed])
    fake.load("enrollments", [removed])
    second = source(url)
    second.resume_from(cursor)
    envelopes, rejected = read(second)
    assert rejected == []
    assert [type(e.record).__name__ for e in envelopes] == ["Enrollment", "Score"]
    score = envelopes[1].record
    assert isinstance(score, r.Score) and score.score == 7.0
    enrollment = envelopes[0].record
    assert isinstance(enrollment, r.Enrollment) and enrollment.deleted
    assert second.cursor()["results"] == "2026-02-01T08:00:00.000Z"
    assert second.cursor()["orgs"] == cursor["orgs"]  # nothing newer: the cursor stays


def test_oneroster_11_paths_and_scopes(provider: tuple[FakeOneRoster, str]) -> None:
    fake, url = provider
    envelopes, rejected = read(source(url, version="1.1", collections=["classes", "lineItems"]))
    assert rejected == []
    assert {c.path.rsplit("/", 1)[0] for c in fake.calls} == {"/ims/oneroster/v1p1"}
    assert sum(isinstance(e.record, r.ClassSection) for e in envelopes) == 42


def test_bad_objects_are_rejected_one_by_one(provider: tuple[FakeOneRoster, str]) -> None:
    fake, url = provider
    broken = dict(fake.store["results"]["res-li-cls-crms-ma06-ma-01a-S100001"])
    broken["scoreStatus"] = "graded"
    fake.load("results", [broken])
    envelopes, rejected = read(source(url, collections=["results"]))
    assert len(rejected) == 1
    assert rejected[0].field == "scoreStatus" and rejected[0].file == "results (OneRoster REST)"
    assert rejected[0].record_key == "res-li-cls-crms-ma06-ma-01a-S100001"
    assert sum(isinstance(e.record, r.Score) for e in envelopes) == 18251


def test_wrong_credentials_name_the_source_without_a_stack_trace(
        provider: tuple[FakeOneRoster, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _fake, url = provider
    monkeypatch.setenv("OR_CLIENT_SECRET", "wrong")
    with pytest.raises(FatalSourceError) as caught:
        read(source(url))
    assert "OneRoster source 'sis'" in str(caught.value)
    assert "wrong" not in str(caught.value) and "s3cret" not in str(caught.value)


def test_a_next_link_to_another_host_is_refused(provider: tuple[FakeOneRoster, str]) -> None:
    fake, url = provider

    @fake.app.after_request
    def _hijack(response: Any) -> Any:
        if "Link" in response.headers:
            response.headers["Link"] = '<https://evil.example/ims/x?offset=37>; rel="next"'
        return response

    with pytest.raises(FatalSourceError, match="another host"):
        read(source(url, collections=["orgs"], page_size=1))


def test_assessment_line_items_and_results_are_read_as_evidence(
        provider: tuple[FakeOneRoster, str]) -> None:
    fake, url = provider
    fake.load("assessmentLineItems", [{
        "sourcedId": "ali-1", "status": "active", "title": "Unit 3 common assessment",
        "dateLastModified": "2026-01-15T12:00:00.000Z", "resultValueMin": 0.0,
        "resultValueMax": 20.0, "learningObjectiveSet": [
            {"source": "case", "learningObjectiveIds": ["9874fa15-1e48-5c23-9063-f23ddf2e9038"]}]}])
    fake.load("assessmentResults", [{
        "sourcedId": f"ar-{s}", "status": "active", "scoreStatus": "fully graded",
        "dateLastModified": "2026-01-15T12:00:00.000Z", "scoreDate": "2026-01-14",
        "assessmentLineItem": {"href": "/x", "sourcedId": "ali-1", "type": "assessmentLineItem"},
        "student": {"href": "/u", "sourcedId": s, "type": "user"}, "score": score}
        for s, score in (("S100001", 17.0), ("S100002", 12.0))])
    envelopes, rejected = read(source(url, collections=["assessmentLineItems",
                                                        "assessmentResults"]))
    assert rejected == []
    (item,) = [e.record for e in envelopes if isinstance(e.record, r.SourceItem)]
    assert item.kind == "assessment" and item.class_sourced_id == ""
    assert [lo.identifier for lo in item.learning_objectives] == [
        "9874fa15-1e48-5c23-9063-f23ddf2e9038"]
    scores = sorted((e.record for e in envelopes if isinstance(e.record, r.Score)),
                    key=lambda s: s.sourced_id)
    assert [(s.item_sourced_id, s.student.value, s.score) for s in scores] == [
        ("ali-1", "S100001", 17.0), ("ali-1", "S100002", 12.0)]


def test_a_sync_from_the_rest_provider_gives_the_same_mastery_as_the_csv_export(
        provider: tuple[FakeOneRoster, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake, url = provider
    workspace = make_workspace(tmp_path)
    sources = workspace / "config" / "districts" / "cedar-ridge" / "sources.yaml"
    data = yaml.safe_load(sources.read_text())
    sis = data["sources"][0]
    sis.pop("path")
    sis.update(kind="oneroster_rest", base_url=url, client_id="${OR_CLIENT_ID}",
               client_secret="${OR_CLIENT_SECRET}", page_size=500)
    sources.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("CEDAR_RIDGE_API_TOKEN", "t")
    monkeypatch.setenv("CEDAR_RIDGE_API_WRITE_TOKEN", "w")

    def levels(config: Path, database: Path) -> tuple[dict[tuple[str, str], tuple[Any, ...]],
                                                      Any, Any]:
        engine = make_engine(f"sqlite:///{database}")
        upgrade(engine)
        factory = make_session_factory(engine)
        settings = load_settings(config)
        report = definitions.run(factory, settings, "nightly-sync")
        assert not report.errors, report.errors
        with tenant_session(factory, ensure_district(factory, settings.district)) as session:
            rows = session.execute(
                select(m.Student.sourced_id, m.Competency.identifier, m.MasteryRecord.state,
                       m.MasteryRecord.level_code, m.MasteryRecord.score)
                .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
                .join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id)).all()
        return {(s, c): (st, lv, sc) for s, c, st, lv, sc in rows}, factory, settings

    from_rest, factory, settings = levels(workspace / "config", tmp_path / "rest.sqlite3")
    csv_space = make_workspace(tmp_path / "csv")
    from_csv, _, _ = levels(csv_space / "config", tmp_path / "csv.sqlite3")
    assert len(from_rest) > 1000 and from_rest == from_csv

    # The next sync asks only for what changed since: nothing, so nothing is read or rewritten.
    fake.calls.clear()
    again = definitions.run(factory, settings, "nightly-sync")
    assert again.changes == 0 and not again.errors
    reads = [c for c in fake.calls if c.method == "GET"]
    assert reads and all(c.status == 200 for c in reads)
    assert sum(again.sources["sis-gradebook"][s]["read"] for s in again.sources["sis-gradebook"]
               ) == 0

    # The SIS deletes a line item: its scores and their evidence go, and the levels that
    # rested on them are recomputed.
    district = ensure_district(factory, settings.district)
    with tenant_session(factory, district) as session:
        item_id, item_key = session.execute(
            select(m.SourceItem.id, m.SourceItem.sourced_id)
            .join(m.Evidence, m.Evidence.source_item_id == m.SourceItem.id)
            .where(m.SourceItem.source_system == "sis-gradebook")
            .order_by(m.SourceItem.sourced_id).limit(1)).one()
        hit = dict(session.execute(select(m.Evidence.id, m.Evidence.competency_id)
                                   .where(m.Evidence.source_item_id == item_id)).all())

        def cited(session: Any) -> set[int]:
            """Evidence ids the levels of the touched competencies rest on."""
            return {row[0] for inputs in session.scalars(select(m.MasteryRecord.inputs).where(
                m.MasteryRecord.competency_id.in_(set(hit.values())))) for row in inputs}

        assert set(hit) & cited(session)
    deleted = {**fake.store["lineItems"][item_key], "status": "tobedeleted",
               "dateLastModified": "2026-03-01T00:00:00.000Z"}
    fake.load("lineItems", [deleted])
    gone = definitions.run(factory, settings, "nightly-sync")
    assert not gone.errors, gone.errors
    assert gone.sources["sis-gradebook"]["items"]["deleted"] == 1
    with tenant_session(factory, district) as session:
        assert session.scalar(select(m.SourceItem.id).where(
            m.SourceItem.sourced_id == item_key)) is None
        assert not session.scalars(select(m.RawScore.id).where(
            m.RawScore.source_item_id == item_id)).all()
        assert not session.scalars(select(m.Evidence.id).where(
            m.Evidence.source_item_id == item_id)).all()
        assert not set(hit) & cited(session)
    # The deletion is idempotent: the next run finds nothing to do.
    assert definitions.run(factory, settings, "nightly-sync").changes == 0


def test_text_only_results_take_their_number_from_the_score_scale(
        provider: tuple[FakeOneRoster, str]) -> None:
    fake, url = provider
    ref = {"href": "/x", "type": "class", "sourcedId": "cls-crms-ma06"}
    fake.load("scoreScales", [
        {"sourcedId": "scale-4", "status": "active", "title": "District scale", "type": "mastery",
         "class": ref, "dateLastModified": "2026-01-01T00:00:00.000Z", "scoreScaleValue": [
             {"itemValueLHS": "Beginning", "itemValueRHS": "1"},
             {"itemValueLHS": "Proficient", "itemValueRHS": "3"},
             {"itemValueLHS": "4", "itemValueRHS": "Advanced"},  # written the other way round
             {"itemValueLHS": "B", "itemValueRHS": "80-89"}]},  # a range: no number to take
        {"sourcedId": "scale-old", "status": "tobedeleted", "title": "Old", "type": "x",
         "class": ref, "dateLastModified": "2026-01-01T00:00:00.000Z",
         "scoreScaleValue": [{"itemValueLHS": "Proficient", "itemValueRHS": "99"}]}])
    item = dict(next(iter(fake.store["lineItems"].values())))
    item["scoreScale"] = {"href": "/s", "type": "scoreScale", "sourcedId": "scale-4"}
    fake.load("lineItems", [item])
    student = {"href": "/u", "type": "user", "sourcedId": "S100001"}
    line_item = {"href": "/l", "type": "lineItem", "sourcedId": item["sourcedId"]}
    base = {"status": "active", "scoreStatus": "fully graded", "student": student,
            "lineItem": line_item, "dateLastModified": "2026-01-20T00:00:00.000Z"}
    fake.load("results", [
        {**base, "sourcedId": "t-1", "textScore": "proficient"},
        {**base, "sourcedId": "t-2", "textScore": "Advanced"},
        {**base, "sourcedId": "t-3", "textScore": "B"},
        {**base, "sourcedId": "t-4", "textScore": "Proficient", "score": 2.0},
        {**base, "sourcedId": "t-5", "textScore": "Proficient",
         "scoreScale": {"href": "/s", "type": "scoreScale", "sourcedId": "scale-old"}}])
    adapter = source(url, collections=["lineItems", "results"])
    # Scales are a lookup, read in full every time: a cursor saying none changed is ignored.
    adapter.resume_from({"scoreScales": "2099-01-01T00:00:00.000Z"})
    envelopes, rejected = read(adapter)
    assert rejected == []
    scores = {e.record.sourced_id: e.record.score for e in envelopes
              if isinstance(e.record, r.Score) and e.record.sourced_id.startswith("t-")}
    # The scale by label (any case), reversed pairs, no guess for a range, a score the
    # result carries wins, and a deleted scale gives nothing.
    assert scores == {"t-1": 3.0, "t-2": 4.0, "t-3": None, "t-4": 2.0, "t-5": None}
