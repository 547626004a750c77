"""The fake OpenID provider answers as OpenID Connect Core/Discovery and RFC 6749/7636 say.

Each test drives the fake over HTTP with Authlib's generic OAuth 2 client and checks
the ID token the way a relying party must (signature against the JWKS, then iss,
aud, exp, nonce, at_hash), so product tests built on the fake test something real.
Expiry is driven by the injected clock: nothing here waits.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from flask import Flask, jsonify, url_for
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from tests.fakes.clock import FakeClock
from tests.fakes.oidc_provider import DEFAULT_CLIENT, FakeOidcProvider

CALLBACK = DEFAULT_CLIENT.redirect_uris[0]
EMAIL = "ada.lovelace@cedar-ridge.k12.example"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_700_000_000.0)  # seconds since the epoch, as JWT times are


@pytest.fixture(scope="module")
def running() -> Iterator[FakeOidcProvider]:
    """One server for the module: stopping one takes werkzeug half a second."""
    with FakeOidcProvider().running() as provider:
        yield provider


@pytest.fixture
def op(running: FakeOidcProvider, clock: FakeClock) -> FakeOidcProvider:
    running.reset()
    running.clock = clock
    running.sign_in_as(EMAIL, name="Ada Lovelace", hd="cedar-ridge.k12.example")
    return running


def metadata(op: FakeOidcProvider) -> dict[str, Any]:
    found: dict[str, Any] = requests.get(op.metadata_url, timeout=5).json()
    return found


def client(**options: Any) -> OAuth2Session:
    options = {"client_secret": DEFAULT_CLIENT.client_secret, "scope": "openid email profile",
               "redirect_uri": CALLBACK, "code_challenge_method": "S256", **options}
    return OAuth2Session(DEFAULT_CLIENT.client_id, **options)


class Flow:
    """One authorization request made, its redirect followed no further than the callback."""

    def __init__(self, op: FakeOidcProvider, session: OAuth2Session, **params: Any) -> None:
        self.op, self.session = op, session
        self.nonce = secrets.token_urlsafe(16)
        self.verifier = secrets.token_urlsafe(48)
        url, self.state = session.create_authorization_url(
            f"{op.url}/authorize", nonce=self.nonce, code_verifier=self.verifier, **params)
        self.response = requests.get(url, allow_redirects=False, timeout=5)

    @property
    def location(self) -> str:
        assert self.response.status_code == 302, self.response.text
        return self.response.headers["Location"]

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}

    def redeem(self, **overrides: Any) -> dict[str, Any]:
        params = {"code_verifier": self.verifier, **overrides}
        token: dict[str, Any] = self.session.fetch_token(
            f"{self.op.url}/token", authorization_response=self.location, **params)
        return token


def post_token(op: FakeOidcProvider, **form: str) -> requests.Response:
    form = {"grant_type": "authorization_code", "redirect_uri": CALLBACK, **form}
    return requests.post(f"{op.url}/token", data=form, timeout=5,
                         auth=(DEFAULT_CLIENT.client_id, DEFAULT_CLIENT.client_secret))


def validated(op: FakeOidcProvider, token: dict[str, Any], nonce: str, now: float) -> CodeIDToken:
    """What a relying party does: JWKS signature check, then the Core §3.1.3.7 claims."""
    keys = KeySet.import_key_set(requests.get(metadata(op)["jwks_uri"], timeout=5).json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    expected = {"iss": {"values": [op.issuer]}, "aud": {"values": [DEFAULT_CLIENT.client_id]}}
    claims = CodeIDToken(decoded.claims, decoded.header, expected,
                         {"nonce": nonce, "client_id": DEFAULT_CLIENT.client_id,
                          "access_token": token["access_token"]})
    claims.validate(now=now, leeway=0)
    return claims


def test_discovery_describes_the_provider(op: FakeOidcProvider) -> None:
    found = metadata(op)
    assert found["issuer"] == op.url
    assert found["authorization_endpoint"] == f"{op.url}/authorize"
    assert found["token_endpoint"] == f"{op.url}/token"
    assert found["jwks_uri"] == f"{op.url}/jwks"
    assert found["userinfo_endpoint"] == f"{op.url}/userinfo"
    assert found["response_types_supported"] == ["code"]
    assert found["subject_types_supported"] == ["public"]
    assert found["id_token_signing_alg_values_supported"] == ["RS256"]
    assert found["token_endpoint_auth_methods_supported"] == ["client_secret_basic",
                                                              "client_secret_post"]
    assert found["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "email", "profile"} <= set(found["scopes_supported"])
    assert {"sub", "email", "email_verified", "name", "nonce"} <= set(found["claims_supported"])
    keys = requests.get(found["jwks_uri"], timeout=5).json()["keys"]
    assert [(k["kty"], k["kid"]) for k in keys] == [("RSA", op.signing_key.kid)]
    assert "d" not in keys[0]  # the private part stays at the provider


def test_code_flow_yields_an_id_token_that_validates(op: FakeOidcProvider,
                                                     clock: FakeClock) -> None:
    flow = Flow(op, client())
    assert flow.location.startswith(CALLBACK + "?")
    assert flow.query["state"] == flow.state
    token = flow.redeem()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    claims = validated(op, token, flow.nonce, clock())
    assert claims["nonce"] == flow.nonce
    assert claims["aud"] == DEFAULT_CLIENT.client_id
    assert claims["iss"] == op.issuer
    assert claims["exp"] == int(clock()) + 3600
    assert (claims["email"], claims["email_verified"], claims["name"]) == (EMAIL, True,
                                                                          "Ada Lovelace")
    assert claims["hd"] == "cedar-ridge.k12.example"
    assert extract_compact(token["id_token"].encode()).protected["kid"] == op.signing_key.kid
    token_calls = [r for r in op.requests if r.path == "/token"]
    assert [(r.method, r.auth_scheme) for r in token_calls] == [("POST", "Basic")]
    assert token_calls[0].params["code_verifier"] == flow.verifier
    assert op.calls[:2] == [("GET", "/authorize"), ("POST", "/token")]


def test_client_secret_post_is_accepted(op: FakeOidcProvider, clock: FakeClock) -> None:
    flow = Flow(op, client(token_endpoint_auth_method="client_secret_post"))
    validated(op, flow.redeem(), flow.nonce, clock())
    sent = next(r for r in op.requests if r.path == "/token")
    assert sent.auth_scheme is None and sent.params["client_id"] == DEFAULT_CLIENT.client_id


def test_a_registered_client_keeps_its_redirect_query(op: FakeOidcProvider) -> None:
    registered = op.register_client("entra-app", "s3cret", ["http://localhost/cb?district=x"])
    session = OAuth2Session(registered.client_id, registered.client_secret, scope="openid",
                            redirect_uri=registered.redirect_uris[0], code_challenge_method="S256")
    flow = Flow(op, session)
    assert flow.query["district"] == "x" and "code" in flow.query  # RFC 6749 §3.1.2
    assert flow.redeem()["token_type"] == "Bearer"
    assert Flow(op, client(redirect_uri=registered.redirect_uris[0])).response.status_code == 400


def test_scopes_decide_the_claims_released(op: FakeOidcProvider, clock: FakeClock) -> None:
    flow = Flow(op, client(), scope="openid email")
    claims = validated(op, flow.redeem(), flow.nonce, clock())
    assert claims["email"] == EMAIL and "name" not in claims


def test_a_code_is_single_use_and_reuse_revokes_its_tokens(op: FakeOidcProvider) -> None:
    flow = Flow(op, client())
    first = flow.redeem()
    with pytest.raises(OAuthError) as refused:
        flow.redeem()
    assert refused.value.error == "invalid_grant"
    answer = requests.get(f"{op.url}/userinfo", timeout=5,
                          headers={"Authorization": f"Bearer {first['access_token']}"})
    assert answer.status_code == 401


def test_a_code_expires_on_the_injected_clock(op: FakeOidcProvider, clock: FakeClock) -> None:
    flow = Flow(op, client())
    clock.sleep(op.code_lifetime + 1)
    with pytest.raises(OAuthError) as refused:
        flow.redeem()
    assert refused.value.error == "invalid_grant"


def test_a_wrong_client_secret_is_invalid_client(op: FakeOidcProvider) -> None:
    flow = Flow(op, client())
    answer = requests.post(f"{op.url}/token", auth=(DEFAULT_CLIENT.client_id, "not-the-secret"),
                           data={"grant_type": "authorization_code", "code": flow.query["code"],
                                 "redirect_uri": CALLBACK, "code_verifier": flow.verifier},
                           timeout=5)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    assert answer.headers["Cache-Control"] == "no-store"
    with pytest.raises(OAuthError) as refused:
        Flow(op, client(client_secret="guess")).redeem()
    assert refused.value.error == "invalid_client"


def test_token_errors_follow_rfc_6749(op: FakeOidcProvider) -> None:
    assert post_token(op).json()["error"] == "invalid_request"  # no code
    assert post_token(op, code="never-issued").json()["error"] == "invalid_grant"
    refresh = post_token(op, grant_type="refresh_token", refresh_token="x")
    assert (refresh.status_code, refresh.json()["error"]) == (400, "unsupported_grant_type")
    flow = Flow(op, client())
    mismatched = post_token(op, code=flow.query["code"], code_verifier=flow.verifier,
                            redirect_uri="http://localhost/elsewhere")
    assert (mismatched.status_code, mismatched.json()["error"]) == (400, "invalid_grant")


def test_an_unregistered_redirect_uri_is_refused_without_redirecting(
        op: FakeOidcProvider) -> None:
    flow = Flow(op, client(redirect_uri="http://localhost/login/oidc/other/callback"))
    assert flow.response.status_code == 400
    assert "Location" not in flow.response.headers
    assert "redirect_uri_mismatch" in flow.response.text
    unknown = Flow(op, OAuth2Session("nobody", "x", scope="openid", redirect_uri=CALLBACK))
    assert unknown.response.status_code == 400 and "Location" not in unknown.response.headers


def test_pkce_verifier_must_match_the_challenge(op: FakeOidcProvider) -> None:
    with pytest.raises(OAuthError) as mismatched:
        Flow(op, client()).redeem(code_verifier=secrets.token_urlsafe(48))
    assert mismatched.value.error == "invalid_grant"
    flow = Flow(op, client())
    missing = post_token(op, code=flow.query["code"])
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_grant")
    plain = Flow(op, client(code_challenge_method=None), code_challenge_method="plain",
                 code_challenge="x" * 43)
    assert plain.query["error"] == "invalid_request"


@pytest.mark.parametrize(("params", "error"), [
    ({"scope": "email profile"}, "invalid_scope"),
    ({"scope": "openid admin"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
])
def test_authorization_errors_redirect_back_with_state(op: FakeOidcProvider,
                                                       params: dict[str, str], error: str) -> None:
    flow = Flow(op, client(), **params)
    assert flow.location.startswith(CALLBACK + "?")
    assert (flow.query["error"], flow.query["state"]) == (error, flow.state)
    assert "code" not in flow.query


def test_the_user_can_deny(op: FakeOidcProvider) -> None:
    op.deny_next()
    denied = Flow(op, client())
    assert (denied.query["error"], denied.query["state"]) == ("access_denied", denied.state)
    assert "code" in Flow(op, client()).query  # one denial, then the person says yes


def test_nobody_signed_in_shows_a_login_page_or_login_required(op: FakeOidcProvider) -> None:
    op.sign_out()
    page = Flow(op, client())
    assert page.response.status_code == 200 and "sign_in_as" in page.response.text
    assert Flow(op, client(), prompt="none").query["error"] == "login_required"


def test_userinfo_needs_the_bearer_token(op: FakeOidcProvider, clock: FakeClock) -> None:
    token = Flow(op, client()).redeem()
    url = metadata(op)["userinfo_endpoint"]
    found = requests.get(url, headers={"Authorization": f"Bearer {token['access_token']}"},
                         timeout=5)
    assert found.status_code == 200
    claims = found.json()
    assert (claims["email"], claims["email_verified"], claims["name"]) == (EMAIL, True,
                                                                          "Ada Lovelace")
    assert op.user is not None and claims["sub"] == op.user.sub
    anonymous = requests.get(url, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error=" not in anonymous.headers["WWW-Authenticate"]  # RFC 6750 §3.1
    bad = requests.get(url, headers={"Authorization": "Bearer forged"}, timeout=5)
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    clock.sleep(op.token_lifetime + 1)
    expired = requests.get(url, headers={"Authorization": f"Bearer {token['access_token']}"},
                           timeout=5)
    assert expired.status_code == 401


def test_a_token_signed_with_a_foreign_key_fails_validation(op: FakeOidcProvider,
                                                           clock: FakeClock) -> None:
    op.forge(foreign_key=True)
    flow = Flow(op, client())
    token = flow.redeem()
    # a well-formed JWS naming the published kid: only the signature gives it away
    assert extract_compact(token["id_token"].encode()).protected["kid"] == op.signing_key.kid
    with pytest.raises(BadSignatureError):
        validated(op, token, flow.nonce, clock())
    op.stop_forging()
    honest = Flow(op, client())
    validated(op, honest.redeem(), honest.nonce, clock())


@pytest.mark.parametrize(("forgery", "raised"), [
    ({"issuer": "https://accounts.evil.example"}, InvalidClaimError),
    ({"audience": "someone-elses-client"}, InvalidClaimError),
    ({"nonce": "replayed"}, InvalidClaimError),
    ({"expired": True}, ExpiredTokenError),
])
def test_forged_claims_fail_validation(op: FakeOidcProvider, clock: FakeClock,
                                       forgery: dict[str, Any], raised: type[Exception]) -> None:
    op.forge(**forgery)
    flow = Flow(op, client())
    with pytest.raises(raised):
        validated(op, flow.redeem(), flow.nonce, clock())


def relying_party(op: FakeOidcProvider) -> Flask:
    """The product's shape: Authlib's Flask client, configured only by the discovery URL."""
    app = Flask("relying_party")
    app.secret_key = "test"
    oauth = OAuth(app)
    oauth.register("district", client_id=DEFAULT_CLIENT.client_id,
                   client_secret=DEFAULT_CLIENT.client_secret, server_metadata_url=op.metadata_url,
                   client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"})

    @app.get("/login/oidc/cedar-ridge")
    def start() -> Any:
        return oauth.district.authorize_redirect(url_for("callback", _external=True))

    @app.get("/login/oidc/cedar-ridge/callback")
    def callback() -> Any:
        try:
            token = oauth.district.authorize_access_token()
        except Exception as exc:  # what the product turns into "could not be verified"
            return jsonify(refused=type(exc).__name__), 401
        return jsonify(dict(token["userinfo"]))

    return app


@pytest.mark.parametrize("forged", [False, True])
def test_authlibs_flask_client_signs_in_against_the_fake(op: FakeOidcProvider,
                                                         forged: bool) -> None:
    op.clock = time.time  # Authlib's Flask client checks exp against the real clock
    op.sign_in_as(EMAIL)
    if forged:
        op.forge(foreign_key=True)
    browser = relying_party(op).test_client()
    to_provider = browser.get("/login/oidc/cedar-ridge").headers["Location"]
    back = requests.get(to_provider, allow_redirects=False, timeout=5).headers["Location"]
    assert back.startswith(CALLBACK)
    answer = browser.get(back.removeprefix("http://localhost"))
    if forged:
        assert (answer.status_code, answer.json) == (401, {"refused": "BadSignatureError"})
    else:
        assert answer.status_code == 200, answer.json
        assert answer.json and answer.json["email"] == EMAIL
        assert answer.json["email_verified"] is True
    assert ("GET", "/jwks") in op.calls and ("POST", "/token") in op.calls
