"""The mapping queue: an item mapped from the API is aligned by the next sync, exported, audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.mapping.crosswalk import parse_crosswalk
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import accounts, api_tokens
from connector.sync.district import find_district
from tests.conftest import SampleDistrict, api_client

BASE = "/api/v1/districts/cedar-ridge"
URL = f"{BASE}/mapping/crosswalk"


@pytest.fixture
def client(synced_district: SampleDistrict, db_url: str) -> Iterator[FlaskClient]:
    with api_client(synced_district, db_url) as made:
        yield made


def _token(district: SampleDistrict, role: str, scopes: list[str]) -> dict[str, str]:
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    email = f"{role}@cedar-ridge.example"
    with tenant_session(district.factory, district_id) as session, session.begin():
        accounts.create_user(session, email, name=role, by="test", password=None)
        accounts.grant(session, email, role, by="test")
        token = api_tokens.make_token(session, name=role, scopes=scopes, by="test", days=None,
                                      user=email).token
    return {"Authorization": f"Bearer {token}"}


def test_an_item_mapped_from_the_queue_is_aligned_by_the_next_sync_and_can_be_undone(
        client: FlaskClient, synced_district: SampleDistrict) -> None:
    it = _token(synced_district, "it", ["write"])
    unmapped = client.get(f"{BASE}/mapping/unmapped", headers=it).json["items"]
    waiting = next(i for i in unmapped if i["scores"] > 0)
    body = {"source": waiting["source"], "item": waiting["item"],
            "competency": "CR.MA.RP.1.a", "dok": 2, "evidence_type": "teacher_task"}
    made = client.post(URL, json=body, headers=it)
    assert made.status_code == 201, made.json
    again = client.post(URL, json=body, headers=it)
    assert again.status_code == 200 and again.json["id"] == made.json["id"]

    for wrong, said in (({**body, "competency": "CR.NOPE"}, "competency:"),
                        ({**body, "dok": 7}, "dok"),
                        ({**body, "source": "nowhere"}, "source:"),
                        ({**body, "evidence_type": "vibes"}, "evidence_type"),
                        ({"source": "x"}, "item")):
        refused = client.post(URL, json=wrong, headers=it)
        assert refused.status_code == 400 and said in refused.json["detail"], (wrong,
                                                                              refused.json)
    listed = client.get(URL, headers=it).json["entries"]
    assert [e["id"] for e in listed] == [made.json["id"]]
    sheet = client.get(f"{URL}?format=csv", headers=it)
    assert sheet.mimetype == "text/csv"
    parsed, rejected = parse_crosswalk(list(csv.DictReader(io.StringIO(
        sheet.get_data(as_text=True)))), "export")
    assert rejected == [] and [(e.source, e.item, e.dok) for e in parsed] == [
        (waiting["source"], waiting["item"], 2)]

    settings = load_settings(synced_district.workspace / "config")
    assert definitions.run(synced_district.factory, settings, "nightly-sync").errors == []
    still = {(i["source"], i["item"]) for i in
             client.get(f"{BASE}/mapping/unmapped", headers=it).json["items"]}
    assert (waiting["source"], waiting["item"]) not in still
    district_id = find_district(synced_district.factory, "cedar-ridge")
    with tenant_session(synced_district.factory, district_id or 0) as session:
        item = session.scalars(select(m.SourceItem).where(
            m.SourceItem.source_system == waiting["source"],
            m.SourceItem.sourced_id == waiting["item"])).one()
        evidence = session.scalars(select(m.Evidence.dok).where(
            m.Evidence.source_item_id == item.id)).all()
    assert item.mapped and len(evidence) == waiting["scores"] and set(evidence) == {2}

    removed = client.delete(f"{URL}/{made.json['id']}", json={"reason": "wrong standard"},
                            headers=it)
    assert removed.status_code == 200, removed.json
    assert definitions.run(synced_district.factory, settings, "nightly-sync").errors == []
    back = {(i["source"], i["item"]) for i in
            client.get(f"{BASE}/mapping/unmapped", headers=it).json["items"]}
    assert (waiting["source"], waiting["item"]) in back
    admin = _token(synced_district, "district_admin", ["admin"])
    events = client.get(f"{BASE}/audit", query_string={"subject": "item:"},
                        headers=admin).json["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("crosswalk.remove", "user:it@cedar-ridge.example"),
        ("crosswalk.add", "user:it@cedar-ridge.example")]
    assert events[0]["reason"] == "wrong standard" and events[0]["before"]["dok"] == 2
    assert events[1]["after"]["item"] == waiting["item"]


def test_only_it_and_admins_change_the_mapping(client: FlaskClient,
                                               synced_district: SampleDistrict) -> None:
    registrar = _token(synced_district, "registrar", ["admin"])
    refused = client.post(URL, json={"source": "x", "item": "y", "competency": "z"},
                          headers=registrar)
    assert refused.status_code == 403
    assert client.get(URL, headers=registrar).status_code == 403
