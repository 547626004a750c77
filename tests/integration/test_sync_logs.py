"""A whole sync's log, at DEBUG, names no student (the log leaves the district's control)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.orm import sessionmaker

from connector.config.model import Settings
from connector.jobs import definitions
from tests.conftest import ROOT


def test_sync_logs_carry_no_student_names(caplog: pytest.LogCaptureFixture,
                                          factory: sessionmaker, settings: Settings) -> None:
    caplog.set_level(logging.DEBUG)
    definitions.run(factory, settings, "nightly-sync")
    text = caplog.text
    users = (ROOT / "examples" / "sample-district" / "oneroster" / "users.csv").read_text()
    family_names = {line.split(",")[7] for line in users.splitlines()[1:]}
    assert text  # the run did log
    leaked = sorted(name for name in family_names if name and name in text)
    assert leaked == []
