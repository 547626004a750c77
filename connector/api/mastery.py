"""Mastery endpoints: the calculator, one record with its explanation, teacher overrides.

Reading needs the district's API token; setting or clearing an override needs its
separate write token. Errors a caller can fix come back as 400 (bad input) or
404 (no such student or competency) with the same message the CLI prints.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify
from marshmallow import Schema, ValidationError, fields, validate

from connector import ENGINE_VERSION
from connector.adapters.messages import sentences
from connector.api.bodies import json_body
from connector.api.schemas import MasteryRecordSchema
from connector.api.store import district_session
from connector.errors import DataError, MasteryError, NotFoundError
from connector.mastery.calculator import as_json, calculate
from connector.persistence import queries
from connector.sync.overrides import (
    OVERRIDE_STATES,
    clear_override,
    override_history,
    set_override,
)

blueprint = Blueprint("mastery_api", __name__)
#: A calculation's evidence (200 pieces at most) and an override fit well within this.
MAX_BODY = 256 * 1024
PREFIX = "/api/v1/districts/<key>"
RECORD = f"{PREFIX}/students/<sis_id>/mastery/<competency>"


class EvidenceItemSchema(Schema):
    value = fields.Raw(required=True)
    dok = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))
    type = fields.String(load_default="teacher")


class CalcSchema(Schema):
    method = fields.String(required=True)
    evidence = fields.Raw(required=True)
    parameters = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    target_dok = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))
    min_evidence = fields.Integer(load_default=1, validate=validate.Range(min=1))


class OverrideSchema(Schema):
    level = fields.String(load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(OVERRIDE_STATES))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    by = fields.String(required=True, validate=validate.Length(min=1, max=255))


class ClearSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    by = fields.String(required=True, validate=validate.Length(min=1, max=255))


def _body(schema: Schema) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(json_body(max_bytes=MAX_BODY) or {})
    except ValidationError as exc:
        abort(400, description=f"invalid request body: {sentences(exc.messages)}")
    return loaded


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


@blueprint.post(f"{PREFIX}/mastery/calc")
def calc(key: str) -> Any:
    settings, _ = district_session(key)
    body = _body(CalcSchema())
    try:
        result = calculate(body["method"], _evidence_text(body["evidence"]),
                           scale=settings.district.scale, base=settings.district.mastery.default,
                           parameters=body["parameters"], target_dok=body["target_dok"],
                           min_evidence=body["min_evidence"], engine_version=ENGINE_VERSION)
    except MasteryError as exc:
        abort(400, description=exc.message)
    return jsonify(as_json(result))


@blueprint.get(RECORD)
def record(key: str, sis_id: str, competency: str) -> Any:
    settings, session = district_session(key)
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
def override(key: str, sis_id: str, competency: str) -> Any:
    settings, session = district_session(key, write=True)
    body = _body(OverrideSchema())
    try:
        with session.begin():
            outcome = set_override(session, settings, sis_id, competency, level=body["level"],
                                   state=body["state"], reason=body["reason"], by=body["by"])
    except DataError as exc:
        abort(404 if isinstance(exc, NotFoundError) else 400, description=exc.message)
    return jsonify(override_id=outcome.override_id,
                   record=MasteryRecordSchema().dump(outcome.record)), 201


@blueprint.delete(f"{RECORD}/override")
def clear(key: str, sis_id: str, competency: str) -> Any:
    settings, session = district_session(key, write=True)
    body = _body(ClearSchema())
    try:
        with session.begin():
            outcome = clear_override(session, settings, sis_id, competency,
                                     reason=body["reason"], by=body["by"])
    except DataError as exc:
        abort(404 if isinstance(exc, NotFoundError) else 400, description=exc.message)
    return jsonify(record=MasteryRecordSchema().dump(outcome.record))


@blueprint.get(f"{RECORD}/overrides")
def history(key: str, sis_id: str, competency: str) -> Any:
    _, session = district_session(key)
    try:
        rows = override_history(session, sis_id, competency)
    except DataError as exc:
        abort(404, description=exc.message)
    for row in rows:
        for name in ("at", "cleared_at"):
            row[name] = row[name].isoformat() if row[name] else None
    return jsonify(overrides=rows)
