"""The scheduler as IT staff run it: the image's default command, started for real.

A job whose schedule fires every minute has always just been due: a scheduler
starting with no run recorded makes that run up at once (a missed run), so a
test sees a scheduled run within seconds without waiting on the clock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import Settings
from connector.errors import BusyError
from connector.jobs.scheduler import Scheduler
from connector.sync.report import RunReport
from connector.sync.stop import StopToken
from tests.conftest import ROOT, make_workspace
from tests.fakes.gate import gated_file
from tests.integration.test_run_lifecycle import edit, read_until, runs


def image_command() -> list[str]:
    """The Dockerfile's CMD, as the image runs it."""
    text = (ROOT / "Dockerfile").read_text()
    (line,) = [ln for ln in text.splitlines() if ln.startswith("CMD ")]
    command: list[str] = json.loads(line[4:])
    return command


@contextmanager
def scheduler(workspace: Path, db_url: str, *extra: str) -> Iterator[subprocess.Popen[str]]:
    """The image's default command with the image's environment, on this workspace."""
    command = image_command()
    assert command[0] == "connector"
    env = {**os.environ, "CONNECTOR_CONFIG_DIR": str(workspace / "config"),
           "CONNECTOR_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    env.pop("CONNECTOR_DISTRICT", None)
    with subprocess.Popen([sys.executable, "-m", "connector.cli.main", *command[1:], *extra],
                          cwd=workspace, env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def every_minute(data: dict[str, Any]) -> None:
    data["jobs"][0]["schedule"] = "* * * * *"
    data["jobs"][1].pop("schedule")


def an_hour_ago_daily(data: dict[str, Any]) -> None:
    """Daily at the district's time an hour ago: missed (so run now), next due in ~23 h.

    Every minute would race the test: on a loaded machine the next minute's run can
    start as the test sends SIGTERM.
    """
    then = datetime.now(ZoneInfo("America/Denver")) - timedelta(hours=1)
    data["jobs"][0]["schedule"] = f"{then.minute} {then.hour} * * *"
    data["jobs"][1].pop("schedule")


def test_the_image_command_runs_a_due_job_and_exits_0_on_sigterm(
        tmp_path: Path, db_url: str, small_sample: Path) -> None:
    workspace = make_workspace(tmp_path, small_sample)  # processes, not data: the small sample
    edit(workspace, "jobs.yaml", an_hour_ago_daily)
    with scheduler(workspace, db_url) as process:
        seen = read_until(process.stdout, "nightly-sync: run 1 ", lines=20)
        assert "active: running the scheduled jobs of 'cedar-ridge' (times in America/Denver)" \
            in seen
        assert "nightly-sync: missed a scheduled run while no scheduler was running; " \
               "running it now" in seen
        assert re.search(r"nightly-sync: run 1 succeeded_with_rejections in \d+\.\d s", seen)
        after = read_until(process.stdout, "nightly-sync: next run")
        assert re.search(r"next run \w{3} \d{4}-\d\d-\d\d \d\d:\d\d M[SD]T", after)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "scheduler stopped" in out
    assert [r["status"] for r in runs(workspace, db_url)] == ["succeeded_with_rejections"]


def test_sigterm_during_a_scheduled_run_interrupts_it_and_exits_0(
        tmp_path: Path, db_url: str, small_sample: Path) -> None:
    workspace = make_workspace(tmp_path, small_sample)  # processes, not data: the small sample
    edit(workspace, "jobs.yaml", every_minute)
    dok = workspace / "examples" / "sample-district" / "case" / "webb-dok.json"
    with gated_file(dok) as gate:
        edit(workspace, "district.yaml", lambda d: d["frameworks"][0].update(location=gate.url))
        with scheduler(workspace, db_url) as process:
            gate.wait_for_request()
            process.send_signal(signal.SIGTERM)
            read_until(process.stderr, "SIGTERM received: the scheduler stops after")
            gate.open()
            out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert re.search(r"nightly-sync: run 1 interrupted in [\d.]+ s \(SIGTERM received; "
                     r"stopped before framework math-ela\)", out)
    (run,) = runs(workspace, db_url)
    assert run["status"] == "interrupted" and "SIGTERM" in run["reason"]


def test_a_second_scheduler_stands_by_and_takes_over_when_the_first_dies(
        tmp_path: Path, db_url: str, small_sample: Path) -> None:
    workspace = make_workspace(tmp_path, small_sample)  # processes, not data: the small sample
    edit(workspace, "jobs.yaml", lambda d: d["jobs"][0].update(catch_up_hours=0))
    with scheduler(workspace, db_url, "--standby-poll", "0.2") as first:
        read_until(first.stdout, "active:")
        with scheduler(workspace, db_url, "--standby-poll", "0.2") as second:
            told = read_until(second.stdout, "standby:")
            assert "another scheduler is running the jobs of 'cedar-ridge'" in told
            first.send_signal(signal.SIGKILL)  # no goodbye: the lock goes with the process
            first.communicate(timeout=30)
            took_over = read_until(second.stdout, "active:")
            assert "nightly-sync: next run" in read_until(second.stdout, "nightly-sync:")
            assert "active: running the scheduled jobs" in took_over
            second.send_signal(signal.SIGINT)
            out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err


def test_the_image_builds_where_a_docker_daemon_answers(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True,
                                        timeout=30).returncode != 0:
        pytest.skip("no Docker daemon answers on this machine: the image was not built "
                    "(its default command is exercised by the scheduler tests above)")
    built = subprocess.run([docker, "build", "-t", "mastery-connector:test", str(ROOT)],
                           capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stderr[-2000:]


class FakeTime:
    """A clock the scheduler's sleeps move forward: a week of schedule in milliseconds."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> bool:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
        return False


def test_the_loop_runs_each_job_at_its_time_in_the_district_zone(
        settings: Settings, factory: sessionmaker[Session]) -> None:
    start = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # Friday 09:00 in Denver
    fake = FakeTime(start)
    stop = StopToken()
    ran: list[tuple[str, datetime]] = []
    told: list[str] = []

    def run(job: str, token: StopToken) -> RunReport:
        ran.append((job, fake.now))
        if len(ran) == 5:
            stop.request("the test has seen enough")
        report = RunReport(len(ran), job, "cedar-ridge", "v", fake.now, status="succeeded")
        report.finished_at = fake.now + timedelta(seconds=30)
        fake.now += timedelta(seconds=30)
        return report

    Scheduler(factory, settings, stop, out=told.append, clock=fake.clock, sleep=fake.sleep,
              run=run, tick=3600, queue_poll=None).serve()
    # This morning's 02:30 (Denver; 09:30 UTC) had no run: made up at once. Then each night,
    # and Monday's transcripts at 06:00 Denver (13:00 UTC), after that night's sync.
    assert ran == [("nightly-sync", start),
                   ("nightly-sync", datetime(2026, 12, 5, 9, 30, tzinfo=UTC)),
                   ("nightly-sync", datetime(2026, 12, 6, 9, 30, tzinfo=UTC)),
                   ("nightly-sync", datetime(2026, 12, 7, 9, 30, tzinfo=UTC)),
                   ("weekly-transcripts", datetime(2026, 12, 7, 13, 0, tzinfo=UTC))]
    assert "nightly-sync: missed a scheduled run while no scheduler was running; running it " \
           "now" in told
    assert "nightly-sync: next run Sat 2026-12-05 02:30 MST" in told
    assert "weekly-transcripts: next run Mon 2026-12-07 06:00 MST" in told
    assert max(fake.slept) <= 3600  # it wakes at least every tick, for alerts and the lock


def test_a_job_already_running_elsewhere_is_skipped_not_doubled(
        settings: Settings, factory: sessionmaker[Session]) -> None:
    fake = FakeTime(datetime(2026, 12, 5, 9, 29, 59, tzinfo=UTC))
    stop = StopToken()
    told: list[str] = []
    calls: list[str] = []

    def run(job: str, token: StopToken) -> RunReport:
        calls.append(job)
        stop.request("done")
        raise BusyError("job 'nightly-sync' is already running (run 7) in another process")

    Scheduler(factory, settings, stop, out=told.append, clock=fake.clock, sleep=fake.sleep,
              run=run).serve()
    assert calls == ["nightly-sync"]
    assert "nightly-sync: skipped, job 'nightly-sync' is already running (run 7) in another " \
           "process" in told
