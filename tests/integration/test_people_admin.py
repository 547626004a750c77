"""A district admin manages people and tokens from the API, as the web application's pages will.

Each change is the CLI's own service, so it is audited the same way; a one-time password
or a token is in the answer that makes it, marked no-store, and nowhere after.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.app import create_app
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import accounts, api_tokens
from tests.integration.test_tenancy import TwoDistricts, two  # noqa: F401  (fixture)

BASE = "/api/v1/districts/cedar-ridge"
ADMIN = "head@cedar-ridge.example"


@pytest.fixture(scope="module")
def admin(two: TwoDistricts) -> dict[str, str]:  # noqa: F811
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        accounts.create_user(session, ADMIN, name="Head", by="test", password=None)
        accounts.grant(session, ADMIN, "district_admin", by="test")
        token = api_tokens.make_token(session, name="admin", scopes=["admin"], by="test",
                                      days=None, user=ADMIN).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def api(two: TwoDistricts) -> Iterator[FlaskClient]:  # noqa: F811
    app = create_app({"CONNECTOR_CONFIG_DIR": str(two.config),
                      "CONNECTOR_DATABASE_URL": two.db_url})
    yield app.test_client()
    app.extensions["connector"].engine.dispose()


def test_an_admin_makes_an_account_grants_roles_and_disables_it(
        api: FlaskClient, admin: dict[str, str], two: TwoDistricts) -> None:  # noqa: F811
    made = api.post(f"{BASE}/users", headers=admin,
                    json={"email": "New.Teacher@Cedar-Ridge.example", "name": "New Teacher"})
    assert made.status_code == 201, made.json
    assert made.headers["Cache-Control"] == "no-store"
    email, password = made.json["email"], made.json["one_time_password"]
    assert email == "new.teacher@cedar-ridge.example" and len(password) >= 20
    assert made.json["roles"] == [] and made.json["password"] is True
    with tenant_session(two.factory, two.cedar) as session:
        assert accounts.authenticate(session, email, password) is not None
    listed = api.get(f"{BASE}/users", headers=admin)
    assert password not in listed.get_data(as_text=True)
    again = api.post(f"{BASE}/users", headers=admin, json={"email": email})
    assert again.status_code == 400 and "already exists" in again.json["detail"]

    viewer = api.post(f"{BASE}/users/{email}/roles", headers=admin,
                      json={"role": "viewer", "school": "org-crms"})
    assert viewer.status_code == 200 and viewer.json["roles"] == ["viewer:org-crms"]
    nowhere = api.post(f"{BASE}/users/{email}/roles", headers=admin,
                       json={"role": "viewer", "school": "org-nowhere"})
    assert nowhere.status_code == 400 and "org-nowhere" in nowhere.json["detail"]
    assert api.post(f"{BASE}/users/nobody@cedar-ridge.example/roles", headers=admin,
                    json={"role": "viewer", "school": "org-crms"}).status_code == 404

    # The person's own token works until the account is disabled, and again once enabled.
    token = api.post(f"{BASE}/tokens", headers=admin,
                     json={"name": "reports", "scopes": ["read"], "days": 30, "user": email})
    assert token.status_code == 201 and token.headers["Cache-Control"] == "no-store"
    theirs = {"Authorization": f"Bearer {token.json['token']}"}
    assert api.get(f"{BASE}/reports/dok-exposure", headers=theirs).status_code == 200
    assert api.get(f"{BASE}/runs", headers=theirs).status_code == 403  # a viewer's reach
    shown = api.get(f"{BASE}/tokens", headers=admin)
    assert token.json["token"] not in shown.get_data(as_text=True)
    assert [t["user"] for t in shown.json["tokens"] if t["id"] == token.json["id"]] == [email]
    off = api.post(f"{BASE}/users/{email}/disable", headers=admin,
                   json={"reason": "left the district"})
    assert off.status_code == 200 and off.json["active"] is False
    assert api.get(f"{BASE}/reports/dok-exposure", headers=theirs).status_code == 401
    on = api.post(f"{BASE}/users/{email}/enable", headers=admin, json={})
    assert on.status_code == 200 and on.json["active"] is True
    assert api.get(f"{BASE}/reports/dok-exposure", headers=theirs).status_code == 200

    reset = api.post(f"{BASE}/users/{email}/password", headers=admin, json={})
    assert reset.status_code == 200 and reset.json["one_time_password"] not in (password, None)
    with tenant_session(two.factory, two.cedar) as session:
        assert accounts.authenticate(session, email, password) is None
        assert accounts.authenticate(session, email, reset.json["one_time_password"])

    revoked = api.delete(f"{BASE}/tokens/{token.json['id']}", headers=admin,
                         json={"reason": "rotated"})
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert api.get(f"{BASE}/reports/dok-exposure", headers=theirs).status_code == 401
    dropped = api.delete(f"{BASE}/users/{email}/roles", headers=admin,
                         json={"role": "viewer", "school": "org-crms"})
    assert dropped.status_code == 200 and dropped.json["roles"] == []

    with tenant_session(two.factory, two.cedar) as session:
        trail = [(e.action, e.actor) for e in session.scalars(
            select(m.AuditEvent).where(m.AuditEvent.subject.in_(
                [f"user:{email}", f"token:{token.json['id']}"])).order_by(m.AuditEvent.id))]
        texts = " ".join(str((e.before, e.after, e.details)) for e in session.scalars(
            select(m.AuditEvent)))
    assert trail == [(action, f"user:{ADMIN}") for action in (
        "user.create", "role.grant", "token.create", "user.disable", "user.enable",
        "user.reset_password", "token.revoke", "role.revoke")]
    assert password not in texts and token.json["token"] not in texts


def test_an_admin_cannot_lock_themselves_out_from_the_api(
        api: FlaskClient, admin: dict[str, str]) -> None:
    assert api.post(f"{BASE}/users/{ADMIN}/disable", headers=admin,
                    json={}).status_code == 409
    refused = api.delete(f"{BASE}/users/{ADMIN}/roles", headers=admin,
                         json={"role": "district_admin"})
    assert refused.status_code == 409 and "connector users" in refused.json["detail"]
    bad = api.post(f"{BASE}/tokens", headers=admin, json={"name": "x", "scopes": ["root"]})
    assert bad.status_code == 400 and "root" in bad.json["detail"]
    assert api.post(f"{BASE}/users", headers=admin,
                    json={"email": "not an email"}).status_code == 400
