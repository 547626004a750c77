"""The API's OpenAPI document is the API: schemathesis drives every operation from it.

For each operation schemathesis generates requests from ``/openapi.json`` itself, valid
and invalid, and the answers must be below 500, carry a documented status and content
type, and match the schema declared for that status (problem details for errors).
The district is the sample district, so reads find real students and records.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from connector.api import problems
from tests.conftest import SampleDistrict, api_client
from tests.integration.test_api_fuzz import ROUTES, TOKENS
from tests.integration.test_event_intake import district  # noqa: F401  (the fixture)

CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance,
          content_type_conformance, response_schema_conformance]
STUDENTS = ("S100001", "S100002", "S100005")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))


@pytest.fixture
def app(district: SampleDistrict, module_db_url: str,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("CEDAR_RIDGE_API_TOKEN", TOKENS["read"])
    monkeypatch.setenv("CEDAR_RIDGE_API_WRITE_TOKEN", TOKENS["write"])
    monkeypatch.setenv("TUTOR_XAPI_TOKEN", TOKENS["tutor"])
    monkeypatch.setenv("QUIZ_CALIPER_TOKEN", TOKENS["quiz"])
    with api_client(district, module_db_url) as client:
        assert client.application is not None
        yield client.application


def _credential(method: str, path: str) -> str:
    if "/xapi/" in path:
        return TOKENS["tutor"]
    if path.endswith("/caliper"):
        return TOKENS["quiz"]
    return TOKENS["write"] if method in ("POST", "DELETE") and "/override" in path else \
        TOKENS["read"]


def _aim(case: Any) -> None:
    """Most cases name the sample district and a real student, so reads find records."""
    parameters = case.path_parameters or {}
    if "key" in parameters and hash(str(parameters["key"])) % 4:
        parameters["key"] = "cedar-ridge"
    if "sis_id" in parameters and hash(str(parameters["sis_id"])) % 3:
        parameters["sis_id"] = STUDENTS[hash(str(parameters["sis_id"])) % len(STUDENTS)]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_its_description_says(app: Flask,
                                                         mode: GenerationMode) -> None:
    # Valid requests (positive) and requests that break the description (negative).
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(ROUTES)
    nothing_to_break = []
    for operation in operations:
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def answers(case: Any) -> None:
            _aim(case)
            headers = {"Authorization": f"Bearer {_credential(case.method, case.path)}"}
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            answers()
        except Unsatisfiable:  # nothing it takes can be invalid: no request breaks it
            assert mode is GenerationMode.NEGATIVE
            nothing_to_break.append(operation.path)
    # These take no input, or only a district key (any text names some district).
    assert set(nothing_to_break) <= {"/healthz", "/api/v1/districts/{key}/xapi/about"}


def test_the_description_covers_every_route_the_fuzz_knows(app: Flask) -> None:
    # The request fuzz and the description name the same operations: a new route is in both.
    spec = app.test_client().get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    described = {(method.upper(), path) for path, operations in spec["paths"].items()
                 for method in operations if method != "parameters"}
    fuzzed = {(method, path.replace("{sis}", "{sis_id}").replace("{comp}", "{competency}")
               .replace("{run}", "{run_id}")) for method, path in ROUTES}
    assert described == fuzzed


def test_errors_are_problem_details_with_a_type_that_says_what_it_means(app: Flask) -> None:
    client = app.test_client()
    base = "/api/v1/districts/cedar-ridge"
    none = client.get(f"{base}/runs")
    assert none.status_code == 401 and none.mimetype == problems.MEDIA_TYPE
    assert none.headers["WWW-Authenticate"] == "Bearer"
    assert none.json["type"] == "/problems/not-authenticated" and none.json["status"] == 401
    read = {"Authorization": f"Bearer {TOKENS['read']}"}
    body = {"level": "4", "reason": "Exhibition", "by": "j.ruiz"}
    # A token the server knows, without the right: 403, not "who are you?"
    refused = client.post(f"{base}/students/S100001/mastery/CR.MA.RP.1.a/override", json=body,
                          headers=read)
    assert refused.status_code == 403 and refused.json["type"] == "/problems/forbidden"
    assert "write token" in refused.json["detail"]
    missing = client.get(f"{base}/students/S999999/mastery", headers=read)
    assert missing.status_code == 404 and missing.json["detail"] == "no student 'S999999'"
    assert missing.json["instance"] == f"{base}/students/S999999/mastery"
    meaning = client.get(missing.json["type"]).json
    assert meaning["status"] == 404 and "No such" in meaning["means"]
    bad_limit = client.get(f"{base}/runs?limit=lots", headers=read)
    assert bad_limit.status_code == 400 and "limit" in bad_limit.json["detail"]
    assert client.get(f"{base}/runs?limit=2", headers=read).json["runs"][:1]
    wrong_method = client.put(f"{base}/runs", headers=read)
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert wrong_method.json["type"] == "/problems/method-not-allowed"


def test_the_docs_page_loads_its_assets_from_this_server(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/docs").get_data(as_text=True)
    assets = [part.split('"')[0] for part in page.split('src="')[1:]]
    assets += [part.split('"')[0] for part in page.split('href="')[1:]]
    assert assets and all(a.startswith("/docs/assets/") for a in assets), assets
    for asset in assets:
        with client.get(asset) as answer:  # a file response: closed when read
            assert answer.status_code == 200 and len(answer.data) > 1000, asset
