"""Resolve which competencies a source item assesses, in a fixed order of trust.

1. An explicit crosswalk row (a person decided).
2. Alignments the source carries (OneRoster learning-objective ids holding CASE UUIDs).
3. Standard codes found in the item's title or description.

The first rule that yields anything wins; later rules are not mixed in, so a
crosswalk can always correct what a teacher typed into a title. An item none of
the rules align is reported as unmapped, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connector.domain.records import LearningObjectiveRef
from connector.mapping.codes import find_codes, find_dok
from connector.mapping.competency_index import CompetencyIndex
from connector.mapping.crosswalk import Crosswalk

ORIGIN_CROSSWALK = "crosswalk"
ORIGIN_SOURCE = "source"
ORIGIN_CODE = "code"

#: learningObjectiveSet sources (compared case-insensitively) meaning "a CASE CFItem identifier".
CASE_SOURCES = frozenset({"case", "1edtech case", "ims case"})


@dataclass(frozen=True)
class ItemFacts:
    """What the resolver may look at for one source item."""

    source: str
    item_id: str
    title: str = ""
    description: str = ""
    category: str = ""
    learning_objectives: tuple[LearningObjectiveRef, ...] = ()
    #: The SIS class the item belongs to, where it belongs to one (a gradebook assignment).
    course: str = ""


@dataclass(frozen=True)
class EvidenceDefaults:
    """A source's defaults for evidence type and DOK when no crosswalk row says.

    ``by_category`` keys are gradebook category titles (e.g. "Performance Tasks"),
    matched case-insensitively, with values ``(evidence_type, dok)``; either may be None.
    """

    evidence_type: str
    dok: int | None = None
    by_category: Mapping[str, tuple[str | None, int | None]] = field(default_factory=dict)

    def for_category(self, category: str) -> tuple[str, int | None]:
        wanted = category.strip().lower()
        for name, (etype, dok) in self.by_category.items():
            if name.strip().lower() == wanted:
                return etype or self.evidence_type, dok if dok is not None else self.dok
        return self.evidence_type, self.dok


@dataclass(frozen=True)
class ResolvedAlignment:
    """An item -> competency alignment with the DOK and evidence type evidence will carry."""

    competency_identifier: str
    dok: int | None
    evidence_type: str
    weight: float
    origin: str


@dataclass(frozen=True)
class Resolution:
    """The alignments found for an item, and problems a district should see."""

    alignments: tuple[ResolvedAlignment, ...]
    problems: tuple[str, ...] = ()

    @property
    def mapped(self) -> bool:
        return bool(self.alignments)


def resolve_alignments(
    item: ItemFacts,
    *,
    crosswalk: Crosswalk,
    index: CompetencyIndex,
    defaults: EvidenceDefaults,
) -> Resolution:
    """Apply the three rules in order for one item."""
    problems: list[str] = []
    etype, category_dok = defaults.for_category(item.category)
    text_dok = find_dok(f"{item.title} {item.description}")
    dok = text_dok if text_dok is not None else category_dok

    rows = crosswalk.lookup(item.source, item.item_id, item.title, item.course)
    if rows:
        found = []
        for row in rows:
            ref = index.resolve(row.competency)
            if ref is None:
                why = ("is used by several competencies; use its CASE identifier"
                       if row.competency.strip().lower() in index.ambiguous_codes
                       else "is not in any imported framework")
                problems.append(
                    f"crosswalk {row.file}:{row.row} names competency {row.competency!r}, which {why}"
                )
                continue
            found.append(
                ResolvedAlignment(
                    ref.identifier,
                    row.dok if row.dok is not None else dok,
                    row.evidence_type or etype,
                    row.weight,
                    ORIGIN_CROSSWALK,
                )
            )
        if found:
            return Resolution(_unique(found), tuple(problems))

    carried = []
    for lo in item.learning_objectives:
        if lo.source.strip().lower() not in CASE_SOURCES:
            continue
        ref = index.by_identifier(lo.identifier)
        if ref is None:
            problems.append(
                f"learning objective {lo.identifier} is not in any imported framework"
            )
            continue
        carried.append(ResolvedAlignment(ref.identifier, dok, etype, 1.0, ORIGIN_SOURCE))
    if carried:
        return Resolution(_unique(carried), tuple(problems))

    coded = [
        ResolvedAlignment(ref.identifier, dok, etype, 1.0, ORIGIN_CODE)
        for ref in find_codes(f"{item.title} {item.description}", index)
    ]
    return Resolution(_unique(coded), tuple(problems))


def _unique(alignments: list[ResolvedAlignment]) -> tuple[ResolvedAlignment, ...]:
    """One alignment per competency: the first one wins, as written."""
    seen: set[str] = set()
    out = []
    for a in alignments:
        if a.competency_identifier not in seen:
            seen.add(a.competency_identifier)
            out.append(a)
    return tuple(out)
