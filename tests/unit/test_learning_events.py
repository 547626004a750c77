"""xAPI and Caliper conversion edge cases: what is evidence, and where the student and CASE item come from."""

from __future__ import annotations

from typing import Any

import pytest

from connector.adapters.sources.learning_events import caliper, xapi
from connector.domain.records import StudentRef

CASE_ID = "9874fa15-1e48-5c23-9063-f23ddf2e9038"


def _statement(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "5a6d8f2e-4b7c-4d1e-9f0a-1b2c3d4e5f60", "stored": "2026-10-01T10:00:00Z",
        "actor": {"mbox": "mailto:S100007@students.cedar-ridge.example"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"},
        "object": {"id": "https://app.example/a/1"},
        "result": {"score": {"scaled": 0.5}}}
    base.update(changes)
    return base


@pytest.mark.parametrize(("score", "expected"), [
    ({"scaled": -0.4}, (0.0, None)),            # a negative scaled score shows nothing
    ({"raw": 7, "min": 2, "max": 12}, (5.0, 10.0)),
    ({"raw": 7, "max": 10, "scaled": 0.1}, (7.0, 10.0)),   # raw against max wins
    ({"raw": 7}, None),                          # raw without a maximum is not a score
])
def test_scores(score: dict[str, float], expected: tuple[float, float | None] | None) -> None:
    assert xapi.score_of({"score": score}) == expected


def test_students_come_from_the_district_account_or_an_email() -> None:
    account = {"account": {"homePage": "https://sis.example/", "name": "S1"}}
    assert xapi.student_of(account, "https://sis.example") == StudentRef("sourced_id", "S1")
    assert xapi.student_of(account, "https://other.example") is None
    assert xapi.student_of(account, None) is None  # a tool's own account names no student
    assert xapi.student_of({"mbox": "mailto:a@b.example"}, None) == StudentRef("email", "a@b.example")
    assert xapi.student_of({"mbox_sha1sum": "0" * 40}, None) is None


def test_case_items_from_context_and_extensions() -> None:
    statement = _statement(
        context={"contextActivities": {"parent": {"id": "https://x/unit"},
                                       "category": [{"id": f"https://c/CFItems/{CASE_ID.upper()}"}]},
                 "extensions": {"https://w3id.org/xapi/case/item": CASE_ID,
                                "https://x/other": "not a case item"}})
    assert xapi.case_items(statement) == (CASE_ID,)
    converted = xapi.to_records(statement, source="tutor", home_page=None)
    assert not isinstance(converted, str)
    item, score = converted
    assert [lo.identifier for lo in item.learning_objectives] == [CASE_ID]
    assert score.scored_at is not None and score.scored_at.isoformat() == "2026-10-01T10:00:00+00:00"


@pytest.mark.parametrize(("changes", "why"), [
    ({"result": {"completion": True}}, "no score"),
    ({"object": {"objectType": "Agent", "mbox": "mailto:x@y.z"}}, "not an activity"),
    ({"actor": {"openid": "https://id.example/1"}}, "names no student"),
])
def test_what_is_not_evidence_says_why(changes: dict[str, Any], why: str) -> None:
    result = xapi.to_records(_statement(**changes), source="tutor", home_page=None)
    assert isinstance(result, str) and why in result


@pytest.mark.parametrize(("statement", "words"), [
    ({"actor": {"mbox": "x@y"}, "verb": {"id": "urn:v"}, "object": {"id": "urn:a"}}, "mailto"),
    ({"actor": {"mbox": "mailto:x@y"}, "verb": {"id": "scored"}, "object": {"id": "urn:a"}}, "IRI"),
    ({"actor": {"mbox": "mailto:x@y"}, "verb": {"id": xapi.VOIDED}, "object": {"id": "urn:a"}},
     "StatementRef"),
    ({"actor": {"mbox": "mailto:x@y"}, "verb": {"id": "urn:v"}, "object": {"id": "urn:a"},
      "result": {"score": {"raw": 12, "min": 0, "max": 10}}}, "between min and max"),
    ({"actor": {"mbox": "mailto:x@y"}, "verb": {"id": "urn:v"}, "object": {"id": "urn:a"},
      "timestamp": "yesterday"}, "ISO 8601"),
    ({"id": "42", "actor": {"mbox": "mailto:x@y"}, "verb": {"id": "urn:v"},
      "object": {"id": "urn:a"}}, "UUID"),
])
def test_invalid_statements_name_the_property(statement: dict[str, Any], words: str) -> None:
    with pytest.raises(xapi.InvalidStatement, match=words):
        xapi.check_statement(statement)


def test_caliper_student_from_sis_identifier_and_unscored_events() -> None:
    person = {"id": "https://lms.example/users/99", "type": "Person",
              "otherIdentifiers": [{"type": "SystemIdentifier", "identifierType": "SisSourcedId",
                                    "identifier": "S100042"}]}
    assert caliper.student_of(person) == StudentRef("sourced_id", "S100042")
    assert caliper.student_of("https://lms.example/users/S100043/",
                              "https://lms.example/users") == StudentRef("sourced_id", "S100043")
    assert caliper.student_of("https://lms.example/users/S100043/") is None
    assert caliper.student_of("https://other.example/users/S1", "https://lms.example/users") is None
    submitted = {"id": "urn:uuid:5a6d8f2e-4b7c-4d1e-9f0a-1b2c3d4e5f60", "type": "AssessmentEvent",
                 "action": "Submitted", "actor": person, "object": {"id": "https://q/1"},
                 "eventTime": "2026-10-01T10:00:00Z",
                 "generated": {"id": "https://q/1/attempts/1", "type": "Attempt"}}
    assert "no Score" in str(caliper.to_records(submitted, source="quiz"))
    scored = {**submitted, "generated": {"id": "https://q/1/s", "type": "Score",
                                         "scoreGiven": 3, "maxScore": 4}}
    converted = caliper.to_records(scored, source="quiz")
    assert not isinstance(converted, str)
    assert converted[1].student == StudentRef("sourced_id", "S100042")
    assert (converted[1].score, converted[1].max_score) == (3.0, 4.0)


def test_one_activity_aligned_two_ways_is_two_items() -> None:
    def aligned(case_id: str) -> str:
        statement = _statement(context={"contextActivities": {
            "category": [{"id": f"https://c/CFItems/{case_id}"}]}})
        converted = xapi.to_records(statement, source="tutor", home_page=None)
        assert not isinstance(converted, str)
        return converted[0].sourced_id

    other = "0d8979f3-2fc0-5d60-9ad9-590c56ae4699"
    assert aligned(CASE_ID) != aligned(other)
    assert aligned(CASE_ID).startswith("https://app.example/a/1 [case ")
    plain = xapi.to_records(_statement(), source="tutor", home_page=None)
    assert not isinstance(plain, str) and plain[0].sourced_id == "https://app.example/a/1"


def test_a_batch_voiding_a_statement_it_also_carries_stores_it_voided(tmp_path: Any) -> None:
    from connector.persistence import models as m
    from connector.persistence.db import make_engine, make_session_factory, upgrade
    from connector.persistence.tenancy import admin_session, tenant_session
    from connector.sync.intake import store_statements

    engine = make_engine(f"sqlite:///{tmp_path}/intake.sqlite3")
    upgrade(engine)
    factory = make_session_factory(engine)
    with admin_session(factory) as session, session.begin():
        district = m.District(key="d", name="D")
        session.add(district)
        session.flush()
        district_id = district.id
    target = _statement()
    void = _statement(id="6b7e9f3f-5c8d-4e2f-8a1b-2c3d4e5f6071", verb={"id": xapi.VOIDED},
                      object={"objectType": "StatementRef", "id": target["id"]}, result={})
    with tenant_session(factory, district_id) as session, session.begin():
        store_statements(session, "tutor", [void, target])  # the void first, its target after
    with tenant_session(factory, district_id) as session:
        stored = {e.event_id: e.voided for e in session.query(m.LearningEvent)}
    engine.dispose()
    assert stored == {target["id"]: True, void["id"]: False}


def test_caliper_event_types_outside_the_specification_are_refused_or_left_out() -> None:
    def event(kind: str, n: int) -> dict[str, Any]:
        return {"id": f"urn:uuid:00000000-0000-4000-8000-00000000000{n}", "type": kind,
                "actor": "https://lms.example/users/S1", "action": "Viewed",
                "object": "https://lms.example/pages/1", "eventTime": "2026-10-10T14:05:00Z"}
    envelope = {"sensor": "https://lms.example/sensor", "sendTime": "2026-10-10T14:05:02Z",
                "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
                "data": [event("ViewEvent", 1), event("WeirdEvent", 2), event("GradeEvent", 3)]}
    with pytest.raises(xapi.InvalidStatement, match=r"envelope.data\[1\].type 'WeirdEvent'"):
        caliper.check_envelope(envelope)
    kept = caliper.check_envelope(envelope, unknown_types="ignore")
    assert [e["type"] for e in kept] == ["ViewEvent", "GradeEvent"]
