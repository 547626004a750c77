"""What every page shares: the blueprint, the role's menu, the page frame and its errors.

A 401 on a page sends the person to sign in and back; a 403 or 404 is a page that says
why in a sentence, not a problem document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException

from connector.api.access import ANYONE, district_session, needs, principal
from connector.domain import roles

blueprint = Blueprint("web", __name__, template_folder="templates",
                      static_folder="static", static_url_path="/static/web")

#: The menu, in order: (label, endpoint, the permission that shows it).
MENU = (("Home", "web.home", ANYONE), ("Classes", "web.classes", roles.CLASSES_READ),
        ("DOK exposure", "web.dok", roles.REPORTS_READ),
        ("Progress", "web.pace", roles.REPORTS_READ),
        ("Equity", "web.equity", roles.EQUITY_READ),
        ("Content impact", "web.content", roles.REPORTS_READ),
        ("Transcripts", "web.registrar", roles.TRANSCRIPTS_READ),
        ("Policy lab", "web.policy_lab", roles.POLICY_COMPARE),
        ("Sync status", "web.board", roles.RUNS_READ),
        ("Sources and destinations", "web.systems", roles.CONFIG_READ),
        ("Identity queue", "web.identity", roles.IDENTITY_READ),
        ("Mapping queue", "web.mapping", roles.MAPPING_READ),
        ("Learning progress", "web.family", roles.FAMILY_READ))


class Form(FlaskForm):  # type: ignore[misc]
    """A form with nothing but its CSRF token: the fields are plain HTML inputs."""


def _local(value: str | datetime | None, zone: str, shape: str) -> str:
    if value is None:
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(ZoneInfo(zone)).strftime(shape)


@blueprint.app_template_filter("local_time")
def local_time(value: str | datetime | None, zone: str = "UTC") -> str:
    """A timestamp in the district's time zone, as people read one."""
    return _local(value, zone, "%Y-%m-%d %H:%M %Z")


@blueprint.app_template_filter("local_day")
def local_day(value: str | datetime | None, zone: str = "UTC") -> str:
    """The day a timestamp falls on in the district's time zone."""
    return _local(value, zone, "%Y-%m-%d")


@blueprint.app_template_filter("duration")
def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def menu(key: str) -> list[dict[str, Any]]:
    who = principal()
    return [{"label": label, "url": url_for(endpoint, key=key),
             "current": request.endpoint == endpoint}
            for label, endpoint, need in MENU if who.allows(need)]


def student_url(key: str) -> Callable[[str], str]:
    """A student's page by SIS id, from one ``url_for``: a report may link thousands.

    ``~`` is unreserved, so the router leaves it as it is and it marks where the id goes.
    """
    head, tail = url_for("web.student", key=key, sis_id="~").rsplit("~", 1)
    return lambda sis_id: f"{head}{quote(sis_id, safe='')}{tail}"


def page(template: str, key: str, **values: Any) -> str:
    return render_template(template, key=key, menu=menu(key), person=current_user,
                           **values)


#: What a page may load: its own scripts only (htmx from this server), no frames, no
#: forms posting elsewhere. Styles may be inline: the server-drawn SVG charts carry them.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


@blueprint.after_request
def protect(response: Any) -> Any:
    """Every page says what it may load, and that it is not to be framed or sniffed."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@blueprint.get("/")
def index() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("web.home", key=current_user.district_key), 303)
    return redirect(url_for("signin.login", next=url_for("web.index")), 303)


@blueprint.get("/districts/<key>/")
@needs(ANYONE)
def home(key: str) -> Any:
    settings, session = district_session(key)
    return page("web/home.html", key, district=settings.district.name)


@blueprint.errorhandler(HTTPException)
def refused(exc: HTTPException) -> Any:
    if exc.code == 401:
        return redirect(url_for("signin.login", next=request.full_path.rstrip("?")), 303)
    titles = {403: "You may not see this page", 404: "Not found"}
    return render_template("web/refused.html", title=titles.get(exc.code or 500, exc.name),
                           detail=exc.description, person=current_user,
                           menu=[]), exc.code or 500
