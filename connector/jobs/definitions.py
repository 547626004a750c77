"""Run a configured job by key: the one entry point the CLI, scheduler and API share."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import JobConfig, Settings
from connector.sync.report import RunReport
from connector.sync.runner import JobHook, run_job
from connector.transcripts.service import build_for_students, district_today, write_transcripts


def transcripts_step(session: Session, settings: Settings, job: JobConfig,
                     report: RunReport) -> None:
    """A transcripts job: every student's transcript into the job's ``out`` folder."""
    out = settings.resolve_path(str(job.options.get("out", "out/transcripts")))
    formats = tuple(job.options.get("formats", ("pdf", "html")))
    transcripts = build_for_students(session, settings, None, district_today(settings))
    batch = write_transcripts(transcripts, out, formats=formats)
    report.transcripts = {"students": batch.count, "files": len(batch.files), "out": str(out)}


HOOKS: dict[str, JobHook] = {"transcripts": transcripts_step}


def run(factory: sessionmaker[Session], settings: Settings, job_key: str, *,
        full: bool = False) -> RunReport:
    return run_job(factory, settings, job_key, hooks=HOOKS, full=full)
