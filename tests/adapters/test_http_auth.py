"""OAuth2 client credentials and the shared client's retry on an expired token."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from flask import Flask, Response, request

from connector.adapters.http.client import HttpClient, RetryPolicy
from connector.adapters.http.oauth2 import ClientCredentials
from connector.config.secrets import resolve_secret
from connector.errors import FatalSourceError
from tests.fakes.server import Tokens, serve


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Tokens, list[str], str]]:
    monkeypatch.setenv("T_ID", "client-a")
    monkeypatch.setenv("T_SECRET", "very-secret-value")
    tokens = Tokens(lifetime=3600)
    forms: list[str] = []
    app = Flask("token-test")

    @app.post("/oauth/token")
    def token() -> Response:
        user, _, secret = base64.b64decode(
            request.headers["Authorization"][6:]).decode().partition(":")
        forms.append(request.form.get("scope", ""))
        if (user, secret) != ("client-a", "very-secret-value"):
            response = app.json.response({"error": "invalid_client",
                                          "error_description": "bad client"})
            response.status_code = 401
            return response
        return app.json.response({"access_token": tokens.issue(user, frozenset()),
                                  "expires_in": tokens.lifetime, "token_type": "bearer"})

    @app.get("/data")
    def data() -> Response:
        if tokens.check(request.headers.get("Authorization")) is None:
            return Response(status=401)
        return app.json.response({"ok": True})

    with serve(app) as url:
        yield tokens, forms, url


def credentials(url: str, **kwargs: object) -> ClientCredentials:
    return ClientCredentials("Test SIS", f"{url}/oauth/token", "${T_ID}", "${T_SECRET}",
                             lambda ref, why: resolve_secret(ref, purpose=why),
                             scopes=("a.readonly", "b.createput"), **kwargs)


def test_token_is_cached_and_fetched_again_when_the_server_drops_it(
        api: tuple[Tokens, list[str], str]) -> None:
    tokens, forms, url = api
    auth = credentials(url)
    client = HttpClient("Test SIS", auth=auth, retry=RetryPolicy(attempts=2, base_delay=0))
    for _ in range(5):
        assert client.get(f"{url}/data").json() == {"ok": True}
    assert auth.fetched == 1 and forms == ["a.readonly b.createput"]
    tokens.revoke_all()
    assert client.get(f"{url}/data").status_code == 200
    assert auth.fetched == 2


def test_a_token_near_its_expiry_is_renewed_before_use(api: tuple[Tokens, list[str], str]) -> None:
    tokens, _forms, url = api
    tokens.lifetime = 20  # under the 30 s margin: every call takes a new token
    now = [0.0]
    auth = credentials(url, clock=lambda: now[0])
    first = auth.token()
    now[0] += 2.0
    assert auth.token() != first and auth.fetched == 2


def test_refused_credentials_say_so_without_the_secret(
        api: tuple[Tokens, list[str], str], monkeypatch: pytest.MonkeyPatch) -> None:
    _tokens, _forms, url = api
    monkeypatch.setenv("T_SECRET", "wrong-secret-value")
    with pytest.raises(FatalSourceError) as caught:
        credentials(url).token()
    text = str(caught.value)
    assert "Test SIS refused the client credentials (HTTP 401: bad client)" in text
    assert "secret-value" not in text
