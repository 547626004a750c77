"""People sign in: a password form or the district's single sign-on, then a browser session.

The session cookie is Flask's signed cookie holding the district and a random
sign-in id whose hash is a row (:mod:`connector.sync.accounts`); it is Secure,
HttpOnly and SameSite=Lax (Lax, not Strict, so the single sign-on provider's
redirect back still carries it). Every form carries a CSRF token (Flask-WTF), and
a cookie-authenticated API call that changes records sends it as ``X-CSRFToken``.

Sign-in attempts are rate limited by Flask-Limiter per address and, counting only
failures, per account, in storage every worker shares (``CONNECTOR_RATELIMIT_STORAGE``,
a Redis URL in production; memory is per process and only for one-process use).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import Limiter, RequestLimit
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException
from wtforms import EmailField, HiddenField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length

from connector.api.store import store
from connector.config.loader import district_keys
from connector.errors import ConfigurationError
from connector.persistence.tenancy import tenant_session
from connector.sync import accounts
from connector.sync.district import find_district

log = logging.getLogger(__name__)
blueprint = Blueprint("signin", __name__, template_folder="templates")
csrf = CSRFProtect()
login_manager = LoginManager()
#: Sign-in attempts from one address, and failed ones on one account (Flask-Limiter syntax).
ADDRESS_LIMIT = "30 per 5 minutes"
ACCOUNT_LIMIT = "5 per 15 minutes"
_SESSION_KEY = "connector_sign_in"


class SignedIn(UserMixin):  # type: ignore[misc]  # flask-login ships no types
    """The person behind a browser session, as Flask-Login holds it for the request."""

    def __init__(self, district_key: str, session_id: str, user_id: int, email: str) -> None:
        self.district_key = district_key
        self.session_id = session_id
        self.user_id = user_id
        self.email = email

    def get_id(self) -> str:
        return f"{self.district_key}|{self.session_id}"


@login_manager.user_loader
def _load(value: str) -> SignedIn | None:
    key, _, session_id = value.partition("|")
    district_id = find_district(store().factory, key) if key else None
    if district_id is None:
        return None
    with tenant_session(store().factory, district_id) as db:
        user = accounts.signed_in(db, session_id)
        return None if user is None else SignedIn(key, session_id, user.id, user.email)


class SignInForm(FlaskForm):  # type: ignore[misc]
    district = SelectField("District", validators=[DataRequired()])
    email = EmailField("Email", validators=[DataRequired(), Length(max=255)])
    password = PasswordField("Password", validators=[DataRequired(),
                                                     Length(max=accounts.MAX_PASSWORD)])
    next = HiddenField()


class SignOutForm(FlaskForm):  # type: ignore[misc]
    pass


def configured_districts() -> list[tuple[str, str]]:
    """The districts configured on this server, as (key, name)."""
    found = []
    for key in district_keys(store().config_dir):
        try:
            found.append((key, store().settings(key).district.name))
        except HTTPException:  # its configuration does not load: nobody can sign in there
            continue
    return found


def safe_next(target: str | None, district: str = "") -> str:
    """Where to go after signing in: a path on this server, never another site.

    Without one, the district's home page, whose menu is the person's role's.
    """
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and \
                not target.startswith("//") and "\\" not in target and \
                not any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in target):
            return target  # a browser drops a tab in "/\t/evil.example": none may pass
    if district and "web.home" in current_app.view_functions:
        return url_for("web.home", key=district)
    return url_for("signin.account")


@blueprint.get("/login")
def login() -> Any:
    form = SignInForm(next=request.args.get("next", ""))
    form.district.choices = configured_districts()
    return render_template("signin/login.html", form=form, message=None, sso=_sso_choices())


@blueprint.post("/login")
def login_post() -> Any:
    form = SignInForm()
    form.district.choices = configured_districts()
    if not form.validate():
        return render_template("signin/login.html", form=form, sso=_sso_choices(),
                               message="Fill in every field and try again."), 400
    key = form.district.data
    district_id = find_district(store().factory, key)
    if district_id is None:
        return _refused(form)
    with tenant_session(store().factory, district_id) as db, db.begin():
        user = accounts.authenticate(db, form.email.data, form.password.data)
        if user is None:
            log.info("sign-in refused for an account of district %s", key)
            return _refused(form)
        started = accounts.start_sign_in(db, user, method="password")
        person = SignedIn(key, started.session_id, user.id, user.email)
    begin(person)
    return redirect(safe_next(form.next.data, key), 303)


def _refused(form: SignInForm) -> tuple[str, int]:
    """The same answer for an unknown account, a wrong password and a disabled account."""
    return render_template("signin/login.html", form=form, sso=_sso_choices(),
                           message="That email and password do not match an active "
                                   "account."), 401


def begin(person: SignedIn) -> None:
    """A fresh session for a new sign-in: nothing from before it survives."""
    session.clear()
    session.permanent = True
    login_user(person)


@blueprint.get("/account")
def account() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("signin.login", next=request.path), 303)
    return render_template("signin/account.html", person=current_user, form=SignOutForm())


@blueprint.post("/logout")
def logout() -> Any:
    if current_user.is_authenticated:
        district_id = find_district(store().factory, current_user.district_key)
        if district_id is not None:
            with tenant_session(store().factory, district_id) as db, db.begin():
                accounts.end_sign_in(db, current_user.session_id)
    logout_user()
    session.clear()
    return redirect(url_for("signin.login"), 303)


def _sso_choices() -> list[tuple[str, str]]:
    from connector.api import oidc

    return oidc.choices()


# ---- rate limits -----------------------------------------------------------------------


def _address() -> str:
    return request.remote_addr or "unknown"


def _account() -> str:
    district = request.form.get("district", "")[:64]
    email = request.form.get("email", "").strip().lower()[:255]
    return f"{district}|{email}"


def _failed(response: Response) -> bool:
    return response.status_code != 303


def _too_many(limit: RequestLimit) -> Response:
    form = SignInForm()
    form.district.choices = configured_districts()
    page = render_template("signin/login.html", form=form, sso=_sso_choices(),
                           message="Too many sign-in attempts. Wait a few minutes, then try "
                                   "again.")
    response = Response(page, 429, mimetype="text/html")
    response.headers["Retry-After"] = str(max(1, int(limit.reset_at - time.time())))
    return response


# ---- wiring ----------------------------------------------------------------------------


def secret_key() -> str:
    """``CONNECTOR_SECRET_KEY``, or a key kept in the data folder (made once, 0600).

    Every worker and every restart must sign cookies with the same key, or people
    are signed out at random: a per-process random key would do exactly that.
    """
    given = os.environ.get("CONNECTOR_SECRET_KEY", "").strip()
    if given:
        if len(given) < 32:
            raise ConfigurationError("CONNECTOR_SECRET_KEY must be at least 32 characters")
        return given
    path = Path(os.environ.get("CONNECTOR_DATA_DIR", "var")) / "secret_key"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def init_app(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key()
    # Secure unless told otherwise: plain http on a laptop needs CONNECTOR_COOKIE_SECURE=false.
    secure = app.config.setdefault("CONNECTOR_COOKIE_SECURE", os.environ.get(
        "CONNECTOR_COOKIE_SECURE", "true").lower() not in ("0", "false", "no"))
    app.config.update(SESSION_COOKIE_SECURE=bool(secure), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=accounts.SESSION_HOURS * 3600,
                      WTF_CSRF_CHECK_DEFAULT=False,  # forms check their own; see access
                      WTF_CSRF_TIME_LIMIT=accounts.SESSION_HOURS * 3600)
    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get(
        "CONNECTOR_RATELIMIT_STORAGE", "memory://"))
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "connector")
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # the sign-in row is the session's identity
    app.register_blueprint(blueprint)
    limiter = Limiter(_address, app=app, headers_enabled=False, on_breach=_too_many)
    app.extensions["connector_limiter"] = limiter
    endpoint = "signin.login_post"
    app.config.setdefault("CONNECTOR_ACCOUNT_LIMIT", ACCOUNT_LIMIT)
    app.config.setdefault("CONNECTOR_ADDRESS_LIMIT", ADDRESS_LIMIT)
    view: Any = limiter.limit(lambda: str(current_app.config["CONNECTOR_ACCOUNT_LIMIT"]),
                              key_func=_account, deduct_when=_failed,
                              scope="account")(app.view_functions[endpoint])
    app.view_functions[endpoint] = limiter.limit(
        lambda: str(current_app.config["CONNECTOR_ADDRESS_LIMIT"]), key_func=_address,
        scope="address")(view)
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory"):
        log.info("sign-in rate limits are kept in this process's memory: set "
                 "CONNECTOR_RATELIMIT_STORAGE to a Redis URL when more than one worker serves")
