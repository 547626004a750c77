"""Schedule the configured jobs with APScheduler 3.

Job ids are stable (``<district>:<job>``) so a restart replaces rather than
duplicates them; ``max_instances=1`` and ``coalesce`` mean a slow run is never
overlapped by the next tick and missed ticks collapse into one run.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import Settings
from connector.jobs import definitions

log = logging.getLogger(__name__)


def job_id(settings: Settings, job_key: str) -> str:
    return f"{settings.district.key}:{job_key}"


def run_scheduled(factory: sessionmaker[Session], settings: Settings, job_key: str) -> None:
    report = definitions.run(factory, settings, job_key)
    log.info("scheduled %s: %s", job_id(settings, job_key), report.summary_line())


def build_scheduler(factory: sessionmaker[Session], settings: Settings, *,
                    blocking: bool = False) -> BaseScheduler:
    """A scheduler with one entry per job that has a ``schedule``; not started."""
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler()
    for job in settings.jobs.values():
        if not job.schedule:
            continue
        scheduler.add_job(
            run_scheduled,
            CronTrigger.from_crontab(job.schedule),
            args=(factory, settings, job.key),
            id=job_id(settings, job.key),
            name=f"{settings.district.name}: {job.key}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
            replace_existing=True,
        )
    return scheduler
