"""Every endpoint against every role: 2xx where the role may, 403 where it may not, 404 elsewhere.

The table below is this test's own statement of the policy in the issue (who may
do what), written apart from ``connector.domain.roles``: if the code's matrix
drifts from it, this fails. The endpoints are read from the live ``/openapi.json``,
so a new endpoint without a row here fails too.

Each role is a real account in Cedar Ridge with its own token (admin scope, so the
role alone decides); the teacher is a roster teacher (``t-crms-ma06``) whose
classes come from the roster's enrollments. Pine Valley, in the same database,
holds students with the same SIS ids: every Cedar Ridge person gets 404 there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.app import create_app
from connector.config.loader import load_settings
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import accounts, api_tokens, credentials
from connector.transcripts import signing
from tests.integration.test_tenancy import TwoDistricts, two  # noqa: F401  (fixture)

ADMIN, IT, REGISTRAR, LEADER, TEACHER, VIEWER = (
    "district_admin", "it", "registrar", "school_leader", "teacher", "viewer")
EVERYONE = {ADMIN, IT, REGISTRAR, LEADER, TEACHER, VIEWER}
RECORDS = {ADMIN, REGISTRAR, LEADER, TEACHER}
OPERATIONS = {ADMIN, IT}
TRANSCRIPTS = {ADMIN, REGISTRAR}
INTAKE = "intake"  # provider credentials only: no person's role posts events
D = "/api/v1/districts/{key}"
EXPECT: dict[tuple[str, str], set[str] | str] = {
    ("GET", f"{D}/status"): OPERATIONS,
    ("GET", f"{D}/runs"): OPERATIONS,
    ("GET", f"{D}/runs/{{run_id}}"): OPERATIONS,
    ("GET", f"{D}/runs/{{run_id}}/rejections"): OPERATIONS,
    ("GET", f"{D}/jobs"): OPERATIONS,
    ("POST", f"{D}/jobs/{{job}}/run"): OPERATIONS,
    ("GET", f"{D}/mapping/unmapped"): OPERATIONS,
    ("GET", f"{D}/identity/exceptions"): OPERATIONS,
    ("GET", f"{D}/identity/links"): OPERATIONS,
    ("POST", f"{D}/identity/links"): OPERATIONS,
    ("DELETE", f"{D}/identity/links/{{link_id}}"): OPERATIONS,
    ("GET", f"{D}/mapping/crosswalk"): OPERATIONS,
    ("POST", f"{D}/mapping/crosswalk"): OPERATIONS,
    ("DELETE", f"{D}/mapping/crosswalk/{{entry_id}}"): OPERATIONS,
    ("GET", f"{D}/students/{{sis_id}}/mastery"): RECORDS,
    ("GET", f"{D}/students/{{sis_id}}/progress"): RECORDS,
    ("GET", f"{D}/students/{{sis_id}}/evidence/{{competency}}"): RECORDS,
    ("GET", f"{D}/students/{{sis_id}}/mastery/{{competency}}"): RECORDS,
    ("GET", f"{D}/students/{{sis_id}}/mastery/{{competency}}/overrides"): RECORDS,
    ("POST", f"{D}/students/{{sis_id}}/mastery/{{competency}}/override"): {ADMIN, TEACHER},
    ("DELETE", f"{D}/students/{{sis_id}}/mastery/{{competency}}/override"): {ADMIN, TEACHER},
    ("GET", f"{D}/classes/{{class_id}}/mastery"): RECORDS,
    ("GET", f"{D}/reports/dok-exposure"): {ADMIN, REGISTRAR, LEADER, VIEWER},
    ("GET", f"{D}/frameworks"): EVERYONE,
    ("GET", f"{D}/frameworks/{{framework}}/competencies"): EVERYONE,
    ("POST", f"{D}/mastery/calc"): EVERYONE,
    ("GET", f"{D}/audit"): {ADMIN},
    ("GET", f"{D}/users"): {ADMIN},
    ("POST", f"{D}/users"): {ADMIN},
    ("POST", f"{D}/users/{{email}}/disable"): {ADMIN},
    ("POST", f"{D}/users/{{email}}/enable"): {ADMIN},
    ("POST", f"{D}/users/{{email}}/password"): {ADMIN},
    ("POST", f"{D}/users/{{email}}/roles"): {ADMIN},
    ("DELETE", f"{D}/users/{{email}}/roles"): {ADMIN},
    ("GET", f"{D}/tokens"): {ADMIN},
    ("POST", f"{D}/tokens"): {ADMIN},
    ("DELETE", f"{D}/tokens/{{token_id}}"): {ADMIN},
    ("GET", f"{D}/transcripts"): TRANSCRIPTS,
    ("POST", f"{D}/students/{{sis_id}}/transcripts"): TRANSCRIPTS,
    ("GET", f"{D}/transcripts/{{document_id}}"): TRANSCRIPTS,
    ("GET", f"{D}/transcripts/{{document_id}}/pdf"): TRANSCRIPTS,
    ("POST", f"{D}/transcripts/{{document_id}}/review"): TRANSCRIPTS,
    ("POST", f"{D}/transcripts/{{document_id}}/issue"): TRANSCRIPTS,
    ("POST", f"{D}/transcripts/{{document_id}}/revoke"): TRANSCRIPTS,
    ("GET", f"{D}/credentials/status"): EVERYONE,  # public: what verifiers read
    ("GET", f"{D}/credentials/issuer"): EVERYONE,
    ("GET", f"{D}/me"): EVERYONE,
    ("GET", f"{D}/xapi/about"): EVERYONE,  # public, as the xAPI specification says
    ("POST", f"{D}/xapi/statements"): INTAKE,
    ("PUT", f"{D}/xapi/statements"): INTAKE,
    ("GET", f"{D}/xapi/statements"): INTAKE,
    ("POST", f"{D}/caliper"): INTAKE,
}
BODIES: dict[str, Any] = {
    "calc": {"method": "mean", "evidence": [{"value": 3}, {"value": 4}]},
    "override": {"level": "4", "reason": "Exhibition night"},
    "clear": {"reason": "entered in error"},
}
#: The transcript workflow's steps run in this order, each on the version the draft made.
STEPS = {f"{D}/students/{{sis_id}}/transcripts": 1, f"{D}/transcripts/{{document_id}}": 2,
         f"{D}/transcripts/{{document_id}}/pdf": 2, f"{D}/transcripts/{{document_id}}/review": 3,
         f"{D}/transcripts/{{document_id}}/issue": 4, f"{D}/transcripts/{{document_id}}/revoke": 5}
MY_CLASS = "cls-crms-ma06"


@dataclass
class Cast:
    tokens: dict[str, str]
    values: dict[str, str]
    other_class: str
    other_student: str


@pytest.fixture(scope="module")
def cast(two: TwoDistricts) -> Cast:  # noqa: F811
    """One account per role in Cedar Ridge, each with its own admin-scope token."""
    key = credentials.key_path(load_settings(two.config, "cedar-ridge"))
    key.parent.mkdir(parents=True, exist_ok=True)
    if not key.exists():
        key.write_bytes(signing.new_key())  # the district signs credentials
    tokens = {}
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        for role, school in ((ADMIN, ""), (IT, ""), (REGISTRAR, ""), (LEADER, "org-crms"),
                             (TEACHER, ""), (VIEWER, "org-crms")):
            email = f"{role}@cedar-ridge.example"
            accounts.create_user(session, email, name=role, by="test", password=None)
            accounts.grant(session, email, role, school, by="test",
                           roster_id="t-crms-ma06" if role == TEACHER else None)
            tokens[role] = api_tokens.make_token(session, name=role, scopes=["admin"],
                                                 by="test", days=None, user=email).token
        mine = session.scalars(select(m.Enrollment.user_sourced_id).where(
            m.Enrollment.class_sourced_id == MY_CLASS, m.Enrollment.role == "student")
            .order_by(m.Enrollment.user_sourced_id)).first()
        assert mine is not None
        record = session.execute(
            select(m.Competency.identifier).join(
                m.MasteryRecord, m.MasteryRecord.competency_id == m.Competency.id)
            .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
            .where(m.Student.sourced_id == mine, m.Competency.human_coding_scheme != "")
            .order_by(m.Competency.human_coding_scheme)).scalars().first()
        run = session.scalars(select(m.SyncRun.id).order_by(m.SyncRun.id)).first()
        other = session.scalars(select(m.Student.sourced_id).where(
            m.Student.school_sourced_id == "org-jhms").order_by(m.Student.sourced_id)).first()
        framework = session.scalars(select(m.Framework.key)).first()
    assert record is not None and run is not None and other is not None and framework
    return Cast(tokens, {"sis_id": mine, "competency": record, "run_id": str(run),
                         "class_id": MY_CLASS, "framework": framework, "job": "nightly-sync",
                         "entry_id": "1", "link_id": "1",
                         "email": "matrix@cedar-ridge.example", "token_id": "1",
                         "document_id": "1"},
                "cls-jhms-ma06", other)


@pytest.fixture(scope="module")
def client(two: TwoDistricts) -> Iterator[FlaskClient]:  # noqa: F811
    app = create_app({"CONNECTOR_CONFIG_DIR": str(two.config),
                      "CONNECTOR_DATABASE_URL": two.db_url})
    yield app.test_client()
    app.extensions["connector"].engine.dispose()


def _operations(client: FlaskClient) -> list[tuple[str, str]]:
    document = client.get("/openapi.json").json
    return [(method.upper(), path) for path, item in document["paths"].items()
            for method in item if path.startswith("/api/v1/districts/")
            and method in ("get", "post", "put", "delete", "patch")]


def _call(client: FlaskClient, method: str, template: str, values: dict[str, str],
          token: str) -> Any:
    path = template.format(**values)
    body = (BODIES["calc"] if path.endswith("/calc") else BODIES["override"] if method == "POST"
            and path.endswith("/override") else BODIES["clear"] if method == "DELETE" else None)
    if path.endswith("/mapping/crosswalk") and method == "POST":
        body = {"source": "*", "item": "matrix-item", "competency": values["competency"]}
    if path.endswith("/users") and method == "POST":
        body = {"email": values["email"], "name": "Matrix", "sign_in": "sso"}
    if path.endswith("/roles"):
        body = {"role": "viewer", "school": "org-crms"}
    if path.endswith("/revoke"):
        body = {"reason": "sent to the wrong college"}
    if path.endswith("/tokens") and method == "POST":
        body = {"name": "matrix", "scopes": ["read"]}
    if path.endswith("/identity/links") and method == "POST":
        body = {"source": "sis-gradebook", "kind": "sourced_id", "external_id": "matrix-user",
                "student": values["sis_id"]}
    headers = {"Authorization": f"Bearer {token}", "X-Experience-API-Version": "1.0.3"}
    if method in ("POST", "PUT") and body is None:
        body = {}
    return client.open(path, method=method, json=body, headers=headers)


def test_the_table_covers_every_documented_endpoint(client: FlaskClient) -> None:
    assert sorted(_operations(client)) == sorted(EXPECT)


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_each_role_may_do_what_the_table_says_and_gets_403_otherwise(
        client: FlaskClient, cast: Cast, role: str) -> None:
    values = {"key": "cedar-ridge", **cast.values}
    seen = {}
    # The override is set before it is cleared, so DELETE finds one where POST was allowed.
    # The transcript steps go draft, read, review, issue, revoke.
    ordered = sorted(EXPECT, key=lambda op: (op[0] == "DELETE", STEPS.get(op[1], 0), op))
    for method, template in ordered:
        allowed = EXPECT[(method, template)]
        response = _call(client, method, template, values, cast.tokens[role])
        seen[(method, template)] = response.status_code
        if template.endswith("/mapping/crosswalk") and method == "POST" and response.is_json \
                and "id" in response.json:
            values["entry_id"] = str(response.json["id"])  # removed by the DELETE after
        if template.endswith("/identity/links") and method == "POST" and response.is_json \
                and "id" in response.json:
            values["link_id"] = str(response.json["id"])
        if template.endswith("/tokens") and method == "POST" and response.is_json \
                and "id" in response.json:
            values["token_id"] = str(response.json["id"])
        if template.endswith("/transcripts") and method == "POST" and response.is_json \
                and response.json.get("transcript"):
            values["document_id"] = str(response.json["transcript"]["id"])
        if allowed == INTAKE:
            assert response.status_code == 401, (method, template, response.json)
        elif role in allowed:
            ok = {200, 201, 202, 503} if template.endswith("/status") else {200, 201, 202}
            assert response.status_code in ok, (method, template, response.json)
        else:
            assert response.status_code == 403, (method, template, response.status_code)
            assert response.json["type"] == "/problems/forbidden"


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_another_districts_data_is_404_for_every_role(client: FlaskClient, cast: Cast,
                                                      role: str) -> None:
    # Pine Valley has a student S100001 and the same frameworks: nothing may show.
    values = {"key": "pine-valley", **cast.values, "sis_id": "S100001"}
    for method, template in EXPECT:
        if EXPECT[(method, template)] == INTAKE or template.endswith("/xapi/about") \
                or "/credentials/" in template:
            continue  # provider credentials, or public: see test_event_intake, test_credentials
        response = _call(client, method, template, values, cast.tokens[role])
        assert response.status_code == 404, (method, template, response.status_code)


def test_a_teacher_reads_only_the_classes_the_roster_says_they_teach(client: FlaskClient,
                                                                     cast: Cast) -> None:
    teacher = {"Authorization": f"Bearer {cast.tokens[TEACHER]}"}
    base = "/api/v1/districts/cedar-ridge"
    me = client.get(f"{base}/me", headers=teacher).json
    assert me["classes"] == [MY_CLASS] and me["kind"] == "person"
    assert client.get(f"{base}/classes/{MY_CLASS}/mastery", headers=teacher).status_code == 200
    refused = client.get(f"{base}/classes/{cast.other_class}/mastery", headers=teacher)
    assert refused.status_code == 403 and cast.other_class in refused.json["detail"]
    mine = client.get(f"{base}/students/{cast.values['sis_id']}/mastery", headers=teacher)
    assert mine.status_code == 200 and mine.json["records"]
    # What a teacher sees is the teacher's: no shared cache may keep it for someone else.
    assert mine.headers["Cache-Control"] == "private, no-cache"
    assert {"Authorization", "Cookie"} <= set(mine.vary)
    for path in (f"students/{cast.other_student}/mastery",
                 f"students/{cast.other_student}/progress",
                 f"students/{cast.other_student}/mastery/{cast.values['competency']}"):
        assert client.get(f"{base}/{path}", headers=teacher).status_code == 403, path
    override = client.post(f"{base}/students/{cast.other_student}/mastery/"
                           f"{cast.values['competency']}/override",
                           json=BODIES["override"], headers=teacher)
    assert override.status_code == 403


def test_school_roles_see_their_school_only(client: FlaskClient, cast: Cast) -> None:
    base = "/api/v1/districts/cedar-ridge"
    leader = {"Authorization": f"Bearer {cast.tokens[LEADER]}"}
    viewer = {"Authorization": f"Bearer {cast.tokens[VIEWER]}"}
    assert client.get(f"{base}/classes/{cast.other_class}/mastery",
                      headers=leader).status_code == 403
    assert client.get(f"{base}/students/{cast.other_student}/mastery",
                      headers=leader).status_code == 403
    for by, key in (("school", "school"), ("class", "class")):
        rows = client.get(f"{base}/reports/dok-exposure?by={by}", headers=viewer).json["rows"]
        everyone = client.get(f"{base}/reports/dok-exposure?by={by}",
                              headers={"Authorization": f"Bearer {cast.tokens[ADMIN]}"}
                              ).json["rows"]
        assert rows and len(rows) < len(everyone)
        assert all(("crms" in row[key]) for row in rows), rows
        assert any("jhms" in row[key] for row in everyone)


def test_a_scope_caps_a_persons_token(client: FlaskClient, two: TwoDistricts,  # noqa: F811
                                      cast: Cast) -> None:
    with tenant_session(two.factory, two.cedar) as session, session.begin():
        read_only = api_tokens.make_token(session, name="teacher phone", scopes=["read"],
                                          by="test", days=30,
                                          user="teacher@cedar-ridge.example").token
    base = f"/api/v1/districts/cedar-ridge/students/{cast.values['sis_id']}/mastery/" \
           f"{cast.values['competency']}"
    headers = {"Authorization": f"Bearer {read_only}"}
    assert client.get(base, headers=headers).status_code == 200
    refused = client.post(f"{base}/override", json=BODIES["override"], headers=headers)
    assert refused.status_code == 403 and "write or admin scope" in refused.json["detail"]
