"""Named locks on both stores: exclusive while held, free again when the holder dies."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from connector.errors import BusyError
from connector.persistence.db import make_engine
from connector.persistence.locks import exclusive

HOLDER = """
import sys, time
from connector.persistence.db import make_engine
from connector.persistence.locks import exclusive
with exclusive(make_engine(sys.argv[1]), sys.argv[2], "the test's holder"):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def store(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def test_a_held_lock_refuses_a_second_holder_until_released(store: Engine) -> None:
    with exclusive(store, "push:1:sis", "a push to 'sis'"):
        with (pytest.raises(BusyError, match="a push to 'sis' is already running"),
              exclusive(store, "push:1:sis", "a push to 'sis'")):
            pass
        with exclusive(store, "push:2:sis", "another district's push"):
            pass  # other names are independent
    with exclusive(store, "push:1:sis", "a push to 'sis'"):
        pass  # released on exit


def test_a_killed_holder_releases_the_lock(store: Engine) -> None:
    url = store.url.render_as_string(hide_password=False)
    with subprocess.Popen([sys.executable, "-c", HOLDER, url, "push:1:sis"],
                          stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            with pytest.raises(BusyError), exclusive(store, "push:1:sis", "a push to 'sis'"):
                pass
            holder.send_signal(signal.SIGKILL)  # no cleanup code runs
            holder.wait(timeout=30)
        finally:
            if holder.poll() is None:
                holder.kill()
    # PostgreSQL notices the dead session; the OS drops the dead process's flock.
    for _ in range(50):
        try:
            with exclusive(store, "push:1:sis", "a push to 'sis'"):
                return
        except BusyError:
            time.sleep(0.1)
    pytest.fail("the lock outlived its holder's process")
