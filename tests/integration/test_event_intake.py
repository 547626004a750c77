"""xAPI statements and Caliper events through the intake endpoints, into evidence by a sync.

A tutoring app posts xAPI 1.0.3 statements and a quiz tool posts Caliper
envelopes, each with its own token. Checked as a provider and a district would
see it: the spec's status codes and messages, retries that change nothing,
voiding, and the evidence (and its DOK cap) in mastery records after a sync.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import SampleDistrict, api_client

BASE = "/api/v1/districts/cedar-ridge"
HOME = "https://sis.cedar-ridge.example"
XAPI = {"Authorization": "Bearer tutor-t0ken", "X-Experience-API-Version": "1.0.3"}
CALIPER = {"Authorization": "Bearer quiz-t0ken"}
SOURCES = f"""
  - key: tutor
    kind: learning_events
    name: Tutoring app (xAPI)
    token: ${{TUTOR_XAPI_TOKEN}}
    account_home_page: {HOME}
    evidence: {{evidence_type: adaptive_practice, dok: 1}}
    score_conversion:
      cuts: [{{min_percent: 0, level: "1"}}, {{min_percent: 70, level: "2"}},
             {{min_percent: 80, level: "3"}}, {{min_percent: 95, level: "4"}}]
  - key: quiz
    kind: learning_events
    name: Quiz tool (Caliper)
    spec: caliper
    token: ${{QUIZ_CALIPER_TOKEN}}
    person_iri_prefix: https://quiz.example/users
    evidence: {{evidence_type: common_assessment, dok: 2}}
    score_conversion:
      cuts: [{{min_percent: 0, level: "1"}}, {{min_percent: 60, level: "2"}},
             {{min_percent: 80, level: "3"}}, {{min_percent: 95, level: "4"}}]
"""
JOB = """
  - key: events
    kind: sync
    frameworks: [dok, math-ela, habits]
    sources: [tutor, quiz]
"""


@pytest.fixture(scope="module")
def district(sample_district: SampleDistrict) -> SampleDistrict:
    config = sample_district.workspace / "config" / "districts" / "cedar-ridge"
    sources = (config / "sources.yaml").read_text(encoding="utf-8")
    (config / "sources.yaml").write_text(sources.replace("\ncrosswalks:", SOURCES + "\ncrosswalks:"),
                                         encoding="utf-8")
    with open(config / "jobs.yaml", "a", encoding="utf-8") as handle:
        handle.write(JOB)
    return SampleDistrict(sample_district.factory, load_settings(sample_district.workspace / "config"),
                          sample_district.workspace, {})


@pytest.fixture
def client(district: SampleDistrict, module_db_url: str,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("TUTOR_XAPI_TOKEN", "tutor-t0ken")
    monkeypatch.setenv("QUIZ_CALIPER_TOKEN", "quiz-t0ken")
    with api_client(district, module_db_url) as client:
        yield client


def _session(district: SampleDistrict) -> Any:
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    return tenant_session(district.factory, district_id)


def _gated_target(district: SampleDistrict) -> tuple[str, str]:
    """(CASE id, student) of a DOK-3 learning target the student has no evidence on yet.

    Work not turned in is kept as evidence marked missing, which is no evidence of mastery.
    """
    with _session(district) as session:
        targets = session.execute(select(m.Competency.id, m.Competency.identifier).where(
            m.Competency.target_dok == 3).order_by(m.Competency.human_coding_scheme)).all()
        students = session.execute(select(m.Student.id, m.Student.sourced_id)
                                   .order_by(m.Student.sourced_id)).all()
        for competency_id, identifier in targets:
            for student_id, sis_id in students[40:]:
                has = session.scalar(select(func.count()).select_from(m.Evidence).where(
                    m.Evidence.student_id == student_id,
                    m.Evidence.competency_id == competency_id, m.Evidence.missing.is_(False)))
                if not has:
                    return identifier, sis_id
    raise AssertionError("the sample district has no DOK-3 target without evidence")


def _pair(district: SampleDistrict, n: int) -> tuple[str, str]:
    """(CASE id of CR.MA.RP.1.a, the n-th student): any student, any evidence."""
    with _session(district) as session:
        case_id = session.scalar(select(m.Competency.identifier).where(
            m.Competency.human_coding_scheme == "CR.MA.RP.1.a"))
        students = session.scalars(select(m.Student.sourced_id)
                                   .order_by(m.Student.sourced_id)).all()
    assert case_id is not None
    return case_id, students[n]


def statement(student: str, case_id: str, *, scaled: float | None = None,
              raw: float | None = None, verb: str = "http://adlnet.gov/expapi/verbs/scored",
              **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if scaled is not None:
        result["score"] = {"scaled": scaled}
    if raw is not None:
        result["score"] = {"raw": raw, "min": 0, "max": 20}
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": student}},
        "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
        "object": {"objectType": "Activity", "id": "https://tutor.example/activities/ratios-7",
                   "definition": {"name": {"en-US": "Ratio reasoning practice set 7"}}},
        "context": {"contextActivities": {"category": [
            {"id": f"https://case.cedar-ridge.example/ims/case/v1p0/CFItems/{case_id}"}]}},
        "timestamp": "2026-10-05T15:30:00Z",
        **extra,
    }
    if result:
        body["result"] = result
    return body


def _events(district: SampleDistrict, provider: str) -> int:
    with _session(district) as session:
        return int(session.scalar(select(func.count()).select_from(m.LearningEvent).where(
            m.LearningEvent.provider == provider)) or 0)


def test_statements_are_checked_as_an_lrs_would(client: FlaskClient,
                                                district: SampleDistrict) -> None:
    case_id, student = _pair(district, 1)
    good = statement(student, case_id, scaled=0.9)
    no_version = client.post(f"{BASE}/xapi/statements", json=good,
                             headers={"Authorization": XAPI["Authorization"]})
    assert no_version.status_code == 400 and "X-Experience-API-Version" in \
        no_version.get_json()["message"]
    wrong = client.post(f"{BASE}/xapi/statements", json=good,
                        headers={**XAPI, "Authorization": "Bearer quiz-t0ken"})
    assert wrong.status_code == 401  # the Caliper provider's token is not an xAPI token
    bad_score = statement(student, case_id, scaled=1.5)
    two_agents = statement(student, case_id, scaled=0.5)
    two_agents["actor"]["mbox"] = "mailto:someone@example.org"
    plain_name = statement(student, case_id, scaled=0.5)
    plain_name["object"]["definition"]["name"] = "Ratio practice"
    listed = statement(student, case_id, scaled=0.5, context={"contextActivities": [
        {"id": "https://tutor.example/units/ratios"}]})
    for body, words in ((bad_score, "result.score.scaled must be between -1 and 1"),
                        (two_agents, "exactly one of mbox"),
                        ({**good, "grade": "A"}, "properties xAPI does not define"),
                        (plain_name, "definition.name must be a language map"),
                        (listed, "contextActivities may hold only"),
                        ({**good, "timestamp": "2026-10-05"}, "ISO 8601 date and time")):
        answer = client.post(f"{BASE}/xapi/statements", json=[good, body], headers=XAPI)
        assert answer.status_code == 400, answer.get_json()
        assert words in answer.get_json()["message"]
        assert "statements[1]" in answer.get_json()["message"]
        assert answer.headers["X-Experience-API-Version"] == "1.0.3"
    assert _events(district, "tutor") == 0  # a refused batch stores nothing, not even `good`


def test_retries_change_nothing_and_conflicts_are_refused(client: FlaskClient,
                                                          district: SampleDistrict) -> None:
    case_id, student = _pair(district, 2)
    batch = [statement(student, case_id, scaled=0.8),
             statement(student, case_id, verb="http://adlnet.gov/expapi/verbs/launched")]
    first = client.post(f"{BASE}/xapi/statements", json=batch, headers=XAPI)
    assert first.status_code == 200
    assert first.get_json() == [s["id"] for s in batch]
    stored = _events(district, "tutor")
    again = client.post(f"{BASE}/xapi/statements", json=batch, headers=XAPI)
    assert again.status_code == 200 and _events(district, "tutor") == stored
    changed = {**batch[0], "result": {"score": {"scaled": 0.1}}}
    fresh = statement(student, case_id, scaled=0.7)
    conflict = client.post(f"{BASE}/xapi/statements", json=[fresh, changed], headers=XAPI)
    assert conflict.status_code == 409 and batch[0]["id"] in conflict.get_json()["message"]
    assert _events(district, "tutor") == stored  # `fresh` was not kept either
    # PUT stores one statement under the id the parameter names; GET returns it.
    put_id = str(uuid.uuid4())
    body = statement(student, case_id, scaled=0.75)
    del body["id"]
    assert client.put(f"{BASE}/xapi/statements?statementId={put_id}", json=body,
                      headers=XAPI).status_code == 204
    got = client.get(f"{BASE}/xapi/statements?statementId={put_id}", headers=XAPI)
    assert got.status_code == 200 and got.get_json()["result"]["score"]["scaled"] == 0.75
    assert got.get_json()["stored"].endswith("Z")
    assert got.headers["X-Experience-API-Consistent-Through"].endswith("Z")
    both = client.get(f"{BASE}/xapi/statements?statementId={put_id}&voidedStatementId={put_id}",
                      headers=XAPI)
    assert both.status_code == 400
    odd = client.post(f"{BASE}/xapi/statements", json=body,
                      headers={**XAPI, "X-Experience-API-Version": "1.0garbage"})
    assert odd.status_code == 400


def test_scored_statements_become_evidence_capped_by_the_dok_gate(
        client: FlaskClient, district: SampleDistrict) -> None:
    case_id, student = _gated_target(district)
    perfect = [statement(student, case_id, scaled=1.0,
                         timestamp=f"2026-10-0{day}T15:00:00Z") for day in (6, 7, 8)]
    assert client.post(f"{BASE}/xapi/statements", json=perfect, headers=XAPI).status_code == 200
    report = definitions.run(district.factory, district.settings, "events")
    assert not report.errors, report.errors
    with _session(district) as session:
        evidence = session.execute(
            select(m.Evidence.evidence_type, m.Evidence.dok)
            .join(m.Student, m.Student.id == m.Evidence.student_id)
            .join(m.Competency, m.Competency.id == m.Evidence.competency_id)
            .where(m.Student.sourced_id == student, m.Competency.identifier == case_id,
                   m.Evidence.missing.is_(False))).all()
        record = session.scalars(
            select(m.MasteryRecord)
            .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
            .join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id)
            .where(m.Student.sourced_id == student, m.Competency.identifier == case_id)).one()
    assert len(evidence) >= 3 and {e.evidence_type for e in evidence} == {"adaptive_practice"}
    assert {e.dok for e in evidence} == {1}
    # Perfect adaptive practice alone does not prove a DOK-3 target: the gate holds it back.
    assert not record.proficient
    assert "dok_gate_capped" in [d["code"] for d in record.decisions]
    again = definitions.run(district.factory, district.settings, "events")
    assert again.changes == 0


def test_voiding_removes_the_evidence(client: FlaskClient, district: SampleDistrict) -> None:
    case_id, student = _pair(district, 3)
    scored = statement(student, case_id, raw=17, timestamp="2026-10-09T15:00:00Z")
    assert client.post(f"{BASE}/xapi/statements", json=scored, headers=XAPI).status_code == 200
    definitions.run(district.factory, district.settings, "events")

    def raw_scores() -> int:
        with _session(district) as session:
            return int(session.scalar(select(func.count()).select_from(m.RawScore).where(
                m.RawScore.sourced_id == scored["id"])) or 0)

    assert raw_scores() == 1
    void = {"actor": {"mbox": "mailto:teacher@cedar-ridge.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": scored["id"]}}
    assert client.post(f"{BASE}/xapi/statements", json=void, headers=XAPI).status_code == 200
    report = definitions.run(district.factory, district.settings, "events")
    assert not report.errors and raw_scores() == 0
    assert client.get(f"{BASE}/xapi/statements?statementId={scored['id']}",
                      headers=XAPI).status_code == 404
    assert client.get(f"{BASE}/xapi/statements?voidedStatementId={scored['id']}",
                      headers=XAPI).status_code == 200
    # A statement voided before it arrives never becomes evidence.
    early = statement(student, case_id, scaled=0.9)
    early_void = {**void, "object": {"objectType": "StatementRef", "id": early["id"]}}
    assert client.post(f"{BASE}/xapi/statements", json=early_void,
                       headers=XAPI).status_code == 200
    assert client.post(f"{BASE}/xapi/statements", json=early, headers=XAPI).status_code == 200
    report = definitions.run(district.factory, district.settings, "events")
    assert not report.errors, report.errors
    with _session(district) as session:
        stored = session.scalars(select(m.LearningEvent).where(
            m.LearningEvent.event_id == early["id"])).one()
        assert stored.voided
        assert not session.scalar(select(func.count()).select_from(m.RawScore).where(
            m.RawScore.sourced_id == early["id"]))


def test_an_event_that_cannot_be_read_is_rejected_and_blocks_nothing(
        client: FlaskClient, district: SampleDistrict) -> None:
    case_id, student = _pair(district, 5)
    district_id = find_district(district.factory, "cedar-ridge")
    assert district_id is not None
    with tenant_session(district.factory, district_id) as session, session.begin():
        # Stored before a validation rule existed, say: no actor at all.
        odd = statement(student, case_id, scaled=0.5)
        del odd["actor"]
        session.add(m.LearningEvent(provider="tutor", event_id=odd["id"], spec="xapi",
                                    payload=odd))
    later = statement(student, case_id, scaled=0.6, timestamp="2026-10-12T15:00:00Z")
    assert client.post(f"{BASE}/xapi/statements", json=later, headers=XAPI).status_code == 200
    report = definitions.run(district.factory, district.settings, "events")
    assert not report.errors, report.errors
    with _session(district) as session:
        reasons = session.scalars(select(m.SyncRejection.reason).where(
            m.SyncRejection.run_id == report.run_id)).all()
        kept = session.scalar(select(func.count()).select_from(m.RawScore).where(
            m.RawScore.sourced_id == later["id"]))
    assert len(reasons) == 1 and "could not be read as evidence" in reasons[0]
    assert kept == 1


def caliper_grade(student: str, case_id: str, given: float, event_id: str) -> dict[str, Any]:
    assessment = "https://quiz.example/courses/7/assessments/ratios-unit-test"
    return {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": f"urn:uuid:{event_id}",
        "type": "GradeEvent",
        "profile": "GradingProfile",
        "actor": {"id": "https://quiz.example/autograder", "type": "SoftwareApplication"},
        "action": "Graded",
        "object": {
            "id": f"{assessment}/users/{student}/attempts/1", "type": "Attempt",
            "assignee": {"id": f"https://quiz.example/users/{student}", "type": "Person"},
            "assignable": {"id": assessment, "type": "Assessment", "name": "Ratios unit test",
                           "learningObjectives": [{
                               "id": f"https://case.example/ims/case/v1p0/CFItems/{case_id}",
                               "type": "LearningObjective"}]},
            "count": 1},
        "eventTime": "2026-10-10T14:05:00.000Z",
        "generated": {"id": f"{assessment}/users/{student}/attempts/1/scores/1", "type": "Score",
                      "scoreGiven": given, "maxScore": 20.0},
    }


def test_caliper_grade_events_become_scores(client: FlaskClient,
                                            district: SampleDistrict) -> None:
    case_id, student = _pair(district, 4)
    event_id = str(uuid.uuid4())
    envelope = {"sensor": "https://quiz.example/sensors/1", "sendTime": "2026-10-10T14:05:02Z",
                "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                "data": [caliper_grade(student, case_id, 18, event_id)]}
    assert client.post(f"{BASE}/caliper", json=envelope,
                       headers={"Authorization": "Bearer tutor-t0ken"}).status_code == 401
    assert client.post(f"{BASE}/caliper", data="x", headers={
        **CALIPER, "Content-Type": "text/plain"}).status_code == 415
    broken = {**envelope, "data": [{**envelope["data"][0], "id": "not-a-urn"}]}
    answer = client.post(f"{BASE}/caliper", json=broken, headers=CALIPER)
    assert answer.status_code == 400 and "urn:uuid" in answer.get_json()["message"]
    described = {**envelope, "data": [*envelope["data"], {
        "id": "https://quiz.example/courses/7", "type": "CourseSection", "name": "Math 7"}]}
    assert client.post(f"{BASE}/caliper", json=described, headers=CALIPER).get_json() == \
        {"received": 1, "new": 1}  # the entity is described, not an event
    assert client.post(f"{BASE}/caliper", json=envelope, headers=CALIPER).get_json() == \
        {"received": 1, "new": 0}
    basic = base64.b64encode(b"quiz:quiz-t0ken").decode()
    assert client.post(f"{BASE}/caliper", json=envelope,
                       headers={"Authorization": f"Basic {basic}"}).status_code == 200
    definitions.run(district.factory, district.settings, "events")
    with _session(district) as session:
        score = session.scalars(select(m.RawScore).where(m.RawScore.sourced_id == event_id)).one()
        aligned = session.scalars(select(m.Competency.identifier)
                                  .join(m.Alignment, m.Alignment.competency_id == m.Competency.id)
                                  .where(m.Alignment.source_item_id == score.source_item_id)).all()
    assert (score.score, score.max_score) == (18, 20)
    assert aligned == [case_id]  # the assessment's CASE learning objective, no crosswalk needed


def test_a_caliper_event_of_an_unknown_type_is_refused(client: FlaskClient,
                                                      district: SampleDistrict) -> None:
    case_id, student = _pair(district, 5)
    before = _events(district, "quiz")
    weird = {**caliper_grade(student, case_id, 18, str(uuid.uuid4())), "type": "WeirdEvent"}
    envelope = {"sensor": "https://quiz.example/sensors/1", "sendTime": "2026-10-10T14:05:02Z",
                "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p2",
                "data": [caliper_grade(student, case_id, 17, str(uuid.uuid4())), weird]}
    answer = client.post(f"{BASE}/caliper", json=envelope, headers=CALIPER)
    assert answer.status_code == 400
    assert answer.get_json()["message"] == ("envelope.data[1].type 'WeirdEvent' is not a "
                                            "Caliper 1.1/1.2 event type")
    assert _events(district, "quiz") == before  # the good event in the envelope waits too


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_hostile_statements_get_a_400_and_nothing_is_stored(client: FlaskClient,
                                                            district: SampleDistrict) -> None:
    case_id, student = _pair(district, 1)
    before = _events(district, "tutor")
    nul = statement(student, case_id, scaled=0.9)
    nul["object"]["definition"]["name"]["en-US"] = "Ratios\x00 set"
    huge = statement(student, case_id, scaled=0.9)
    huge["actor"]["account"]["name"] = "S" * 1_000_000
    for body, said in ((nul, "statement.object.definition.name.en-US holds a control "
                              "character (U+0000, a NUL byte)"),
                       (huge, "statement.actor.account.name is 1000000 characters long")):
        answer = client.post(f"{BASE}/xapi/statements", json=body, headers=XAPI)
        assert answer.status_code == 400 and said in answer.get_json()["message"]
    for path, headers in (("xapi/statements", XAPI), ("caliper", CALIPER)):
        deep = client.post(f"{BASE}/{path}", data=_deep(100_000), headers=headers,
                           content_type="application/json")
        assert deep.status_code == 400, path
        assert "nests deeper than 32 levels" in deep.get_json()["message"]
    assert _events(district, "tutor") == before
