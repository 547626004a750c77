"""Pacing against a vendor's request budget, so throttling slows a pull and never fails it.

Canvas meters each access token with a leaky bucket: every request reserves 50
units up front and is charged its real cost (``X-Request-Cost``) when done; the
bucket drains 10 units a second, and a request arriving when the bucket is over
600 is refused (403 "Rate Limit Exceeded", 429 since October 2025) with no
``Retry-After``. Each answer says what is left (``X-Rate-Limit-Remaining``).

:class:`LeakyBucket` keeps a margin above the refusal point by waiting for the
bucket to drain before it would cross it, and after a refusal waits for the
margin to drain back. A client at the margin therefore runs at the bucket's
sustainable rate (outflow / cost per request) instead of hammering it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests


class Throttle:
    """The hooks :class:`~connector.adapters.http.client.HttpClient` calls around requests."""

    def before(self) -> None:
        """Wait, if needed, before sending."""

    def after(self, response: requests.Response) -> None:
        """Learn from an answer's rate-limit headers."""

    def refused(self, response: requests.Response) -> float | None:
        """Seconds to wait when the answer is a throttling refusal; None when it is not one."""
        return None


#: Units Canvas takes from the bucket when a request starts (``up_front`` in its throttle).
UP_FRONT = 50.0


@dataclass
class LeakyBucket(Throttle):
    """Canvas-style budget read from ``X-Rate-Limit-Remaining`` (see module docstring)."""

    outflow: float = 10.0  # units per second the server drains
    margin: float = 100.0  # keep this much of the budget free (two up-front reservations)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    remaining: float | None = None
    seen_at: float = 0.0
    refusals: int = 0
    waited: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def before(self) -> None:
        with self.lock:
            if self.remaining is None:
                return
            refilled = self.remaining + self.outflow * (self.clock() - self.seen_at)
            delay = (self.margin - refilled) / self.outflow if refilled < self.margin else 0.0
        if delay > 0:
            self.waited += delay
            self.sleep(delay)

    def after(self, response: requests.Response) -> None:
        value = response.headers.get("X-Rate-Limit-Remaining")
        if value is None:
            return
        try:
            remaining = float(value)
        except ValueError:
            return
        with self.lock:
            self.remaining, self.seen_at = remaining, self.clock()

    def refused(self, response: requests.Response) -> float | None:
        if not is_rate_limited(response):
            return None
        with self.lock:
            self.refusals += 1
            self.remaining, self.seen_at = 0.0, self.clock()
        # Room for one more request at least (Canvas reserves 50 units up front), even with
        # no margin: waiting 0 s would only be refused again.
        return max(self.margin, UP_FRONT) / self.outflow


def is_rate_limited(response: requests.Response) -> bool:
    """429, or Canvas's older 403 whose body says "Rate Limit Exceeded"."""
    if response.status_code == 429:
        return True
    return response.status_code == 403 and "rate limit exceeded" in response.text[:200].lower()


@dataclass
class QuotaWindow(Throttle):
    """A per-minute request quota (Google: per user and per project) kept on our side.

    Google counts requests over a moving window and answers 429 RESOURCE_EXHAUSTED,
    without ``Retry-After``, past the quota. Sending at most ``limit`` requests in any
    ``window`` seconds keeps us under it; a refusal anyway (another client on the same
    project) waits until our oldest request in the window has left it.
    """

    limit: int = 1000
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    sent: list[float] = field(default_factory=list)
    refusals: int = 0
    waited: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def before(self) -> None:
        with self.lock:
            now = self.clock()
            self.sent = [t for t in self.sent if t > now - self.window]
            delay = 0.0
            if len(self.sent) >= self.limit:
                delay = self.sent[len(self.sent) - self.limit] + self.window - now
            self.sent.append(now + max(delay, 0.0))
        if delay > 0:
            self.waited += delay
            self.sleep(delay)

    def refused(self, response: requests.Response) -> float | None:
        if response.status_code != 429:
            return None
        with self.lock:
            self.refusals += 1
            now = self.clock()
            oldest = min((t for t in self.sent if t > now - self.window), default=now)
        return max(oldest + self.window - now, 1.0)
