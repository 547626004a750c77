"""Stopping a run politely: at the next batch boundary, with a reason on the run.

A signal handler may only set a flag; the run looks at it where stopping
loses nothing (after a staged batch commits, before a stage starts) and ends
there with status ``interrupted`` and the reason. Raising from anywhere else
could leave work half done in memory, though never half written: every write
is a transaction.
"""

from __future__ import annotations

import threading


class RunInterrupted(BaseException):
    """Raised at a safe point once a stop was asked for.

    A ``BaseException``, like ``KeyboardInterrupt``, so that the runner's
    "a failed stage is recorded and the run goes on" handlers let it through.
    """


class StopToken:
    """A flag a signal handler sets and a run checks at its safe points."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def request(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def check(self, where: str) -> None:
        """Raise :class:`RunInterrupted` here if a stop was asked for."""
        if self._event.is_set():
            raise RunInterrupted(f"{self.reason}; stopped {where}")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if a stop was asked for meanwhile (the scheduler's idle)."""
        return self._event.wait(max(0.0, seconds))


#: A token nobody ever sets, for callers that cannot be stopped.
NEVER = StopToken()
