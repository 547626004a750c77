"""A real browser for page tests: Playwright driving Debian's chromium.

The test setup installs chromium with apt when the machine lacks it (once, under a
file lock, since parallel test workers would race for dpkg's). A machine where it
cannot be installed fails the tests that need it, with the reason: never a skip.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

LOCK = Path("/tmp/connector-chromium-install.lock")


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = shutil.which("chromium")
        if found:
            return found
        install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        if subprocess.run(install, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True, check=False)
            done = subprocess.run(install, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.fail(f"chromium could not be installed: {done.stderr[-500:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.fail("chromium is not on PATH after installing it")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()
