"""The registrar's official transcripts: versions drafted, reviewed, issued, re-issued, revoked.

Each step is the service the CLI uses (:mod:`connector.sync.transcript_documents`),
in one transaction, audited the same way. A step that does not apply to the version
as it is (issuing a draft nobody reviewed, re-issuing without a reason) is 409 with
the reason. An issued version's PDF is the frozen file, byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, jsonify, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from connector.api.access import actor, change, district_session, student_reach
from connector.api.bodies import load
from connector.api.openapi import documented, json_request, query
from connector.api.store import open_district, store
from connector.domain import roles
from connector.errors import ConfigurationError, DataError, NotFoundError
from connector.sync import credentials
from connector.sync import transcript_documents as docs
from connector.transcripts import workflow as wf

blueprint = Blueprint("transcripts", __name__, description="Official transcripts: drafts, "
                      "review, issue, re-issue and revocation, each version kept.")
PREFIX = "/api/v1/districts/<key>"
STEP_ERRORS = (400, 401, 403, 404, 409, 413, 503)


class TranscriptVersionSchema(Schema):
    id = fields.Integer()
    student = fields.String(metadata={"description": "The student's SIS id."})
    version = fields.Integer()
    status = fields.String(validate=validate.OneOf(wf.STATUSES))
    as_of = fields.String(allow_none=True, metadata={
        "description": "The date the transcript is dated (the issue date once issued)."})
    created_at = fields.DateTime()
    created_by = fields.String()
    reviewed_at = fields.DateTime(allow_none=True)
    reviewed_by = fields.String()
    issued_at = fields.DateTime(allow_none=True)
    issued_by = fields.String()
    closed_at = fields.DateTime(allow_none=True, metadata={
        "description": "When it was superseded or revoked."})
    closed_by = fields.String()
    reason = fields.String(metadata={"description": "Why it was re-issued or revoked."})
    supersedes = fields.Integer(allow_none=True, metadata={
        "description": "The id of the version this one replaced."})
    snapshot_sha256 = fields.String()
    pdf_sha256 = fields.String(allow_none=True, metadata={
        "description": "SHA-256 of the issued PDF; null before it is issued."})


class VersionListSchema(Schema):
    versions = fields.List(fields.Nested(TranscriptVersionSchema))


class DraftSchema(Schema):
    outcome = fields.String(metadata={"description": "drafted, redrafted or unchanged."})
    note = fields.String()
    transcript = fields.Nested(TranscriptVersionSchema, allow_none=True)


class StepReasonSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "Required to re-issue over an issued version, and to revoke."})


def _shown(document: Any) -> dict[str, Any]:
    return dict(TranscriptVersionSchema().dump(docs.describe(document)))


def _version(session: Any, document_id: int) -> Any:
    try:
        document = docs.find(session, document_id)
    except NotFoundError as exc:
        abort(404, description=exc.message)
    student_reach(session, document.student_sis_id, roles.TRANSCRIPTS_READ)
    return document


def _step(key: str, document_id: int, act: Any) -> Any:
    settings, session = district_session(key)
    given = load(StepReasonSchema(), max_bytes=16 * 1024)
    _version(session, document_id)
    try:
        with change(session):
            document = docs.find(session, document_id, lock=True)
            act(session, settings, document, given["reason"])
            shown = _shown(document)
    except wf.WorkflowError as exc:
        abort(409, description=exc.message)
    except DataError as exc:
        abort(400, description=exc.message)
    return jsonify(shown)


@blueprint.get(f"{PREFIX}/transcripts")
@blueprint.response(200, VersionListSchema)
@documented(need=roles.TRANSCRIPTS_READ, read=True, parameters=[
    query("student", description="One student's versions (SIS id)."),
    query("status", description="Only versions of this status.", enum=list(wf.STATUSES))])
def list_versions(key: str) -> Any:
    """Transcript versions, newest first (at most 500)."""
    _, session = district_session(key)
    status = request.args.get("status")
    if status is not None and status not in wf.STATUSES:
        abort(400, description=f"status is one of {', '.join(wf.STATUSES)}")
    found = docs.versions(session, request.args.get("student") or None, status)
    return jsonify(versions=[_shown(d) for d in found])


@blueprint.post(f"{PREFIX}/students/<sis_id>/transcripts")
@blueprint.response(201, DraftSchema)
@blueprint.alt_response(200, schema=DraftSchema, description="The records are as the open "
                        "draft or the issued version shows them: nothing changed.")
@documented(need=roles.TRANSCRIPTS_WRITE, errors=STEP_ERRORS, **json_request(StepReasonSchema))
def draft(key: str, sis_id: str) -> Any:
    """Draft the student's transcript from the records now, or refresh the open draft.

    Safe to repeat: unchanged records give the same draft (its review stands).
    """
    settings, session = district_session(key)
    load(StepReasonSchema(), max_bytes=16 * 1024)
    student_reach(session, sis_id, roles.TRANSCRIPTS_WRITE)
    try:
        with change(session):
            made = docs.draft(session, settings, [sis_id], by=actor())[0]
            body = {"outcome": made.outcome, "note": made.note,
                    "transcript": _shown(made.document) if made.document else None}
    except NotFoundError as exc:
        abort(404, description=exc.message)
    return jsonify(body), 200 if made.outcome == "unchanged" else 201


@blueprint.get(f"{PREFIX}/transcripts/<int:document_id>")
@blueprint.response(200, TranscriptVersionSchema)
@documented(need=roles.TRANSCRIPTS_READ, read=True)
def version(key: str, document_id: int) -> Any:
    """One version: its status, who did each step and when, its hashes."""
    _, session = district_session(key)
    return jsonify(_shown(_version(session, document_id)))


@blueprint.get(f"{PREFIX}/transcripts/<int:document_id>/pdf")
@documented(need=roles.TRANSCRIPTS_READ, binary=(
    "The PDF: as issued (byte for byte) once issued, else marked DRAFT.", "application/pdf"))
def version_pdf(key: str, document_id: int) -> Any:
    """The version's PDF."""
    _, session = district_session(key)
    document = _version(session, document_id)
    response = Response(docs.pdf_of(document), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="{document.student_sis_id}-v{document.version}.pdf"')
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.post(f"{PREFIX}/transcripts/<int:document_id>/review")
@blueprint.response(200, TranscriptVersionSchema)
@documented(need=roles.TRANSCRIPTS_WRITE, errors=STEP_ERRORS, **json_request(StepReasonSchema))
def review(key: str, document_id: int) -> Any:
    """Mark a draft reviewed (audited)."""
    return _step(key, document_id, lambda s, _settings, d, _reason: docs.review(
        s, d, by=actor()))


@blueprint.post(f"{PREFIX}/transcripts/<int:document_id>/issue")
@blueprint.response(200, TranscriptVersionSchema)
@documented(need=roles.TRANSCRIPTS_WRITE, errors=STEP_ERRORS, **json_request(StepReasonSchema))
def issue(key: str, document_id: int) -> Any:
    """Issue a reviewed draft: its PDF and records are frozen and hashed (audited).

    When the student has an issued version, this re-issues: the old version is
    superseded and kept, and the reason is required.
    """
    return _step(key, document_id, lambda s, settings, d, reason: docs.issue(
        s, settings, d, by=actor(), reason=reason))


@blueprint.post(f"{PREFIX}/transcripts/<int:document_id>/revoke")
@blueprint.response(200, TranscriptVersionSchema)
@documented(need=roles.TRANSCRIPTS_WRITE, errors=STEP_ERRORS, **json_request(StepReasonSchema))
def revoke(key: str, document_id: int) -> Any:
    """Revoke the issued version, with the reason (audited); it stays readable."""
    return _step(key, document_id, lambda s, _settings, d, reason: docs.revoke(
        s, d, by=actor(), reason=reason))


# --- published for verifiers: no credential needed -----------------------------------------


def _published(body: dict[str, Any], media_type: str) -> Response:
    response = Response(json.dumps(body, indent=2, ensure_ascii=False), mimetype=media_type)
    # Public, and changes only when a transcript is issued or revoked: caches may keep it.
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _credentials_of(key: str) -> Any:
    settings = store().settings(key)
    if settings.district.transcript.credential is None:
        abort(404, description=f"district {key!r} issues no signed credentials")
    return settings


@blueprint.get(f"{PREFIX}/credentials/status")
@documented(read=True, security=(), errors=(404, 503), binary=(
    "The district's revocation list: a signed W3C BitstringStatusListCredential.",
    "application/vc+ld+json"))
def credential_status(key: str) -> Any:
    """The revocation status list that every issued transcript credential points to.

    Public, as the Bitstring Status List specification intends: it names no one, and a
    verifier reading it does not say which credential it checks.
    """
    settings = _credentials_of(key)
    session = open_district(key, 404, f"district {key!r} has issued nothing yet")
    try:
        body = credentials.status_list_credential(session, settings)
    except ConfigurationError as exc:
        abort(503, description=f"the signing key is not available on this server: {exc.message}")
    return _published(body, "application/vc+ld+json")


@blueprint.get(f"{PREFIX}/credentials/issuer")
@documented(read=True, security=(), errors=(404, 503), binary=(
    "The issuer's DID document: its public key as a Multikey.", "application/did+ld+json"))
def credential_issuer(key: str) -> Any:
    """The issuer document with the public key that verifies the district's credentials."""
    settings = _credentials_of(key)
    try:
        body = credentials.issuer_document(settings)
    except ConfigurationError as exc:
        abort(503, description=f"the signing key is not available on this server: {exc.message}")
    return _published(body, "application/did+ld+json")
