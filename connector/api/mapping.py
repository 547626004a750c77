"""The mapping queue's writes: crosswalk entries made, listed, exported as CSV and removed."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, jsonify, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from connector.api.access import actor, change, district_session
from connector.api.bodies import load
from connector.api.openapi import documented, json_request, query
from connector.api.schemas import CrosswalkEntrySchema, CrosswalkListSchema, RemovalSchema
from connector.domain import roles
from connector.errors import DataError, NotFoundError
from connector.sync import stored_crosswalk

blueprint = Blueprint("mapping", __name__, description="Crosswalk entries made from the "
                      "mapping queue, used by the next sync beside the district's files.")
PREFIX = "/api/v1/districts/<key>/mapping/crosswalk"


class NewEntrySchema(Schema):
    source = fields.String(required=True, validate=validate.Length(min=1, max=64),
                           metadata={"description": "A source key, or * for any."})
    item = fields.String(required=True, validate=validate.Length(min=1, max=255),
                         metadata={"description": "The item's id (or title, with match: "
                                                  "title); a glob pattern is allowed."})
    competency = fields.String(required=True, validate=validate.Length(min=1, max=255),
                               metadata={"description": "CASE identifier or code."})
    dok = fields.Integer(load_default=None, allow_none=True)
    evidence_type = fields.String(load_default=None, allow_none=True)
    weight = fields.Float(load_default=None, allow_none=True)
    match = fields.String(load_default="id", validate=validate.OneOf(["id", "title"]))
    course = fields.String(load_default="", validate=validate.Length(max=255))


def _body(schema: Schema) -> dict[str, Any]:
    return load(schema, max_bytes=64 * 1024)


@blueprint.get(PREFIX)
@blueprint.response(200, CrosswalkListSchema)
@documented(need=roles.MAPPING_READ, read=True,
            csv=("The entries; with format=csv, a crosswalk file of them.",
                 CrosswalkListSchema), parameters=[
    query("format", "string", "csv for a crosswalk file.", enum=["json", "csv"])])
def list_entries(key: str) -> Any:
    """The entries made from the mapping queue, oldest first, or as a crosswalk CSV."""
    _, session = district_session(key)
    wanted = request.args.get("format", "json")
    if wanted not in ("json", "csv"):
        abort(400, description=f"format: json or csv (got {wanted[:20]!r})")
    if wanted == "csv":
        return Response(stored_crosswalk.entries_csv(session), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{key}-crosswalk.csv"'})
    return jsonify(entries=stored_crosswalk.list_entries(session))


@blueprint.post(PREFIX)
@blueprint.response(201, CrosswalkEntrySchema)
@blueprint.alt_response(200, schema=CrosswalkEntrySchema,
                        description="The same entry already existed: nothing was added.")
@documented(need=roles.MAPPING_WRITE, errors=(400, 401, 403, 404, 413, 503),
            **json_request(NewEntrySchema))
def add_entry(key: str) -> Any:
    """Map an item to a competency; the next sync aligns it (audited)."""
    settings, session = district_session(key)
    given = _body(NewEntrySchema())
    try:
        with change(session):
            entry, made = stored_crosswalk.add_entry(session, settings, given, by=actor())
    except DataError as exc:
        abort(400, description=exc.message)
    return jsonify(entry), 201 if made else 200


@blueprint.delete(f"{PREFIX}/<int:entry_id>")
@blueprint.response(200, CrosswalkEntrySchema)
@documented(need=roles.MAPPING_WRITE, errors=(400, 401, 403, 404, 413, 503),
            **json_request(RemovalSchema))
def remove_entry(key: str, entry_id: int) -> Any:
    """Remove an entry, with the reason; the next sync drops the alignment it made (audited)."""
    _, session = district_session(key)
    reason = _body(RemovalSchema())["reason"]
    try:
        with change(session):
            gone = stored_crosswalk.remove_entry(session, entry_id, by=actor(), reason=reason)
    except NotFoundError as exc:
        abort(404, description=exc.message)
    return jsonify(gone)
