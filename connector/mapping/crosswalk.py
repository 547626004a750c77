"""Crosswalks: a district's explicit list of which source item assesses which competency.

A crosswalk row is ``source, item, competency, dok, evidence_type, weight``.
``item`` is an external id or a glob pattern (``ixl-7.*``); ``competency`` is a
CASE UUID or a human coding scheme. Explicit rows beat everything else because
a person wrote them on purpose.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from connector.domain.evidence import EvidenceType, check_dok
from connector.errors import Rejection

CROSSWALK_COLUMNS = ("source", "item", "competency", "dok", "evidence_type", "weight")
_PATTERN_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class CrosswalkEntry:
    """One crosswalk row, validated."""

    source: str
    item: str
    competency: str
    dok: int | None
    evidence_type: str | None
    weight: float
    file: str = ""
    row: int = 0

    @property
    def is_pattern(self) -> bool:
        return any(ch in _PATTERN_CHARS for ch in self.item)

    def matches(self, source: str, item_id: str) -> bool:
        if self.source not in ("*", source):
            return False
        return fnmatchcase(item_id, self.item) if self.is_pattern else item_id == self.item


def parse_crosswalk(
    rows: Iterable[Mapping[str, str | None]], file: str
) -> tuple[list[CrosswalkEntry], list[Rejection]]:
    """Validate crosswalk rows; a bad row is rejected with its row number and field."""
    entries: list[CrosswalkEntry] = []
    rejections: list[Rejection] = []
    types = {t.value for t in EvidenceType}
    for number, row in enumerate(rows, start=2):
        def reject(field: str, reason: str, number: int = number) -> None:
            rejections.append(Rejection(file, number, field, reason))

        missing = [c for c in ("source", "item", "competency") if not (row.get(c) or "").strip()]
        if missing:
            reject(missing[0], f"'{missing[0]}' is required")
            continue
        dok_text = (row.get("dok") or "").strip()
        try:
            dok = check_dok(int(dok_text)) if dok_text else None
        except ValueError:
            reject("dok", f"DOK must be 1, 2, 3 or 4: {dok_text!r}")
            continue
        etype = (row.get("evidence_type") or "").strip() or None
        if etype is not None and etype not in types:
            reject("evidence_type", f"unknown evidence type {etype!r}; use one of {sorted(types)}")
            continue
        weight_text = (row.get("weight") or "").strip()
        try:
            weight = float(weight_text) if weight_text else 1.0
        except ValueError:
            reject("weight", f"weight must be a number: {weight_text!r}")
            continue
        if not math.isfinite(weight):
            reject("weight", f"weight must be a finite number: {weight_text!r}")
            continue
        if weight < 0:
            reject("weight", f"weight must be >= 0: {weight_text}")
            continue
        entries.append(
            CrosswalkEntry(
                source=(row.get("source") or "").strip(),
                item=(row.get("item") or "").strip(),
                competency=(row.get("competency") or "").strip(),
                dok=dok,
                evidence_type=etype,
                weight=weight,
                file=file,
                row=number,
            )
        )
    return entries, rejections


class Crosswalk:
    """Find the rows for one item: exact ids first, then the first matching pattern."""

    def __init__(self, entries: Iterable[CrosswalkEntry]) -> None:
        self._exact: dict[tuple[str, str], list[CrosswalkEntry]] = {}
        self._patterns: dict[tuple[str, str], list[CrosswalkEntry]] = {}
        for entry in entries:
            target = self._patterns if entry.is_pattern else self._exact
            target.setdefault((entry.source, entry.item), []).append(entry)

    def __len__(self) -> int:
        return sum(map(len, self._exact.values())) + sum(map(len, self._patterns.values()))

    def lookup(self, source: str, item_id: str) -> list[CrosswalkEntry]:
        for key in ((source, item_id), ("*", item_id)):
            if key in self._exact:
                return list(self._exact[key])
        for group in self._patterns.values():
            if group[0].matches(source, item_id):
                return list(group)
        return []
