"""Mastery endpoints: the calculator, one record with its explanation, teacher overrides.

Reading needs the district's API token; setting or clearing an override needs its
separate write token. Errors a caller can fix come back as 400 (bad input) or
404 (no such student or competency) with the same message the CLI prints.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from connector import ENGINE_VERSION
from connector.adapters.messages import sentences
from connector.api.access import change, district_session, principal, student_reach
from connector.api.bodies import load
from connector.api.openapi import documented, json_request
from connector.api.schemas import (
    CalcResultSchema,
    MasteryRecordSchema,
    OverrideHistorySchema,
    OverrideMadeSchema,
    RecordSchema,
)
from connector.domain import roles
from connector.errors import DataError, MasteryError, NotFoundError
from connector.mastery.calculator import as_json, calculate
from connector.persistence import queries
from connector.sync.overrides import (
    OVERRIDE_STATES,
    clear_override,
    override_history,
    set_override,
)

blueprint = Blueprint("mastery", __name__, description="The calculator, one record with its "
                      "explanation, and teacher overrides.")
#: A calculation's evidence (200 pieces at most) and an override fit well within this.
MAX_BODY = 256 * 1024
PREFIX = "/api/v1/districts/<key>"
RECORD = f"{PREFIX}/students/<sis_id>/mastery/<competency>"


class EvidenceItemSchema(Schema):
    value = fields.Raw(required=True, metadata={"description": "A score on the scale, or a "
                                                               "level code."})
    dok = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))
    type = fields.String(load_default="teacher")


class CalcRequestSchema(Schema):
    method = fields.String(required=True)
    evidence = fields.Raw(required=True, metadata={
        "description": "Oldest first: text like '1,3:2,4' (value[:dok[:type]]), or a list of "
                       "{value, dok, type} objects; at most 200 pieces.",
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]})
    parameters = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    target_dok = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))
    min_evidence = fields.Integer(load_default=1, validate=validate.Range(min=1))


class OverrideRequestSchema(Schema):
    level = fields.String(load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(OVERRIDE_STATES))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    by = fields.String(load_default=None, validate=validate.Length(min=1, max=255),
                       metadata={"deprecated": True, "description": "Whom the district's "
                                 "shared write token acts for; ignored for a person or a "
                                 "machine token, which name themselves."})


class ClearRequestSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    by = fields.String(load_default=None, validate=validate.Length(min=1, max=255),
                       metadata={"deprecated": True, "description": "Whom the district's "
                                 "shared write token acts for; ignored for a person or a "
                                 "machine token, which name themselves."})


def _body(schema: Schema) -> dict[str, Any]:
    return load(schema, max_bytes=MAX_BODY)


def _evidence_text(evidence: Any) -> str:
    """The calculator takes the CLI's text or a list of {value, dok, type} objects."""
    if isinstance(evidence, str):
        return evidence
    if not isinstance(evidence, list):
        abort(400, description="evidence is a string like '1,3,2,4' or a list of "
                               "{value, dok, type} objects, oldest first")
    items = []
    for raw in evidence:
        try:
            item = EvidenceItemSchema().load(raw if isinstance(raw, dict) else {"value": raw})
        except ValidationError as exc:
            abort(400, description=f"invalid evidence item: {sentences(exc.messages)}")
        items.append(f"{item['value']}:{item['dok'] or ''}:{item['type']}")
    return ",".join(items)


def _by(given: str | None) -> str:
    """Who made the change, for the audit: the signed-in person or the token.

    Only the shared write token cannot say whom it acts for; it may still name the
    person in the body's ``by`` (deprecated, like the shared tokens).
    """
    who = principal()
    if who.grants is None and who.actor.startswith("district ") and given:
        return given
    return who.actor


@blueprint.post(f"{PREFIX}/mastery/calc")
@blueprint.response(200, CalcResultSchema)
@documented(need=roles.FRAMEWORKS_READ, errors=(400, 401, 403, 404, 413, 503),
            **json_request(CalcRequestSchema))
def calc(key: str) -> Any:
    """A level from evidence given here, by the district's scale and any method: nothing is stored."""
    settings, _ = district_session(key)
    body = _body(CalcRequestSchema())
    try:
        result = calculate(body["method"], _evidence_text(body["evidence"]),
                           scale=settings.district.scale, base=settings.district.mastery.default,
                           parameters=body["parameters"], target_dok=body["target_dok"],
                           min_evidence=body["min_evidence"], engine_version=ENGINE_VERSION)
    except MasteryError as exc:
        abort(400, description=exc.message)
    return jsonify(as_json(result))


@blueprint.get(RECORD)
@blueprint.response(200, RecordSchema)
@documented(need=roles.RECORDS_READ, read=True)
def record(key: str, sis_id: str, competency: str) -> Any:
    """One student's record on one competency, with its explanation."""
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.RECORDS_READ)
    try:
        comp = queries.find_competency(session, competency)
    except DataError as exc:
        abort(404, description=exc.message)
    found = queries.student_mastery(session, sis_id, settings.district.scale, comp.id)
    if found is None:
        abort(404, description=f"no student {sis_id!r}")
    if not found:
        abort(404, description=f"student {sis_id!r} has no record on {competency!r} yet")
    return jsonify(record=MasteryRecordSchema().dump(found[0]))


@blueprint.post(f"{RECORD}/override")
@blueprint.response(201, OverrideMadeSchema)
@documented(need=roles.RECORDS_OVERRIDE, errors=(400, 401, 403, 404, 413, 503),
            description="A teacher may override records of students in the teacher's classes.",
            **json_request(OverrideRequestSchema))
def override(key: str, sis_id: str, competency: str) -> Any:
    """Set a teacher's level or state on a record, with the reason; the computed one is kept."""
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.RECORDS_OVERRIDE)
    body = _body(OverrideRequestSchema())
    try:
        with change(session):
            outcome = set_override(session, settings, sis_id, competency, level=body["level"],
                                   state=body["state"], reason=body["reason"],
                                   by=_by(body["by"]))
    except DataError as exc:
        abort(404 if isinstance(exc, NotFoundError) else 400, description=exc.message)
    return jsonify(override_id=outcome.override_id,
                   record=MasteryRecordSchema().dump(outcome.record)), 201


@blueprint.delete(f"{RECORD}/override")
@blueprint.response(200, RecordSchema)
@documented(need=roles.RECORDS_OVERRIDE, errors=(400, 401, 403, 404, 413, 503),
            **json_request(ClearRequestSchema))
def clear(key: str, sis_id: str, competency: str) -> Any:
    """Clear a record's override, with the reason: the computed level shows again."""
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.RECORDS_OVERRIDE)
    body = _body(ClearRequestSchema())
    try:
        with change(session):
            outcome = clear_override(session, settings, sis_id, competency,
                                     reason=body["reason"], by=_by(body["by"]))
    except DataError as exc:
        abort(404 if isinstance(exc, NotFoundError) else 400, description=exc.message)
    return jsonify(record=MasteryRecordSchema().dump(outcome.record))


@blueprint.get(f"{RECORD}/overrides")
@blueprint.response(200, OverrideHistorySchema)
@documented(need=roles.RECORDS_READ, read=True)
def history(key: str, sis_id: str, competency: str) -> Any:
    """Every override a record has had, cleared ones too."""
    _, session = district_session(key)
    student_reach(session, sis_id, roles.RECORDS_READ)
    try:
        rows = override_history(session, sis_id, competency)
    except DataError as exc:
        abort(404, description=exc.message)
    for row in rows:
        for name in ("at", "cleared_at"):
            row[name] = row[name].isoformat() if row[name] else None
    return jsonify(overrides=rows)
