"""Jobs and their runs for the IT console: status board, run now, stages, rejections."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, jsonify, request, url_for
from flask_smorest import Blueprint
from sqlalchemy import select

from connector.api import paging
from connector.api.access import actor, change, district_session
from connector.api.openapi import documented, pages, query
from connector.api.schemas import JobsSchema, QueuedSchema, RejectionsSchema
from connector.domain import roles
from connector.errors import NotFoundError
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.sync import run_history
from connector.sync.job_status import board as job_board
from connector.sync.report import QUEUED
from connector.sync.run_requests import request_run

blueprint = Blueprint("jobs", __name__, description="The district's jobs: their state, when "
                      "they run next, and running one now.")
PREFIX = "/api/v1/districts/<key>"


@blueprint.get(f"{PREFIX}/jobs")
@blueprint.response(200, JobsSchema)
@documented(need=roles.RUNS_READ, read=True)
def list_jobs(key: str) -> Any:
    """Every configured job: its last run, its condition, its next scheduled run, a queued one."""
    settings, session = district_session(key)
    jobs = job_board(session, settings, utcnow())
    return jsonify(district=key, jobs=jobs)


@blueprint.post(f"{PREFIX}/jobs/<job>/run")
@blueprint.response(202, QueuedSchema)
@documented(need=roles.JOBS_RUN, errors=(400, 401, 403, 404, 503),
            description="The run is queued here and started by the district's scheduler "
                        "(`connector scheduler`), never inside this request; follow it at "
                        "the run's URL. Asking again while it waits gives the same run.")
def run_now(key: str, job: str) -> Any:
    """Run a job now: 202 with the queued run's id; the scheduler starts it."""
    settings, session = district_session(key)
    try:
        with change(session):
            run_id, made = request_run(session, settings, job, by=actor())
    except NotFoundError as exc:
        abort(404, description=exc.message)
    location = url_for("reads.get_run", key=key, run_id=run_id)
    response = jsonify(run_id=run_id, status=QUEUED, job=job, new=made, location=location)
    response.status_code = 202
    response.headers["Location"] = location
    return response


@blueprint.get(f"{PREFIX}/runs/<int:run_id>/rejections")
@blueprint.response(200, RejectionsSchema)
@documented(need=roles.RUNS_READ, read=True,
            csv=("The rejections; with format=csv, every one as a spreadsheet (formula-like "
                 "cells made text).", RejectionsSchema), parameters=[
    *pages("rejections"),
    query("format", "string", "csv for a spreadsheet of all of them.", enum=["json", "csv"])])
def rejections(key: str, run_id: int) -> Any:
    """The records a run rejected: file, row, field, reason; a page at a time, or as CSV."""
    _, session = district_session(key)
    wanted = request.args.get("format", "json")
    if wanted not in ("json", "csv"):
        abort(400, description=f"format: json or csv (got {wanted[:20]!r})")
    try:
        run_history.get_run(session, run_id)
    except NotFoundError as exc:
        abort(404, description=exc.message)
    if wanted == "csv":
        body = run_history.rejections_csv(run_history.rejections(session, run_id))
        return Response(body, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="run-{run_id}-rejections.csv"'})
    size = paging.limit()
    after = paging.cursor("after")
    chosen = select(m.SyncRejection).where(m.SyncRejection.run_id == run_id).order_by(
        m.SyncRejection.id).limit(size + 1)
    if after is not None:
        chosen = chosen.where(m.SyncRejection.id > after["after"])
    rows, following = paging.page(list(session.scalars(chosen)), size,
                                  lambda row: {"after": row.id})
    return jsonify(run_id=run_id, rejections=[
        {"file": r.file, "row": r.row, "field": r.field, "reason": r.reason,
         "record_key": r.record_key} for r in rows], next_cursor=following)
