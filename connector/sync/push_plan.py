"""What a record push would send: the records wanted, the ledger, and their difference.

``plan`` prints exactly what ``run`` would send, because both call :func:`planned`.
Nothing here contacts the destination.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.base import PushPlan
from connector.adapters.destinations.records import PushContext, RecordDestination, RemoteRecord
from connector.adapters.registry import destination_class
from connector.config.model import Settings
from connector.errors import ConfigurationError
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.push import plan_results
from connector.sync.push_diff import LedgerEntry, PushDiff, diff
from connector.sync.push_hold import PlanSize
from connector.sync.transcript_documents import outbound
from connector.sync.util import adapter_context


def record_destination(settings: Settings, key: str) -> RecordDestination:
    config = settings.destinations.get(key)
    if config is None:
        raise ConfigurationError(
            f"no destination {key!r}; configured destinations: {sorted(settings.destinations)}")
    adapter = destination_class(config.kind)(
        config.key, config.options,
        adapter_context(settings))
    if not isinstance(adapter, RecordDestination):
        raise ConfigurationError(
            f"destination {key!r} ({config.kind}) writes files, not records through an API; "
            f"'push plan/run/restore' work with API destinations (oneroster_rest, edfi)")
    return adapter


def is_record_destination(settings: Settings, key: str) -> bool:
    config = settings.destinations[key]
    return issubclass(destination_class(config.kind), RecordDestination)


def push_context(settings: Settings) -> PushContext:
    scale = settings.district.scale
    return PushContext(
        district_key=settings.district.key,
        scale_key=scale.key,
        scale_name=scale.name,
        levels=tuple((lv.code, lv.label, lv.value) for lv in scale.levels),
        states=dict(scale.state_labels),
    )


def wanted(session: Session, settings: Settings, adapter: RecordDestination) -> list[RemoteRecord]:
    results = plan_results(session, settings, settings.district.key) if (
        adapter.wants_results) else []
    plan = PushPlan(destination=adapter.key, results=results, first_push=False,
                    source_system_name=f"mastery-connector ({settings.district.name})",
                    transcripts=outbound(session) if adapter.wants_transcripts else ())
    return adapter.desired(plan, push_context(settings))


def ledger(session: Session, destination: str) -> dict[str, LedgerEntry]:
    return {row.record_key: LedgerEntry(row.record_key, row.resource, row.remote_id,
                                        row.payload_hash, row.level_value)
            for row in session.scalars(select(m.PushLedger)
                                       .where(m.PushLedger.destination == destination))}


def plan(factory: sessionmaker[Session], district_id: int, settings: Settings,
         key: str) -> PushDiff:
    """What ``run`` would send now, without contacting the destination."""
    return planned(factory, district_id, settings, record_destination(settings, key))[0]


def planned(factory: sessionmaker[Session], district_id: int, settings: Settings,
             adapter: RecordDestination) -> tuple[PushDiff, dict[str, LedgerEntry]]:
    with tenant_session(factory, district_id) as session:
        records = wanted(session, settings, adapter)
        entries = ledger(session, adapter.key)
        changes = diff(records, entries, deletes=adapter.settings.delete_removed)
    return dataclasses.replace(changes, skipped=tuple(adapter.skipped)), entries


def size_of(changes: PushDiff, entries: Mapping[str, LedgerEntry]) -> PlanSize:
    return PlanSize(create=changes.count("create"), update=changes.count("update"),
                    delete=changes.count("delete"), lowered=changes.lowered(entries),
                    at_destination=len(entries))
