"""SIGTERM and SIGINT for long commands: finish the batch in hand, then stop with a reason.

The first signal asks the work to stop at its next safe point (see
:mod:`connector.sync.stop`) and says so on stderr; a second one stops at once
(what was not committed is simply not kept). Either way the run is recorded
as ``interrupted`` with the reason, never left ``running``.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from connector.sync.stop import RunInterrupted, StopToken


@contextmanager
def stop_on_signals(token: StopToken, *, what: str = "the run") -> Iterator[StopToken]:
    """Install the handlers for the block (main thread only), restoring the old ones after."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if token.requested:
            raise RunInterrupted(f"{name} received twice; stopped at once")
        token.request_from_signal(f"{name} received")  # takes no lock: see StopToken
        print(f"{name} received: {what} stops after the batch in hand "
              f"(send it again to stop at once)", file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield token
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
