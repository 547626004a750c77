"""What a push would send: the difference between the records wanted and the ledger.

Pure: the same wanted records and ledger always give the same plan, in the same
order, which is what lets ``connector push plan`` promise exactly what
``connector push run`` will then send. Writes go parents first (score scales
before line items before results); deletes go children first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from connector.adapters.destinations.records import RemoteRecord
from connector.domain.hashing import content_hash


def plan_digest(changes: Iterable[tuple[str, str, str]]) -> str:
    """One hash for a plan: (action, record key, payload digest) of every change."""
    return content_hash(sorted(changes))


def lower(before: float | None, after: float | None) -> bool:
    """Whether a level went down: to a lower value, or from a level to none.

    >>> lower(3.0, 2.0), lower(3.0, None), lower(None, 1.0), lower(2.0, 3.0)
    (True, True, False, False)
    """
    return before is not None and (after is None or after < before)


@dataclass(frozen=True)
class LedgerEntry:
    """What we last wrote for one key, as far as the ledger knows."""

    key: str
    resource: str
    remote_id: str
    digest: str
    #: The level value last sent, for records that carry a student's level.
    level: float | None = None


@dataclass(frozen=True)
class Change:
    action: str  # create | update | delete
    key: str
    resource: str
    remote_id: str
    order: int
    record: RemoteRecord | None  # None for a delete
    label: str = ""
    group: str = ""


@dataclass(frozen=True)
class PushDiff:
    changes: tuple[Change, ...]
    unchanged: int
    #: Results the destination's configuration cannot express: (record key, why).
    skipped: tuple[tuple[str, str], ...] = ()

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def lowered(self, ledger: Mapping[str, LedgerEntry]) -> int:
        """Updates that lower a student's level (to a lower value, or to no level at all)."""
        return sum(1 for c in self.changes
                   if c.action == "update" and c.record is not None and c.record.student_level
                   and lower(ledger[c.key].level if c.key in ledger else None, c.record.level))

    def digest(self) -> str:
        """The plan as one hash, so a held plan can be told from a changed one."""
        return plan_digest((c.action, c.key, c.record.digest if c.record else "")
                           for c in self.changes)

    def by_resource(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for change in self.changes:
            row = table.setdefault(change.resource, {"create": 0, "update": 0, "delete": 0})
            row[change.action] += 1
        return table


def diff(wanted: Sequence[RemoteRecord], ledger: Mapping[str, LedgerEntry], *,
         deletes: bool = True) -> PushDiff:
    """Creates for new keys, updates for changed digests, deletes for keys no longer wanted."""
    writes: list[Change] = []
    unchanged = 0
    seen: set[str] = set()
    for record in wanted:
        if record.key in seen:
            raise ValueError(f"two wanted records share the key {record.key!r}")
        seen.add(record.key)
        known = ledger.get(record.key)
        if known is not None and known.digest == record.digest:
            unchanged += 1
            continue
        action = "create" if known is None else "update"
        writes.append(Change(action, record.key, record.resource, record.remote_id,
                             record.order, record, record.label, record.group))
    writes.sort(key=lambda c: (c.order, c.group, c.key))
    removals = [] if not deletes else sorted(
        (Change("delete", e.key, e.resource, e.remote_id, RESOURCE_ORDER.get(e.resource, 0), None)
         for e in ledger.values() if e.key not in seen),
        key=lambda c: (-c.order, c.key))
    return PushDiff(tuple(writes) + tuple(removals), unchanged)


#: Dependency order of the resources the API destinations write (lower goes first).
RESOURCE_ORDER = {
    "categories": 0, "scoreScales": 1, "lineItems": 2, "results": 3,
    "assessmentLineItems": 2, "assessmentResults": 3,
    "competencyObjectives": 1, "studentCompetencyObjectives": 3, "grades": 3,
    "gradebookEntries": 2, "studentGradebookEntries": 3,
    "studentAcademicRecords": 1, "courseTranscripts": 2,
}
