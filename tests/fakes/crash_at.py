"""Run a connector command and SIGKILL it at its k-th file or database step.

    CRASH_AT=k python -m tests.fakes.crash_at <connector arguments>

Each call to the operations a push is made of (a folder made, a file written, zipped
or renamed, a flush or commit) is two moments, before and after it: the process
kills itself, without cleanup, at moment ``k``. ``CRASH_AT=0`` counts the moments
instead and writes the count to ``CRASH_COUNT_FILE``, so trials can draw ``k`` over
the whole of a push. Used by the crash trials (``tests/integration/test_push_exactly_once.py``,
``bench/crash_trials.py``).
"""

from __future__ import annotations

import atexit
import os
import pathlib
import signal
import sys
import zipfile
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

AT = int(os.environ.get("CRASH_AT", "0"))
moments = 0


def _moment() -> None:
    global moments
    moments += 1
    if moments == AT:
        os.kill(os.getpid(), signal.SIGKILL)


def _wrap(owner: type, name: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _moment()
        result = original(*args, **kwargs)
        _moment()
        return result

    setattr(owner, name, wrapper)


STEPS = ((pathlib.Path, "mkdir"), (pathlib.Path, "write_text"), (pathlib.Path, "rename"),
         (pathlib.Path, "unlink"), (zipfile.ZipFile, "write"), (Session, "flush"),
         (Session, "commit"))


def main() -> None:
    for owner, name in STEPS:
        _wrap(owner, name)
    if AT == 0 and os.environ.get("CRASH_COUNT_FILE"):
        counted = pathlib.Path(os.environ["CRASH_COUNT_FILE"])
        atexit.register(lambda: counted.write_text(str(moments)))
    from connector.cli.main import main as connector
    sys.argv = ["connector", *sys.argv[1:]]
    connector()


if __name__ == "__main__":
    main()
