"""Transcript batches from the registrar's desk: queued by a person, rendered by the scheduler.

A cohort's transcripts take minutes to render, longer than a web request should
hold a worker, so the desk writes a ``queued`` batch and answers at once; the
district's scheduler renders queued batches between its runs, as it does the runs
people ask for, and counts ``done`` as each transcript is written so the desk can
show progress. The result is one zip of the batch's files under the district's
output folder; the store keeps where, never the files.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import Settings
from connector.errors import DataError, NotFoundError
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.persistence.tenancy import tenant_session
from connector.sync import audit
from connector.sync.transcript_summary import build_for_students
from connector.transcripts.service import FORMATS, district_today, write_transcripts

log = logging.getLogger(__name__)
QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
#: The most students one batch may hold: a whole high school, not a whole state.
MAX_STUDENTS = 5000
#: Where batches are written, under the folder that holds the configuration.
OUT = "out/transcripts/batches"
#: How often the scheduler records progress: every this many transcripts.
PROGRESS_EVERY = 10


def request_batch(session: Session, students: Sequence[str], *, by: str,
                  formats: Sequence[str] = ("pdf",), now: datetime | None = None) -> int:
    """Queue a batch for these students (SIS ids, each once); audited. Returns its id."""
    wanted = list(dict.fromkeys(s.strip() for s in students if s.strip()))
    if not wanted:
        raise DataError("choose at least one student")
    if len(wanted) > MAX_STUDENTS:
        raise DataError(f"{len(wanted)} students is more than a batch holds ({MAX_STUDENTS}): "
                        "choose a school or a grade")
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise DataError(f"formats are {', '.join(FORMATS)}: not {', '.join(unknown) or 'none'}")
    found = set(session.scalars(select(m.Student.sourced_id).where(
        m.Student.sourced_id.in_(wanted))))
    missing = [s for s in wanted if s not in found]
    if missing:
        raise DataError(f"no student with SIS id {', '.join(missing[:5])}"
                        f"{' and more' if len(missing) > 5 else ''}")
    now = now or utcnow()
    batch = m.TranscriptBatch(status=QUEUED, students=wanted, formats=list(formats),
                              total=len(wanted), done=0, requested_by=by[:255],
                              requested_at=now, message="queued: the scheduler renders it")
    session.add(batch)
    session.flush()
    audit.record(session, at=now, actor=by, action="transcripts.batch",
                 subject=f"batch:{batch.id}",
                 after={"students": len(wanted), "formats": list(formats)})
    return int(batch.id)


def describe(batch: m.TranscriptBatch) -> dict[str, Any]:
    return {"id": batch.id, "status": batch.status, "total": batch.total, "done": batch.done,
            "formats": list(batch.formats), "requested_by": batch.requested_by,
            "requested_at": batch.requested_at, "started_at": batch.started_at,
            "finished_at": batch.finished_at, "message": batch.message,
            "ready": batch.status == SUCCEEDED and bool(batch.folder)}


def recent(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    return [describe(b) for b in session.scalars(
        select(m.TranscriptBatch).order_by(m.TranscriptBatch.id.desc()).limit(limit))]


def find(session: Session, batch_id: int) -> m.TranscriptBatch:
    batch = session.get(m.TranscriptBatch, batch_id)
    if batch is None:
        raise NotFoundError(f"no transcript batch {batch_id}")
    return batch


def archive(settings: Settings, batch: m.TranscriptBatch) -> Path:
    """The batch's zip (NotFoundError until it is written, or when it was removed)."""
    path = settings.resolve_path(batch.folder) if batch.folder else None
    if path is None or batch.status != SUCCEEDED or not path.is_file():
        raise NotFoundError(f"transcript batch {batch.id} has no files to download")
    return path


def queued_batches(factory: sessionmaker[Session], district_id: int) -> list[int]:
    with tenant_session(factory, district_id) as session:
        return list(session.scalars(select(m.TranscriptBatch.id).where(
            m.TranscriptBatch.status == QUEUED).order_by(m.TranscriptBatch.id)))


def close_dead_batches(factory: sessionmaker[Session], district_id: int) -> list[int]:
    """Batches left running by a scheduler that is gone: failed, saying so (ask again)."""
    with tenant_session(factory, district_id) as session, session.begin():
        dead = list(session.scalars(select(m.TranscriptBatch).where(
            m.TranscriptBatch.status == RUNNING)))
        for batch in dead:
            batch.status, batch.finished_at = FAILED, utcnow()
            batch.message = ("interrupted: the scheduler rendering it stopped; ask for the "
                             "batch again")
        return [b.id for b in dead]


def run_batch(factory: sessionmaker[Session], settings: Settings, district_id: int,
              batch_id: int, *, clock: Callable[[], datetime] = utcnow,
              processes: int | None = None) -> dict[str, Any]:
    """Render a queued batch: its transcripts, then one zip. Returns the batch as the desk shows it.

    A batch that is not queued (already rendered, or taken by another scheduler) is
    left as it is. A failure ends the batch as failed with the reason; its partial
    files are removed, so a download is always a whole batch.
    """
    with tenant_session(factory, district_id) as session, session.begin():
        batch = find(session, batch_id)
        if batch.status != QUEUED:
            return describe(batch)
        batch.status, batch.started_at = RUNNING, clock()
        batch.message = "rendering"
        students, formats = list(batch.students), tuple(batch.formats)
    folder = settings.resolve_path(OUT) / str(batch_id)
    target = folder.with_suffix(".zip")
    written = 0

    def counted(step: int) -> None:
        nonlocal written
        written += step
        if written % PROGRESS_EVERY == 0 or written == len(students):
            _update(factory, district_id, batch_id, done=written)

    try:
        with tenant_session(factory, district_id) as session:
            present = set(session.scalars(select(m.Student.sourced_id).where(
                m.Student.sourced_id.in_(students))))
            kept = [s for s in students if s in present]  # purged since: left out, said
            built = build_for_students(session, settings, kept, district_today(settings))
        result = write_transcripts(built, folder, formats=formats, processes=processes,
                                   progress=counted)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name in sorted(result.files):
                bundle.write(name, Path(name).name)
        gone = len(students) - len(kept)
        message = f"{result.count} transcripts" + (
            f"; {gone} students left out: no longer in the roster" if gone else "")
        _update(factory, district_id, batch_id, done=result.count, status=SUCCEEDED,
                finished_at=clock(), message=message,
                folder=str(Path(OUT) / target.name))
    except Exception as exc:
        target.unlink(missing_ok=True)
        _update(factory, district_id, batch_id, status=FAILED, finished_at=clock(),
                message=f"failed: {type(exc).__name__}: {str(exc)[:500]}")
        # The log names the batch and the kind of failure, never what it was rendering.
        log.error("transcript batch %d failed: %s", batch_id, type(exc).__name__)
    finally:
        for leftover in folder.glob("*") if folder.is_dir() else ():
            leftover.unlink()
        if folder.is_dir():
            folder.rmdir()
    with tenant_session(factory, district_id) as session:
        return describe(find(session, batch_id))


def _update(factory: sessionmaker[Session], district_id: int, batch_id: int,
            **values: Any) -> None:
    with tenant_session(factory, district_id) as session, session.begin():
        batch = find(session, batch_id)
        for name, value in values.items():
            setattr(batch, name, value)
