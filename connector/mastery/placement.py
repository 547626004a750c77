"""Placement ("leveling"): a diagnostic sets where a student starts working in a domain.

Districts place new and returning students with a diagnostic (NWEA MAP,
Scantron, i-Ready) rather than by grade. A placement says "start working at
level 7 in mathematics": the levels below it count as reached by placement, not
by mastery, so the academic level shown is never lower than the placement
implies, while transcripts and pace still count only competencies the student
has shown. The latest diagnostic in a domain wins, and each placement keeps its
source, the assessment, the score and the date, so it can be explained.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fnmatch import fnmatchcase

from connector.errors import MasteryError


@dataclass(frozen=True)
class PlacementCut:
    """Scores at or above ``min_score`` (in the diagnostic's own units) place at ``level``."""

    min_score: float
    level: str


@dataclass(frozen=True)
class PlacementRule:
    """Which diagnostic places students in which domain, and its cut scores."""

    source: str
    item: str  # an item id or a pattern ("Math*")
    domain: str
    cuts: tuple[PlacementCut, ...]

    def __post_init__(self) -> None:
        if not self.cuts:
            raise MasteryError(f"placement rule for {self.source}/{self.item}: no cut scores")

    def applies(self, source: str, item: str) -> bool:
        return source == self.source and fnmatchcase(item, self.item)

    def level_for(self, score: float) -> str | None:
        reached = None
        for cut in sorted(self.cuts, key=lambda c: c.min_score):
            if score >= cut.min_score:
                reached = cut.level
        return reached


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic result as staged: source system, item, score and when it was taken."""

    source: str
    item: str
    title: str
    score: float
    taken_at: datetime


@dataclass(frozen=True)
class Placement:
    domain: str
    level: str
    source: str
    assessment: str
    score: float
    placed_on: date


def place(rules: Sequence[PlacementRule], diagnostics: Iterable[Diagnostic],
          as_of: date | None = None) -> dict[str, Placement]:
    """Each domain's placement from the student's latest applicable diagnostic (by ``as_of``).

    >>> rule = PlacementRule("map", "Math*", "math", (PlacementCut(0, "6"), PlacementCut(221, "7")))
    >>> taken = [Diagnostic("map", "Mathematics", "MAP Math", 225, datetime(2026, 9, 10)),
    ...          Diagnostic("map", "Mathematics", "MAP Math", 214, datetime(2026, 1, 20))]
    >>> place([rule], taken)["math"].level
    '7'
    """
    latest: dict[str, tuple[Diagnostic, PlacementRule]] = {}
    ordered = sorted(diagnostics, key=lambda d: (d.taken_at, d.source, d.item, d.score))
    for result in ordered:  # later results replace earlier ones; ties resolve the same way
        if as_of is not None and result.taken_at.date() > as_of:
            continue
        for rule in rules:
            if rule.applies(result.source, result.item):
                latest[rule.domain] = (result, rule)
    out = {}
    for domain, (result, rule) in latest.items():
        level = rule.level_for(result.score)
        if level is not None:  # the latest result below every cut places nowhere
            out[domain] = Placement(domain, level, result.source, result.title, result.score,
                                    result.taken_at.date())
    return out


def placed_level(levels: Sequence[str], mastered: str | None,
                 placement: Placement | None) -> tuple[str | None, str]:
    """The academic level to show and on what it rests: mastery, placement, or neither.

    Placed at a level, the student has reached the level below it.

    >>> placed_level(["6", "7", "8"], None, Placement("m", "8", "map", "MAP", 240, date(2026, 9, 1)))
    ('7', 'placement')
    >>> placed_level(["6", "7", "8"], "8", Placement("m", "7", "map", "MAP", 220, date(2026, 9, 1)))
    ('8', 'mastery')
    """
    if placement is None or placement.level not in levels:
        return mastered, "mastery" if mastered else "none"
    at = levels.index(placement.level)
    below = levels[at - 1] if at > 0 else None
    if below is None or (mastered is not None and levels.index(mastered) >= at - 1):
        return mastered, "mastery" if mastered else "none"
    return below, "placement"
