"""People's accounts: made and changed by the CLI (audited), signed in by password, rate limited.

The browser side runs through Flask's test client over https://localhost, so the
Secure session cookie is sent as a browser would send it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.app import create_app
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import SampleDistrict
from tests.integration.test_mastery_cli_api import cli_run

BASE = "/api/v1/districts/cedar-ridge"
HTTPS = "https://localhost"
TEACHER = "t-crms-ma06@cedar-ridge.example"  # a teacher in the sample roster
PASSWORD = "correct horse battery staple"


def _app(district: SampleDistrict, url: str, **config: Any) -> Flask:
    return create_app({"CONNECTOR_CONFIG_DIR": str(district.workspace / "config"),
                       "CONNECTOR_DATABASE_URL": url, **config})


@pytest.fixture
def app(sample_district: SampleDistrict, module_db_url: str) -> Iterator[Flask]:
    made = _app(sample_district, module_db_url)
    yield made
    made.extensions["connector"].engine.dispose()


def _session(district: SampleDistrict) -> Any:
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    return tenant_session(district.factory, district_id)


def _account(district: SampleDistrict, url: str, email: str, *roles: str,
             roster_id: str | None = None) -> None:
    """An account with ``PASSWORD``, made by the CLI as an admin would."""
    args = [a for role in roles for a in ("--role", role)]
    if roster_id:
        args += ["--roster-id", roster_id]
    made = cli_run_input(district, url, PASSWORD + "\n", "users", "create", email,
                         "--name", "Test person", "--password-stdin", "--by", "it.lead", *args)
    assert made.exit_code == 0, made.output


def cli_run_input(district: SampleDistrict, url: str, given: str, *args: str) -> Any:
    from click.testing import CliRunner

    from connector.cli.main import cli

    return CliRunner().invoke(cli, ["--config-dir", str(district.workspace / "config"),
                                    "--database-url", url, *args], input=given)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    page = client.get("/login", base_url=HTTPS).get_data(as_text=True)
    return client.post("/login", base_url=HTTPS, data={
        "csrf_token": _csrf(page), "district": "cedar-ridge", "email": email,
        "password": password})


def test_accounts_are_made_changed_and_audited_by_the_cli(sample_district: SampleDistrict,
                                                         module_db_url: str) -> None:
    district, url = sample_district, module_db_url
    made = cli_run(district, url, "users", "create", "Principal@Cedar-Ridge.example",
                   "--name", "Dana Principal", "--role", "school_leader:org-crms",
                   "--by", "it.lead")
    assert made.exit_code == 0, made.output
    shown = made.output.splitlines()[-1]  # the one-time password, printed once
    assert len(shown) >= 20
    with _session(district) as session:
        user = session.scalars(select(m.User).where(
            m.User.email == "principal@cedar-ridge.example")).one()
        assert user.password_hash.startswith("$argon2id$") and shown not in user.password_hash
    listed = cli_run(district, url, "users", "list")
    assert "school_leader:org-crms" in listed.output and shown not in listed.output

    for args, said in ((["grant", "principal@cedar-ridge.example", "viewer"], "names its school"),
                       (["grant", "principal@cedar-ridge.example", "school_leader:org-nowhere"],
                        "no school 'org-nowhere'"),
                       (["grant", "principal@cedar-ridge.example", "wizard"], "unknown role"),
                       (["grant", "nobody@cedar-ridge.example", "it"], "no account"),
                       (["create", "not-an-email"], "not an email")):
        refused = cli_run(district, url, "users", *args)
        assert refused.exit_code != 0 and said in refused.output, (args, refused.output)

    steps = (["grant", "principal@cedar-ridge.example", "registrar"],
             ["revoke", "principal@cedar-ridge.example", "registrar"],
             ["disable", "principal@cedar-ridge.example", "--reason", "left the district"],
             ["enable", "principal@cedar-ridge.example"],
             ["reset-password", "principal@cedar-ridge.example"])
    for step in steps:
        done = cli_run(district, url, "users", *step, "--by", "it.lead")
        assert done.exit_code == 0, done.output
    with _session(district) as session:
        events = session.execute(select(m.AuditEvent.action, m.AuditEvent.before,
                                        m.AuditEvent.after).where(
            m.AuditEvent.subject == "user:principal@cedar-ridge.example")
            .order_by(m.AuditEvent.id)).all()
        changed = session.scalars(select(m.User.password_hash).where(
            m.User.email == "principal@cedar-ridge.example")).one()
    assert [e.action for e in events] == ["user.create", "role.grant", "role.grant",
                                          "role.revoke", "user.disable", "user.enable",
                                          "user.reset_password"]
    assert events[2].before == {"roles": ["school_leader:org-crms"]}
    assert events[2].after == {"roles": ["registrar", "school_leader:org-crms"]}
    assert events[4].before == {"active": True} and events[4].after == {"active": False}
    assert all("argon2" not in str(e.after) for e in events)
    assert changed != user.password_hash


def test_a_teacher_account_is_linked_to_the_roster_by_email(sample_district: SampleDistrict,
                                                            module_db_url: str) -> None:
    _account(sample_district, module_db_url, TEACHER, "teacher")
    with _session(sample_district) as session:
        user = session.scalars(select(m.User).where(m.User.email == TEACHER)).one()
    assert user.roster_id == "t-crms-ma06"
    alone = cli_run(sample_district, module_db_url, "users", "create",
                    "stranger@cedar-ridge.example", "--role", "teacher", "--sso-only")
    assert alone.exit_code != 0 and "--roster-id" in alone.output


def test_signing_in_sets_a_protected_cookie_and_renews_the_session(
        app: Flask, sample_district: SampleDistrict, module_db_url: str) -> None:
    _account(sample_district, module_db_url, "registrar@cedar-ridge.example", "registrar")
    client = app.test_client()
    page = client.get("/login", base_url=HTTPS)
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    before = client.get_cookie("session", domain="localhost")
    assert before is not None  # the form's CSRF token lives in the session

    forged = client.post("/login", base_url=HTTPS, data={
        "district": "cedar-ridge", "email": "registrar@cedar-ridge.example",
        "password": PASSWORD})
    assert forged.status_code == 400  # no CSRF token: the form is refused
    wrong = _sign_in(client, "registrar@cedar-ridge.example", "not the password at all")
    unknown = _sign_in(client, "nobody@cedar-ridge.example")
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match" in wrong.get_data(as_text=True)

    signed = _sign_in(client, "registrar@cedar-ridge.example")
    # No page asked for: the district home page, whose menu is the role's.
    assert signed.status_code == 303 and signed.headers["Location"].endswith("/districts/cedar-ridge/")
    cookie = next(h for h in signed.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    after = client.get_cookie("session", domain="localhost")
    assert after is not None and before is not None and after.value != before.value

    me = client.get(f"{BASE}/me", base_url=HTTPS)
    assert me.status_code == 200, me.json
    assert me.json["actor"] == "user:registrar@cedar-ridge.example"
    assert me.json["roles"] == [{"role": "registrar", "school": None}]
    assert client.get(f"{BASE}/students/S100001/mastery", base_url=HTTPS).status_code == 200
    assert client.get(f"{BASE}/runs", base_url=HTTPS).status_code == 403

    # A second sign-in is a new session id; signing out ends this one for good.
    other = app.test_client()
    assert _sign_in(other, "registrar@cedar-ridge.example").status_code == 303
    with _session(sample_district) as session:
        hashes = session.scalars(select(m.SignIn.session_hash)).all()
    assert len(set(hashes)) == len(hashes) >= 2
    stolen = client.get_cookie("session", domain="localhost")
    assert stolen is not None
    account = client.get("/account", base_url=HTTPS).get_data(as_text=True)
    assert client.post("/logout", base_url=HTTPS,
                       data={"csrf_token": _csrf(account)}).status_code == 303
    replay = app.test_client()
    replay.set_cookie("session", stolen.value, domain="localhost")
    assert replay.get(f"{BASE}/me", base_url=HTTPS).status_code == 401
    assert other.get(f"{BASE}/me", base_url=HTTPS).status_code == 200  # the other one lives


def test_a_cookie_alone_cannot_change_records_without_the_csrf_token(
        app: Flask, sample_district: SampleDistrict, module_db_url: str) -> None:
    teacher = "ava.dubois@cedar-ridge.example"
    _account(sample_district, module_db_url, teacher, "teacher", roster_id="t-crms-ma06")
    client = app.test_client()
    assert _sign_in(client, teacher).status_code == 303
    with _session(sample_district) as session:
        student = session.scalars(select(m.Enrollment.user_sourced_id).where(
            m.Enrollment.class_sourced_id == "cls-crms-ma06",
            m.Enrollment.role == "student").order_by(m.Enrollment.user_sourced_id)).first()
        competency = session.scalars(
            select(m.Competency.identifier).join(
                m.MasteryRecord, m.MasteryRecord.competency_id == m.Competency.id)
            .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
            .where(m.Student.sourced_id == student)).first()
    url = f"{BASE}/students/{student}/mastery/{competency}/override"
    body = {"level": "4", "reason": "Exhibition night", "by": "someone else"}
    forged = client.post(url, json=body, base_url=HTTPS)
    assert forged.status_code == 400 and "CSRF" in forged.json["detail"]
    token = _csrf(client.get("/account", base_url=HTTPS).get_data(as_text=True))
    # As a browser sends it from the page: the token, and the page as referrer.
    made = client.post(url, json=body, base_url=HTTPS,
                       headers={"X-CSRFToken": token, "Referer": f"{HTTPS}/account"})
    assert made.status_code == 201, made.json
    # The audit names the signed-in teacher, whatever the body says.
    assert made.json["record"]["override"]["by"] == f"user:{teacher}"


def test_disabling_an_account_signs_it_out_everywhere(
        app: Flask, sample_district: SampleDistrict, module_db_url: str) -> None:
    _account(sample_district, module_db_url, "it@cedar-ridge.example", "it")
    client = app.test_client()
    assert _sign_in(client, "it@cedar-ridge.example").status_code == 303
    assert client.get(f"{BASE}/runs", base_url=HTTPS).status_code == 200
    done = cli_run(sample_district, module_db_url, "users", "disable", "it@cedar-ridge.example",
                   "--reason", "left")
    assert done.exit_code == 0, done.output
    assert client.get(f"{BASE}/runs", base_url=HTTPS).status_code == 401
    assert _sign_in(client, "it@cedar-ridge.example").status_code == 401


def test_sign_in_attempts_are_limited_per_account_and_address_across_processes(
        sample_district: SampleDistrict, module_db_url: str, redis_url: str) -> None:
    _account(sample_district, module_db_url, "viewer@cedar-ridge.example", "viewer:org-crms")
    _account(sample_district, module_db_url, "leader@cedar-ridge.example",
             "school_leader:org-crms")
    shared = {"RATELIMIT_STORAGE_URI": redis_url,
              "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
              "CONNECTOR_ACCOUNT_LIMIT": "3 per 15 minutes",
              "CONNECTOR_ADDRESS_LIMIT": "6 per 5 minutes"}
    # Two apps are two server processes: they share only Redis.
    first, second = (_app(sample_district, module_db_url, **shared) for _ in range(2))
    one, two = first.test_client(), second.test_client()
    for client in (one, two, one):
        assert _sign_in(client, "viewer@cedar-ridge.example", "guess guess guess").status_code \
            == 401
    blocked = _sign_in(two, "viewer@cedar-ridge.example")  # the right password, too late
    assert blocked.status_code == 429, blocked.get_data(as_text=True)[:300]
    assert int(blocked.headers["Retry-After"]) > 0, blocked.headers
    assert "Too many sign-in attempts" in blocked.get_data(as_text=True)
    # Another account from the same address still signs in, and success does not count.
    for _ in range(3):
        assert _sign_in(one, "leader@cedar-ridge.example").status_code == 303
    # ...until the address has made its 6 attempts (a refused one is not counted), whichever
    # account they name.
    assert _sign_in(two, "leader@cedar-ridge.example").status_code == 429
    for made in (first, second):
        made.extensions["connector"].engine.dispose()


def test_the_demo_admin_is_made_once_and_signs_in(
        sample_district: SampleDistrict, module_db_url: str, app: Flask,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from connector.cli.commands import DEMO_PASSWORD, _demo_admin
    from connector.cli.context import make_context

    def demo() -> str:
        ctx = make_context(str(sample_district.workspace / "config"), None, module_db_url)
        try:
            _demo_admin(ctx)
        finally:
            ctx.engine.dispose()
        return capsys.readouterr().out

    def events() -> list[str]:
        with _session(sample_district) as session:
            return list(session.scalars(select(m.AuditEvent.action).where(
                m.AuditEvent.subject == "user:admin@cedar-ridge.example")))

    client = app.test_client()
    monkeypatch.delenv(DEMO_PASSWORD, raising=False)
    told = demo()
    password = re.search(r"password: (\S+)", told)
    assert password and "admin@cedar-ridge.example" in told and "serve" in told
    assert _sign_in(client, "admin@cedar-ridge.example", password.group(1)).status_code == 303
    made = events()
    assert "as made before" in demo() and events() == made  # a rerun changes nothing

    monkeypatch.setenv(DEMO_PASSWORD, "a demo password of enough length")
    assert "reset from" in demo()
    assert "(unchanged)" in demo() and events().count("user.reset_password") == 1
    assert _sign_in(client, "admin@cedar-ridge.example",
                    "a demo password of enough length").status_code == 303
