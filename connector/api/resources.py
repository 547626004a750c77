"""Read endpoints: load arguments, call a query, dump with marshmallow. Nothing else."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import abort, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import select, text

from connector.api import paging
from connector.api.access import (
    class_reach,
    district_session,
    rows_within_reach,
    student_reach,
)
from connector.api.openapi import documented, pages, query
from connector.api.schemas import (
    AuditEventSchema,
    AuditSchema,
    CompetenciesSchema,
    DokExposureSchema,
    FrameworksSchema,
    GridSchema,
    HealthSchema,
    IdentityExceptionsSchema,
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
from connector.api.store import store
from connector.domain import roles
from connector.domain.scale import MasteryState
from connector.errors import DataError
from connector.mastery.progress import report_day
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.models import utcnow
from connector.sync import audit, evidence_views, progress
from connector.sync.job_status import job_states
from connector.sync.report import FINAL, QUEUED
from connector.transcripts.service import district_today

blueprint = Blueprint("reads", __name__, description="Runs, mastery records, progress and "
                      "reports of one district.")
PREFIX = "/api/v1/districts/<key>"
RUN_STATUSES = [QUEUED, "running", *FINAL]
#: Students in a page of a class grid: a whole real class in one.
GRID_PAGE = 100


@blueprint.get("/healthz")
@blueprint.response(200, HealthSchema)
@blueprint.alt_response(503, schema=HealthSchema, description="The database does not answer.")
@documented(read=True, security=(), errors=())
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
@documented(need=roles.RUNS_READ, read=True, errors=(400, 401, 403, 404))
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
@documented(need=roles.RUNS_READ, read=True, parameters=[
    *pages("runs, newest first"),
    query("job", "string", "Only this job's runs."),
    query("status", "string", "Only runs that ended so.", enum=RUN_STATUSES)])
def list_runs(key: str) -> Any:
    """The district's sync runs, newest first, a page at a time."""
    _, session = district_session(key)
    size = paging.limit()
    after = paging.cursor("before")
    chosen = select(m.SyncRun).order_by(m.SyncRun.id.desc()).limit(size + 1)
    if after is not None:
        chosen = chosen.where(m.SyncRun.id < after["before"])
    job = request.args.get("job")
    if job is not None:
        chosen = chosen.where(m.SyncRun.job == job[:255])
    status = request.args.get("status")
    if status is not None:
        if status not in RUN_STATUSES:
            abort(400, description=f"status: one of {', '.join(RUN_STATUSES)} "
                                   f"(got {status[:40]!r})")
        chosen = chosen.where(m.SyncRun.status == status)
    runs, following = paging.page(list(session.scalars(chosen)), size,
                                  lambda run: {"before": run.id})
    return jsonify(runs=RunSchema(many=True).dump(runs), next_cursor=following)


@blueprint.get(f"{PREFIX}/runs/<int:run_id>")
@blueprint.response(200, RunDetailSchema)
@documented(need=roles.RUNS_READ, read=True)
def get_run(key: str, run_id: int) -> Any:
    """One run, with the records it rejected and why."""
    _, session = district_session(key)
    run = session.scalars(select(m.SyncRun).where(m.SyncRun.id == run_id)).first()
    if run is None:
        abort(404, description=f"no run {run_id}")
    rejections = session.scalars(select(m.SyncRejection).where(
        m.SyncRejection.run_id == run_id).order_by(m.SyncRejection.id).limit(1000)).all()
    return jsonify(run=RunSchema().dump(run), stages=_stages(run),
                   rejections=RejectionSchema(many=True).dump(rejections))


def _stages(run: m.SyncRun) -> list[dict[str, Any]]:
    """Each stage with its seconds; while the run goes on, the one it is in comes last."""
    counts = run.counts or {}
    progress_now = counts.get("progress") or {}
    done = counts.get("timings") or progress_now.get("done") or {}
    stages = [{"name": name, "state": "done", "seconds": seconds}
              for name, seconds in done.items()]
    if run.status == "running" and progress_now.get("stage"):
        stages.append({"name": progress_now["stage"], "state": "running", "seconds": None})
    return stages


@blueprint.get(f"{PREFIX}/students/<sis_id>/mastery")
@blueprint.response(200, StudentMasterySchema)
@documented(need=roles.RECORDS_READ, read=True, parameters=[
    query("competency", "string", "Only competencies whose code starts so (CR.MA.RP), or "
                                  "this CASE identifier."),
    query("level", "string", "Only records at this level code."),
    query("state", "string", "Only records in this state.",
          enum=[s.value for s in MasteryState])])
def student_mastery(key: str, sis_id: str) -> Any:
    """Every mastery record of one student, each with its explanation; filters narrow it."""
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.RECORDS_READ)
    state = request.args.get("state")
    if state is not None and state not in {s.value for s in MasteryState}:
        abort(400, description=f"state: one of {', '.join(s.value for s in MasteryState)} "
                               f"(got {state[:40]!r})")
    records = queries.student_mastery(session, sis_id, settings.district.scale)
    if records is None:
        abort(404, description=f"no student {sis_id!r}")
    competency, level = request.args.get("competency"), request.args.get("level")
    records = [r for r in records
               if (competency is None or str(r["code"] or "").startswith(competency)
                   or r["competency_identifier"] == competency)
               and (level is None or r["level_code"] == level)
               and (state is None or r["state"] == state)]
    return jsonify(student=sis_id, records=MasteryRecordSchema(many=True).dump(records))


@blueprint.get(f"{PREFIX}/mapping/unmapped")
@blueprint.response(200, UnmappedListSchema)
@documented(need=roles.MAPPING_READ, read=True)
def unmapped(key: str) -> Any:
    """Items no alignment maps to a competency, and how many scores wait on each."""
    _, session = district_session(key)
    return jsonify(items=UnmappedItemSchema(many=True).dump(queries.unmapped_items(session)))


@blueprint.get(f"{PREFIX}/students/<sis_id>/progress")
@blueprint.response(200, ProgressSchema)
@documented(need=roles.RECORDS_READ, read=True, parameters=[
    query("as_of", "string", "The report day (YYYY-MM-DD); today in the district's time "
                             "zone by default.", format="date")])
def student_progress(key: str, sis_id: str) -> Any:
    """Academic level and pace per domain, exceptions, snapshot dates and course credit."""
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.RECORDS_READ)
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
@documented(need=roles.RECORDS_READ, read=True)
def side_by_side(key: str, sis_id: str, competency: str) -> Any:
    """Adaptive and teacher evidence on one competency apart, with what adaptive alone can show."""
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.RECORDS_READ)
    try:
        view = evidence_views.side_by_side(session, settings, sis_id, competency)
    except DataError as exc:
        abort(404, description=exc.message)
    return jsonify(_iso(view))


@blueprint.get(f"{PREFIX}/reports/dok-exposure")
@blueprint.response(200, DokExposureSchema)
@documented(need=roles.REPORTS_READ, read=True, parameters=[
    query("by", "string", "Group by school or by class.", enum=["school", "class"],
          default="school")])
def dok_exposure(key: str) -> Any:
    """The share of evidence at each DOK level, per school or class and source."""
    settings, session = district_session(key)
    by = request.args.get("by", "school")
    if by not in ("school", "class"):
        abort(400, description=f"by must be school or class: {by!r}")
    rows = rows_within_reach(session, evidence_views.dok_exposure(session, settings, by), by,
                             roles.REPORTS_READ)  # a school's people: their schools' rows
    return jsonify(by=by, rows=rows)


@blueprint.get(f"{PREFIX}/classes/<class_id>/mastery")
@blueprint.response(200, GridSchema)
@documented(need=roles.CLASSES_READ, read=True, parameters=[*pages("students, by name", default=GRID_PAGE)])
def class_grid(key: str, class_id: str) -> Any:
    """A class's students (from the roster's enrollments) by competency: the mastery grid.

    The columns are the same on every page: the competencies any student of the class
    has a record on.
    """
    _, session = district_session(key)
    class_reach(session, class_id, roles.CLASSES_READ)
    size = paging.limit(default=GRID_PAGE)
    after = paging.cursor("after")
    try:
        grid = queries.class_grid(session, class_id, limit=size + 1,
                                  after=after["after"] if after else None)
    except DataError as exc:
        abort(400, description=exc.message)
    if grid is None:
        abort(404, description=f"no class {class_id!r}")
    grid["students"], grid["next_cursor"] = paging.page(
        grid["students"], size, lambda row: {"after": row["id"]})
    for row in grid["students"]:
        del row["id"]  # a row id, for the cursor only
    return jsonify(grid)


@blueprint.get(f"{PREFIX}/frameworks")
@blueprint.response(200, FrameworksSchema)
@documented(need=roles.FRAMEWORKS_READ, read=True)
def list_frameworks(key: str) -> Any:
    """The district's imported frameworks, with how many competencies each holds."""
    _, session = district_session(key)
    return jsonify(frameworks=queries.frameworks(session))


@blueprint.get(f"{PREFIX}/frameworks/<framework>/competencies")
@blueprint.response(200, CompetenciesSchema)
@documented(need=roles.FRAMEWORKS_READ, read=True, parameters=[
    query("q", "string", "Codes starting so, or statements containing it (any case)."),
    *pages("competencies")])
def framework_competencies(key: str, framework: str) -> Any:
    """Browse a framework's competencies with their DOK: by code or statement."""
    _, session = district_session(key)
    size = paging.limit()
    after = paging.cursor("after")
    found = queries.framework_competencies(session, framework, search=request.args.get("q"),
                                           after=after["after"] if after else None,
                                           limit=size + 1)
    if found is None:
        abort(404, description=f"no framework {framework!r}")
    found, following = paging.page(found, size, lambda row: {"after": row["id"]})
    for row in found:
        del row["id"]  # a row id, for the cursor only
    return jsonify(framework=framework, competencies=found, next_cursor=following)


@blueprint.get(f"{PREFIX}/identity/exceptions")
@blueprint.response(200, IdentityExceptionsSchema)
@documented(need=roles.IDENTITY_READ, read=True)
def identity_exceptions(key: str) -> Any:
    """Students a source could not match to the SIS roster, from each job's latest run."""
    _, session = district_session(key)
    return jsonify(exceptions=queries.identity_exceptions(session))


@blueprint.get(f"{PREFIX}/audit")
@blueprint.response(200, AuditSchema)
@documented(need=roles.AUDIT_READ, read=True, description="The district write token also reads it.",
            parameters=[
                *pages("events, newest first"),
                query("action", "string", "Only this action (override.set, token.revoke...)."),
                query("subject", "string", "Only subjects starting so (a SIS id, token:3)."),
                query("actor", "string", "Only changes by this actor."),
                query("since", "string", "Only changes from this day on (YYYY-MM-DD).",
                      format="date")])
def audit_trail(key: str) -> Any:
    """Every change people made: who, when, what, why, and the state before and after."""
    _, session = district_session(key)
    size = paging.limit()
    after = paging.cursor("before")
    since = None
    if request.args.get("since") is not None:
        try:
            since = datetime.combine(report_day(request.args["since"]), datetime.min.time(),
                                     tzinfo=UTC)
        except ValueError as exc:
            abort(400, description=f"since: {exc}")
    found = audit.events(session, action=request.args.get("action"),
                         subject=request.args.get("subject"), actor=request.args.get("actor"),
                         since=since, before_id=after["before"] if after else None,
                         limit=size + 1)
    found, following = paging.page(found, size, lambda event: {"before": event["id"]})
    return jsonify(events=AuditEventSchema(many=True).dump(found), next_cursor=following)


def _iso(value: Any) -> Any:
    """Dates and datetimes as ISO 8601 text, everywhere in a structure."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso(v) for v in value]
    return value
