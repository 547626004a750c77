"""The API's OpenAPI document is the API: schemathesis drives every operation from it.

For each operation schemathesis generates requests from ``/openapi.json`` itself, valid
and invalid, and the answers must be below 500, carry a documented status and content
type, and match the schema declared for that status (problem details for errors).
The district is the sample district, so reads find real students and records.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from connector.api import problems
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import SampleDistrict
from tests.integration.test_api_fuzz import ROUTES, TOKENS, client  # noqa: F401  (fixture)
from tests.integration.test_event_intake import district  # noqa: F401  (the fixture)

CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance,
          content_type_conformance, response_schema_conformance]
STUDENTS = ("S100001", "S100002", "S100005")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))


@pytest.fixture
def app(client: FlaskClient) -> Flask:  # noqa: F811  (the fuzz's client, with its tokens)
    assert client.application is not None
    return client.application


def _credential(method: str, path: str) -> str:
    if "/xapi/" in path:
        return TOKENS["tutor"]
    if path.endswith("/caliper"):
        return TOKENS["quiz"]
    if "/users" in path or "/tokens" in path:
        return TOKENS["admin"]  # a district admin's: people and tokens are theirs alone
    return TOKENS["write"] if method in ("POST", "DELETE") else TOKENS["read"]


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
    assert set(nothing_to_break) <= {"/healthz", "/api/v1/districts/{key}/xapi/about",
                                     "/api/v1/districts/{key}/credentials/status",
                                     "/api/v1/districts/{key}/credentials/issuer"}


def test_the_description_covers_every_route_the_fuzz_knows(app: Flask) -> None:
    # The request fuzz and the description name the same operations: a new route is in both.
    spec = app.test_client().get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    described = {(method.upper(), path) for path, operations in spec["paths"].items()
                 for method in operations if method != "parameters"}
    fuzzed = {(method, path.replace("{sis}", "{sis_id}").replace("{comp}", "{competency}")
               .replace("{run}", "{run_id}").replace("{cls}", "{class_id}")
               .replace("{fw}", "{framework}").replace("{entry}", "{entry_id}")
               .replace("{link}", "{link_id}").replace("{token}", "{token_id}")
                   .replace("{document}", "{document_id}"))
              for method, path in ROUTES}
    assert described == fuzzed


def test_errors_are_problem_details_with_a_type_that_says_what_it_means(app: Flask) -> None:
    api = app.test_client()
    base = "/api/v1/districts/cedar-ridge"
    none = api.get(f"{base}/runs")
    assert none.status_code == 401 and none.mimetype == problems.MEDIA_TYPE
    assert none.headers["WWW-Authenticate"] == "Bearer"
    assert none.json["type"] == "/problems/not-authenticated" and none.json["status"] == 401
    read = {"Authorization": f"Bearer {TOKENS['read']}"}
    body = {"level": "4", "reason": "Exhibition", "by": "j.ruiz"}
    # A token the server knows, without the right: 403, not "who are you?"
    refused = api.post(f"{base}/students/S100001/mastery/CR.MA.RP.1.a/override", json=body,
                          headers=read)
    assert refused.status_code == 403 and refused.json["type"] == "/problems/forbidden"
    assert "write token" in refused.json["detail"]
    missing = api.get(f"{base}/students/S999999/mastery", headers=read)
    assert missing.status_code == 404 and missing.json["detail"] == "no student 'S999999'"
    assert missing.json["instance"] == f"{base}/students/S999999/mastery"
    meaning = api.get(missing.json["type"]).json
    assert meaning["status"] == 404 and "No such" in meaning["means"]
    bad_limit = api.get(f"{base}/runs?limit=lots", headers=read)
    assert bad_limit.status_code == 400 and "limit" in bad_limit.json["detail"]
    assert api.get(f"{base}/runs?limit=2", headers=read).json["runs"][:1]
    wrong_method = api.put(f"{base}/runs", headers=read)
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert wrong_method.json["type"] == "/problems/method-not-allowed"


def test_the_docs_page_loads_its_assets_from_this_server(app: Flask) -> None:
    api = app.test_client()
    page = api.get("/docs").get_data(as_text=True)
    assets = [part.split('"')[0] for part in page.split('src="')[1:]]
    assets += [part.split('"')[0] for part in page.split('href="')[1:]]
    assert assets and all(a.startswith("/docs/assets/") for a in assets), assets
    for asset in assets:
        with api.get(asset) as answer:  # a file response: closed when read
            assert answer.status_code == 200 and len(answer.data) > 1000, asset


def test_runs_come_a_page_at_a_time_and_reads_answer_304_when_unchanged(
        app: Flask, district: SampleDistrict) -> None:  # noqa: F811
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session, session.begin():
        session.add_all([m.SyncRun(job="weekly-push", status="failed"),
                         m.SyncRun(job="weekly-push", status="succeeded")])
    api = app.test_client()
    base = "/api/v1/districts/cedar-ridge"
    read = {"Authorization": f"Bearer {TOKENS['read']}"}
    every = api.get(f"{base}/runs?limit=500", headers=read).json
    assert every["next_cursor"] is None and len(every["runs"]) >= 2
    seen, cursor = [], None
    while True:  # pages of one: each run once, newest first, then no cursor
        page = api.get(f"{base}/runs", query_string={"limit": 1, **(
            {"cursor": cursor} if cursor else {})}, headers=read).json
        seen += [r["id"] for r in page["runs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r["id"] for r in every["runs"]]
    forged = api.get(f"{base}/runs?cursor=eyJhZnRlciI6MX0", headers=read)
    assert forged.status_code == 400 and "cursor" in forged.json["detail"]
    job = every["runs"][0]["job"]
    assert {r["job"] for r in api.get(f"{base}/runs?job={job}", headers=read).json["runs"]} \
        == {job}
    failed = api.get(f"{base}/runs?job=weekly-push&status=failed", headers=read).json["runs"]
    assert [(r["job"], r["status"]) for r in failed] == [("weekly-push", "failed")]
    assert api.get(f"{base}/runs?status=fine", headers=read).status_code == 400

    records = api.get(f"{base}/students/S100001/mastery", headers=read)
    tag = records.headers["ETag"]
    again = api.get(f"{base}/students/S100001/mastery", headers={**read, "If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    level = next(r["level"] for r in records.json["records"] if r["level"])
    some = api.get(f"{base}/students/S100001/mastery",
                   query_string={"competency": "CR.MA", "level": level}, headers=read).json
    assert some["records"] and all(r["code"].startswith("CR.MA") and r["level"] == level
                                   for r in some["records"])
    assert len(some["records"]) < len(records.json["records"])


def test_a_class_grid_frameworks_and_identity_queue_read_as_the_web_app_needs(
        app: Flask, district: SampleDistrict) -> None:  # noqa: F811
    api = app.test_client()
    base = "/api/v1/districts/cedar-ridge"
    read = {"Authorization": f"Bearer {TOKENS['read']}"}
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session:
        enrolled = set(session.scalars(select(m.Enrollment.user_sourced_id).where(
            m.Enrollment.class_sourced_id == "cls-crms-ma06", m.Enrollment.role == "student")))
    grid = api.get(f"{base}/classes/cls-crms-ma06/mastery", headers=read)
    assert grid.status_code == 200, grid.json
    rows = {row["student"]: row for row in grid.json["students"]}
    assert set(rows) == enrolled and enrolled  # the roster decides who is in the class
    student = sorted(rows)[0]
    records = api.get(f"{base}/students/{student}/mastery", headers=read).json["records"]
    assert {r["competency"]: r["level"] for r in records} == {
        c: cell["level"] for c, cell in rows[student]["levels"].items()}
    codes = [c["code"] for c in grid.json["competencies"]]
    assert codes == sorted(codes)
    # A page at a time, in name order, with the same columns on every page.
    pages, cursor = [], None
    while True:
        page = api.get(f"{base}/classes/cls-crms-ma06/mastery", headers=read,
                       query_string={"limit": 7, **({"cursor": cursor} if cursor else {})}).json
        assert page["competencies"] == grid.json["competencies"]
        pages.append(page["students"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(pages) == -(-len(rows) // 7) and [len(p) for p in pages[:-1]] == [7] * (
        len(pages) - 1)
    assert [r for p in pages for r in p] == grid.json["students"]
    assert grid.json["next_cursor"] is None and len(grid.json["students"]) <= 100
    assert api.get(f"{base}/classes/cls-crms-ma06/mastery?cursor=bogus",
                   headers=read).status_code == 400
    assert api.get(f"{base}/classes/cls-nope/mastery", headers=read).status_code == 404

    frameworks = {f["key"]: f for f in api.get(f"{base}/frameworks", headers=read).json[
        "frameworks"]}
    assert frameworks["math-ela"]["competencies"] > 10
    found = api.get(f"{base}/frameworks/math-ela/competencies?q=cr.ma.rp",
                    headers=read).json["competencies"]
    assert found and all(c["code"].startswith("CR.MA.RP") or "cr.ma.rp" in
                         c["statement"].lower() for c in found)
    first = api.get(f"{base}/frameworks/math-ela/competencies?limit=2", headers=read).json
    second = api.get(f"{base}/frameworks/math-ela/competencies", headers=read,
                     query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    assert len(first["competencies"]) == 2 and first["next_cursor"]
    assert not {c["competency"] for c in first["competencies"]} & {
        c["competency"] for c in second["competencies"]}
    assert api.get(f"{base}/frameworks/nope/competencies", headers=read).status_code == 404

    queue = api.get(f"{base}/identity/exceptions", headers=read)
    assert queue.status_code == 200 and isinstance(queue.json["exceptions"], list)
