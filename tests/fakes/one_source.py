"""Read one in-test source through the runner's own staging, outside a whole job.

The tests of staging's edge cases (a record the store refuses, a key a source repeats)
need a source that yields exactly the records they describe, read by
``runner._read_source`` as a sync reads it: batches, commits, the refusal fallback.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.base import SourceAdapter
from connector.config.model import Settings
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import runner
from connector.sync.district import ensure_district
from connector.sync.report import RunReport
from connector.sync.staging import StageResult

KEY = "people"


@dataclasses.dataclass(frozen=True)
class NoSettings:
    """The options of a source that takes none."""


def read_once(factory: sessionmaker[Session], settings: Settings,
              monkeypatch: pytest.MonkeyPatch, adapter: type[SourceAdapter],
              batch_size: int) -> tuple[RunReport, StageResult]:
    """Stage one read of ``adapter`` as the district's only source, under a run of its own."""
    real = runner.source_class
    monkeypatch.setattr(runner, "source_class",
                        lambda kind: adapter if kind == adapter.kind else real(kind))
    source = dataclasses.replace(settings.sources["sis-gradebook"], key=KEY,
                                 kind=adapter.kind, options={})
    settings = dataclasses.replace(settings, sources={KEY: source})
    district = ensure_district(factory, settings.district)
    with tenant_session(factory, district) as session, session.begin():
        run = m.SyncRun(job="test")
        session.add(run)
        session.flush()
    report = RunReport(run.id, "test", settings.district.key, "v", run.started_at)
    staged = StageResult()
    runner._read_source(factory, district, settings, KEY, staged, report, batch_size)
    return report, staged
