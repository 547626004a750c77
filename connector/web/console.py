"""The district home with each role's menu, and the IT console's sync status board.

A 401 on a page sends the person to sign in and back; a 403 or 404 is a page that says
why in a sentence, not a problem document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException

from connector.api.access import ANYONE, actor, change, district_session, needs, principal
from connector.domain import roles
from connector.errors import DataError, NotFoundError
from connector.persistence import queries
from connector.persistence.models import utcnow
from connector.sync import identity_links, run_history, stored_crosswalk
from connector.sync.job_status import board as job_board
from connector.sync.run_requests import request_run

blueprint = Blueprint("console", __name__, template_folder="templates",
                      static_folder="static", static_url_path="/static/web")

#: What a job's condition is called on its badge; the colour is never the only sign.
BADGES = {
    "succeeded": "Succeeded", "succeeded_with_rejections": "With rejections",
    "failed": "Failed", "running": "Running", "stale": "Stale", "held": "Push held",
    "interrupted": "Interrupted", "never_run": "Never run", "queued": "Queued",
}
#: The menu, in order: (label, endpoint, the permission that shows it).
MENU = (("Home", "console.home", ANYONE), ("Sync status", "console.board", roles.RUNS_READ),
        ("Identity queue", "console.identity", roles.IDENTITY_READ),
        ("Mapping queue", "console.mapping", roles.MAPPING_READ))
#: Competencies a framework search shows at most.
SEARCH_SHOWN = 50


class RunNowForm(FlaskForm):  # type: ignore[misc]
    pass


@blueprint.app_template_filter("local_time")
def local_time(value: str | datetime | None, zone: str = "UTC") -> str:
    """A timestamp in the district's time zone, as people read one."""
    if value is None:
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


@blueprint.app_template_filter("duration")
def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _menu(key: str) -> list[dict[str, Any]]:
    who = principal()
    return [{"label": label, "url": url_for(endpoint, key=key),
             "current": request.endpoint == endpoint}
            for label, endpoint, need in MENU if who.allows(need)]


def _page(template: str, key: str, **values: Any) -> str:
    return render_template(template, key=key, menu=_menu(key), person=current_user,
                           **values)


@blueprint.get("/")
def index() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("console.home", key=current_user.district_key), 303)
    return redirect(url_for("signin.login", next=url_for("console.index")), 303)


@blueprint.get("/districts/<key>/")
@needs(ANYONE)
def home(key: str) -> Any:
    settings, session = district_session(key)
    return _page("web/home.html", key, district=settings.district.name)


@blueprint.get("/districts/<key>/console/")
@needs(roles.RUNS_READ)
def board(key: str) -> Any:
    """Each job: last run badge, when and how long, counts, next run, and run now."""
    settings, session = district_session(key)
    jobs = job_board(session, settings, utcnow())
    return _page("web/board.html", key, district=settings.district.name, jobs=jobs,
                 zone=settings.district.timezone, form=RunNowForm(),
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
    return _page("web/run.html", key, run=run, zone=settings.district.timezone,
                 badges=BADGES, fields=sorted({r["field"] for r in every}), field=field,
                 words=words, rejections=wanted[:REJECTIONS_SHOWN], matching=len(wanted),
                 total=len(every), csv_url=url_for("jobs.rejections", key=key, run_id=run_id,
                                                   format="csv"))


def _identity_page(key: str, session: Any, status: int = 200,
                   problem: dict[str, str] | None = None) -> tuple[str, int]:
    words = request.values.get("who", "").strip()[:100]
    return _page("web/identity.html", key, exceptions=queries.identity_exceptions(session),
                 links=identity_links.list_links(session), form=RunNowForm(),
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
    return redirect(url_for("console.identity", key=key), 303)


@blueprint.post("/districts/<key>/console/identity/links/<int:link_id>/remove")
@needs(roles.IDENTITY_WRITE)
def unlink(key: str, link_id: int) -> Any:
    return _remove_with_reason(
        key, lambda session, reason: identity_links.remove_link(
            session, link_id, by=actor(), reason=reason),
        refused=lambda session: _identity_page(key, session, 400, {
            "link": str(link_id), "message": "Give a reason for the audit."}),
        done="Link {id} removed; records already stored through it stay.",
        back="console.identity")


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
    return _page("web/mapping.html", key, items=queries.unmapped_items(session),
                 entries=stored_crosswalk.list_entries(session), form=RunNowForm(),
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
    return redirect(url_for("console.mapping", key=key), 303)


@blueprint.post("/districts/<key>/console/mapping/entries/<int:entry_id>/remove")
@needs(roles.MAPPING_WRITE)
def unmap(key: str, entry_id: int) -> Any:
    return _remove_with_reason(
        key, lambda session, reason: stored_crosswalk.remove_entry(
            session, entry_id, by=actor(), reason=reason),
        refused=lambda session: _mapping_page(key, session, 400,
                                              "Give a reason for the audit."),
        done="Entry {id} removed: the next run drops the alignment it made.",
        back="console.mapping")


@blueprint.post("/districts/<key>/console/jobs/<job>/run")
@needs(roles.JOBS_RUN)
def run_now(key: str, job: str) -> Any:
    """Queue a run for the scheduler (never inside this request), then back to the board."""
    settings, session = district_session(key)  # checks the form's CSRF token too
    try:
        with change(session):
            run_id, made = request_run(session, settings, job, by=actor())
    except NotFoundError:
        abort(404, description=f"no job {job!r} in this district")
    flash(f"Run {run_id} of {job} is queued: the scheduler starts it." if made else
          f"Run {run_id} of {job} was already waiting: nothing more was queued.")
    return redirect(url_for("console.board", key=key), 303)


@blueprint.errorhandler(HTTPException)
def refused(exc: HTTPException) -> Any:
    if exc.code == 401:
        return redirect(url_for("signin.login", next=request.full_path.rstrip("?")), 303)
    titles = {403: "You may not see this page", 404: "Not found"}
    return render_template("web/refused.html", title=titles.get(exc.code or 500, exc.name),
                           detail=exc.description, person=current_user,
                           menu=[]), exc.code or 500
