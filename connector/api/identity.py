"""The identity queue's writes: links from a source's id for a student to the roster student."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from connector.api.access import actor, change, district_session
from connector.api.bodies import load
from connector.api.openapi import documented, json_request
from connector.api.schemas import IdentityLinkListSchema, IdentityLinkSchema, RemovalSchema
from connector.domain import roles
from connector.errors import DataError, NotFoundError
from connector.sync import identity_links

blueprint = Blueprint("identity", __name__, description="Identity links made from the "
                      "identity queue: the next sync stores the records they were waiting for.")
PREFIX = "/api/v1/districts/<key>/identity/links"


class NewLinkSchema(Schema):
    source = fields.String(required=True, validate=validate.Length(min=1, max=64),
                           metadata={"description": "The source key, as in the exception."})
    kind = fields.String(required=True, validate=validate.OneOf(identity_links.KINDS),
                         metadata={"description": "How the source names the student, as in "
                                                  "the exception."})
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=255),
                                metadata={"description": "The id the source sent."})
    student = fields.String(required=True, validate=validate.Length(min=1, max=255),
                            metadata={"description": "The roster student's SIS id."})


def _body(schema: Schema) -> dict[str, Any]:
    return load(schema, max_bytes=16 * 1024)


@blueprint.get(PREFIX)
@blueprint.response(200, IdentityLinkListSchema)
@documented(need=roles.IDENTITY_READ, read=True)
def list_links(key: str) -> Any:
    """The links made from the identity queue, oldest first."""
    _, session = district_session(key)
    return jsonify(links=identity_links.list_links(session))


@blueprint.post(PREFIX)
@blueprint.response(201, IdentityLinkSchema)
@blueprint.alt_response(200, schema=IdentityLinkSchema,
                        description="The same link already existed: nothing was added.")
@documented(need=roles.IDENTITY_WRITE, errors=(400, 401, 403, 404, 409, 413, 503),
            **json_request(NewLinkSchema))
def add_link(key: str) -> Any:
    """Resolve an exception: link the source's id to a roster student (audited).

    The next run reads that source in full once, so the records it refused come in.
    """
    settings, session = district_session(key)
    given = _body(NewLinkSchema())
    try:
        with change(session):
            link, made = identity_links.add_link(session, settings, given, by=actor())
    except identity_links.LinkConflict as exc:
        abort(409, description=exc.message)
    except DataError as exc:
        abort(400, description=exc.message)
    return jsonify(link), 201 if made else 200


@blueprint.delete(f"{PREFIX}/<int:link_id>")
@blueprint.response(200, IdentityLinkSchema)
@documented(need=roles.IDENTITY_WRITE, errors=(400, 401, 403, 404, 413, 503),
            **json_request(RemovalSchema))
def remove_link(key: str, link_id: int) -> Any:
    """Remove a link, with the reason (audited); records stored through it stay."""
    _, session = district_session(key)
    reason = _body(RemovalSchema())["reason"]
    try:
        with change(session):
            gone = identity_links.remove_link(session, link_id, by=actor(), reason=reason)
    except NotFoundError as exc:
        abort(404, description=exc.message)
    return jsonify(gone)
