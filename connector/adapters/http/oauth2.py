"""OAuth 2.0 client credentials, as OneRoster 1.2 and the Ed-Fi ODS/API require.

The token is cached until shortly before it expires and fetched again when a
server answers 401 (see :class:`~connector.adapters.http.client.HttpClient`).
Client id and secret are environment references resolved at the moment of the
token request; neither they nor the token ever reach a log or an error message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import requests

from connector.errors import FatalSourceError, RetriableSourceError

#: Fetch a new token this many seconds before the server says the old one expires.
EXPIRY_MARGIN = 30.0


class ClientCredentials:
    """A cached bearer token from a token endpoint (RFC 6749 section 4.4)."""

    def __init__(
        self,
        system: str,
        token_url: str,
        client_id_ref: str,
        client_secret_ref: str,
        resolve_secret: Callable[[str, str], str],
        *,
        scopes: Sequence[str] = (),
        basic_auth: bool = True,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.system = system
        self.token_url = token_url
        self.client_id_ref = client_id_ref
        self.client_secret_ref = client_secret_ref
        self.resolve_secret = resolve_secret
        self.scopes = tuple(scopes)
        self.basic_auth = basic_auth
        self.timeout = timeout
        self.session = session or requests.Session()
        self.clock = clock
        self.fetched = 0
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at:
                self._token, lifetime = self._fetch()
                self._expires_at = self.clock() + max(lifetime - EXPIRY_MARGIN, 1.0)
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        client_id = self.resolve_secret(self.client_id_ref, f"{self.system} client id")
        secret = self.resolve_secret(self.client_secret_ref, f"{self.system} client secret")
        form = {"grant_type": "client_credentials"}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        auth: tuple[str, str] | None = (client_id, secret)
        if not self.basic_auth:
            form.update(client_id=client_id, client_secret=secret)
            auth = None
        try:
            response = self.session.post(self.token_url, data=form, auth=auth,
                                         timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableSourceError(f"{self.system} token endpoint did not answer: "
                                       f"{type(exc).__name__}", url=self.token_url) from None
        self.fetched += 1
        if response.status_code >= 500 or response.status_code == 429:
            raise RetriableSourceError(
                f"{self.system} token endpoint is failing (HTTP {response.status_code})",
                url=self.token_url)
        body = _json(response)
        if response.status_code != 200 or not isinstance(body.get("access_token"), str):
            reason = body.get("error_description") or body.get("error") or "no access_token"
            raise FatalSourceError(
                f"{self.system} refused the client credentials (HTTP {response.status_code}: "
                f"{reason}); check the environment variables the configuration names",
                url=self.token_url)
        try:
            lifetime = float(str(body.get("expires_in", 3600)))
        except ValueError:
            lifetime = 3600.0
        return str(body["access_token"]), lifetime


def _json(response: requests.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
