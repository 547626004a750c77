"""Single sign-on by OpenID Connect (Authlib): districts sign in with Google or Entra ID.

The provider proves who the person is; this server decides what they may do. An
email the provider vouches for opens the account an admin made for it, and never
makes one: signing in through a district's Google Workspace cannot turn anyone
into a district admin, or into anything at all. The code flow with PKCE, state and
nonce are Authlib's; the ID token's signature, issuer, audience and expiry are
checked against the provider's published keys.
"""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from joserfc.errors import JoseError  # what Authlib raises for an ID token it refuses

from connector.api.signin import SignedIn, begin, configured_districts, safe_next
from connector.api.store import resolved, store
from connector.config.model import OidcSettings
from connector.persistence.tenancy import tenant_session
from connector.sync import accounts
from connector.sync.district import find_district

log = logging.getLogger(__name__)
blueprint = Blueprint("oidc", __name__, template_folder="templates")
_NEXT = "connector_oidc_next"


def _settings(key: str) -> OidcSettings:
    found = store().settings(key).district.sign_in.oidc
    if found is None:
        abort(404, description=f"district {key!r} has no single sign-on")
    return found


def choices() -> list[tuple[str, str]]:
    """(district key, button label) for every district with single sign-on."""
    out = []
    for key, _ in configured_districts():
        found = store().settings(key).district.sign_in.oidc
        if found is not None:
            out.append((key, found.label))
    return out


def _client(key: str) -> Any:
    name = f"district-{key}"
    oauth: OAuth = current_app.extensions["connector_oauth"]
    client = oauth.create_client(name)
    if client is not None:
        return client
    settings = _settings(key)
    secret = resolved(settings.client_secret, f"{key} OpenID Connect client secret")
    if secret is None:
        abort(503, description="the single sign-on client secret is not set on the server")
    return oauth.register(name, client_id=settings.client_id, client_secret=secret,
                          server_metadata_url=settings.metadata_url,
                          client_kwargs={"scope": " ".join(settings.scopes),
                                         "code_challenge_method": "S256"})


@blueprint.get("/login/oidc/<key>")
def start(key: str) -> Any:
    """Off to the provider; it sends the person back to :func:`callback`."""
    client = _client(key)
    session[_NEXT] = safe_next(request.args.get("next"), key)
    try:
        return client.authorize_redirect(url_for("oidc.callback", key=key, _external=True))
    except (OAuthError, OSError, ValueError) as exc:  # the provider does not answer
        log.warning("single sign-on for %s could not start: %s", key, type(exc).__name__)
        return _failed("The sign-in provider did not answer. Try again, or use your "
                       "password.", 502)


@blueprint.get("/login/oidc/<key>/callback")
def callback(key: str) -> Any:
    client = _client(key)
    settings = _settings(key)
    if request.args.get("error"):
        return _failed("The sign-in provider did not sign you in "
                       f"({request.args['error'][:60]}).", 401)
    try:
        issuer = client.load_server_metadata().get("issuer")
        # The issuer and this client as audience, both required: Authlib alone checks the
        # audience only through azp, which a forged token can set as it likes.
        token = client.authorize_access_token(claims_options={
            "iss": {"essential": True, "values": [issuer]},
            "aud": {"essential": True, "values": [settings.client_id]}})
    except (OAuthError, JoseError, OSError, ValueError) as exc:  # bad state, code, ID token
        log.info("single sign-on for %s refused: %s", key, type(exc).__name__)
        return _failed("That sign-in could not be verified. Start again.", 401)
    claims = token.get("userinfo") or {}
    email = str(claims.get(settings.email_claim) or "")
    if not email or (settings.require_verified_email and claims.get("email_verified")
                     is not True):
        return _failed("The provider did not confirm an email address for you.", 403)
    district_id = find_district(store().factory, key)
    if district_id is None:
        abort(404, description=f"district {key!r} has no data yet")
    with tenant_session(store().factory, district_id) as db, db.begin():
        user = accounts.find_user(db, email)
        if user is None or not user.active:
            log.info("single sign-on for %s: no active account for the email", key)
            return _failed("There is no active account for that email here. Ask your "
                           "district's administrator for one.", 403)
        started = accounts.start_sign_in(db, user, method="oidc")
        person = SignedIn(key, started.session_id, user.id, user.email)
    target = session.pop(_NEXT, None)
    begin(person)
    return redirect(safe_next(target, key), 303)


def _failed(message: str, status: int) -> tuple[str, int]:
    return render_template("signin/failed.html", message=message), status


def init_app(app: Flask) -> None:
    app.extensions["connector_oauth"] = OAuth(app)  # one per app: each has its districts
    app.register_blueprint(blueprint)
