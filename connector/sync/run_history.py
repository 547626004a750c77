"""What happened to each run, in the words and numbers an IT lead reads in the morning.

``runs list``, ``runs show``, the API and the status endpoint all read runs
through here, so each says the same thing: status, how long, what changed,
how many rows were refused, and the first reason for a failure.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.adapters.csvfiles import safe_cell
from connector.errors import NotFoundError
from connector.persistence import models as m
from connector.persistence.models import utcnow


@dataclass(frozen=True)
class RunSummary:
    id: int
    job: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    changes: int
    rejections: int
    reason: str
    config_version: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "job": self.job, "status": self.status,
                "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "duration_seconds": self.duration_seconds, "changes": self.changes,
                "rejections": self.rejections, "reason": self.reason,
                "config_version": self.config_version}


def summarise(run: m.SyncRun) -> RunSummary:
    finished = run.finished_at
    duration = round((finished - run.started_at).total_seconds(), 1) if finished else None
    counts = run.counts or {}
    return RunSummary(
        id=run.id, job=run.job, status=run.status, started_at=run.started_at,
        finished_at=finished, duration_seconds=duration,
        changes=int(counts.get("changes") or 0), rejections=run.rejection_count or 0,
        reason=first_reason(run.message), config_version=run.config_version)


def first_reason(message: str) -> str:
    """The first line of a run's message: what stopped it, or the first stage that failed."""
    return (message or "").strip().split("\n", 1)[0]


def list_runs(session: Session, *, job: str | None = None, status: str | None = None,
              since: datetime | None = None, limit: int = 20) -> list[RunSummary]:
    """Runs newest first, filtered by job, status and start time."""
    query = select(m.SyncRun).order_by(m.SyncRun.id.desc()).limit(max(1, limit))
    if job:
        query = query.where(m.SyncRun.job == job)
    if status:
        query = query.where(m.SyncRun.status == status)
    if since is not None:
        query = query.where(m.SyncRun.started_at >= since)
    return [summarise(run) for run in session.scalars(query)]


def get_run(session: Session, run_id: int) -> m.SyncRun:
    run = session.scalars(select(m.SyncRun).where(m.SyncRun.id == run_id)).first()
    if run is None:
        last = session.scalars(select(m.SyncRun.id).order_by(m.SyncRun.id.desc())).first()
        hint = f"the latest run is {last}" if last else "no run has been recorded yet"
        raise NotFoundError(f"there is no run {run_id} in this district; {hint}")
    return run


def run_detail(session: Session, run_id: int) -> dict[str, Any]:
    """One run: its summary, every stage with counts and seconds, errors and notes."""
    run = get_run(session, run_id)
    counts = dict(run.counts or {})
    now = counts.get("progress") or {}  # while it runs: the stage it is in, those done
    timings: dict[str, float] = dict(counts.get("timings") or now.get("done") or {})
    stages: list[dict[str, Any]] = []
    for fw in counts.get("frameworks") or []:
        stages.append(_stage(f"framework {fw.get('key', '')}", timings,
                             seen=fw.get("items"),
                             changed=fw.get("created", 0) + fw.get("updated", 0),
                             rejected=len(fw.get("rejected") or [])))
    for source, streams in (counts.get("sources") or {}).items():
        read = sum(c.get("read", 0) for c in streams.values())
        changed = sum(c.get("inserted", 0) + c.get("updated", 0) + c.get("deleted", 0)
                      for c in streams.values())
        rejected = sum(c.get("rejected", 0) for c in streams.values())
        stages.append(_stage(f"source {source}", timings, seen=read, changed=changed,
                             rejected=rejected, streams=streams))
    if counts.get("mapping"):
        mp = counts["mapping"]
        stages.append(_stage("mapping", timings, seen=mp.get("mapped_items", 0)
                             + mp.get("unmapped_items", 0), changed=mp.get("items_realigned"),
                             rejected=None, unmapped=mp.get("unmapped_items")))
    if counts.get("evidence"):
        ev = counts["evidence"]
        stages.append(_stage("evidence", timings,
                             seen=ev.get("inserted", 0) + ev.get("updated", 0)
                             + ev.get("unchanged", 0),
                             changed=ev.get("inserted", 0) + ev.get("updated", 0)
                             + ev.get("deleted", 0), rejected=ev.get("rejected")))
    if counts.get("mastery"):
        ms = counts["mastery"]
        stages.append(_stage("mastery", timings, seen=ms.get("recomputed"),
                             changed=ms.get("inserted", 0) + ms.get("updated", 0)
                             + ms.get("removed", 0), rejected=None))
    for push in counts.get("push") or []:
        stages.append(_stage(f"push {push['destination']}", timings,
                             seen=push.get("planned", 0) + push.get("unchanged", 0),
                             changed=push.get("written"), rejected=None,
                             location=push.get("location", ""), held=push.get("held")))
    if counts.get("transcripts"):
        tr = counts["transcripts"]
        stages.append(_stage("transcripts", timings, seen=tr.get("students"),
                             changed=tr.get("files"), rejected=None))
    listed = {s["stage"] for s in stages}
    for name, seconds in timings.items():  # stages that failed before counting anything
        if name not in listed:
            stages.append({"stage": name, "seconds": seconds, "seen": None, "changed": None,
                           "rejected": None})
    summary = summarise(run).as_dict()
    if run.status == "running":
        summary["running_for_seconds"] = round((utcnow() - run.started_at).total_seconds(), 1)
        if now.get("stage") and now["stage"] not in timings:
            stages.append({"stage": now["stage"], "seconds": None, "seen": None,
                           "changed": None, "rejected": None, "running": True})
    return {**summary, "stages": stages, "errors": list(counts.get("errors") or []),
            "notes": list(counts.get("notes") or []), "message": run.message}


def _stage(name: str, timings: dict[str, float], *, seen: Any, changed: Any, rejected: Any,
           **extra: Any) -> dict[str, Any]:
    return {"stage": name, "seconds": timings.get(name), "seen": seen, "changed": changed,
            "rejected": rejected, **{k: v for k, v in extra.items() if v is not None}}


def rejections(session: Session, run_id: int) -> list[dict[str, Any]]:
    get_run(session, run_id)
    rows = session.scalars(select(m.SyncRejection).where(
        m.SyncRejection.run_id == run_id).order_by(m.SyncRejection.id))
    return [{"file": r.file, "row": r.row, "field": r.field, "reason": r.reason,
             "record": r.record_key} for r in rows]


REJECTION_COLUMNS = ("file", "row", "field", "reason", "record")


def rejections_csv(rows: list[dict[str, Any]]) -> str:
    """Rejections as CSV for a spreadsheet; a cell it would run as a formula is made text."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(REJECTION_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) if isinstance(v, str) else v for k, v in row.items()})
    return out.getvalue()
