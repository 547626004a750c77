"""Retention removes what is past its time and nothing any record depends on."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import exists, func, select, update

from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import SampleDistrict
from tests.integration.test_mastery_cli_api import cli_run


def _district_yaml(district: SampleDistrict) -> Path:
    return district.workspace / "config" / "districts" / "cedar-ridge" / "district.yaml"


def _count(session: Any, table: Any, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(table).where(*where)) or 0


def test_retention_removes_read_events_old_rejections_and_unused_scores_only(
        sample_district: SampleDistrict, module_db_url: str) -> None:
    district_id = find_district(sample_district.factory, "cedar-ridge")
    long_ago = utcnow() - timedelta(days=500)
    with tenant_session(sample_district.factory, district_id) as session, session.begin():
        system = session.scalars(select(m.SourceSystem).where(
            m.SourceSystem.key == "tutor")).first()
        if system is None:
            system = m.SourceSystem(key="tutor", kind="learning_events")
            session.add(system)
        events = [m.LearningEvent(provider="tutor", event_id=f"{n:032x}", spec="xapi",
                                  payload={"n": n}, received_at=when)
                  for n, when in enumerate((long_ago, long_ago, utcnow()))]
        session.add_all(events)
        session.flush()
        system.cursor = {"after": events[0].id}  # the sync has read the first event only
        # the first run (and its rejections) happened long ago; some raw scores too
        session.execute(update(m.SyncRun).values(started_at=long_ago))
        session.execute(update(m.RawScore).values(updated_at=long_ago))
        unused = _count(session, m.RawScore,
                        ~exists().where(m.Evidence.raw_score_id == m.RawScore.id))
        before = {t.__tablename__: _count(session, t) for t in (
            m.RawScore, m.Evidence, m.MasteryRecord, m.SyncRejection, m.LearningEvent)}
    assert unused > 0 and before["sync_rejection"] > 0

    kept = cli_run(sample_district, module_db_url, "retention", "apply")
    assert "everything is kept" in kept.output  # no settings: nothing goes
    data = yaml.safe_load(_district_yaml(sample_district).read_text())
    data["retention"] = {"events_days": 400, "rejections_days": 180,
                         "raw_scores_days": 400}
    _district_yaml(sample_district).write_text(yaml.safe_dump(data, sort_keys=False))

    dry = cli_run(sample_district, module_db_url, "retention", "apply", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    counted = json.loads(dry.output)["removed"]
    assert counted == {"learning_events": 1, "rejections": before["sync_rejection"],
                       "raw_scores": unused}
    applied = cli_run(sample_district, module_db_url, "retention", "apply", "--json")
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.output)["removed"] == counted
    with tenant_session(sample_district.factory, district_id) as session:
        assert _count(session, m.LearningEvent) == before["learning_event"] - 1
        assert _count(session, m.LearningEvent, m.LearningEvent.id == events[1].id) == 1
        assert _count(session, m.SyncRejection) == 0
        assert _count(session, m.RawScore) == before["raw_score"] - unused
        # the student's record is untouched
        assert _count(session, m.Evidence) == before["evidence"]
        assert _count(session, m.MasteryRecord) == before["mastery_record"]
        audit = session.scalars(select(m.AuditEvent).where(
            m.AuditEvent.action == "retention.apply")).one()
        assert audit.details["removed"] == counted
    again = cli_run(sample_district, module_db_url, "retention", "apply", "--json")
    assert set(json.loads(again.output)["removed"].values()) == {0}  # nothing twice
