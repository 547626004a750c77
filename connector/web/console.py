"""The IT console: the sync status board, a run's page, the identity and mapping queues."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, request, url_for

from connector.api.access import actor, change, district_session, needs, principal
from connector.domain import roles
from connector.errors import DataError, NotFoundError
from connector.persistence import queries
from connector.persistence.models import utcnow
from connector.sync import identity_links, run_history, stored_crosswalk
from connector.sync.job_status import board as job_board
from connector.sync.run_requests import request_run
from connector.web.pages import Form, blueprint, page

#: What a job's condition is called on its badge; the colour is never the only sign.
BADGES = {
    "succeeded": "Succeeded", "succeeded_with_rejections": "With rejections",
    "failed": "Failed", "running": "Running", "stale": "Stale", "held": "Push held",
    "interrupted": "Interrupted", "never_run": "Never run", "queued": "Queued",
}
#: Competencies a framework search shows at most.
SEARCH_SHOWN = 50


@blueprint.get("/districts/<key>/console/")
@needs(roles.RUNS_READ)
def board(key: str) -> Any:
    """Each job: last run badge, when and how long, counts, next run, and run now."""
    settings, session = district_session(key)
    jobs = job_board(session, settings, utcnow())
    return page("web/board.html", key, district=settings.district.name, jobs=jobs,
                 zone=settings.district.timezone, form=Form(),
                 may_run=principal().allows(roles.JOBS_RUN), badges=BADGES)


#: Rejections a run page lists; the CSV download has every one.
REJECTIONS_SHOWN = 200


@blueprint.get("/districts/<key>/console/runs/<int:run_id>")
@needs(roles.RUNS_READ)
def run_page(key: str, run_id: int) -> Any:
    """A run: status and reason, each stage's counts and seconds, its rejections (filtered)."""
    settings, session = district_session(key)
    try:
        run = run_history.run_detail(session, run_id)
        every = run_history.rejections(session, run_id)
    except NotFoundError as exc:
        abort(404, description=exc.message)
    field, words = request.args.get("field", ""), request.args.get("q", "").strip()
    wanted = [r for r in every if (not field or r["field"] == field) and (
        not words or words.lower() in " ".join(
            str(r[k]) for k in ("file", "reason", "record")).lower())]
    return page("web/run.html", key, run=run, zone=settings.district.timezone,
                 badges=BADGES, fields=sorted({r["field"] for r in every}), field=field,
                 words=words, rejections=wanted[:REJECTIONS_SHOWN], matching=len(wanted),
                 total=len(every), csv_url=url_for("jobs.rejections", key=key, run_id=run_id,
                                                   format="csv"))


def _identity_page(key: str, session: Any, status: int = 200,
                   problem: dict[str, str] | None = None) -> tuple[str, int]:
    words = request.values.get("who", "").strip()[:100]
    return page("web/identity.html", key, exceptions=queries.identity_exceptions(session),
                 links=identity_links.list_links(session), form=Form(),
                 may_link=principal().allows(roles.IDENTITY_WRITE),
                 problem=problem or {}, who=words,
                 people=queries.roster_search(session, words) if words else [],
                 picked=request.values.get("student", "")), status


@blueprint.get("/districts/<key>/console/identity/")
@needs(roles.IDENTITY_READ)
def identity(key: str) -> Any:
    """Students a source could not match, each resolved by naming the roster student."""
    _, session = district_session(key)
    return _identity_page(key, session)


@blueprint.post("/districts/<key>/console/identity/links")
@needs(roles.IDENTITY_WRITE)
def link(key: str) -> Any:
    """Link one exception's id to the roster student with this SIS id (audited)."""
    settings, session = district_session(key)  # checks the form's CSRF token too
    given = {name: request.form.get(name, "") for name in (
        "source", "kind", "external_id", "student")}
    try:
        with change(session):
            made, _ = identity_links.add_link(session, settings, given, by=actor())
    except (DataError, identity_links.LinkConflict) as exc:
        session.rollback()
        problem = {"row": f"{given['source']}/{given['kind']}/{given['external_id']}",
                   "message": exc.message.removeprefix("student: ")}
        return _identity_page(key, session, 409 if isinstance(
            exc, identity_links.LinkConflict) else 400, problem)
    flash(f"{made['kind']} {made['external_id']} of {made['source']} is now student "
          f"{made['student']}: the next run of a job that reads {made['source']} brings "
          f"in the records that waited.")
    return redirect(url_for("web.identity", key=key), 303)


@blueprint.post("/districts/<key>/console/identity/links/<int:link_id>/remove")
@needs(roles.IDENTITY_WRITE)
def unlink(key: str, link_id: int) -> Any:
    return _remove_with_reason(
        key, lambda session, reason: identity_links.remove_link(
            session, link_id, by=actor(), reason=reason),
        refused=lambda session: _identity_page(key, session, 400, {
            "link": str(link_id), "message": "Give a reason for the audit."}),
        done="Link {id} removed; records already stored through it stay.",
        back="web.identity")


def _remove_with_reason(key: str, remove: Callable[[Any, str], dict[str, Any]],
                        refused: Callable[[Any], Any], done: str, back: str) -> Any:
    """Remove something a queue made, with the reason the audit keeps; 400 without one."""
    _, session = district_session(key)  # checks the form's CSRF token too
    reason = request.form.get("reason", "").strip()
    if not reason:
        return refused(session)
    try:
        with change(session):
            gone = remove(session, reason[:2000])
    except NotFoundError as exc:
        abort(404, description=exc.message)
    flash(done.format(**gone))
    return redirect(url_for(back, key=key), 303)


def _mapping_page(key: str, session: Any, status: int = 200,
                  problem: str = "", chosen: list[str] | None = None) -> tuple[str, int]:
    words = request.values.get("q", "").strip()[:100]  # a failed post keeps the search
    found = []
    if words:
        for framework in queries.frameworks(session):
            found += [{**c, "framework": framework["title"]} for c in (
                queries.framework_competencies(session, framework["key"], search=words,
                                               after=None, limit=SEARCH_SHOWN) or [])]
    return page("web/mapping.html", key, items=queries.unmapped_items(session),
                 entries=stored_crosswalk.list_entries(session), form=Form(),
                 may_map=principal().allows(roles.MAPPING_WRITE), words=words,
                 found=found[:SEARCH_SHOWN], competency=request.values.get("competency", ""),
                 problem=problem, chosen=set(chosen or [])), status


@blueprint.get("/districts/<key>/console/mapping/")
@needs(roles.MAPPING_READ)
def mapping(key: str) -> Any:
    """Items no rule aligned, mapped one at a time or in bulk to a competency searched for."""
    _, session = district_session(key)
    return _mapping_page(key, session)


@blueprint.post("/districts/<key>/console/mapping/entries")
@needs(roles.MAPPING_WRITE)
def map_items(key: str) -> Any:
    """Map every chosen item to one competency (one audited crosswalk entry each)."""
    settings, session = district_session(key)  # checks the form's CSRF token too
    chosen = request.form.getlist("item")
    competency = request.form.get("competency", "").strip()
    dok = request.form.get("dok", "")
    if not chosen:
        return _mapping_page(key, session, 400, "Choose at least one item.", chosen)
    try:
        with change(session):
            for value in chosen:
                source, _, item = value.partition("|")
                stored_crosswalk.add_entry(session, settings, {
                    "source": source, "item": item, "competency": competency,
                    "dok": dok or None}, by=actor())
    except DataError as exc:
        session.rollback()
        return _mapping_page(key, session, 400, exc.message, chosen)
    flash(f"{len(chosen)} item(s) mapped to {competency}: they count as aligned after the "
          f"next run.")
    return redirect(url_for("web.mapping", key=key), 303)


@blueprint.post("/districts/<key>/console/mapping/entries/<int:entry_id>/remove")
@needs(roles.MAPPING_WRITE)
def unmap(key: str, entry_id: int) -> Any:
    return _remove_with_reason(
        key, lambda session, reason: stored_crosswalk.remove_entry(
            session, entry_id, by=actor(), reason=reason),
        refused=lambda session: _mapping_page(key, session, 400,
                                              "Give a reason for the audit."),
        done="Entry {id} removed: the next run drops the alignment it made.",
        back="web.mapping")


@blueprint.post("/districts/<key>/console/jobs/<job>/run")
@needs(roles.JOBS_RUN)
def run_now(key: str, job: str) -> Any:
    """Queue a run for the scheduler (never inside this request), then follow it on its page."""
    settings, session = district_session(key)  # checks the form's CSRF token too
    try:
        with change(session):
            run_id, made = request_run(session, settings, job, by=actor())
    except NotFoundError:
        abort(404, description=f"no job {job!r} in this district")
    flash(f"Run {run_id} of {job} is queued: the scheduler starts it." if made else
          f"Run {run_id} of {job} was already waiting: nothing more was queued.")
    return redirect(url_for("web.run_page", key=key, run_id=run_id), 303)  # to watch it go
