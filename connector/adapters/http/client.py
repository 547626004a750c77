"""A small HTTP client every adapter shares, so no vendor call goes out without a timeout.

Retries follow what vendors document: 429 and 503 carry ``Retry-After``; other
5xx and connection errors are retried with exponential backoff and full jitter;
4xx other than 429 are not retried, because asking again will not fix them.
Status codes map to the error taxonomy in one place (:func:`raise_for_status`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from connector.adapters.http.throttle import Throttle
from connector.errors import FatalSourceError, RetriableSourceError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Throttling refusals waited out before giving up: throttling slows a pull, it does not fail it,
#: but a server that refuses every request for this long is not throttling any more.
MAX_REFUSALS = 200


class TokenProvider(Protocol):
    """Gives a current access token and forgets it when the server says it expired."""

    def token(self) -> str: ...

    def invalidate(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0


def raise_for_status(response: requests.Response, *, system: str) -> None:
    """Map an HTTP status to our taxonomy, with the server's own message when it has one."""
    status = response.status_code
    if status < 400:
        return
    detail = _detail(response)
    context = {"system": system, "status": status, "url": _no_query(response.url)}
    if status in RETRY_STATUSES:
        raise RetriableSourceError(f"{system} is busy or failing (HTTP {status}){detail}", **context)
    if status in (401, 403):
        raise FatalSourceError(
            f"{system} refused our credentials (HTTP {status}){detail}; check the token the "
            f"configuration's environment reference points at", **context)
    if status == 404:
        raise FatalSourceError(f"{system} has no such resource (HTTP 404){detail}", **context)
    raise FatalSourceError(f"{system} rejected the request (HTTP {status}){detail}", **context)


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, Mapping):
        for key in ("imsx_description", "detail", "message", "error_description", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return f": {body[key]}"
        errors = body.get("errors")  # Canvas: a list of {"message"}, or field -> message
        if isinstance(errors, list):
            messages = [str(e.get("message")) for e in errors
                        if isinstance(e, Mapping) and e.get("message")]
            if messages:
                return ": " + "; ".join(messages)
        if isinstance(errors, Mapping) and errors:
            return ": " + "; ".join(f"{k}: {v}" for k, v in errors.items())
    return ""


class HttpClient:
    """Requests with timeouts, bounded retries and optional bearer or OAuth2 auth.

    ``send`` retries what asking again can fix (connection errors, timeouts,
    429 and 5xx) and returns every other answer to the caller, so a destination
    can report a 400 or 409 per record and carry on. ``get`` raises on anything
    that is not a success. With a token provider, a 401 invalidates the cached
    token and the request is sent once more with a fresh one: tokens expire
    mid-run, and that is not an error worth a failed sync.
    """

    def __init__(
        self,
        system: str,
        *,
        token: str | None = None,
        auth: TokenProvider | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        throttle: Throttle | None = None,
    ) -> None:
        self.system = system
        self.timeout = timeout
        self.retry = retry
        self.session = session or requests.Session()
        self.sleep = sleep
        self.auth = auth
        self.throttle = throttle or Throttle()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        response = self.send("GET", url, **kwargs)
        raise_for_status(response, system=self.system)
        return response

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """The server's answer after retrying transient failures; raises only when they persist."""
        refreshed = False
        attempt = refusals = 0
        while True:
            attempt += 1
            headers = dict(kwargs.pop("headers", None) or {})
            if self.auth is not None:
                headers["Authorization"] = f"Bearer {self.auth.token()}"
            self.throttle.before()
            try:
                response = self.session.request(method, url, timeout=self.timeout,
                                                headers=headers, **kwargs)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                failure: RetriableSourceError = RetriableSourceError(
                    f"{self.system} did not answer: {type(exc).__name__}", url=_no_query(url))
                delay = None
            else:
                self.throttle.after(response)
                wait = self.throttle.refused(response)
                if wait is not None and refusals < MAX_REFUSALS:
                    refusals += 1
                    attempt -= 1  # throttling is not a failure: it does not use up a retry
                    kwargs["headers"] = headers
                    self.sleep(_retry_after(response) or wait)
                    continue
                if response.status_code == 401 and self.auth is not None and not refreshed:
                    self.auth.invalidate()
                    refreshed = True
                    attempt -= 1
                    kwargs["headers"] = headers
                    continue
                if response.status_code not in RETRY_STATUSES:
                    return response
                try:
                    raise_for_status(response, system=self.system)
                except RetriableSourceError as exc:
                    failure = exc
                delay = _retry_after(response)
            kwargs["headers"] = headers
            if attempt >= self.retry.attempts:
                raise failure
            self.sleep(self._backoff(attempt) if delay is None else delay)

    def _backoff(self, attempt: int) -> float:
        cap = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
        return random.uniform(0, cap)


def json_object(response: requests.Response, *, system: str, what: str) -> Mapping[str, Any]:
    """A response body that must be a JSON object, or an error saying what came instead."""
    try:
        body = response.json()
    except ValueError:
        raise FatalSourceError(f"{system}: the answer to {what} is not JSON (is base_url the "
                               f"API's address?)", system=system) from None
    if not isinstance(body, Mapping):
        raise FatalSourceError(f"{system}: the answer to {what} is not a JSON object",
                               system=system)
    return body


def _no_query(url: str) -> str:
    """URLs in errors and logs without their query: filters can carry student ids."""
    return url.split("?", 1)[0]


def _retry_after(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait (``Retry-After: 0`` means now), or None."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return min(max(float(value), 0.0), 120.0)
    except ValueError:
        return None
