"""A clock for tests: time passes only when someone sleeps.

A vendor's quota (Canvas's throttle bucket, Google's and Schoology's request windows)
is a matter of seconds. The adapter under test sleeps through the same clock the
fake server reads, so a pull that waits out a quota takes as long as its requests,
and the test says exactly how long the adapter chose to wait.
"""

from __future__ import annotations

import threading


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept = 0.0

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)
            self.slept += max(0.0, seconds)
