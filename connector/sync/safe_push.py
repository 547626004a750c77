"""Pushing to a SIS API safely: plan, before-image, write, verify, audit, restore.

Districts fear writes into their system of record more than anything else this
service does, and ask for four things: a preview (``plan``), the state of every
record before we touched it, proof that what we wrote is what the SIS holds,
and a way back. This module is where pushes start; each step has its own module:

- :mod:`connector.sync.push_plan`: the plan, the difference between the records
  wanted and the ledger (:mod:`connector.sync.push_diff`), which ``plan`` prints;
- :mod:`connector.sync.push_send`: per batch, before-images committed as *pending*
  audit rows before anything is written, then the writes, then audits and ledger;
- :mod:`connector.sync.push_verify`: each write judged by reading the record back;
- :mod:`connector.sync.push_restore`: a run's before-images put back;
- :mod:`connector.sync.push_runs`: the run's row, report, lock and actor;
- :mod:`connector.sync.push_hold`: plans too large to send without review.

A kill between a batch's before-images and its ledger leaves pending rows (restore
uses their before-images) and no ledger entry, so the rerun plans those records
again and rewrites them under the same deterministic ids: no duplicates, and the SIS
converges.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.destinations.records import RecordDestination
from connector.config.model import Settings
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.push_diff import PushDiff
from connector.sync.push_hold import HELD, Verdict, decide, held_run, hold_or_clear, judge
from connector.sync.push_plan import (
    is_record_destination,
    ledger,
    plan,
    planned,
    push_context,
    record_destination,
    size_of,
    wanted,
)
from connector.sync.push_restore import restore
from connector.sync.push_runs import Problem, PushReport, cli_actor, one_at_a_time
from connector.sync.push_send import send_changes
from connector.sync.report import Progress

__all__ = ["Problem", "PushReport", "cli_actor", "is_record_destination", "ledger", "plan",
           "planned", "push_context", "record_destination", "restore", "run", "send",
           "size_of", "wanted"]

log = logging.getLogger(__name__)


def run(factory: sessionmaker[Session], district_id: int, settings: Settings, key: str, *,
        actor: str | None = None, sync_run_id: int | None = None,
        approving: int | None = None, progress: Progress | None = None) -> PushReport:
    """Send the plan; every record read before, verified after and audited.

    A plan beyond the destination's hold rules is not sent: the report says
    ``held`` and names the push run an IT user approves. ``approving`` is that
    run: its plan is sent if it is still the plan now.
    """
    adapter = record_destination(settings, key)
    rules = settings.destinations[key].hold
    who = actor or cli_actor()
    with one_at_a_time(factory, district_id, key):  # the plan too: it must be current
        changes, entries = planned(factory, district_id, settings, adapter)
        size = size_of(changes, entries)
        with tenant_session(factory, district_id) as session, session.begin():
            approved = held_run(session, approving) if approving is not None else None
            verdict = (Verdict(False, size=size)
                       if approved is not None and approved.plan_digest == changes.digest()
                       else judge(rules, size))
            held = hold_or_clear(session, key, verdict, changes.digest(), actor=who,
                                 sync_run_id=sync_run_id, approving=approving)
        if held is not None:
            log.warning("push to %s held for review as push run %s", key, held)
            return PushReport(held, key, "push", status=HELD, counts=size.as_dict(),
                              message=f"held for review: {verdict.reason}")
        report = send_changes(factory, district_id, adapter, changes, actor=who,
                       sync_run_id=sync_run_id, progress=progress)
        if approving is not None:
            with tenant_session(factory, district_id) as session, session.begin():
                row = session.get(m.PushRun, approving)
                assert row is not None
                decide(row, "completed", who, f"approved and sent as push run {report.run_id} "
                                              f"({report.status})")
        return report


def send(factory: sessionmaker[Session], district_id: int, adapter: RecordDestination,
         changes: PushDiff, *, actor: str | None = None,
         sync_run_id: int | None = None) -> PushReport:
    """Send one computed plan to the destination (``run`` computes it from the ledger)."""
    with one_at_a_time(factory, district_id, adapter.key):
        return send_changes(factory, district_id, adapter, changes, actor=actor,
                     sync_run_id=sync_run_id)
