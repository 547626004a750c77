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
from typing import Any

import requests

from connector.errors import FatalSourceError, RetriableSourceError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


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
    context = {"system": system, "status": status, "url": response.url}
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
        for key in ("imsx_description", "message", "error_description", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return f": {body[key]}"
    return ""


class HttpClient:
    """GET with timeouts, bounded retries and optional bearer auth."""

    def __init__(
        self,
        system: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.system = system
        self.timeout = timeout
        self.retry = retry
        self.session = session or requests.Session()
        self.sleep = sleep
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        last: Exception | None = None
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self.session.get(url, timeout=self.timeout, **kwargs)
                raise_for_status(response, system=self.system)
                return response
            except RetriableSourceError as exc:
                last = exc
                delay = _retry_after(response)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = RetriableSourceError(f"{self.system} did not answer: {exc}", url=url)
                delay = None
            if attempt == self.retry.attempts:
                break
            self.sleep(self._backoff(attempt) if delay is None else delay)
        assert last is not None
        raise last

    def _backoff(self, attempt: int) -> float:
        cap = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
        return random.uniform(0, cap)


def _retry_after(response: requests.Response) -> float | None:
    """Seconds the server asked us to wait (``Retry-After: 0`` means now), or None."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        return min(max(float(value), 0.0), 120.0)
    except ValueError:
        return None
