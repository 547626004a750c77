"""Retention: remove copies of vendor data once the district's retention period has passed.

A district keeps students' data no longer than it needs it. What goes is only
what no record depends on:

- learning events (the xAPI statements and Caliper events as sent) a sync has
  already read, received before the events cut-off: their scores stay;
- the rejections of runs started before the rejections cut-off (they quote rows);
- raw scores last changed before the raw-score cut-off that became no evidence
  (an item never aligned, an exempt score): the mastery engine never reads them.

Evidence, mastery records and overrides are never removed here: they are the
student's record (``connector students purge`` removes one student's). Each
application that removes anything writes an audit entry with the counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import RetentionSettings, Settings
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import audit

log = logging.getLogger(__name__)


@dataclass
class RetentionReport:
    cutoffs: dict[str, str] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    audit_id: int | None = None


def _read_through(session: Session) -> dict[str, int]:
    """Per learning-events source: the last stored event a sync has read (its cursor)."""
    read: dict[str, int] = {}
    for key, cursor in session.execute(select(m.SourceSystem.key, m.SourceSystem.cursor)):
        if isinstance(cursor, dict) and isinstance(cursor.get("after"), int):
            read[key] = cursor["after"]
    return read


def apply(session: Session, rules: RetentionSettings, now: datetime, *, actor: str,
          dry_run: bool = False) -> RetentionReport:
    """Remove (or, dry, count) what is past retention, in the caller's transaction."""
    report = RetentionReport()

    def run(name: str, table: Any, where: Any) -> None:
        if dry_run:
            report.removed[name] = int(session.scalar(
                select(func.count()).select_from(table).where(where)) or 0)
        else:
            result: Any = session.execute(delete(table).where(where))
            report.removed[name] = int(result.rowcount or 0)

    if rules.events_days is not None:
        cutoff = now - timedelta(days=rules.events_days)
        report.cutoffs["events"] = cutoff.isoformat()
        read = _read_through(session)
        if read:
            run("learning_events", m.LearningEvent, and_(
                m.LearningEvent.received_at < cutoff,
                or_(*(and_(m.LearningEvent.provider == key, m.LearningEvent.id <= after)
                      for key, after in read.items()))))
        else:
            report.removed["learning_events"] = 0
    if rules.rejections_days is not None:
        cutoff = now - timedelta(days=rules.rejections_days)
        report.cutoffs["rejections"] = cutoff.isoformat()
        run("rejections", m.SyncRejection, m.SyncRejection.run_id.in_(
            select(m.SyncRun.id).where(m.SyncRun.started_at < cutoff)))
    if rules.raw_scores_days is not None:
        cutoff = now - timedelta(days=rules.raw_scores_days)
        report.cutoffs["raw_scores"] = cutoff.isoformat()
        unused = and_(m.RawScore.updated_at < cutoff,
                      ~exists().where(m.Evidence.raw_score_id == m.RawScore.id))
        if not dry_run:
            session.execute(delete(m.RawScoreObjective).where(
                m.RawScoreObjective.raw_score_id.in_(select(m.RawScore.id).where(unused))))
        run("raw_scores", m.RawScore, unused)
    if not dry_run and any(report.removed.values()):
        report.audit_id = audit.record(
            session, actor=actor, action="retention.apply", subject="district",
            reason="retention settings in district.yaml",
            details={"removed": report.removed, "cutoffs": report.cutoffs}).id
    return report


class Daily:
    """The scheduler's housekeeping: apply retention once a day (UTC), when configured."""

    def __init__(self, factory: sessionmaker[Session], district_id: int,
                 settings: Settings) -> None:
        self.factory, self.district_id = factory, district_id
        self.rules = settings.district.retention
        self.last_day: str | None = None

    def __call__(self, now: datetime) -> None:
        day = now.date().isoformat()
        if not self.rules.active or day == self.last_day:
            return
        self.last_day = day
        with tenant_session(self.factory, self.district_id) as session, session.begin():
            report = apply(session, self.rules, now, actor="scheduler")
        if any(report.removed.values()):
            log.info("retention: removed %s", ", ".join(
                f"{count} {name.replace('_', ' ')}" for name, count in report.removed.items()))
