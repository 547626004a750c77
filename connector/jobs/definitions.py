"""Run a configured job by key: the one entry point the CLI, scheduler and API share."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import JobConfig, Settings
from connector.persistence.locks import Waiter
from connector.sync.alerts import Alerts
from connector.sync.report import Progress, RunReport
from connector.sync.runner import JobHook, run_job
from connector.sync.stop import NEVER, StopToken
from connector.sync.transcript_summary import build_for_students
from connector.transcripts.service import district_today, write_transcripts


def transcripts_step(session: Session, settings: Settings, job: JobConfig,
                     report: RunReport) -> None:
    """A transcripts job: every student's transcript into the job's ``out`` folder."""
    out = settings.resolve_path(str(job.options.get("out", "out/transcripts")))
    formats = tuple(job.options.get("formats", ("pdf", "html")))
    transcripts = build_for_students(session, settings, None, district_today(settings))
    batch = write_transcripts(transcripts, out, formats=formats)
    report.transcripts = {"students": batch.count, "files": len(batch.files), "out": str(out)}


def delivery_step(session: Session, settings: Settings, job: JobConfig,
                  report: RunReport) -> None:
    """A delivery job: issued transcripts to the delivery targets, each file once.

    Delivery records each file as it is sent, in its own transactions, so it works in a
    session of its own beside the step's. A target that fails is this run's error (and
    so an alert); what it missed goes with the next run.
    """
    from connector.persistence.db import make_session_factory
    from connector.persistence.tenancy import session_district, tenant_session
    from connector.sync.transcript_delivery import deliver

    factory = make_session_factory(session.get_bind().engine)
    targets = tuple(job.options.get("targets", ()))
    with tenant_session(factory, session_district(session)) as own:
        done = deliver(own, settings, only=targets)
    report.notes.append("transcripts delivered: " + (", ".join(
        f"{key} {len(names)} file(s)" for key, names in done.sent.items()) or "no target"))
    for key, message in done.failed.items():
        report.errors.append(f"delivery {key}: {message}")


log = logging.getLogger(__name__)

HOOKS: dict[str, JobHook] = {"transcripts": transcripts_step, "delivery": delivery_step}


def run(factory: sessionmaker[Session], settings: Settings, job_key: str, *,
        full: bool = False, stop: StopToken = NEVER, wait: Waiter | None = None,
        progress: Progress | None = None, run_id: int | None = None) -> RunReport:
    """Run the job, then tell IT staff what it calls for (a failure, a held push)."""
    report = run_job(factory, settings, job_key, hooks=HOOKS, full=full, stop=stop, wait=wait,
                     progress=progress, run_id=run_id)
    try:
        Alerts(factory, settings).after_run(report)
    except Exception:  # an alert that cannot be sent never changes the run's outcome
        log.exception("alerts for run %s could not be sent", report.run_id)
    return report
