"""Read endpoints: load arguments, call a query, dump with marshmallow. Nothing else."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import abort, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import select, text

from connector.api.openapi import documented, query
from connector.api.schemas import (
    DokExposureSchema,
    HealthSchema,
    MasteryRecordSchema,
    ProgressSchema,
    RejectionSchema,
    RunDetailSchema,
    RunSchema,
    RunsSchema,
    SideBySideSchema,
    StatusSchema,
    StudentMasterySchema,
    UnmappedItemSchema,
    UnmappedListSchema,
)
from connector.api.store import district_session, store
from connector.errors import DataError
from connector.mastery.progress import report_day
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.models import utcnow
from connector.sync import evidence_views, progress
from connector.sync.job_status import job_states
from connector.transcripts.service import district_today

blueprint = Blueprint("reads", __name__, description="Runs, mastery records, progress and "
                      "reports of one district.")
PREFIX = "/api/v1/districts/<key>"


@blueprint.get("/healthz")
@blueprint.response(200, HealthSchema)
@blueprint.alt_response(503, schema=HealthSchema, description="The database does not answer.")
@documented(security=(), errors=())
def healthz() -> Any:
    """Liveness and the database: 200, or 503 when the store does not answer."""
    try:
        with store().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # health must answer, not crash, when the store is down
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "degraded", database=database), status


@blueprint.get(f"{PREFIX}/status")
@blueprint.response(200, StatusSchema)
@blueprint.alt_response(503, schema=StatusSchema, description="A job needs a person.")
@documented(errors=(400, 401, 403, 404))
def status(key: str) -> Any:
    """Readiness for monitoring: each job's last run, its age, and 503 when one needs a person.

    What counts as needing a person is the district's ``alerts.unhealthy`` (by
    default a failed last run, or no success for ``stale_after_hours``).
    """
    settings, session = district_session(key)
    now = utcnow()
    states = job_states(session, settings, now)
    unhealthy = set(settings.district.alerts.unhealthy)
    jobs = []
    for state in states:
        row = state.as_dict(now)
        row["unhealthy"] = sorted(state.conditions() & unhealthy)
        jobs.append(row)
    healthy = not any(row["unhealthy"] for row in jobs)
    return jsonify(district=key, healthy=healthy, unhealthy_when=sorted(unhealthy),
                   checked_at=now.isoformat(), jobs=jobs), 200 if healthy else 503


@blueprint.get(f"{PREFIX}/runs")
@blueprint.response(200, RunsSchema)
@documented(parameters=[query("limit", "integer", "How many runs, newest first (1-500).",
                              minimum=1, maximum=500, default=50)])
def list_runs(key: str) -> Any:
    """The district's sync runs, newest first."""
    _, session = district_session(key)
    given = request.args.get("limit", "50")
    if not (given.isascii() and given.isdigit() and 1 <= int(given) <= 500):
        abort(400, description=f"limit: a whole number from 1 to 500 (got {given[:20]!r})")
    limit = int(given)
    runs = session.scalars(select(m.SyncRun).order_by(m.SyncRun.id.desc()).limit(limit)).all()
    return jsonify(runs=RunSchema(many=True).dump(runs))


@blueprint.get(f"{PREFIX}/runs/<int:run_id>")
@blueprint.response(200, RunDetailSchema)
@documented()
def get_run(key: str, run_id: int) -> Any:
    """One run, with the records it rejected and why."""
    _, session = district_session(key)
    run = session.scalars(select(m.SyncRun).where(m.SyncRun.id == run_id)).first()
    if run is None:
        abort(404, description=f"no run {run_id}")
    rejections = session.scalars(select(m.SyncRejection).where(
        m.SyncRejection.run_id == run_id).order_by(m.SyncRejection.id).limit(1000)).all()
    return jsonify(run=RunSchema().dump(run),
                   rejections=RejectionSchema(many=True).dump(rejections))


@blueprint.get(f"{PREFIX}/students/<sis_id>/mastery")
@blueprint.response(200, StudentMasterySchema)
@documented()
def student_mastery(key: str, sis_id: str) -> Any:
    """Every mastery record of one student, each with its explanation."""
    settings, session = district_session(key)
    records = queries.student_mastery(session, sis_id, settings.district.scale)
    if records is None:
        abort(404, description=f"no student {sis_id!r}")
    return jsonify(student=sis_id, records=MasteryRecordSchema(many=True).dump(records))


@blueprint.get(f"{PREFIX}/mapping/unmapped")
@blueprint.response(200, UnmappedListSchema)
@documented()
def unmapped(key: str) -> Any:
    """Items no alignment maps to a competency, and how many scores wait on each."""
    _, session = district_session(key)
    return jsonify(items=UnmappedItemSchema(many=True).dump(queries.unmapped_items(session)))


@blueprint.get(f"{PREFIX}/students/<sis_id>/progress")
@blueprint.response(200, ProgressSchema)
@documented(parameters=[query("as_of", "string", "The report day (YYYY-MM-DD); today in "
                                                 "the district's time zone by default.",
                              format="date")])
def student_progress(key: str, sis_id: str) -> Any:
    """Academic level and pace per domain, exceptions, snapshot dates and course credit."""
    settings, session = district_session(key)
    given = request.args.get("as_of")
    try:
        as_of = report_day(given) if given else district_today(settings)
    except ValueError as exc:
        abort(400, description=f"as_of: {exc}")
    try:
        (row,) = progress.progress(session, settings, as_of, [sis_id])
        credit = progress.credit_report(session, settings, [sis_id])
    except DataError as exc:
        abort(404, description=exc.message)
    return jsonify(_iso({"as_of": as_of, **row.as_dict(), "credit": credit}))


@blueprint.get(f"{PREFIX}/students/<sis_id>/evidence/<competency>")
@blueprint.response(200, SideBySideSchema)
@documented()
def side_by_side(key: str, sis_id: str, competency: str) -> Any:
    """Adaptive and teacher evidence on one competency apart, with what adaptive alone can show."""
    settings, session = district_session(key)
    try:
        view = evidence_views.side_by_side(session, settings, sis_id, competency)
    except DataError as exc:
        abort(404, description=exc.message)
    return jsonify(_iso(view))


@blueprint.get(f"{PREFIX}/reports/dok-exposure")
@blueprint.response(200, DokExposureSchema)
@documented(parameters=[query("by", "string", "Group by school or by class.",
                              enum=["school", "class"], default="school")])
def dok_exposure(key: str) -> Any:
    """The share of evidence at each DOK level, per school or class and source."""
    settings, session = district_session(key)
    by = request.args.get("by", "school")
    if by not in ("school", "class"):
        abort(400, description=f"by must be school or class: {by!r}")
    return jsonify(by=by, rows=evidence_views.dok_exposure(session, settings, by))


def _iso(value: Any) -> Any:
    """Dates and datetimes as ISO 8601 text, everywhere in a structure."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso(v) for v in value]
    return value
