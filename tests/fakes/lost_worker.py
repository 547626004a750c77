"""A ``connector worker`` that goes away in the middle of a run's mastery step.

    LOSE_IN=mastery|term python -m tests.fakes.lost_worker <connector arguments>

``mastery``: the step does all its work inside its transaction, then the process
kills itself with SIGKILL before the commit: what a worker killed with ``kill -9``
at its worst moment leaves behind (a held job lock, a ``running`` run, an
unacknowledged message, a rolled-back transaction). ``term``: the process sends
itself SIGTERM as the step starts, as ``docker stop`` would. Used by
``tests/integration/test_celery_workers.py``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any


def main() -> None:
    from connector.sync import runner

    original = runner._mastery

    def mastery_then_die(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    def told_to_stop(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    lose_in = os.environ.get("LOSE_IN")
    if lose_in == "mastery":
        runner._mastery = mastery_then_die  # type: ignore[assignment]
    elif lose_in == "term":
        runner._mastery = told_to_stop  # type: ignore[assignment]
    from connector.cli.main import main as connector
    sys.argv = ["connector", *sys.argv[1:]]
    connector()


if __name__ == "__main__":
    main()
