"""A real browser for page tests: Playwright driving Debian's chromium.

The test setup installs chromium with apt when the machine lacks it (once, under a
file lock, since parallel test workers would race for dpkg's). A machine where it
cannot be installed fails the tests that need it, with the reason: never a skip.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

LOCK = Path("/tmp/connector-chromium-install.lock")
#: Every test account's password.
PASSWORD = "correct horse battery staple"


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


@contextmanager
def site_for(two: Any, people: Iterable[tuple[str, str, str, str]]) -> Iterator[str]:
    """The app over ``two``'s store on loopback, with accounts (email, role, school, roster id)
    in Cedar Ridge; yields the site's address."""
    from connector.app import create_app
    from connector.persistence.tenancy import tenant_session
    from connector.sync import accounts
    from tests.fakes.server import serve

    with tenant_session(two.factory, two.cedar) as session, session.begin():
        for email, role, school, roster_id in people:
            accounts.create_user(session, email, name=role, by="test", password=PASSWORD,
                                 roster_id=roster_id)
            accounts.grant(session, email, role, school, by="test")
    app = create_app({"CONNECTOR_CONFIG_DIR": str(two.config),
                      "CONNECTOR_DATABASE_URL": two.db_url,
                      "CONNECTOR_COOKIE_SECURE": False,  # plain http on loopback
                      "SECRET_KEY": "test-secret-key-of-enough-length-0123456789"})
    with serve(app) as url:
        yield url
    app.extensions["connector"].engine.dispose()


def sign_in(browser: Any, site: str, email: str, path: str) -> Any:
    """A new page signed in to Cedar Ridge as ``email``, having asked for ``path`` first."""
    page = browser.new_page()
    page.goto(f"{site}{path}")
    assert "/login" in page.url  # not signed in: sent to sign in, and back after
    page.select_option("select[name=district]", "cedar-ridge")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    follow(page.locator("button[type=submit]"))
    return page


def follow(target: Any) -> None:
    """Click a link or submit button and wait until the page it leads to has loaded.

    Playwright's click returns once the next page starts loading, so reading the page
    straight after it can meet a document still arriving (a count of 0 that is a race,
    not an answer). Every click that navigates goes through here.
    """
    with target.page.expect_navigation(wait_until="load"):
        target.click()


ROOT = Path(__file__).resolve().parents[1]
#: axe-core, fetched from the npm registry by the Makefile (connector/web/assets.json).
AXE = ROOT / "var" / "assets" / "axe.min.js"
#: Where each checked page's screenshot is kept, as a test artifact.
SCREENS = ROOT / "var" / "test-artifacts" / "screens"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def check_page(page: Any, name: str) -> None:
    """Screenshot the page, then fail on any serious or critical WCAG 2.1 AA violation.

    axe-core runs inside the page as it is, after whatever it did on load; each
    violation is reported with its rule, its help text and the elements at fault.
    """
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` fetches it (connector/web/assets.py)")
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
    # Evaluated through the devtools protocol, not as a <script>: the page's own
    # Content-Security-Policy (its scripts only) stays in force for everything else.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found = page.evaluate("""async tags => {
        const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({rule: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""", WCAG_AA)
    assert found == [], f"{name}: accessibility violations: {found}"
