"""Runs on Celery workers over the real RabbitMQ, in PostgreSQL, with real worker processes.

A worker killed with SIGKILL in the middle of a run (its mastery step done but not
committed) must leave nothing lost and nothing twice: the broker gives the run to
the other worker, which finishes it as the same run, and the records are those of
a run nobody interrupted.
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.loader import load_settings
from connector.config.model import Settings
from connector.jobs import definitions
from connector.jobs.dispatch import mark_sent
from connector.jobs.workers import Sender
from connector.persistence import models as m
from connector.persistence.db import make_engine, make_session_factory
from connector.persistence.tenancy import tenant_session
from connector.sync.district import ensure_district
from connector.sync.report import FINAL
from connector.sync.run_requests import request_run
from tests.conftest import ROOT, PgDatabases, _pg_url, make_workspace, own_examples

JOB = "nightly-sync"
DEADLINE = 180.0  # seconds a worker is given to take or finish a small run
#: Where a handed-over run ends. "interrupted" is not here: a stopped worker's run is
#: interrupted on its way back to the broker, and the next worker resumes it.
DONE = ("succeeded", "succeeded_with_rejections", "failed")


@pytest.fixture
def queue(rabbitmq_url: str) -> Iterator[str]:
    """A queue of this test's own, deleted after it: tests in parallel share the broker."""
    import kombu

    name = f"connector-test-{uuid.uuid4().hex[:12]}"
    yield name
    with kombu.Connection(rabbitmq_url) as connection, contextlib.suppress(Exception):
        connection.default_channel.queue_delete(name)  # may never have been declared


@pytest.fixture
def stores(pg_databases: PgDatabases, pg_template: str) -> Iterator[Any]:
    """Makes migrated PostgreSQL databases: (url, session factory) each."""
    engines = []

    def make() -> tuple[str, sessionmaker[Session]]:
        url = _pg_url(pg_databases.create(template=pg_template))
        engines.append(make_engine(url))
        return url, make_session_factory(engines[-1])

    yield make
    for engine in engines:
        engine.dispose()


def snapshot(factory: sessionmaker[Session], district_id: int) -> dict[str, Any]:
    """Every record and piece of evidence by natural keys: what two runs must agree on."""
    with tenant_session(factory, district_id) as session:
        records = sorted(tuple(row) for row in session.execute(
            select(m.Student.sourced_id, m.Competency.identifier, m.MasteryRecord.state,
                   m.MasteryRecord.level_code, m.MasteryRecord.proficient,
                   m.MasteryRecord.evidence_count, m.MasteryRecord.highest_dok,
                   m.MasteryRecord.input_hash)
            .join(m.Student, m.Student.id == m.MasteryRecord.student_id)
            .join(m.Competency, m.Competency.id == m.MasteryRecord.competency_id)))
        evidence = session.scalar(select(func.count()).select_from(m.Evidence))
    return {"records": records, "evidence": evidence}


class Workers:
    """``connector worker`` processes on one queue, killed at the end whatever happened."""

    def __init__(self, stack: ExitStack, workspace: Path, url: str, broker: str,
                 queue: str) -> None:
        self.stack = stack
        self.env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(workspace / "config"),
                    "CONNECTOR_DATABASE_URL": url, "CONNECTOR_BROKER_URL": broker,
                    "CONNECTOR_BROKER_QUEUE": queue, "PYTHONUNBUFFERED": "1"}
        self.env.pop("CONNECTOR_DISTRICT", None)
        self.logs = workspace / "logs"
        self.logs.mkdir()

    def start(self, name: str, **extra: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        self.stack.callback(log.close)
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.lost_worker", "worker", "--name", name],
            cwd=ROOT, env={**self.env, **extra}, stdout=log, stderr=subprocess.STDOUT)
        self.stack.callback(self._end, process)
        return process

    @staticmethod
    def _end(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")


def wait_for(what: str, done: Any, workers: Workers, *names: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = done()
        if value:
            return value
        time.sleep(0.2)
    logs = "\n".join(f"--- {n}\n{workers.log(n)[-3000:]}" for n in names)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def status_of(factory: sessionmaker[Session], district_id: int, run_id: int) -> m.SyncRun:
    with tenant_session(factory, district_id) as session:
        run = session.get(m.SyncRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


def zero_some_scores(workspace: Path) -> int:
    """Today's changes: every seventh graded result falls to 0. How many changed."""
    path = workspace / "examples" / "sample-district" / "oneroster" / "results.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = reader.fieldnames, list(reader)
    assert header is not None
    graded = [row for row in rows if row["score"] not in ("", "0")]
    for row in graded[::7]:
        row["score"] = "0"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(graded[::7])


def last_night(tmp_path: Path, name: str, sample: Path,
               factory: sessionmaker[Session]) -> tuple[Path, Settings, int]:
    """A district synced once (inline), whose scores then changed: (workspace, settings, id)."""
    workspace = own_examples(make_workspace(tmp_path / name, sample), sample)
    settings = load_settings(workspace / "config")
    assert definitions.run(factory, settings, JOB).status in FINAL
    assert zero_some_scores(workspace) > 0
    return workspace, settings, ensure_district(factory, settings.district)


def test_a_worker_killed_mid_run_leaves_the_records_an_uninterrupted_run_makes(
        tmp_path: Path, rabbitmq_url: str, queue: str, stores: Any, small_sample: Path) -> None:
    handed_over(tmp_path, rabbitmq_url, queue, stores, small_sample, lose_in="mastery",
                exit_code=-signal.SIGKILL, left="running")


def test_a_worker_told_to_stop_mid_run_hands_the_run_to_another(
        tmp_path: Path, rabbitmq_url: str, queue: str, stores: Any, small_sample: Path) -> None:
    handed_over(tmp_path, rabbitmq_url, queue, stores, small_sample, lose_in="term",
                exit_code=0, left="interrupted")


def handed_over(tmp_path: Path, rabbitmq_url: str, queue: str, stores: Any, sample: Path, *,
                lose_in: str, exit_code: int, left: str) -> None:
    """A run one worker loses (``lose_in``), finished by another as if never interrupted."""
    small_sample = sample
    # The reference: the same district and the same changes, synced inline, uninterrupted.
    _, reference = stores()
    _, settings, district_id = last_night(tmp_path, "reference", small_sample, reference)
    assert definitions.run(reference, settings, JOB).changes > 0
    expected = snapshot(reference, district_id)

    url, factory = stores()
    workspace, settings, district_id = last_night(tmp_path, "celery", small_sample, factory)
    before = snapshot(factory, district_id)
    assert before != expected, "the changes must change records, or this test shows nothing"
    with tenant_session(factory, district_id) as session, session.begin():
        run_id, _ = request_run(session, settings, JOB, by="test")
    Sender(rabbitmq_url, queue)(settings.district.key, JOB, run_id)
    mark_sent(factory, district_id, run_id)

    with ExitStack() as stack:
        workers = Workers(stack, workspace, url, rabbitmq_url, queue)
        lost = workers.start("lost", LOSE_IN=lose_in)
        # It took the run and went away in the mastery step: killed before the step
        # committed (the run is left running), or told to stop (it stops before the push).
        assert lost.wait(timeout=DEADLINE) == exit_code, workers.log("lost")
        assert status_of(factory, district_id, run_id).status == left
        if lose_in == "mastery":
            assert snapshot(factory, district_id) == before

        workers.start("other")
        finished = wait_for("the other worker to finish the run",
                            lambda: (run := status_of(factory, district_id, run_id)).status
                            in DONE and run, workers, "other")
        assert finished.status in ("succeeded", "succeeded_with_rejections"), finished.message
        assert "resumed: the worker running it before was lost" in finished.message
        assert snapshot(factory, district_id) == expected
        with tenant_session(factory, district_id) as session:  # last night's and this one
            assert session.scalar(select(func.count()).select_from(m.SyncRun)) == 2
        assert "Task connector.run" in workers.log("other")

        # The same inputs again, through the broker: a run that changes nothing.
        with tenant_session(factory, district_id) as session, session.begin():
            again, _ = request_run(session, settings, JOB, by="test")
        Sender(rabbitmq_url, queue)(settings.district.key, JOB, again)
        rerun = wait_for("the rerun", lambda: (run := status_of(
            factory, district_id, again)).status in DONE and run, workers, "other")
        assert rerun.counts["changes"] == 0, rerun.message
        assert snapshot(factory, district_id) == expected


def test_the_scheduler_on_the_celery_backend_sends_a_run_a_worker_does(
        tmp_path: Path, rabbitmq_url: str, queue: str, stores: Any, small_sample: Path) -> None:
    """`connector scheduler --backend celery` and `connector worker`, as the README runs them."""
    url, factory = stores()
    workspace = make_workspace(tmp_path / "district", small_sample)
    settings = load_settings(workspace / "config")
    district_id = ensure_district(factory, settings.district)
    with tenant_session(factory, district_id) as session, session.begin():
        run_id, _ = request_run(session, settings, JOB, by="user:it.lead@cedar-ridge.example")
    with ExitStack() as stack:
        workers = Workers(stack, workspace, url, rabbitmq_url, queue)
        log = (workers.logs / "scheduler.log").open("wb")
        stack.callback(log.close)
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "connector.cli.main", "scheduler", "--backend", "celery"],
            cwd=ROOT, env=workers.env, stdout=log, stderr=subprocess.STDOUT)
        stack.callback(Workers._end, scheduler)
        wait_for("the scheduler to send the run", lambda: "sent to the workers" in
                 status_of(factory, district_id, run_id).message, workers, "scheduler")
        assert status_of(factory, district_id, run_id).status == "queued"  # it ran nothing
        workers.start("worker")
        done = wait_for("the worker to do the run", lambda: (run := status_of(
            factory, district_id, run_id)).status in DONE and run, workers, "worker",
            "scheduler")
        assert done.status.startswith("succeeded"), done.message
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=60) == 0, workers.log("scheduler")
    assert f"run {run_id} sent to the workers" in workers.log("scheduler")
    with tenant_session(factory, district_id) as session:
        # One run of the job, the one asked for: the scheduler found it queued and did not
        # queue another. (The scheduler reads the real clock: on a Monday morning it also
        # sends the weekly transcripts job it finds missed, which is not this job's run.)
        assert session.scalar(select(func.count()).select_from(m.SyncRun)
                              .where(m.SyncRun.job == JOB)) == 1
