"""A generated fuzz of API requests: any path value, query, body and credentials gets an answer below 500.

Hypothesis draws requests against every route of the API: real and hostile path values,
known and unknown query parameters with odd values, JSON bodies of any shape (and bytes
that are not JSON), each with no token, a wrong one, the read, write, admin or provider
token.
The answer must be a client error or a success, never a server error (issue 14).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connector.config.loader import load_settings
from connector.persistence.tenancy import tenant_session
from connector.sync import api_tokens, credentials
from connector.sync.district import find_district
from connector.transcripts import signing
from tests.conftest import SampleDistrict, api_client
from tests.integration.test_event_intake import district  # noqa: F401  (the fixture)

ROUTES = [
    ("GET", "/healthz"), ("GET", "/api/v1/districts/{key}/status"),
    ("GET", "/api/v1/districts/{key}/runs"), ("GET", "/api/v1/districts/{key}/runs/{run}"),
    ("GET", "/api/v1/districts/{key}/students/{sis}/mastery"),
    ("GET", "/api/v1/districts/{key}/mapping/unmapped"),
    ("GET", "/api/v1/districts/{key}/students/{sis}/progress"),
    ("GET", "/api/v1/districts/{key}/students/{sis}/evidence/{comp}"),
    ("GET", "/api/v1/districts/{key}/reports/dok-exposure"),
    ("GET", "/api/v1/districts/{key}/audit"),
    ("GET", "/api/v1/districts/{key}/classes/{cls}/mastery"),
    ("GET", "/api/v1/districts/{key}/frameworks"),
    ("GET", "/api/v1/districts/{key}/frameworks/{fw}/competencies"),
    ("GET", "/api/v1/districts/{key}/identity/exceptions"),
    ("POST", "/api/v1/districts/{key}/mastery/calc"),
    ("GET", "/api/v1/districts/{key}/students/{sis}/mastery/{comp}"),
    ("POST", "/api/v1/districts/{key}/students/{sis}/mastery/{comp}/override"),
    ("DELETE", "/api/v1/districts/{key}/students/{sis}/mastery/{comp}/override"),
    ("GET", "/api/v1/districts/{key}/students/{sis}/mastery/{comp}/overrides"),
    ("GET", "/api/v1/districts/{key}/xapi/about"),
    ("POST", "/api/v1/districts/{key}/xapi/statements"),
    ("PUT", "/api/v1/districts/{key}/xapi/statements"),
    ("GET", "/api/v1/districts/{key}/xapi/statements"),
    ("POST", "/api/v1/districts/{key}/caliper"),
    ("GET", "/api/v1/districts/{key}/me"),
    ("GET", "/api/v1/districts/{key}/users"),
    ("GET", "/api/v1/districts/{key}/jobs"),
    ("POST", "/api/v1/districts/{key}/jobs/{job}/run"),
    ("GET", "/api/v1/districts/{key}/runs/{run}/rejections"),
    ("GET", "/api/v1/districts/{key}/mapping/crosswalk"),
    ("POST", "/api/v1/districts/{key}/mapping/crosswalk"),
    ("DELETE", "/api/v1/districts/{key}/mapping/crosswalk/{entry}"),
    ("GET", "/api/v1/districts/{key}/identity/links"),
    ("POST", "/api/v1/districts/{key}/identity/links"),
    ("DELETE", "/api/v1/districts/{key}/identity/links/{link}"),
    ("POST", "/api/v1/districts/{key}/users"),
    ("POST", "/api/v1/districts/{key}/users/{email}/disable"),
    ("POST", "/api/v1/districts/{key}/users/{email}/enable"),
    ("POST", "/api/v1/districts/{key}/users/{email}/password"),
    ("POST", "/api/v1/districts/{key}/users/{email}/roles"),
    ("DELETE", "/api/v1/districts/{key}/users/{email}/roles"),
    ("GET", "/api/v1/districts/{key}/tokens"),
    ("POST", "/api/v1/districts/{key}/tokens"),
    ("DELETE", "/api/v1/districts/{key}/tokens/{token}"),
    ("GET", "/api/v1/districts/{key}/transcripts"),
    ("POST", "/api/v1/districts/{key}/students/{sis}/transcripts"),
    ("GET", "/api/v1/districts/{key}/transcripts/{document}"),
    ("GET", "/api/v1/districts/{key}/transcripts/{document}/pdf"),
    ("POST", "/api/v1/districts/{key}/transcripts/{document}/review"),
    ("POST", "/api/v1/districts/{key}/transcripts/{document}/issue"),
    ("POST", "/api/v1/districts/{key}/transcripts/{document}/revoke"),
    ("GET", "/api/v1/districts/{key}/credentials/status"),
    ("GET", "/api/v1/districts/{key}/credentials/issuer"),
]
TOKENS = {"read": "read-t0ken", "write": "write-t0ken", "tutor": "tutor-t0ken",
          "quiz": "quiz-t0ken"}

odd = st.one_of(st.text(max_size=30), st.sampled_from([
    "", "0", "-1", "99999999999999999999", "1e999", "nan", "0001-01-01", "9999-12-31",
    "2025-02-30", "..", "%00", "\x00", "a" * 5000, "S100001", "cedar-ridge", "true", "[]",
    "{}", "' OR 1=1 --", "<script>", "１２", "CR.MA.RP.1.a", "school", "class", "source"]))
path_values = {
    "key": st.one_of(st.just("cedar-ridge"), st.just("other-district"), odd),
    "sis": st.one_of(st.just("S100001"), st.just("S100002"), odd),
    "comp": st.one_of(st.just("CR.MA.RP.1.a"), odd),
    "run": st.one_of(st.integers(0, 3), st.integers(2**31, 2**63)),
    "cls": st.one_of(st.just("cls-crms-ma06"), odd),
    "fw": st.one_of(st.just("math-ela"), odd),
    "job": st.one_of(st.just("nightly-sync"), odd),
    "entry": st.one_of(st.integers(0, 3), st.integers(2**31, 2**63)),
    "link": st.one_of(st.integers(0, 3), st.integers(2**31, 2**63)),
    "token": st.one_of(st.integers(0, 3), st.integers(2**31, 2**63)),
    "document": st.one_of(st.integers(0, 3), st.integers(2**31, 2**63)),
    "email": st.one_of(st.just("it@cedar-ridge.example"), odd),
}
queries = st.dictionaries(
    st.one_of(st.sampled_from(["as_of", "limit", "by", "school", "class", "statementId",
                               "voidedStatementId", "status", "job", "cursor", "level", "q",
                               "format", "attachments"]), st.text(max_size=8)),
    odd, max_size=4)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
              st.text(max_size=12)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=20)
shaped = st.fixed_dictionaries({}, optional={
    "method": st.one_of(st.sampled_from(["mean", "power_law", "decaying_average", "nope"]), odd),
    "evidence": st.one_of(st.lists(st.one_of(st.floats(allow_nan=True), st.integers(), odd,
                                             json_values), max_size=8), json_values),
    "parameters": json_values, "level": st.one_of(odd, st.integers()),
    "state": odd, "reason": odd, "by": odd, "scale": json_values,
    "source": st.one_of(st.just("sis-gradebook"), odd),
    "kind": st.one_of(st.sampled_from(["user", "sourced_id", "email"]), odd),
    "external_id": odd, "student": st.one_of(st.just("S100001"), odd),
    "email": odd, "name": odd, "sign_in": st.one_of(st.sampled_from(["password", "sso"]), odd),
    "role": st.one_of(st.sampled_from(["viewer", "teacher", "district_admin"]), odd),
    "school": odd, "scopes": st.one_of(st.lists(odd, max_size=3), json_values),
    "days": st.one_of(st.integers(), odd), "user": odd})
bodies = st.one_of(st.none(), json_values.map(lambda v: json.dumps(v).encode()),
                   shaped.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200))


@pytest.fixture
def client(district: SampleDistrict, module_db_url: str,  # noqa: F811
           monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("CEDAR_RIDGE_API_TOKEN", TOKENS["read"])
    monkeypatch.setenv("CEDAR_RIDGE_API_WRITE_TOKEN", TOKENS["write"])
    monkeypatch.setenv("TUTOR_XAPI_TOKEN", TOKENS["tutor"])
    monkeypatch.setenv("QUIZ_CALIPER_TOKEN", TOKENS["quiz"])
    key = credentials.key_path(load_settings(district.workspace / "config", "cedar-ridge"))
    if not key.exists():  # the district signs credentials: its public documents answer
        key.parent.mkdir(parents=True, exist_ok=True)
        key.write_bytes(signing.new_key())
    with tenant_session(district.factory, find_district(district.factory, "cedar-ridge")) \
            as session, session.begin():  # a district admin's reach, for the admin routes
        TOKENS["admin"] = api_tokens.make_token(session, name="fuzz", scopes=["admin"],
                                                by="fuzz", days=None).token
    with api_client(district, module_db_url) as client:
        yield client


@st.composite
def requests_(draw: st.DrawFn) -> dict[str, Any]:
    method, template = draw(st.sampled_from(ROUTES))
    values = {name: draw(strategy) for name, strategy in path_values.items()}
    path = template.format(**{k: str(v).replace("/", "%2F").replace("?", "%3F")
                              .replace("#", "%23") for k, v in values.items()})
    who = draw(st.sampled_from([None, "wrong", *TOKENS]))
    headers = {"X-Experience-API-Version": draw(st.sampled_from(["1.0.3", "2.0", ""]))}
    if who is not None:
        headers["Authorization"] = f"Bearer {TOKENS.get(who, 'wrong-token')}"
    return {"method": method, "path": path, "query": draw(queries), "headers": headers,
            "body": draw(bodies) if method in ("POST", "PUT") else None,
            "content_type": draw(st.sampled_from(["application/json", "text/plain",
                                                  "application/json; charset=latin-1"]))}


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "400")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(request=requests_())
# Found by this fuzz on PostgreSQL: a NUL in a path value, a run id past 32 bits.
@example(request={"method": "GET", "path": "/api/v1/districts/cedar-ridge/students/S100001/"
                  "evidence/\x00", "query": {}, "headers": {"Authorization": "Bearer read-t0ken"},
                  "body": None, "content_type": "application/json"})
@example(request={"method": "GET", "path": "/api/v1/districts/cedar-ridge/runs/2147483648",
                  "query": {"as_of": "\x00"}, "headers": {"Authorization": "Bearer read-t0ken"},
                  "body": None, "content_type": "application/json"})
def test_no_request_gets_a_server_error(client: FlaskClient, request: dict[str, Any]) -> None:
    answer = client.open(request["path"], method=request["method"],
                         query_string=request["query"], headers=request["headers"],
                         data=request["body"], content_type=request["content_type"])
    assert answer.status_code < 500, (request, answer.get_data(as_text=True)[:300])
