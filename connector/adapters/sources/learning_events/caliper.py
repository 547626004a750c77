"""IMS Caliper 1.1/1.2 envelopes: GradeEvent (and scored AssessmentEvent) as evidence.

A sensor posts an envelope (``sensor``, ``sendTime``, ``dataVersion``, ``data``);
each event in ``data`` is stored by its ``urn:uuid`` id. A GradeEvent's object
is the student's Attempt and its ``generated`` Score carries ``scoreGiven`` out
of ``maxScore``; the Attempt's ``assignee`` is the student and ``assignable``
the assessment. Caliper 1.2 names the student's SIS id among the Person's
``otherIdentifiers``; without one, the last segment of the Person's IRI is it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from connector.adapters.sources.learning_events.xapi import (
    InvalidStatement,
    case_uris,
    item_key,
    parse_timestamp,
)
from connector.domain.records import LearningObjectiveRef, Score, ScoreStatus, SourceItem, StudentRef
from connector.domain.text import json_text_problem

CONTEXTS = ("http://purl.imsglobal.org/ctx/caliper/v1p1",
            "http://purl.imsglobal.org/ctx/caliper/v1p2")
SCORED = ("GradeEvent", "AssessmentEvent")
#: The event types of Caliper 1.1 and 1.2 (the 1.2 specification's event list, plus
#: 1.1's ReadingEvent and the deprecated OutcomeEvent and ReadingEvent names sensors
#: still send). Anything else is a typo or a vendor's own type, and is never evidence.
EVENT_TYPES = frozenset({
    "Event", "AnnotationEvent", "AssessmentEvent", "AssessmentItemEvent", "AssignableEvent",
    "FeedbackEvent", "ForumEvent", "GradeEvent", "MediaEvent", "MessageEvent",
    "NavigationEvent", "OutcomeEvent", "QuestionnaireEvent", "QuestionnaireItemEvent",
    "ReadingEvent", "ResourceManagementEvent", "SearchEvent", "SessionEvent", "SurveyEvent",
    "SurveyInvitationEvent", "ThreadEvent", "ToolLaunchEvent", "ToolUseEvent", "ViewEvent",
})
_URN_UUID = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                       r"[0-9a-fA-F]{12}$")


def check_envelope(envelope: Any, unknown_types: str = "refuse") -> list[dict[str, Any]]:
    """The envelope's events, or :class:`InvalidStatement` naming what is wrong.

    An event whose ``type`` Caliper does not define refuses the envelope, or with
    ``unknown_types="ignore"`` is left out: either way it is never stored.
    """
    if not isinstance(envelope, dict):
        raise InvalidStatement("the envelope must be a JSON object")
    problem = json_text_problem(envelope, "envelope")
    if problem:
        raise InvalidStatement(problem)
    for key in ("sensor", "sendTime", "dataVersion", "data"):
        if key not in envelope:
            raise InvalidStatement(f"envelope.{key} is required")
    if envelope["dataVersion"] not in CONTEXTS:
        raise InvalidStatement(f"envelope.dataVersion must be one of {list(CONTEXTS)}")
    parse_timestamp(envelope["sendTime"], "envelope.sendTime")
    data = envelope["data"]
    if not isinstance(data, list) or not data:
        raise InvalidStatement("envelope.data must be a non-empty array")
    events = []
    for n, event in enumerate(data):
        where = f"envelope.data[{n}]"
        if not isinstance(event, dict):
            raise InvalidStatement(f"{where} must be an object")
        if "action" not in event and "eventTime" not in event and "type" in event:
            continue  # an entity the sensor describes: allowed, and not evidence
        for key in ("id", "type", "actor", "action", "object", "eventTime"):
            if key not in event:
                raise InvalidStatement(f"{where}.{key} is required")
        if event["type"] not in EVENT_TYPES:
            if unknown_types == "ignore":
                continue
            raise InvalidStatement(f"{where}.type {str(event['type'])[:60]!r} is not a Caliper "
                                   "1.1/1.2 event type")
        if not isinstance(event["id"], str) or not _URN_UUID.match(event["id"]):
            raise InvalidStatement(f"{where}.id must be a urn:uuid: {event['id']!r}")
        parse_timestamp(event["eventTime"], f"{where}.eventTime")
        generated = event.get("generated")
        if isinstance(generated, dict) and generated.get("type") == "Score":
            for key in ("scoreGiven", "maxScore"):
                value = generated.get(key)
                if value is not None and (isinstance(value, bool)
                                          or not isinstance(value, int | float)
                                          or not math.isfinite(value) or value < 0):
                    raise InvalidStatement(f"{where}.generated.{key} must be a number >= 0")
            given, top = generated.get("scoreGiven"), generated.get("maxScore")
            if given is not None and top is not None and given > top:
                raise InvalidStatement(f"{where}.generated.scoreGiven is above maxScore")
        events.append(event)
    return events


def event_key(event: Mapping[str, Any]) -> str:
    return str(event["id"])[len("urn:uuid:"):].lower()


def _entity_id(value: Any) -> str:
    return str(value.get("id", "")) if isinstance(value, dict) else str(value or "")


def student_of(person: Any, prefix: str | None = None) -> StudentRef | None:
    """The student a Person names, by its ``SisSourcedId`` identifier.

    Only where the district says its Person IRIs end in the SIS id (``prefix``) is
    the IRI's last segment taken instead: a tool's own user ids are never taken for
    SIS ids by guesswork.
    """
    if isinstance(person, dict):
        for other in person.get("otherIdentifiers") or []:
            if isinstance(other, dict) and other.get("identifierType") == "SisSourcedId":
                return StudentRef("sourced_id", str(other["identifier"]))
    person_id = _entity_id(person).rstrip("/")
    if prefix and person_id.startswith(prefix.rstrip("/") + "/"):
        return StudentRef("sourced_id", person_id.rsplit("/", 1)[-1])
    return None


def to_records(event: Mapping[str, Any], *, source: str,
               person_prefix: str | None = None) -> tuple[SourceItem, Score] | str:
    """A scored event as an item and a score, or why it is not evidence."""
    if event.get("type") not in SCORED:
        return f"a {event.get('type')} is not a scored event"
    generated = event.get("generated")
    if not (isinstance(generated, dict) and generated.get("type") == "Score"
            and generated.get("scoreGiven") is not None and generated.get("maxScore")):
        return "it carries no Score (generated.scoreGiven out of generated.maxScore)"
    obj = event["object"]
    attempt = obj if isinstance(obj, dict) and obj.get("type") == "Attempt" else {}
    assignable = attempt.get("assignable") if attempt else obj
    person = attempt.get("assignee") if attempt else event.get("actor")
    student = student_of(person, person_prefix)
    item_id = _entity_id(assignable)
    if student is None or not item_id:
        return ("it names no student (a Person with a SisSourcedId identifier, or an IRI under "
                "the source's person_iri_prefix) or no assessment (Attempt.assignable)")
    objectives = []
    if isinstance(assignable, dict):
        for objective in assignable.get("learningObjectives") or []:
            objectives.extend(case_uris(_entity_id(objective)))
    cases = tuple(dict.fromkeys(objectives))
    title = str(assignable.get("name") or item_id) if isinstance(assignable, dict) else item_id
    maximum = float(generated["maxScore"])
    key = item_key(item_id, cases)
    item = SourceItem(source_system=source, sourced_id=key, title=title, kind="assessment",
                      result_value_max=maximum,
                      learning_objectives=tuple(LearningObjectiveRef("CASE", i) for i in cases))
    record = Score(source_system=source, sourced_id=event_key(event), item_sourced_id=key,
                   student=student, score=float(generated["scoreGiven"]),
                   status=ScoreStatus.FULLY_GRADED.value,
                   scored_at=parse_timestamp(event["eventTime"], "eventTime"), max_score=maximum)
    return item, record
