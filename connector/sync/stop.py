"""Stopping a run politely: at the next batch boundary, with a reason on the run.

A signal handler may only set a flag; the run looks at it where stopping
loses nothing (after a staged batch commits, before a stage starts) and ends
there with status ``interrupted`` and the reason. Raising from anywhere else
could leave work half done in memory, though never half written: every write
is a transaction.
"""

from __future__ import annotations

import threading
import time


class RunInterrupted(BaseException):
    """Raised at a safe point once a stop was asked for.

    A ``BaseException``, like ``KeyboardInterrupt``, so that the runner's
    "a failed stage is recorded and the run goes on" handlers let it through.
    """


class StopToken:
    """A flag a signal handler sets and a run checks at its safe points.

    A signal handler runs in the main thread, between two bytecodes of whatever it
    interrupted. If that was ``threading.Event.wait`` holding the event's own lock,
    ``Event.set`` from the handler waits for that lock forever: the scheduler,
    told to stop just as it went idle, never stopped. So a request from a handler
    (:meth:`request_from_signal`) only sets a plain flag, and :meth:`wait` sleeps in
    short slices that look at it; a request from another thread also wakes the
    event at once.
    """

    #: How long :meth:`wait` sleeps between looks at the flag a signal handler sets.
    SLICE = 0.2

    def __init__(self) -> None:
        self._event = threading.Event()
        self._flag = False
        self.reason = ""

    def request(self, reason: str) -> None:
        self.request_from_signal(reason)
        self._event.set()

    def request_from_signal(self, reason: str) -> None:
        """Ask for a stop without taking any lock: safe inside a signal handler."""
        if not self._flag:
            self.reason = reason
        self._flag = True

    @property
    def requested(self) -> bool:
        return self._flag

    def check(self, where: str) -> None:
        """Raise :class:`RunInterrupted` here if a stop was asked for."""
        if self._flag:
            raise RunInterrupted(f"{self.reason}; stopped {where}")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if a stop was asked for meanwhile (the scheduler's idle)."""
        deadline = time.monotonic() + max(0.0, seconds)
        while not self._flag:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._event.wait(min(left, self.SLICE))
        return True


#: A token nobody ever sets, for callers that cannot be stopped.
NEVER = StopToken()
