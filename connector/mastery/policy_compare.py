"""What another policy would do to the records: the policy lab's tally, as a pure function.

A district choosing a calculation method cannot see today what a change would do to
its students. The lab computes every learning target's record under the other
policy (without writing) and this module tallies the difference from the records
held now: how many would change level, who would cross into or out of Proficient,
and the effect per competency and per school.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: What a record shows: its state, its level code (None for a state) and whether proficient.
Shown = tuple[str, str | None, bool]
Pair = tuple[int, int]


@dataclass
class Effect:
    """Counts over a group of records (all, one competency, one school)."""

    compared: int = 0
    changed: int = 0
    raised: int = 0
    lowered: int = 0
    into_proficient: int = 0
    out_of_proficient: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


@dataclass
class Comparison:
    total: Effect = field(default_factory=Effect)
    by_competency: dict[int, Effect] = field(default_factory=lambda: defaultdict(Effect))
    by_school: dict[str, Effect] = field(default_factory=lambda: defaultdict(Effect))
    #: (pair, before, after) of every record that would cross Proficient, either way.
    crossings: list[tuple[Pair, Shown, Shown]] = field(default_factory=list)
    #: Records a teacher's override holds: the policy does not move them.
    kept_by_override: int = 0


def rank(shown: Shown, order: Mapping[str, int]) -> int:
    """Where a record sits on the scale: a level by its place, every state below the lowest."""
    state, level, _ = shown
    return order.get(level, -1) if state == "level" and level is not None else -1


def compare(before: Mapping[Pair, Shown], after: Mapping[Pair, Shown],
            schools: Mapping[int, str], level_order: Iterable[str],
            overridden: Iterable[Pair] = ()) -> Comparison:
    """Tally the records that differ between ``before`` (held now) and ``after`` (the other policy).

    A pair on one side only is a record that would appear (evidence the current
    policy leaves without one) or go; a missing side counts as "no record", below
    every level. ``overridden`` pairs are left out: the override stands either way.

    >>> c = compare({(1, 7): ("level", "2", False)}, {(1, 7): ("level", "3", True)},
    ...             {1: "s1"}, ["1", "2", "3", "4"])
    >>> c.total.as_dict() == {"compared": 1, "changed": 1, "raised": 1, "lowered": 0,
    ...                       "into_proficient": 1, "out_of_proficient": 0}
    True
    """
    order = {code: n for n, code in enumerate(level_order)}
    held = set(overridden)
    out = Comparison(kept_by_override=len(held))
    nothing: Shown = ("none", None, False)
    for pair in sorted((set(before) | set(after)) - held):
        was, will = before.get(pair, nothing), after.get(pair, nothing)
        groups = (out.total, out.by_competency[pair[1]], out.by_school[schools.get(pair[0], "")])
        for effect in groups:
            effect.compared += 1
        if (was[0], was[1]) == (will[0], will[1]):
            continue
        up = rank(will, order) - rank(was, order)
        for effect in groups:
            effect.changed += 1
            effect.raised += up > 0
            effect.lowered += up < 0
            effect.into_proficient += will[2] and not was[2]
            effect.out_of_proficient += was[2] and not will[2]
        if was[2] != will[2]:
            out.crossings.append((pair, was, will))
    return out


def described(shown: Shown, labels: Mapping[str, str]) -> str:
    state, level, _ = shown
    if state == "none":
        return "no record"
    return labels.get(level or "", level or "") if state == "level" else labels.get(state, state)


def as_plain(c: Comparison) -> dict[str, Any]:
    return {"total": c.total.as_dict(), "kept_by_override": c.kept_by_override,
            "crossings": len(c.crossings)}
