"""Run the district's jobs on their cron schedules, unattended, one scheduler per district.

Why a loop of our own around APScheduler's cron triggers rather than its
scheduler (decision 0015):

- **Runs happen in the main thread**, one after another, so SIGTERM reaches
  the run in progress and stops it at its next batch boundary; a thread pool
  cannot be told that.
- **Missed runs are found in the run history**, not in memory: a run due while
  the machine was down runs once on start, if it was due less than the job's
  ``catch_up_hours`` ago, however many times it was missed.
- **One scheduler per district** across processes and machines: an advisory
  lock on PostgreSQL, a file lock beside the SQLite file. A second scheduler
  says it is on standby and takes over when the first one goes away.

Cron expressions are read in the district's time zone: ``30 2 * * *`` is 2:30
in Denver, on both sides of a daylight-saving change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.cron import missed_run, next_run, utc_now
from connector.config.model import JobConfig, Settings
from connector.errors import BusyError, ConnectorError
from connector.jobs import definitions
from connector.jobs.dispatch import Send, mark_sent, unsent_runs
from connector.persistence import models as m
from connector.persistence.locks import NamedLock
from connector.persistence.tenancy import tenant_session
from connector.sync import transcript_batches
from connector.sync.district import ensure_district
from connector.sync.report import INTERRUPTED, QUEUED, RunReport
from connector.sync.run_lock import close_dead_runs
from connector.sync.run_requests import queued_runs, refuse, request_run
from connector.sync.stop import StopToken

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: Sleep up to this many seconds; True when a stop was asked for meanwhile.
Sleep = Callable[[float], bool]
#: Runs one job: (job key, stop token) -> its report. The default is definitions.run.
RunJob = Callable[[str, StopToken], RunReport]
#: Called between runs, at most once a minute: alerts for stale jobs, the daily digest.
Housekeeping = Callable[[datetime], None]
#: Runs a queued run ("run now"): (job key, run id, stop token) -> its report.
RunQueued = Callable[[str, int, StopToken], RunReport]


@dataclass
class Entry:
    """One scheduled job: when it is next due, and whether that is a catch-up."""

    job: JobConfig
    due: datetime
    catch_up: bool = False


def last_starts(factory: sessionmaker[Session], district_id: int) -> dict[str, datetime]:
    """When each job last started, by any hand (a manual run counts)."""
    with tenant_session(factory, district_id) as session:
        return {job: started for job, started in session.execute(
            select(m.SyncRun.job, func.max(m.SyncRun.started_at))
            .where(m.SyncRun.status != QUEUED).group_by(m.SyncRun.job))}


def plan(settings: Settings, starts: dict[str, datetime], now: datetime) -> list[Entry]:
    """Every scheduled job with its next due time; a missed one is due now."""
    zone = settings.district.timezone
    entries = []
    for job in settings.jobs.values():
        if not job.schedule:
            continue
        missed = missed_run(job.schedule, zone, starts.get(job.key), now,
                            timedelta(hours=job.catch_up_hours))
        if missed is not None:
            entries.append(Entry(job, now, catch_up=True))
        else:
            entries.append(Entry(job, next_run(job.schedule, zone, now)))
    return entries


def local(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%a %Y-%m-%d %H:%M %Z")


class Scheduler:
    """The scheduler of one district; :meth:`serve` returns when a stop is asked for."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings, stop: StopToken, *,
                 out: Callable[[str], None], clock: Clock = utc_now, sleep: Sleep | None = None,
                 run: RunJob | None = None, housekeeping: Housekeeping | None = None,
                 standby_poll: float = 15.0, tick: float = 60.0,
                 run_queued: RunQueued | None = None, queue_poll: float | None = 5.0,
                 send: Send | None = None) -> None:
        self.factory = factory
        self.settings = settings
        self.stop = stop
        self.out = out
        self.clock = clock
        self.sleep: Sleep = sleep or stop.wait
        self.run_job: RunJob = run or (lambda job, token: definitions.run(
            factory, settings, job, stop=token))
        self.run_queued: RunQueued = run_queued or (lambda job, run_id, token: definitions.run(
            factory, settings, job, stop=token, run_id=run_id))
        #: Where runs go with the celery backend; None: this process runs them (inline).
        self.send = send
        #: How often to look for runs people asked for; None: never (tests of the schedule).
        self.queue_poll = queue_poll
        self.housekeeping = housekeeping
        self.standby_poll = standby_poll
        self.tick = tick
        self.zone = settings.district.timezone
        self.district_id = ensure_district(factory, settings.district)
        self.lock = NamedLock(factory.kw["bind"], f"scheduler:{settings.district.key}")

    def serve(self) -> None:
        """Stand by until this is the district's scheduler, then run jobs until stopped."""
        try:
            while not self.stop.requested:
                if not self._become_active():
                    return
                self._run_until_stopped_or_lost()
        finally:
            self.lock.release()

    def _become_active(self) -> bool:
        told = False
        while not self.lock.try_acquire():
            if not told:
                self.out(f"standby: another scheduler is running the jobs of "
                         f"{self.settings.district.key!r}; this one takes over when it stops "
                         f"(checking every {self.standby_poll:g} s)")
                told = True
            if self.sleep(self.standby_poll):
                return False
        self.out(f"active: running the scheduled jobs of {self.settings.district.key!r} "
                 f"(times in {self.zone})")
        for run_id in close_dead_runs(self.factory, self.district_id):
            self.out(f"run {run_id} had been left running by a process that is gone: "
                     f"recorded as interrupted")
        for batch_id in transcript_batches.close_dead_batches(self.factory, self.district_id):
            self.out(f"transcript batch {batch_id} had been left rendering by a process that "
                     f"is gone: recorded as failed")
        return True

    def _run_until_stopped_or_lost(self) -> None:
        entries = plan(self.settings, last_starts(self.factory, self.district_id), self.clock())
        if not entries:
            self.out("no job has a schedule; waiting for a stop signal")
        for entry in entries:
            self._announce(entry)
        last_tick: datetime | None = None
        while not self.stop.requested:
            if not self.lock.still_held():
                self.out("lost the scheduler lock (the database connection dropped); "
                         "standing by")
                return
            self._run_asked_for()
            if self.stop.requested:
                return
            now = self.clock()
            for entry in sorted((e for e in entries if e.due <= now), key=lambda e: e.due):
                self._run(entry)
                if self.stop.requested:
                    return
                entry.due = next_run(entry.job.schedule or "", self.zone, self.clock())
                entry.catch_up = False
                self._announce(entry)
            now = self.clock()
            if self.housekeeping is not None and (
                    last_tick is None or (now - last_tick).total_seconds() >= self.tick):
                last_tick = now
                try:
                    self.housekeeping(now)
                except Exception:  # alerts must never stop the schedule
                    log.exception("scheduler housekeeping failed")
            due = min((e.due for e in entries), default=now + timedelta(seconds=self.tick))
            self.sleep(min(max((due - now).total_seconds(), 0.0), self.tick,
                           self.queue_poll if self.queue_poll is not None else self.tick))

    def _run_asked_for(self) -> None:
        """Every queued run ("run now"), oldest first, each as the run it was queued as.

        Then every queued transcript batch from the registrar's desk.
        """
        if self.queue_poll is None:
            return
        if self.send is not None:
            self._send_unsent()
        for run_id, key in ([] if self.send is not None else
                            queued_runs(self.factory, self.district_id)):
            self.out(f"{key}: starting run {run_id}, asked for through the API")
            try:
                report = self.run_queued(key, run_id, self.stop)
            except BusyError as exc:  # running elsewhere: it stays queued for the next look
                self.out(f"{key}: run {run_id} waits, {exc.message}")
                continue
            except ConnectorError as exc:  # its job was removed from the configuration
                self.out(f"{key}: run {run_id} cannot start: {exc}")
                refuse(self.factory, self.district_id, run_id, f"could not start: {exc}")
                continue
            self._told(key, report)
            if self.stop.requested:
                return
        for batch_id in transcript_batches.queued_batches(self.factory, self.district_id):
            self.out(f"transcripts: rendering batch {batch_id}, asked for at the registrar's desk")
            done = transcript_batches.run_batch(self.factory, self.settings, self.district_id,
                                                batch_id, clock=self.clock)
            self.out(f"transcripts: batch {batch_id} {done['status']}: {done['message']}")
            if self.stop.requested:
                return

    def _announce(self, entry: Entry) -> None:
        if entry.catch_up:
            self.out(f"{entry.job.key}: missed a scheduled run while no scheduler was "
                     f"running; running it now")
        else:
            self.out(f"{entry.job.key}: next run {local(entry.due, self.zone)}")

    def _send_unsent(self) -> None:
        """Hand every queued run not yet sent to the workers, oldest first.

        Send, then mark: a lost mark sends it twice, and the second delivery finds the
        run ended or running and does nothing. A run the broker refused stays unsent
        for the next look.
        """
        assert self.send is not None
        for run_id, key in unsent_runs(self.factory, self.district_id):
            try:
                self.send(self.settings.district.key, key, run_id)
            except Exception as exc:  # the broker is down
                log.warning("run %s could not be sent to the workers: %s", run_id,
                            type(exc).__name__)
                self.out(f"{key}: run {run_id} could not be sent to the workers "
                         f"({type(exc).__name__}); it stays queued and is sent at the next "
                         f"look")
                continue
            mark_sent(self.factory, self.district_id, run_id)
            self.out(f"{key}: run {run_id} sent to the workers")

    def _run(self, entry: Entry) -> None:
        key = entry.job.key
        if self.send is not None:
            with tenant_session(self.factory, self.district_id) as session, session.begin():
                run_id, made = request_run(session, self.settings, key, by="scheduler")
            if not made:
                self.out(f"{key}: run {run_id} is still queued; not queued again")
            self._send_unsent()
            return
        self.out(f"{key}: starting")
        try:
            report = self.run_job(key, self.stop)
        except BusyError as exc:
            self.out(f"{key}: skipped, {exc.message}")
            return
        self._told(key, report)

    def _told(self, key: str, report: RunReport) -> None:
        took = ((report.finished_at or self.clock()) - report.started_at).total_seconds()
        line = f"{key}: run {report.run_id} {report.status} in {took:.1f} s"
        if report.status == INTERRUPTED:
            line += f" ({report.interrupted})"
        elif report.errors:
            line += f": {report.errors[0]}"
        self.out(line)
