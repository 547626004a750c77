"""Single sign-on against a local OpenID Connect provider: real HTTP, real signed ID tokens.

The provider (tests/fakes/oidc_provider.py) follows OpenID Connect Core: discovery,
the code flow with PKCE, RS256 ID tokens with a published key set. An email it
vouches for opens the account an admin made; it never makes one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector.app import create_app
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import accounts
from connector.sync.district import find_district
from tests.conftest import SampleDistrict
from tests.fakes.oidc_provider import FakeOidcProvider

HTTPS = "https://localhost"
CALLBACK = f"{HTTPS}/login/oidc/cedar-ridge/callback"
BASE = "/api/v1/districts/cedar-ridge"


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeOidcProvider]:
    with FakeOidcProvider().running() as running:
        running.register_client("connector", "s3cret-from-google", (CALLBACK,))
        yield running


@pytest.fixture(scope="module")
def app(sample_district: SampleDistrict, module_db_url: str,
        provider: FakeOidcProvider) -> Iterator[Flask]:
    path = sample_district.workspace / "config" / "districts" / "cedar-ridge" / "district.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["sign_in"] = {"oidc": {"metadata_url": provider.metadata_url, "client_id": "connector",
                                  "client_secret": "${CEDAR_OIDC_SECRET}",
                                  "label": "Sign in with Google"}}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    district_id = find_district(sample_district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(sample_district.factory, district_id) as session, session.begin():
        accounts.create_user(session, "ada@cedar-ridge.example", name="Ada", by="test",
                             password=None)
        accounts.grant(session, "ada@cedar-ridge.example", "registrar", by="test")
        accounts.create_user(session, "gone@cedar-ridge.example", name="Gone", by="test",
                             password=None)
        accounts.set_active(session, "gone@cedar-ridge.example", False, by="test")
    made = create_app({"CONNECTOR_CONFIG_DIR": str(sample_district.workspace / "config"),
                       "CONNECTOR_DATABASE_URL": module_db_url})
    yield made
    made.extensions["connector"].engine.dispose()


@pytest.fixture(autouse=True)
def fresh(provider: FakeOidcProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CEDAR_OIDC_SECRET", "s3cret-from-google")
    provider.sign_out()
    provider.stop_forging()


def _round_trip(client: FlaskClient) -> Any:
    """Start at the sign-in button, let the provider answer, come back: the last response."""
    start = client.get("/login/oidc/cedar-ridge", base_url=HTTPS)
    assert start.status_code == 302, start.get_data(as_text=True)
    answered = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert answered.status_code == 302, answered.text
    back = answered.headers["Location"]
    assert back.startswith(CALLBACK)
    return client.get(back.removeprefix(HTTPS), base_url=HTTPS)


def _users(sample_district: SampleDistrict) -> int:
    district_id = find_district(sample_district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(sample_district.factory, district_id) as session:
        return int(session.scalar(select(func.count()).select_from(m.User)) or 0)


def test_the_provider_signs_in_an_account_an_admin_made(app: Flask,
                                                        provider: FakeOidcProvider) -> None:
    client = app.test_client()
    assert "Sign in with Google" in client.get("/login", base_url=HTTPS).get_data(as_text=True)
    provider.sign_in_as("Ada@cedar-ridge.example")
    done = _round_trip(client)
    assert done.status_code == 303, done.get_data(as_text=True)
    assert ("POST", "/token") in provider.calls
    me = client.get(f"{BASE}/me", base_url=HTTPS).json
    assert me["actor"] == "user:ada@cedar-ridge.example" and me["roles"][0]["role"] == "registrar"


@pytest.mark.parametrize(("setup", "status", "said"), [
    ("unknown", 403, "no active account"),
    ("disabled", 403, "no active account"),
    ("unverified", 403, "did not confirm an email"),
    ("foreign_key", 401, "could not be verified"),
    ("audience", 401, "could not be verified"),
    ("issuer", 401, "could not be verified"),
    ("denied", 401, "did not sign you in"),
])
def test_a_sign_in_the_server_cannot_trust_opens_nothing(
        app: Flask, provider: FakeOidcProvider, sample_district: SampleDistrict,
        setup: str, status: int, said: str) -> None:
    email = {"unknown": "mallory@cedar-ridge.example",
             "disabled": "gone@cedar-ridge.example"}.get(setup, "ada@cedar-ridge.example")
    provider.sign_in_as(email, email_verified=setup != "unverified")
    if setup == "foreign_key":
        provider.forge(foreign_key=True)
    elif setup == "audience":
        provider.forge(audience="someone-elses-client")
    elif setup == "issuer":
        provider.forge(issuer="https://evil.example")
    elif setup == "denied":
        provider.deny_next()
    before = _users(sample_district)
    client = app.test_client()
    done = _round_trip(client)
    assert done.status_code == status and said in done.get_data(as_text=True).lower()
    assert client.get(f"{BASE}/me", base_url=HTTPS).status_code == 401
    assert _users(sample_district) == before  # signing in never makes an account
