"""The calculator, explanations and teacher overrides through the CLI and the JSON API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import select

from connector.cli.main import cli
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import compute
from connector.sync.district import find_district
from tests.conftest import SampleDistrict, api_client

READ = {"Authorization": "Bearer read-t0ken"}
WRITE = {"Authorization": "Bearer write-t0ken"}
BASE = "/api/v1/districts/cedar-ridge"


def cli_run(district: SampleDistrict, url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config-dir", str(district.workspace / "config"),
                                    "--database-url", url, *args])


@pytest.fixture
def client(sample_district: SampleDistrict, module_db_url: str,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("CEDAR_RIDGE_API_TOKEN", "read-t0ken")
    monkeypatch.setenv("CEDAR_RIDGE_API_WRITE_TOKEN", "write-t0ken")
    with api_client(sample_district, module_db_url) as client:
        yield client


# ---- the calculator: golden values through the CLI and the API -----------------------------------

GOLDEN = [
    ("power_law", "1,2,3,4", [], 4.00),
    ("power_law", "1,3,2,4", [], 3.66),
    ("power_law", "2,4,1,3", [], 2.16),
    ("power_law", "4,3,2,1", [], 1.28),
    # Canvas's rule: 65% on the latest, 35% on the mean of the rest: 0.65 * 4 + 0.35 * 2.
    ("canvas_weighted_average", "1,2,3,4", ["weight=0.65"], 3.30),
    ("decaying_average", "2,3,4", ["weight=0.65"], 3.53),
    ("decaying_average", "1,2,3,4", ["weight=0.65"], 3.48),
    ("top_k_mean", "4,4,3", ["k=3"], 3.67),
]


@pytest.mark.parametrize(("method", "evidence", "params", "expected"), GOLDEN)
def test_calculator_golden_values_cli(method: str, evidence: str, params: list[str],
                                      expected: float, tmp_path: Path) -> None:
    # No database, no district: the calculator needs only the scale from config.
    args = ["--config-dir", str(Path(__file__).parents[2] / "config"), "mastery", "calc", method,
            "--evidence", evidence, "--json"]
    for param in params:
        args += ["--param", param]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["value"] == expected
    assert set(data) >= {"value", "level", "state", "proficient", "explanation"}
    assert data["state"] == "level" and isinstance(data["proficient"], bool)
    assert f"{expected:.2f}" in data["explanation"]


@pytest.mark.parametrize(("method", "evidence", "params", "expected"), GOLDEN)
def test_calculator_golden_values_api(client: FlaskClient, method: str, evidence: str,
                                      params: list[str], expected: float) -> None:
    parameters = {p.split("=")[0]: float(p.split("=")[1]) for p in params}
    response = client.post(f"{BASE}/mastery/calc", headers=READ,
                           json={"method": method, "evidence": evidence, "parameters": parameters})
    assert response.status_code == 200, response.json
    assert response.json["value"] == expected


def test_calculator_text_output_dok_gate_and_states() -> None:
    config = str(Path(__file__).parents[2] / "config")
    gated = CliRunner().invoke(cli, ["--config-dir", config, "mastery", "calc", "highest",
                                     "--evidence", "4:1:adaptive,4:2:adaptive", "--target-dok", "3"])
    assert gated.exit_code == 0
    assert gated.output.startswith("highest: 4.00 -> level 2 Developing")
    assert "Target DOK 3 is not yet shown" in gated.output
    met = CliRunner().invoke(cli, ["--config-dir", config, "mastery", "calc", "highest",
                                   "--evidence", "4:1:adaptive,3:3:teacher", "--target-dok", "3",
                                   "--json"])
    data = json.loads(met.stdout)
    assert data["level"] == "Advanced" and data["proficient"] is True
    not_yet = CliRunner().invoke(cli, ["--config-dir", config, "mastery", "calc", "n_mastery",
                                       "--evidence", "3,2,Proficient", "--param", "n=3", "--json"])
    data = json.loads(not_yet.stdout)
    assert data["value"] is None and data["level"] is None and data["state"] == "not_yet"
    assert data["proficient"] is False


@pytest.mark.parametrize(("args", "message"), [
    (["--evidence", "1,x"], "'x' is not a number or a level"),
    (["--evidence", "3:7"], "DOK must be 1, 2, 3 or 4"),
    (["--evidence", "3:2:homework"], "unknown type 'homework'"),
    (["--evidence", "3", "--param", "weight=65"], "a fraction: 65% is 0.65"),
    (["--evidence", "3", "--param", "weight"], "--param takes NAME=VALUE"),
    (["--evidence", "3", "--param", "decay=0.2"], "does not take parameter(s) ['decay']"),
])
def test_calculator_errors_say_what_to_fix(args: list[str], message: str) -> None:
    config = str(Path(__file__).parents[2] / "config")
    result = CliRunner().invoke(cli, ["--config-dir", config, "mastery", "calc",
                                      "decaying_average", *args])
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert "Traceback" not in result.output


def test_calculator_works_without_any_configuration(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config-dir", str(tmp_path), "mastery", "calc", "mean",
                                      "--evidence", "3,4", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["level"] == "Proficient"


def test_api_calculator_takes_objects_and_rejects_bad_input(client: FlaskClient) -> None:
    ok = client.post(f"{BASE}/mastery/calc", headers=READ, json={
        "method": "highest", "target_dok": 3,
        "evidence": [{"value": 4, "dok": 1, "type": "adaptive"}, {"value": 3, "dok": 3}]})
    assert ok.status_code == 200 and ok.json["level"] == "Advanced"
    bad = client.post(f"{BASE}/mastery/calc", headers=READ,
                      json={"method": "decaying_average", "evidence": "3", "parameters":
                            {"weight": 2}})
    assert bad.status_code == 400 and "between 0.5 and 0.99" in bad.json["message"]
    unknown = client.post(f"{BASE}/mastery/calc", headers=READ,
                          json={"method": "n_times", "evidence": "3"})
    assert unknown.status_code == 400 and "known methods" in unknown.json["message"]
    assert client.post(f"{BASE}/mastery/calc", json={"method": "mean",
                                                      "evidence": "3"}).status_code == 401


# ---- explanations --------------------------------------------------------------------------------


def test_explain_prints_inputs_method_and_decisions(sample_district: SampleDistrict,
                                                    module_db_url: str) -> None:
    result = cli_run(sample_district, module_db_url, "mastery", "explain", "S100001",
                     "CR.MA.RP.1.a")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("S100001  CR.MA.RP.1.a ")
    assert "method: decaying_average(order_by=assessed, weight=0.65); policy " in out
    assert "Evidence, oldest first:" in out and "status" in out
    not_turned_in = [line for line in out.splitlines() if line.rstrip().endswith(" missing")]
    assert not_turned_in and all(" - " in line for line in not_turned_in)  # no value of its own
    data = json.loads(cli_run(sample_district, module_db_url, "mastery", "explain", "S100001",
                              "CR.MA.RP.1.a", "--json").stdout)
    assert data["inputs"] and all(i["label"] for i in data["inputs"])
    assert [s["code"] for s in data["steps"]][0] == "evidence"
    missing = cli_run(sample_district, module_db_url, "mastery", "explain", "S100001", "NOPE")
    assert missing.exit_code == 2 and "no competency with CASE identifier or code 'NOPE'" in \
        missing.output


def test_api_record_has_the_same_explanation_as_the_cli(client: FlaskClient,
                                                        sample_district: SampleDistrict,
                                                        module_db_url: str) -> None:
    api = client.get(f"{BASE}/students/S100001/mastery/CR.MA.RP.1.a", headers=READ)
    assert api.status_code == 200
    cli_json = json.loads(cli_run(sample_district, module_db_url, "mastery", "explain",
                                  "S100001", "CR.MA.RP.1.a", "--json").stdout)
    assert api.json["record"]["explanation"] == cli_json["explanation"]
    assert client.get(f"{BASE}/students/S100001/mastery/NOPE", headers=READ).status_code == 404


# ---- overrides ----------------------------------------------------------------------------------


def _record(district: SampleDistrict, sis_id: str, code: str) -> m.MasteryRecord:
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session:
        record = session.scalars(
            select(m.MasteryRecord)
            .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
            .join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id)
            .where(m.Student.sourced_id == sis_id, m.Competency.human_coding_scheme == code)).one()
        return record


def _not_level(record: m.MasteryRecord, scale_codes: list[str]) -> str:
    return next(c for c in scale_codes if c != record.level_code)


def test_override_is_authoritative_survives_recompute_and_is_audited(
        sample_district: SampleDistrict, module_db_url: str) -> None:
    before = _record(sample_district, "S100003", "CR.MA.RP.1.a")
    target = _not_level(before, ["4", "1"])
    set_ = cli_run(sample_district, module_db_url, "mastery", "override", "S100003",
                   "CR.MA.RP.1.a", "--level", target, "--reason", "Portfolio review, Oct 2",
                   "--by", "t.okafor@cedar-ridge.example", "--json")
    assert set_.exit_code == 0, set_.output
    shown = json.loads(set_.stdout)["record"]
    assert shown["level_code"] == target and shown["override"]["reason"] == "Portfolio review, Oct 2"
    assert shown["computed_level_code"] == before.level_code
    assert "Teacher override by t.okafor@cedar-ridge.example" in shown["explanation"]

    # Recomputing every pair (as a policy change would) keeps the override on top.
    district_id = find_district(sample_district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(sample_district.factory, district_id) as session, session.begin():
        outcome = compute.recompute(session, sample_district.settings, compute.all_pairs(session))
    assert outcome.computed > 1000
    assert definitions.run(sample_district.factory, sample_district.settings,
                           "nightly-sync").status != "failed"
    record = _record(sample_district, "S100003", "CR.MA.RP.1.a")
    assert record.level_code == target and record.override_id is not None
    assert record.computed_level_code == before.level_code

    cleared = cli_run(sample_district, module_db_url, "mastery", "override", "S100003",
                      "CR.MA.RP.1.a", "--clear", "--reason", "entered on the wrong student",
                      "--by", "t.okafor@cedar-ridge.example")
    assert cleared.exit_code == 0, cleared.output
    record = _record(sample_district, "S100003", "CR.MA.RP.1.a")
    assert record.level_code == before.level_code and record.override_id is None

    history = json.loads(cli_run(sample_district, module_db_url, "mastery", "overrides",
                                 "S100003", "CR.MA.RP.1.a", "--json").stdout)
    assert len(history) == 1
    assert history[0]["cleared_reason"] == "entered on the wrong student"
    assert history[0]["computed_level"] == before.level_code


def test_override_to_exempt_and_replacing_an_override(sample_district: SampleDistrict,
                                                      module_db_url: str) -> None:
    first = cli_run(sample_district, module_db_url, "mastery", "override", "S100004",
                    "CR.MA.RP.1.a", "--state", "exempt", "--reason", "IEP accommodation",
                    "--by", "case-manager-7")
    assert first.exit_code == 0, first.output
    assert _record(sample_district, "S100004", "CR.MA.RP.1.a").state == "exempt"
    second = cli_run(sample_district, module_db_url, "mastery", "override", "S100004",
                     "CR.MA.RP.1.a", "--level", "Proficient", "--reason", "plan ended",
                     "--by", "case-manager-7")
    assert second.exit_code == 0, second.output
    record = _record(sample_district, "S100004", "CR.MA.RP.1.a")
    assert (record.state, record.level_code, record.proficient) == ("level", "3", True)
    history = json.loads(cli_run(sample_district, module_db_url, "mastery", "overrides",
                                 "S100004", "CR.MA.RP.1.a", "--json").stdout)
    assert [h["state"] for h in history] == ["exempt", "level"]
    assert history[0]["cleared_reason"].startswith("replaced by override")
    assert history[1]["cleared_at"] is None


@pytest.mark.parametrize(("args", "message"), [
    (["--level", "7"], "'7' is not a level of"),
    (["--level", "3", "--state", "exempt"], "either a level or a state"),
    ([], "either a level or a state"),
])
def test_bad_overrides_are_refused(sample_district: SampleDistrict, module_db_url: str,
                                   args: list[str], message: str) -> None:
    result = cli_run(sample_district, module_db_url, "mastery", "override", "S100005",
                     "CR.MA.RP.1.a", *args, "--reason", "r", "--by", "b")
    assert result.exit_code == 1 and message in result.output


def test_api_override_needs_the_write_token(client: FlaskClient) -> None:
    url = f"{BASE}/students/S100006/mastery/CR.MA.RP.1.a/override"
    body: dict[str, Any] = {"level": "4", "reason": "Exhibition night", "by": "j.ruiz"}
    assert client.post(url, json=body, headers=READ).status_code == 403
    created = client.post(url, json=body, headers=WRITE)
    assert created.status_code == 201, created.json
    assert created.json["record"]["level"] == "4"
    assert created.json["record"]["override"]["by"] == "j.ruiz"
    shown = client.get(f"{BASE}/students/S100006/mastery/CR.MA.RP.1.a", headers=READ).json
    assert shown["record"]["level"] == "4" and shown["record"]["computed_state"]
    bad = client.post(url, json={"level": "4"}, headers=WRITE)
    assert bad.status_code == 400 and "reason" in bad.json["message"]
    missing = client.post(f"{BASE}/students/S0/mastery/CR.MA.RP.1.a/override", json=body,
                          headers=WRITE)
    assert missing.status_code == 404
    cleared = client.delete(url, json={"reason": "duplicate entry", "by": "j.ruiz"}, headers=WRITE)
    assert cleared.status_code == 200 and cleared.json["record"]["override"] is None
    history = client.get(f"{BASE}/students/S100006/mastery/CR.MA.RP.1.a/overrides",
                         headers=READ).json["overrides"]
    assert len(history) == 1 and history[0]["cleared_by"] == "j.ruiz"


# ---- hostile input: a 400 that says why, never a 500 ----------------------------------------------


@pytest.mark.parametrize("value", ["inf", "nan", "1e999", "-inf", "١٠"])
def test_calc_refuses_numbers_that_are_not_finite_scores(client: FlaskClient, value: str) -> None:
    answer = client.post(f"{BASE}/mastery/calc", headers=READ,
                         json={"method": "mean", "evidence": f"{value},2"})
    assert answer.status_code == 400, answer.get_json()
    assert "evidence item 1" in answer.get_json()["message"]
    typed = CliRunner().invoke(cli, ["mastery", "calc", "power_law", "--evidence", f"{value},2"])
    assert typed.exit_code != 0 and "reaches level" not in typed.output


@pytest.mark.parametrize("value", ["1e308", "5", "4.01", "0.99", "-1", "85"])
def test_calc_refuses_numbers_outside_the_district_scale(client: FlaskClient, value: str) -> None:
    # The district scale runs 1 to 4: a percent or a stray number is a typing slip, and a
    # result computed from it would be a level no evidence supports.
    answer = client.post(f"{BASE}/mastery/calc", headers=READ,
                         json={"method": "mean", "evidence": f"3,{value}"})
    assert answer.status_code == 400, answer.get_json()
    assert f"evidence item 2: {value} is outside" in answer.get_json()["message"]
    assert "(1 to 4)" in answer.get_json()["message"]
    typed = CliRunner().invoke(cli, ["mastery", "calc", "mean", "--evidence", f"3,{value}"])
    assert typed.exit_code != 0 and "(1 to 4)" in typed.output
    on_edge = client.post(f"{BASE}/mastery/calc", headers=READ,
                          json={"method": "mean", "evidence": "1,4"})
    assert on_edge.status_code == 200 and on_edge.get_json()["value"] == 2.5


def test_calc_caps_the_evidence_it_takes(client: FlaskClient) -> None:
    answer = client.post(f"{BASE}/mastery/calc", headers=READ,
                         json={"method": "mean", "evidence": ",".join(["3"] * 201)})
    assert answer.status_code == 400
    assert "at most 200 pieces of evidence per calculation; 201 were given" in \
        answer.get_json()["message"]


def test_bodies_nested_too_deep_or_holding_nul_get_a_400(client: FlaskClient) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for path, headers in ((f"{BASE}/mastery/calc", READ),
                          (f"{BASE}/students/S100005/mastery/CR.MA.RP.1.a/override", WRITE)):
        answer = client.post(path, data=deep, headers=headers, content_type="application/json")
        assert answer.status_code == 400 and "nests deeper" in answer.get_json()["message"]
    override = f"{BASE}/students/S100005/mastery/CR.MA.RP.1.a/override"
    for body, said in (({"level": "3", "reason": "ok", "by": "t.\x00okafor"},
                        "body.by holds a control character (U+0000, a NUL byte)"),
                       ({"level": "3", "reason": "r" * 20_000, "by": "t.okafor"},
                        "at most 10000 are accepted")):
        answer = client.post(override, json=body, headers=WRITE)
        assert answer.status_code == 400 and said in answer.get_json()["message"]
    million = client.post(override, json={"level": "3", "reason": "r" * 1_000_000,
                                          "by": "t.okafor"}, headers=WRITE)
    assert million.status_code == 413 and "request body over" in million.get_json()["message"]
    long_reason = client.post(override, json={"level": "3", "reason": "r" * 5000,
                                              "by": "t.okafor"}, headers=WRITE)
    assert long_reason.status_code == 400 and "reason" in long_reason.get_json()["message"]


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31", "2025-13-01"])
def test_progress_dates_out_of_any_school_year_get_a_400(client: FlaskClient, as_of: str) -> None:
    answer = client.get(f"{BASE}/students/S100001/progress?as_of={as_of}", headers=READ)
    assert answer.status_code == 400 and "as_of" in answer.get_json()["message"]
