"""A safety hold on pushes large enough to be a mistake.

A wrong cut score, a truncated vendor export or a scale edited in the wrong
place shows up as one push that rewrites much of the SIS gradebook or lowers
many students' levels at once. Such a push is planned but not sent: it is kept
as a push run with status ``held`` and the digest of its plan, and an IT user
reviews it (``connector push plan``) and sends it (``connector push approve``)
or drops it (``connector push discard``). Roster platforms hold incoming
roster changes this way; this holds grades going out.

:func:`judge` is pure; :func:`hold_or_clear` records the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.config.model import HoldRules
from connector.errors import ConfigurationError, NotFoundError
from connector.persistence import models as m
from connector.persistence.models import utcnow

HELD = "held"


@dataclass(frozen=True)
class PlanSize:
    """How much a plan changes at a destination that holds ``at_destination`` records."""

    create: int
    update: int
    delete: int
    lowered: int
    at_destination: int

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Verdict:
    held: bool
    reason: str = ""
    size: PlanSize | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def judge(rules: HoldRules, size: PlanSize) -> Verdict:
    """Whether a plan of this size must wait for a person.

    >>> rules = HoldRules(max_change_share=0.2, max_lowered=10, min_records=100)
    >>> judge(rules, PlanSize(create=5000, update=0, delete=0, lowered=0, at_destination=0)).held
    False
    >>> judge(rules, PlanSize(0, 300, 0, 0, 1000)).reason
    'it would change or delete 300 of the 1000 records the destination holds (30%; the limit is 20%)'
    >>> judge(rules, PlanSize(0, 12, 0, 12, 1000)).reason
    'it would lower the level of 12 results (the limit is 10)'
    """
    if not rules.enabled:
        return Verdict(False, size=size)
    reasons = []
    touched = size.update + size.delete
    if size.at_destination >= max(rules.min_records, 1) and touched:
        share = touched / size.at_destination
        if share > rules.max_change_share:
            reasons.append(f"it would change or delete {touched} of the {size.at_destination} "
                           f"records the destination holds ({share:.0%}; the limit is "
                           f"{rules.max_change_share:.0%})")
    if rules.max_lowered is not None and size.lowered > rules.max_lowered:
        reasons.append(f"it would lower the level of {size.lowered} results "
                       f"(the limit is {rules.max_lowered})")
    return Verdict(bool(reasons), "; and ".join(reasons), size)


def hold_or_clear(session: Session, destination: str, verdict: Verdict, digest: str, *,
                  actor: str, sync_run_id: int | None,
                  approving: int | None = None) -> int | None:
    """Record a held plan (its push run id), or clear earlier holds once a plan may go.

    A plan held already under the same digest stays as it is. A new plan replaces
    an older held one (``superseded``): approving means approving what would be
    sent now. ``approving`` is the held run whose approval lets this plan go.
    """
    earlier = list(session.scalars(select(m.PushRun).where(
        m.PushRun.destination == destination, m.PushRun.status == HELD)))
    now = utcnow()
    if verdict.held:
        for run in earlier:
            if run.plan_digest == digest:
                return run.id
        for run in earlier:
            _decide(run, "superseded", "a newer plan replaced this one", "connector", now)
        row = m.PushRun(destination=destination, kind="push", actor=actor, status=HELD,
                        counts=verdict.size.as_dict() if verdict.size else {},
                        message=f"held: {verdict.reason}", plan_digest=digest,
                        sync_run_id=sync_run_id, finished_at=now)
        session.add(row)
        session.flush()
        return row.id
    for run in earlier:
        if run.id != approving:  # the one being approved is decided by its approver
            _decide(run, "superseded", "a later plan was within the limits and was sent",
                    "connector", now)
    return None


def held_run(session: Session, run_id: int) -> m.PushRun:
    """The held push ``run_id``, or an error saying what it is instead."""
    run = session.get(m.PushRun, run_id)
    if run is None:
        raise NotFoundError(f"there is no push run {run_id} in this district")
    if run.status != HELD:
        raise ConfigurationError(f"push run {run_id} is not held (it is {run.status}); "
                                 f"'connector push runs' lists the held ones")
    return run


def decide(run: m.PushRun, status: str, by: str, message: str = "",
           at: datetime | None = None) -> None:
    _decide(run, status, message, by, at or utcnow())


def _decide(run: m.PushRun, status: str, message: str, by: str, at: datetime) -> None:
    run.status = status
    run.decided_by = by
    run.decided_at = at
    if message:
        run.message = f"{run.message}\n{status}: {message}".strip()
