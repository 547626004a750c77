"""The celery backend's two halves without a broker: the scheduler sends, a delivery executes.

The broker and real worker processes are in ``test_celery_workers.py``; here the
rules each half follows on both stores: a scheduler with a sender queues runs and
never runs them, sends each once, keeps a run the broker refused; a delivered run
that already ended, or is alive elsewhere, is not run again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import Settings
from connector.jobs.dispatch import StillRunning, execute, unsent_runs
from connector.jobs.scheduler import Scheduler
from connector.persistence import models as m
from connector.persistence.locks import NamedLock
from connector.persistence.tenancy import tenant_session
from connector.sync.district import ensure_district
from connector.sync.report import QUEUED, RunReport
from connector.sync.run_lock import lock_name
from connector.sync.run_requests import refuse, request_run
from connector.sync.stop import StopToken
from tests.integration.test_scheduler import FakeTime

JOB = "nightly-sync"


def never_inline(job: str, *_: object) -> RunReport:
    raise AssertionError(f"the scheduler ran {job} itself; with a sender it only sends")


def queue_run(factory: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    district_id = ensure_district(factory, settings.district)
    with tenant_session(factory, district_id) as session, session.begin():
        run_id, _ = request_run(session, settings, JOB, by="user:it.lead@cedar-ridge.example")
    return district_id, run_id


def test_the_scheduler_sends_each_queued_run_once_and_never_runs_one(
        settings: Settings, factory: sessionmaker[Session]) -> None:
    district_id, asked = queue_run(factory, settings)
    fake = FakeTime(datetime(2026, 12, 5, 9, 29, 50, tzinfo=UTC))  # 10 s before 02:30 Denver
    stop = StopToken()
    sent: list[tuple[str, str, int]] = []
    told: list[str] = []

    def out(line: str) -> None:
        told.append(line)
        if "still queued" in line:
            stop.request("the scheduled run found the asked-for one waiting")

    Scheduler(factory, settings, stop, out=out, clock=fake.clock, sleep=fake.sleep,
              run=never_inline, run_queued=never_inline, queue_poll=5.0,
              send=lambda *run: sent.append(run)).serve()
    # The run asked for went to the workers once; at 02:30 the scheduled one found it
    # still waiting for a worker and did not queue a second.
    assert sent == [("cedar-ridge", JOB, asked)]
    assert f"{JOB}: run {asked} sent to the workers" in told
    assert f"{JOB}: run {asked} is still queued; not queued again" in told
    assert unsent_runs(factory, district_id) == []
    with tenant_session(factory, district_id) as session:
        run = session.get(m.SyncRun, asked)
        assert run is not None and run.status == QUEUED
        assert "sent to the workers" in run.message
        assert session.scalar(select(func.count()).select_from(m.SyncRun)) == 1


def test_a_run_the_broker_refused_stays_queued_and_goes_at_the_next_look(
        settings: Settings, factory: sessionmaker[Session]) -> None:
    district_id, asked = queue_run(factory, settings)
    fake = FakeTime(datetime(2026, 12, 5, 16, 0, tzinfo=UTC))  # nothing scheduled till night
    stop = StopToken()
    tries: list[int] = []
    told: list[str] = []

    def send(district: str, job: str, run_id: int) -> None:
        tries.append(run_id)
        if len(tries) == 1:
            raise ConnectionRefusedError(111, "Connection refused")
        stop.request("sent")

    Scheduler(factory, settings, stop, out=told.append, clock=fake.clock, sleep=fake.sleep,
              run=never_inline, run_queued=never_inline, queue_poll=5.0, send=send).serve()
    assert tries == [asked, asked]
    assert (f"{JOB}: run {asked} could not be sent to the workers (ConnectionRefusedError); "
            f"it stays queued and is sent at the next look") in told
    assert unsent_runs(factory, district_id) == []


def test_a_delivery_of_a_run_that_ended_does_nothing(
        workspace: Path, settings: Settings, factory: sessionmaker[Session]) -> None:
    district_id, run_id = queue_run(factory, settings)
    refuse(factory, district_id, run_id, "could not start: the test says so")
    outcome = execute(factory, workspace / "config", settings.district.key, JOB, run_id)
    assert outcome == {"run_id": run_id, "status": "failed", "repeated": True}
    with tenant_session(factory, district_id) as session:
        assert session.scalar(select(func.count()).select_from(m.Evidence)) == 0
    missing = execute(factory, workspace / "config", settings.district.key, JOB, run_id + 99)
    assert missing["status"] == "missing"


def test_a_delivery_while_the_job_runs_elsewhere_waits_and_runs_nothing(
        workspace: Path, settings: Settings, factory: sessionmaker[Session]) -> None:
    district_id, run_id = queue_run(factory, settings)
    elsewhere = NamedLock(factory.kw["bind"], lock_name(district_id, JOB))
    assert elsewhere.try_acquire()
    try:
        with pytest.raises(StillRunning):
            execute(factory, workspace / "config", settings.district.key, JOB, run_id)
        with tenant_session(factory, district_id) as session, session.begin():
            run = session.get(m.SyncRun, run_id)
            assert run is not None and run.status == QUEUED
            run.status = "running"  # as if a live worker had started it
        with pytest.raises(StillRunning):
            execute(factory, workspace / "config", settings.district.key, JOB, run_id)
        with tenant_session(factory, district_id) as session:
            assert session.scalar(select(m.SyncRun.status)) == "running"  # not closed as dead
            assert session.scalar(select(func.count()).select_from(m.Evidence)) == 0
    finally:
        elsewhere.release()
