"""Crosswalks: a district's explicit list of which source item assesses which competency.

A crosswalk row is ``source, item, competency, dok, evidence_type, weight``, with
two optional columns: ``match`` (``id``, the default, or ``title``) and ``course``.
``item`` is an external id, or with ``match: title`` an item's title, either
exact or as a glob pattern (``ixl-7.*``, ``Unit 3 Quiz*``); ``course`` limits the
row to items of one class (its SIS sourcedId). Titles matter because a teacher's
assignment copied into every section gets a new id in each, under the same title.
``competency`` is a CASE UUID or a human coding scheme. Explicit rows beat
everything else because a person wrote them on purpose.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from connector.domain.evidence import EvidenceType, check_dok
from connector.errors import Rejection

CROSSWALK_COLUMNS = ("source", "item", "competency", "dok", "evidence_type", "weight",
                     "match", "course")
MATCHES = ("id", "title")
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
    match: str = "id"
    course: str = ""

    @property
    def is_pattern(self) -> bool:
        return any(ch in _PATTERN_CHARS for ch in self.item)

    def matches(self, source: str, item_id: str, title: str = "", course: str = "") -> bool:
        if self.source not in ("*", source) or (self.course and self.course != course):
            return False
        value = title if self.match == "title" else item_id
        return fnmatchcase(value, self.item) if self.is_pattern else value == self.item


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
        match = (row.get("match") or "").strip().lower() or "id"
        if match not in MATCHES:
            reject("match", f"match must be 'id' or 'title': {match!r}")
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
                match=match,
                course=(row.get("course") or "").strip(),
            )
        )
    return entries, rejections


class Crosswalk:
    """Find the rows for one item, the most specific first.

    An exact id, then an exact title (within the item's course before any course),
    then the first matching pattern group in file order. Rows are grouped by what
    they match, so several rows for one item give several alignments.
    """

    def __init__(self, entries: Iterable[CrosswalkEntry]) -> None:
        self._exact: dict[tuple[str, str, str, str], list[CrosswalkEntry]] = {}
        self._patterns: dict[tuple[str, str, str, str], list[CrosswalkEntry]] = {}
        for entry in entries:
            target = self._patterns if entry.is_pattern else self._exact
            key = (entry.match, entry.source, entry.item, entry.course)
            target.setdefault(key, []).append(entry)

    def __len__(self) -> int:
        return sum(map(len, self._exact.values())) + sum(map(len, self._patterns.values()))

    def lookup(self, source: str, item_id: str, title: str = "",
               course: str = "") -> list[CrosswalkEntry]:
        keys = [("id", src, item_id, scope) for scope in (course, "") for src in (source, "*")]
        if title:
            keys += [("title", src, title, scope) for scope in (course, "")
                     for src in (source, "*")]
        for key in keys:
            rows = [e for e in self._exact.get(key, ()) if e.matches(source, item_id, title,
                                                                     course)]
            if rows:
                return rows
        for group in self._patterns.values():
            if group[0].matches(source, item_id, title, course):
                return list(group)
        return []
