"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fakes.oneroster_seed import rest_objects
from tests.fakes.oneroster_server import ALL_SCOPES, FakeOneRoster
from tests.fakes.server import serve

SAMPLE = ROOT / "examples" / "sample-district" / "oneroster"
ROSTER = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")


@pytest.fixture
def sis_roster() -> Path:
    """The OneRoster files the fake SIS is seeded with (a module may use the small sample's)."""
    return SAMPLE


@pytest.fixture
def sis(monkeypatch: pytest.MonkeyPatch, sis_roster: Path) -> Iterator[tuple[FakeOneRoster, str]]:
    """A OneRoster 1.2 gradebook API holding the sample district's roster."""
    monkeypatch.setenv("SIS_CLIENT_ID", "mastery-connector")
    monkeypatch.setenv("SIS_CLIENT_SECRET", "push-secret")
    fake = FakeOneRoster(clients={"mastery-connector": ("push-secret", ALL_SCOPES)})
    seed = rest_objects(sis_roster)
    for resource in ROSTER:
        fake.load(resource, seed[resource])
    with serve(fake.app) as url:
        yield fake, url
