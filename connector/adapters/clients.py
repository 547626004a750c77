"""An adapter's HTTP client, built from its typed options in one place.

Every HTTP source and destination needs the same things from its options: a
timeout, a retry policy, and the adapter context's ``sleep`` (so a test runs a
vendor's back-off on a virtual clock). They differ in how they sign in (a bearer
token, OAuth 1.0a on a session, a delegated Google token, OAuth 2.0 client
credentials) and in how they pace themselves, which the caller passes in.
"""

from __future__ import annotations

from collections.abc import Sequence

import requests

from connector.adapters.base import AdapterContext
from connector.adapters.http.client import HttpClient, RetryPolicy, TokenProvider
from connector.adapters.http.oauth2 import ClientCredentials
from connector.adapters.http.throttle import Throttle
from connector.adapters.options import ApiSettings, HttpSettings


def http_client(system: str, settings: HttpSettings, context: AdapterContext, *,
                token: str | None = None, auth: TokenProvider | None = None,
                session: requests.Session | None = None,
                throttle: Throttle | None = None) -> HttpClient:
    """A client with the settings' timeout and retries, sleeping through the context."""
    return HttpClient(system, token=token, auth=auth, session=session,
                      timeout=settings.timeout,
                      retry=RetryPolicy(attempts=settings.retries,
                                        base_delay=settings.retry_delay),
                      throttle=throttle, sleep=context.sleep)


def api_client(system: str, settings: ApiSettings, context: AdapterContext, *,
               default_token_path: str, default_scopes: Sequence[str] = ()) -> HttpClient:
    """A client signing in by OAuth 2.0 client credentials (OneRoster 1.2, Ed-Fi)."""
    token_url = settings.token_url or settings.base_url.rstrip("/") + default_token_path
    auth = ClientCredentials(
        system, token_url, settings.client_id, settings.client_secret, context.resolve_secret,
        scopes=tuple(settings.scopes or default_scopes),
        basic_auth=settings.token_auth == "basic", timeout=settings.timeout,
        clock=context.clock)
    return http_client(system, settings, context, auth=auth)
