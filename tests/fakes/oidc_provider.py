"""A fake OpenID Connect provider (Google Workspace, Microsoft Entra) over real HTTP.

Single sign-on is tested against this server rather than a mock so that what
Authlib's client really does (discovery, PKCE, client authentication, JWKS
fetch, ID token validation) meets a server that answers as the standards say:

- OpenID Connect Discovery 1.0 §3-4: ``GET /.well-known/openid-configuration``,
  whose ``issuer`` is the server's base URL.
- OpenID Connect Core 1.0 §3.1 (code flow) on top of RFC 6749 §4.1:
  ``GET|POST /authorize`` answers 400 itself for an unknown client or a
  ``redirect_uri`` that is not registered exactly (§3.1.2.6, RFC 6749
  §4.1.2.1: never redirect to an unverified URI), and redirects every other
  error back with ``error`` and ``state``.
- RFC 7636 (PKCE, ``S256`` only: "plain" is refused with ``invalid_request``).
- ``POST /token``: ``client_secret_basic`` or ``client_secret_post``; codes are
  single-use and short-lived, and redeeming one twice revokes the tokens the
  first redemption issued (RFC 6749 §4.1.2); errors as RFC 6749 §5.2.
- ID tokens signed RS256 with a key made at start, ``kid`` in the header and in
  ``GET /jwks``; ``at_hash`` as Core §3.1.3.6; scope-dependent claims (§5.4).
- ``GET|POST /userinfo`` with the Bearer token (Core §5.3, RFC 6750 §3).

Nobody types a password in a test: ``sign_in_as`` says who is signed in at the
provider, ``deny_next`` makes that person press "Cancel", and ``forge`` makes
the provider hand out ID tokens a relying party must refuse. Times come from an
injected clock (seconds since the epoch) so expiry is tested without waiting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from flask import Flask, Response, jsonify, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.fakes.server import serve

SCOPES = ("openid", "email", "profile")
#: Claims each scope releases (Core §5.4); ``sub`` is always released.
SCOPE_CLAIMS = {"email": ("email", "email_verified"), "profile": ("name",)}
_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


@dataclass(frozen=True)
class OidcClient:
    """A relying party registered at the provider, as a district's admin would."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


#: Flask's test client answers for ``localhost``, so this is the callback the product's
#: ``url_for(..., _external=True)`` builds for the sample district.
DEFAULT_CLIENT = OidcClient("connector-test-client", "connector-test-secret",
                            ("http://localhost/login/oidc/cedar-ridge/callback",))


@dataclass(frozen=True)
class OidcUser:
    """The person signed in at the provider; ``claims`` are extra (``hd``, ``tid``...)."""

    sub: str
    email: str
    email_verified: bool
    name: str
    claims: Mapping[str, Any] = field(default_factory=dict)
    auth_time: int = 0


@dataclass(frozen=True)
class Forgery:
    """What is wrong with every ID token issued while it is set.

    ``foreign_key`` signs with a key the JWKS does not hold, under the published
    ``kid``, so only the signature check can catch it.
    """

    foreign_key: bool = False
    issuer: str | None = None
    audience: str | None = None
    nonce: str | None = None
    expired: bool = False


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the provider saw it: for asserting what the client sent."""

    method: str
    path: str
    params: dict[str, str]
    auth_scheme: str | None  # "Basic", "Bearer" or None


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    user: OidcUser
    nonce: str | None
    challenge: str | None
    expires_at: float
    redeemed: bool = False
    access_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _AccessToken:
    client_id: str
    scopes: tuple[str, ...]
    user: OidcUser
    expires_at: float


class OAuthFailure(Exception):
    """An RFC 6749 error: ``error`` code, description and the HTTP status to send."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


class FakeOidcProvider:
    """An OpenID provider on 127.0.0.1; use ``with FakeOidcProvider().running() as op``."""

    def __init__(self, *, clock: Callable[[], float] = time.time,
                 clients: tuple[OidcClient, ...] = (DEFAULT_CLIENT,),
                 code_lifetime: int = 600, token_lifetime: int = 3600,
                 id_token_lifetime: int = 3600) -> None:
        """``code_lifetime`` defaults to RFC 6749 §4.1.2's recommended maximum, 10 minutes."""
        self.clock = clock
        self.code_lifetime = code_lifetime
        self.token_lifetime = token_lifetime
        self.id_token_lifetime = id_token_lifetime
        self._registered = clients
        self._lock = threading.Lock()
        self.reset()
        self._url: str | None = None
        kid = f"fake-{secrets.token_hex(4)}"
        params = {"kid": kid, "use": "sig", "alg": "RS256"}
        self.signing_key = RSAKey.generate_key(2048, parameters=params)  # type: ignore[arg-type]
        self._foreign_key: RSAKey | None = None
        self.app = self._build()

    @contextmanager
    def running(self) -> Iterator[FakeOidcProvider]:
        """Serve on an ephemeral port; the issuer is that base URL while it runs."""
        with serve(self.app) as url:
            self._url = url
            try:
                yield self
            finally:
                self._url = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the fake provider is not running: use `with provider.running()`")
        return self._url

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def metadata_url(self) -> str:
        """What the product's ``server_metadata_url`` should be."""
        return f"{self.url}/.well-known/openid-configuration"

    def reset(self) -> None:
        """Back to the constructor's clients with nobody signed in, nothing issued or recorded.

        A server costs half a second to stop (werkzeug's shutdown poll), so a suite can
        keep one running and reset it between tests; the signing key and URL stay.
        """
        with self._lock:
            self.clients: dict[str, OidcClient] = {c.client_id: c for c in self._registered}
            self.requests: list[RecordedRequest] = []
            self.user: OidcUser | None = None
            self.forgery: Forgery | None = None
            self._denial: tuple[str, str] | None = None
            self._grants: dict[str, _Grant] = {}
            self._tokens: dict[str, _AccessToken] = {}

    def register_client(self, client_id: str, client_secret: str,
                        redirect_uris: tuple[str, ...] | list[str]) -> OidcClient:
        client = OidcClient(client_id, client_secret, tuple(redirect_uris))
        with self._lock:
            self.clients[client_id] = client
        return client

    def sign_in_as(self, email: str, *, sub: str | None = None, email_verified: bool = True,
                   name: str | None = None, **claims: Any) -> OidcUser:
        """Who is signed in at the provider from now on, for every authorization."""
        if sub is None:  # stable and numeric, like Google's
            sub = str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16))
        if name is None:
            name = email.split("@")[0].replace(".", " ").title()
        user = OidcUser(sub, email, email_verified, name, dict(claims), int(self.clock()))
        with self._lock:
            self.user = user
        return user

    def sign_out(self) -> None:
        with self._lock:
            self.user = None

    def deny_next(self, error: str = "access_denied",
                  description: str = "The user denied the request") -> None:
        """The next authorization is refused by the person (or the provider's policy)."""
        with self._lock:
            self._denial = (error, description)

    def forge(self, *, foreign_key: bool = False, issuer: str | None = None,
              audience: str | None = None, nonce: str | None = None, expired: bool = False) -> None:
        """Every ID token from now on is forged as :class:`Forgery` says, until cleared."""
        with self._lock:
            self.forgery = Forgery(foreign_key, issuer, audience, nonce, expired)

    def stop_forging(self) -> None:
        with self._lock:
            self.forgery = None

    @property
    def calls(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request received, in order."""
        return [(r.method, r.path) for r in self.requests]

    def jwks(self) -> dict[str, Any]:
        return dict(KeySet([self.signing_key]).as_dict(private=False))

    def _metadata(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "userinfo_endpoint": f"{base}/userinfo",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": list(SCOPES),
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce",
                                 "at_hash", "email", "email_verified", "name"],
            "code_challenge_methods_supported": ["S256"],
        }

    def _authorize(self) -> Response:
        params = request.values
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            return _page(400, "Error 400: invalid_request. The OAuth client was not found.")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            return _page(400, "Error 400: redirect_uri_mismatch. The redirect URI in the request "
                              f"does not match the ones registered for {client.client_id}.")
        state = params.get("state")
        try:
            grant = self._check_authorization(params, client, redirect_uri)
        except OAuthFailure as failure:
            return _redirect(redirect_uri, error=failure.error,
                             error_description=failure.description, state=state)
        if grant is None:
            return _page(200, "Sign in. (Nobody is signed in at the fake provider: a test "
                              "calls provider.sign_in_as(email=...) before the flow.)")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = grant
        return _redirect(redirect_uri, code=code, state=state)

    def _check_authorization(self, params: Mapping[str, str], client: OidcClient,
                             redirect_uri: str) -> _Grant | None:
        repeated = [k for k in params if len(request.values.getlist(k)) > 1]
        if repeated:  # RFC 6749 §3.1
            raise OAuthFailure("invalid_request", f"parameter repeated: {repeated[0]}")
        response_type = params.get("response_type")
        if not response_type:
            raise OAuthFailure("invalid_request", "response_type is required")
        if response_type != "code":
            raise OAuthFailure("unsupported_response_type", f"not supported: {response_type}")
        scopes = tuple(params.get("scope", "").split())
        if "openid" not in scopes:
            raise OAuthFailure("invalid_scope", "the openid scope is required")
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown:
            raise OAuthFailure("invalid_scope", f"unknown scope: {unknown[0]}")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method", "plain" if challenge else None)
        if method is not None and challenge is None:
            raise OAuthFailure("invalid_request", "code_challenge_method without code_challenge")
        if challenge is not None:
            if method != "S256":  # RFC 7636 §4.4.1
                raise OAuthFailure("invalid_request", f"transform algorithm not supported: {method}")
            if not _PKCE_CHALLENGE.fullmatch(challenge):
                raise OAuthFailure("invalid_request", "code_challenge is malformed")
        with self._lock:
            denial, self._denial = self._denial, None
            user = self.user
        if denial is not None:
            raise OAuthFailure(*denial)
        if user is None:
            if "none" in params.get("prompt", "").split():  # Core §3.1.2.6
                raise OAuthFailure("login_required", "the user is not signed in")
            return None
        return _Grant(client.client_id, redirect_uri, scopes, user, params.get("nonce"),
                      challenge, self.clock() + self.code_lifetime)

    def _token(self) -> Response:
        client = self._authenticate_client()
        form = request.form
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthFailure("invalid_request", "grant_type is required")
        if grant_type != "authorization_code":
            raise OAuthFailure("unsupported_grant_type", f"not supported: {grant_type}")
        code = form.get("code")
        if not code:
            raise OAuthFailure("invalid_request", "code is required")
        with self._lock:
            grant = self._grants.get(code)
            if grant is None or grant.client_id != client.client_id:
                raise OAuthFailure("invalid_grant", "the code is unknown or was issued to another client")
            if grant.redeemed:  # RFC 6749 §4.1.2: revoke what the first redemption got
                for token in grant.access_tokens:
                    self._tokens.pop(token, None)
                raise OAuthFailure("invalid_grant", "the code has already been used")
            grant.redeemed = True  # any attempt spends it, as a stolen code must not be retried
        now = self.clock()
        if now > grant.expires_at:
            raise OAuthFailure("invalid_grant", "the code has expired")
        if "redirect_uri" not in form:
            raise OAuthFailure("invalid_request", "redirect_uri is required")
        if form["redirect_uri"] != grant.redirect_uri:
            raise OAuthFailure("invalid_grant", "redirect_uri does not match the authorization request")
        verifier = form.get("code_verifier")
        if grant.challenge is None and verifier is not None:
            raise OAuthFailure("invalid_grant", "code_verifier sent but no code_challenge was")
        if grant.challenge is not None:
            if verifier is None:
                raise OAuthFailure("invalid_grant", "code_verifier is required")
            if not hmac.compare_digest(_s256(verifier), grant.challenge):
                raise OAuthFailure("invalid_grant", "code_verifier does not match the code_challenge")
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access_token] = _AccessToken(client.client_id, grant.scopes, grant.user,
                                                      now + self.token_lifetime)
            grant.access_tokens.append(access_token)
        body = {"access_token": access_token, "token_type": "Bearer",
                "expires_in": self.token_lifetime, "scope": " ".join(grant.scopes),
                "id_token": self._id_token(grant, access_token, now)}
        return _no_store(jsonify(body))

    def _authenticate_client(self) -> OidcClient:
        header = request.headers.get("Authorization", "")
        posted = "client_id" in request.form or "client_secret" in request.form
        if header.startswith("Basic "):  # RFC 6749 §2.3.1: form-encoded id and secret
            if "client_secret" in request.form:
                raise OAuthFailure("invalid_request", "use one client authentication method")
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
                client_id, secret = (unquote_plus(p) for p in decoded.split(":", 1))
            except ValueError as exc:
                raise OAuthFailure("invalid_client", "malformed Basic credentials", 401) from exc
            if request.form.get("client_id", client_id) != client_id:
                raise OAuthFailure("invalid_client", "client_id differs from the credentials", 401)
        elif posted:
            client_id = request.form.get("client_id", "")
            secret = request.form.get("client_secret", "")
        else:
            raise OAuthFailure("invalid_client", "client authentication is required", 401)
        client = self.clients.get(client_id)
        if client is None or not hmac.compare_digest(secret, client.client_secret):
            raise OAuthFailure("invalid_client", "client authentication failed", 401)
        return client

    def _id_token(self, grant: _Grant, access_token: str, now: float) -> str:
        forgery = self.forgery or Forgery()
        user = grant.user
        claims: dict[str, Any] = {
            "iss": forgery.issuer or self.issuer, "sub": user.sub,
            "aud": forgery.audience or grant.client_id,
            "iat": int(now), "exp": int(now) + self.id_token_lifetime,
            "auth_time": user.auth_time, "at_hash": _half_hash(access_token),
        }
        if forgery.expired:
            claims["iat"], claims["exp"] = int(now) - 2 * 3600, int(now) - 3600
        nonce = forgery.nonce or grant.nonce
        if nonce is not None:
            claims["nonce"] = nonce
        claims.update(_released(user, grant.scopes))
        key = self.signing_key
        if forgery.foreign_key:
            if self._foreign_key is None:
                params = {"kid": self.signing_key.kid, "use": "sig", "alg": "RS256"}
                self._foreign_key = RSAKey.generate_key(2048, parameters=params)  # type: ignore[arg-type]
            key = self._foreign_key
        return jwt.encode({"alg": "RS256", "typ": "JWT", "kid": self.signing_key.kid}, claims, key)

    def _userinfo(self) -> Response:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):  # RFC 6750 §3.1: no error code without credentials
            return _unauthorized('Bearer realm="userinfo"')
        with self._lock:
            token = self._tokens.get(header[7:].strip())
        if token is None or self.clock() > token.expires_at:
            return _unauthorized('Bearer error="invalid_token", '
                                 'error_description="The access token is invalid or expired"')
        return _no_store(jsonify({"sub": token.user.sub, **_released(token.user, token.scopes)}))

    def _build(self) -> Flask:
        app = Flask(__name__)

        @app.before_request
        def _record() -> None:
            scheme = request.headers.get("Authorization", "").partition(" ")[0] or None
            entry = RecordedRequest(request.method, request.path, request.values.to_dict(), scheme)
            with self._lock:
                self.requests.append(entry)

        @app.errorhandler(OAuthFailure)
        def _failure(failure: OAuthFailure) -> Response:
            response = _no_store(jsonify({"error": failure.error,
                                          "error_description": failure.description}))
            response.status_code = failure.status
            if failure.status == 401:
                response.headers["WWW-Authenticate"] = 'Basic realm="token"'
            return response

        app.add_url_rule("/.well-known/openid-configuration", "discovery",
                         lambda: jsonify(self._metadata()))
        app.add_url_rule("/authorize", "authorize", self._authorize, methods=["GET", "POST"])
        app.add_url_rule("/token", "token", self._token, methods=["POST"])
        app.add_url_rule("/jwks", "jwks", lambda: jsonify(self.jwks()))
        app.add_url_rule("/userinfo", "userinfo", self._userinfo, methods=["GET", "POST"])
        return app


def _released(user: OidcUser, scopes: tuple[str, ...]) -> dict[str, Any]:
    """The user's claims the granted scopes release (Core §5.4), plus any extras."""
    values = {"email": user.email, "email_verified": user.email_verified, "name": user.name}
    out = {claim: values[claim] for scope in scopes for claim in SCOPE_CLAIMS.get(scope, ())}
    return {**out, **user.claims}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _half_hash(access_token: str) -> str:
    """Core §3.1.3.6 ``at_hash``: the left half of the SHA-256 of the token, base64url."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16])


def _redirect(uri: str, **params: str | None) -> Response:
    """302 to ``uri`` with ``params`` added to the query it already has (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query) + [(k, v) for k, v in params.items() if v is not None]
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=urlencode(query)))})


def _page(status: int, message: str) -> Response:
    return Response(f"<!doctype html><title>Sign in</title><p>{message}</p>", status=status,
                    mimetype="text/html")


def _unauthorized(challenge: str) -> Response:
    return Response(status=401, headers={"WWW-Authenticate": challenge})


def _no_store(response: Response) -> Response:
    """RFC 6749 §5.1: token responses must not be cached."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
