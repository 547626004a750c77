"""Read endpoints: load arguments, call a query, dump with marshmallow. Nothing else."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import select, text

from connector.api.schemas import (
    MasteryRecordSchema,
    RejectionSchema,
    RunSchema,
    UnmappedItemSchema,
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

blueprint = Blueprint("api", __name__)
PREFIX = "/api/v1/districts/<key>"


@blueprint.get("/healthz")
def healthz() -> Any:
    try:
        with store().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # health must answer, not crash, when the store is down
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify(status="ok" if status == 200 else "degraded", database=database), status


@blueprint.get(f"{PREFIX}/status")
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
def list_runs(key: str) -> Any:
    _, session = district_session(key)
    limit = max(1, min(request.args.get("limit", 50, type=int) or 50, 500))
    runs = session.scalars(select(m.SyncRun).order_by(m.SyncRun.id.desc()).limit(limit)).all()
    return jsonify(runs=RunSchema(many=True).dump(runs))


@blueprint.get(f"{PREFIX}/runs/<int:run_id>")
def get_run(key: str, run_id: int) -> Any:
    _, session = district_session(key)
    run = session.scalars(select(m.SyncRun).where(m.SyncRun.id == run_id)).first()
    if run is None:
        abort(404, description=f"no run {run_id}")
    rejections = session.scalars(select(m.SyncRejection).where(
        m.SyncRejection.run_id == run_id).order_by(m.SyncRejection.id).limit(1000)).all()
    return jsonify(run=RunSchema().dump(run),
                   rejections=RejectionSchema(many=True).dump(rejections))


@blueprint.get(f"{PREFIX}/students/<sis_id>/mastery")
def student_mastery(key: str, sis_id: str) -> Any:
    settings, session = district_session(key)
    records = queries.student_mastery(session, sis_id, settings.district.scale)
    if records is None:
        abort(404, description=f"no student {sis_id!r}")
    return jsonify(student=sis_id, records=MasteryRecordSchema(many=True).dump(records))


@blueprint.get(f"{PREFIX}/mapping/unmapped")
def unmapped(key: str) -> Any:
    _, session = district_session(key)
    return jsonify(items=UnmappedItemSchema(many=True).dump(queries.unmapped_items(session)))


@blueprint.get(f"{PREFIX}/students/<sis_id>/progress")
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
def side_by_side(key: str, sis_id: str, competency: str) -> Any:
    """Adaptive and teacher evidence on one competency apart, with what adaptive alone can show."""
    settings, session = district_session(key)
    try:
        view = evidence_views.side_by_side(session, settings, sis_id, competency)
    except DataError as exc:
        abort(404, description=exc.message)
    return jsonify(_iso(view))


@blueprint.get(f"{PREFIX}/reports/dok-exposure")
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
