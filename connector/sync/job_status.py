"""Where each configured job stands: its last run, its last success, whether it is stale.

The status endpoint, the stale-job alerts and the daily digest read this one
function, so a monitoring tool, an email and the console never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.config.cron import next_run
from connector.config.model import JobConfig, Settings
from connector.persistence import models as m
from connector.sync.report import QUEUED, SUCCEEDED, WITH_REJECTIONS
from connector.sync.run_history import RunSummary, summarise

SUCCESSES = (SUCCEEDED, WITH_REJECTIONS)


@dataclass(frozen=True)
class JobState:
    job: str
    schedule: str | None
    last_run: RunSummary | None
    last_success_id: int | None
    last_success_at: datetime | None
    stale_after_hours: float | None
    stale: bool
    held_pushes: int = 0

    @property
    def condition(self) -> str:
        """One word a monitoring tool matches on: the last run's status, or worse news."""
        if self.last_run is None:
            return "never_run"
        if self.last_run.status == "running":
            return "stale" if self.stale else "running"
        if self.last_run.status == "failed":
            return "failed"
        if self.stale:
            return "stale"
        if self.held_pushes:
            return "held"
        return self.last_run.status

    def conditions(self) -> set[str]:
        """Everything true of the job that a district may count as unhealthy."""
        found = set()
        if self.last_run is None:
            found.add("never_run")
        elif self.last_run.status in ("failed", "interrupted"):
            found.add(self.last_run.status)
        if self.stale:
            found.add("stale")
        if self.held_pushes:
            found.add("held")
        return found

    def as_dict(self, now: datetime) -> dict[str, Any]:
        run = self.last_run
        ended = (run.finished_at or run.started_at) if run else None
        return {
            "job": self.job, "schedule": self.schedule, "condition": self.condition,
            "stale": self.stale, "stale_after_hours": self.stale_after_hours,
            "held_pushes": self.held_pushes,
            "last_run": run.as_dict() if run else None,
            "last_run_age_seconds": round((now - ended).total_seconds()) if ended else None,
            "last_success_id": self.last_success_id,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
        }


def stale_limit(job: JobConfig, settings: Settings) -> float | None:
    """Hours without success before a job is stale: its own setting, else the district's."""
    if job.stale_after_hours is not None:
        return job.stale_after_hours
    return settings.district.alerts.stale_after_hours if job.schedule else None


def is_stale(limit: float | None, last_success: datetime | None, first_run: datetime | None,
             now: datetime) -> bool:
    """Stale: no success within ``limit`` hours (counted from the first run if none ever)."""
    if limit is None:
        return False
    since = last_success or first_run
    return since is not None and now - since > timedelta(hours=limit)


def job_states(session: Session, settings: Settings, now: datetime) -> list[JobState]:
    """Every configured job, in configuration order.

    A run waiting in the queue is not the job's state: a failed job that someone asked
    to run again is still failed until that run starts (the board shows the queued run
    beside it).
    """
    latest = {run.job: run for run in session.scalars(
        select(m.SyncRun).where(m.SyncRun.id.in_(
            select(func.max(m.SyncRun.id)).where(m.SyncRun.status != QUEUED)
            .group_by(m.SyncRun.job))))}
    successes = {job: (run_id, at) for job, run_id, at in session.execute(
        select(m.SyncRun.job, func.max(m.SyncRun.id), func.max(m.SyncRun.started_at))
        .where(m.SyncRun.status.in_(SUCCESSES)).group_by(m.SyncRun.job))}
    firsts = dict(session.execute(select(m.SyncRun.job, func.min(m.SyncRun.started_at))
                                  .group_by(m.SyncRun.job)).all())
    held: dict[str, int] = {}
    for destination, count in session.execute(
            select(m.PushRun.destination, func.count(m.PushRun.id))
            .where(m.PushRun.status == "held").group_by(m.PushRun.destination)):
        held[destination] = count
    states = []
    for job in settings.jobs.values():
        limit = stale_limit(job, settings)
        success_id, success_at = successes.get(job.key, (None, None))
        run = latest.get(job.key)
        states.append(JobState(
            job=job.key, schedule=job.schedule, last_run=summarise(run) if run else None,
            last_success_id=success_id, last_success_at=success_at, stale_after_hours=limit,
            stale=is_stale(limit, success_at, firsts.get(job.key), now),
            held_pushes=sum(held.get(d, 0) for d in job.destinations)))
    return states


def board(session: Session, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """The IT console's status board: each job's state, next scheduled run, a queued run."""
    queued = dict(session.execute(select(m.SyncRun.job, m.SyncRun.id).where(
        m.SyncRun.status == QUEUED).order_by(m.SyncRun.id.desc())).all())
    jobs = []
    for state in job_states(session, settings, now):
        row = state.as_dict(now)
        job = settings.jobs[state.job]
        row["kind"] = job.kind
        row["next_run_at"] = (next_run(job.schedule, settings.district.timezone, now).isoformat()
                              if job.schedule else None)
        row["queued_run_id"] = queued.get(state.job)
        jobs.append(row)
    return jobs
