"""Machine tokens: made by the CLI and shown once, stored as hashes, scoped, expiring, revocable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import SampleDistrict, api_client
from tests.integration.test_event_intake import district, statement  # noqa: F401  (fixture)
from tests.integration.test_mastery_cli_api import BASE, cli_run

OVERRIDE = f"{BASE}/students/S100006/mastery/CR.MA.RP.1.a/override"


@pytest.fixture
def client(district: SampleDistrict, module_db_url: str,  # noqa: F811
           monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("CEDAR_RIDGE_API_TOKEN", "read-t0ken")
    monkeypatch.setenv("CEDAR_RIDGE_API_WRITE_TOKEN", "write-t0ken")
    monkeypatch.setenv("TUTOR_XAPI_TOKEN", "tutor-t0ken")
    monkeypatch.setenv("QUIZ_CALIPER_TOKEN", "quiz-t0ken")
    with api_client(district, module_db_url) as client:
        yield client


def _make(sample: SampleDistrict, url: str, *args: str) -> dict[str, object]:
    result = cli_run(sample, url, "tokens", "create", "--json", "--by", "it.lead", *args)
    assert result.exit_code == 0, result.output
    made: dict[str, object] = json.loads(result.output)
    return made


def _bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_shown_once_kept_as_a_hash_and_grants_its_scopes(
        client: FlaskClient, district: SampleDistrict, module_db_url: str) -> None:  # noqa: F811
    reader = _make(district, module_db_url, "--name", "Monitoring", "--scope", "read")
    writer = _make(district, module_db_url, "--name", "Gradebook bridge", "--scope", "write",
                   "--days", "90")
    token = str(reader["token"])
    assert token.startswith("cnk_") and len(token) > 40

    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session:
        rows = {r.id: r for r in session.scalars(select(m.ApiToken))}
        stored = json.dumps([[r.token_hash, r.prefix, r.name] for r in rows.values()])
        audit = session.scalars(select(m.AuditEvent.subject).where(
            m.AuditEvent.action == "token.create")).all()
    assert token not in stored and token[12:] not in stored  # only its hash and first characters
    assert {f"token:{reader['id']}", f"token:{writer['id']}"} <= set(audit)

    assert client.get(f"{BASE}/runs", headers=_bearer(token)).status_code == 200
    body = {"level": "4", "reason": "Exhibition night", "by": "j.ruiz"}
    refused = client.post(OVERRIDE, json=body, headers=_bearer(token))
    assert refused.status_code == 403 and "the write or admin scope" in refused.json["detail"]
    assert client.post(OVERRIDE, json=body, headers=_bearer(writer["token"])).status_code == 201
    assert client.get(f"{BASE}/runs", headers=_bearer(writer["token"])).status_code == 200
    assert client.get(f"{BASE}/runs", headers=_bearer(token + "x")).status_code == 401

    listed = cli_run(district, module_db_url, "tokens", "list")
    assert listed.exit_code == 0 and "Monitoring" in listed.output and token not in listed.output
    with tenant_session(district.factory, district_id) as session:
        used = session.get(m.ApiToken, reader["id"])
        assert used is not None and used.last_used_at is not None


def test_a_revoked_or_expired_token_is_refused(
        client: FlaskClient, district: SampleDistrict, module_db_url: str) -> None:  # noqa: F811
    revoked = _make(district, module_db_url, "--name", "Old warehouse", "--scope", "read")
    expiring = _make(district, module_db_url, "--name", "Pilot", "--scope", "read",
                     "--days", "1")
    assert client.get(f"{BASE}/runs", headers=_bearer(revoked["token"])).status_code == 200
    result = cli_run(district, module_db_url, "tokens", "revoke", str(revoked["id"]),
                     "--reason", "warehouse retired", "--by", "it.lead")
    assert result.exit_code == 0, result.output
    gone = client.get(f"{BASE}/runs", headers=_bearer(revoked["token"]))
    assert gone.status_code == 401 and gone.json["type"] == "/problems/not-authenticated"

    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session, session.begin():
        session.execute(update(m.ApiToken).where(m.ApiToken.id == expiring["id"])
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get(f"{BASE}/runs", headers=_bearer(expiring["token"])).status_code == 401
    with tenant_session(district.factory, district_id) as session:
        reasons = session.scalars(select(m.AuditEvent.reason).where(
            m.AuditEvent.action == "token.revoke",
            m.AuditEvent.subject == f"token:{revoked['id']}")).all()
    assert reasons == ["warehouse retired"]


def test_an_intake_token_posts_as_its_own_source_only(client: FlaskClient,
                                                     district: SampleDistrict,  # noqa: F811
                                                     module_db_url: str) -> None:
    tutor = _make(district, module_db_url, "--name", "Tutor LRS feed", "--scope", "intake:tutor")
    headers = {**_bearer(tutor["token"]), "X-Experience-API-Version": "1.0.3"}
    posted = client.post(f"{BASE}/xapi/statements", json=statement("S100001", "x"),
                         headers=headers)
    assert posted.status_code == 200, posted.json
    # Not a Caliper source's token, and no reader of records.
    envelope = {"sensor": "https://quiz.example", "sendTime": "2026-11-01T00:00:00Z",
                "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2", "data": []}
    assert client.post(f"{BASE}/caliper", json=envelope,
                       headers=_bearer(tutor["token"])).status_code == 401
    assert client.get(f"{BASE}/runs", headers=_bearer(tutor["token"])).status_code == 403


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "x", "--scope", "everything"], "unknown scope 'everything'"),
    (["--name", " ", "--scope", "read"], "needs a name"),
    (["--name", "x", "--scope", "read", "--days", "0"], "expires in 1 to 3660 days"),
])
def test_a_token_asked_for_wrongly_is_refused_with_the_reason(
        district: SampleDistrict, module_db_url: str, args: list[str],  # noqa: F811
        message: str) -> None:
    result = cli_run(district, module_db_url, "tokens", "create", *args)
    assert result.exit_code != 0 and message in result.output


def test_every_change_through_the_api_is_in_the_audit_with_before_and_after(
        client: FlaskClient, district: SampleDistrict, module_db_url: str) -> None:  # noqa: F811
    admin = _bearer(_make(district, module_db_url, "--name", "IT", "--scope", "admin")["token"])
    reader = _bearer(_make(district, module_db_url, "--name", "Dash", "--scope", "read")["token"])
    url = f"{BASE}/students/S100007/mastery/CR.MA.RP.1.a"
    was = client.get(url, headers=admin).json["record"]
    write = {"Authorization": "Bearer write-t0ken"}
    made = client.post(f"{url}/override", json={"level": "4", "reason": "Exhibition night",
                                                "by": "j.ruiz"}, headers=write)
    assert made.status_code == 201, made.json
    cleared = client.delete(f"{url}/override", json={"reason": "entered in error",
                                                     "by": "j.ruiz"}, headers=write)
    assert cleared.status_code == 200, cleared.json

    trail = client.get(f"{BASE}/audit", query_string={"subject": "S100007/"}, headers=admin)
    assert trail.status_code == 200, trail.json
    events = trail.json["events"]
    assert [e["action"] for e in events] == ["override.clear", "override.set"]
    clear, set_ = events
    assert set_["actor"] == "j.ruiz" and set_["reason"] == "Exhibition night"
    assert set_["before"]["level"] == was["level"] and set_["after"]["level"] == "4"
    assert clear["before"]["level"] == "4" and clear["after"]["level"] == was["level"]
    assert clear["after"]["override"] is None and set_["after"]["override"] is not None

    assert client.get(f"{BASE}/audit", headers=reader).status_code == 403
    assert client.get(f"{BASE}/audit", headers={"Authorization": "Bearer read-t0ken"}
                      ).status_code == 403
    first = client.get(f"{BASE}/audit?limit=1", headers=admin).json
    assert len(first["events"]) == 1 and first["next_cursor"]
    following = client.get(f"{BASE}/audit", query_string={"limit": 1,
                                                          "cursor": first["next_cursor"]},
                           headers=admin).json["events"]
    assert following[0]["id"] < first["events"][0]["id"]

    shown = cli_run(district, module_db_url, "audit", "--action", "override.set", "--json")
    assert shown.exit_code == 0, shown.output
    assert set_["id"] in [e["id"] for e in json.loads(shown.output)]
