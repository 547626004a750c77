"""What another policy would do to the records: the policy lab's tally, as a pure function.

A district choosing a calculation method cannot see today what a change would do to
its students. The lab computes every learning target's record under the other
policy (without writing) and this module tallies the difference from the records
held now: how many would change level, who would cross into or out of Proficient,
and the effect per competency and per school.

Records come as columns (a million of them in a large district), one row per pair
of student and competency coded ``student * SHIFT + competency``, and the tally is
done on the columns: no Python loop over records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from connector.mastery.batch import SHIFT

#: What a record shows: its state, its level code (None for a state) and whether proficient.
Shown = tuple[str, str | None, bool]
Pair = tuple[int, int]
Array = Any
#: The states a record column may hold; "none" is no record.
STATES = ("none", "level", "not_yet", "insufficient_evidence", "exempt",
          "needs_teacher_judgment")
LEVEL = STATES.index("level")


@dataclass
class Records:
    """Records as columns: pair codes (ascending, unique), state and level indexes, proficient."""

    codes: Array
    state: Array       # index into STATES
    level: Array       # index into the scale's levels, -1 for none
    proficient: Array  # bool

    @classmethod
    def of(cls, shown: Mapping[Pair, Shown], level_codes: Sequence[str]) -> Records:
        """From a mapping of pairs to what each shows (small inputs, tests)."""
        order = sorted(shown)
        index = {code: n for n, code in enumerate(level_codes)}
        return cls(np.array([s * SHIFT + c for s, c in order], dtype=np.int64),
                   np.array([STATES.index(shown[p][0]) for p in order], dtype=np.int16),
                   np.array([index.get(shown[p][1] or "", -1) for p in order], dtype=np.int16),
                   np.array([shown[p][2] for p in order], dtype=bool))


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
    """The tally; the crossings are kept as columns and listed on demand (``crossings``)."""

    total: Effect = field(default_factory=Effect)
    by_competency: dict[int, Effect] = field(default_factory=dict)
    by_school: dict[str, Effect] = field(default_factory=dict)
    #: Every record that would cross Proficient, either way: its pair code, and what it
    #: shows before and after (state, level, proficient columns); see :meth:`crossings`.
    crossing_codes: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    crossing_sides: tuple[Array, ...] = ()
    level_codes: Sequence[str] = ()
    #: Records a teacher's override holds: the policy does not move them.
    kept_by_override: int = 0


def _side(records: Records, codes: Array) -> tuple[Array, Array, Array]:
    """State, level and proficient of ``records`` at ``codes`` ("none" where it has no row)."""
    at: Array = np.searchsorted(records.codes, codes)
    found: Array = at < len(records.codes)
    found[found] = records.codes[at[found]] == codes[found]
    state = np.zeros(len(codes), dtype=np.int16)
    level = np.full(len(codes), -1, dtype=np.int16)
    proficient = np.zeros(len(codes), dtype=bool)
    state[found] = records.state[at[found]]
    level[found] = records.level[at[found]]
    proficient[found] = records.proficient[at[found]]
    return state, level, proficient


def compare(before: Records, after: Records, school_of: Mapping[int, str],
            level_codes: Sequence[str], overridden: Array | None = None) -> Comparison:
    """Tally the records that differ between ``before`` (held now) and ``after`` (the other policy).

    A pair on one side only is a record that would appear (evidence the current
    policy leaves without one) or go; a missing side counts as "no record", below
    every level. ``overridden`` pair codes are left out: the override stands either way.

    >>> levels = ["1", "2", "3", "4"]
    >>> c = compare(Records.of({(1, 7): ("level", "2", False)}, levels),
    ...             Records.of({(1, 7): ("level", "3", True)}, levels), {1: "s1"}, levels)
    >>> c.total.as_dict() == {"compared": 1, "changed": 1, "raised": 1, "lowered": 0,
    ...                       "into_proficient": 1, "out_of_proficient": 0}
    True
    """
    held = np.asarray(overridden if overridden is not None else [], dtype=np.int64)
    codes = np.setdiff1d(np.union1d(before.codes, after.codes), held)
    out = Comparison(kept_by_override=len(held))
    if not len(codes):
        return out
    b_state, b_level, b_prof = _side(before, codes)
    a_state, a_level, a_prof = _side(after, codes)
    b_rank = np.where(b_state == LEVEL, b_level, -1)
    a_rank = np.where(a_state == LEVEL, a_level, -1)
    changed = (b_state != a_state) | (b_level != a_level)
    columns = {"compared": np.ones(len(codes), dtype=bool), "changed": changed,
               "raised": changed & (a_rank > b_rank), "lowered": changed & (a_rank < b_rank),
               "into_proficient": changed & a_prof & ~b_prof,
               "out_of_proficient": changed & b_prof & ~a_prof}
    out.total = Effect(**{k: int(v.sum()) for k, v in columns.items()})
    students, competencies = codes // SHIFT, codes % SHIFT
    names = sorted(set(school_of.values()) | {""})
    lookup = {name: n for n, name in enumerate(names)}
    each, inverse = np.unique(students, return_inverse=True)
    schools = np.array([lookup[school_of.get(int(s), "")] for s in each.tolist()],
                       dtype=np.int64)[inverse]
    for key, labels, into in ((competencies, None, out.by_competency),
                              (schools, names, out.by_school)):
        groups, inverse = np.unique(key, return_inverse=True)
        sums = {k: np.bincount(inverse, weights=v, minlength=len(groups))
                for k, v in columns.items()}
        for n, group in enumerate(groups.tolist()):
            effect = Effect(**{k: int(s[n]) for k, s in sums.items()})
            into[labels[group] if labels is not None else group] = effect
    crossing = np.flatnonzero(b_prof != a_prof)
    out.crossing_codes = codes[crossing]
    out.crossing_sides = tuple(x[crossing] for x in (b_state, b_level, b_prof,
                                                     a_state, a_level, a_prof))
    out.level_codes = list(level_codes)
    return out


def crossings(c: Comparison, limit: int | None = None) -> list[tuple[Pair, Shown, Shown]]:
    """The first ``limit`` crossings (all when None), in pair order, as plain values."""
    if not len(c.crossing_codes):
        return []
    n = len(c.crossing_codes) if limit is None else min(limit, len(c.crossing_codes))
    levels = list(c.level_codes)
    sides = [x[:n].tolist() for x in c.crossing_sides]

    def shown(state: int, level: int, proficient: bool) -> Shown:
        return (STATES[state], levels[level] if level >= 0 else None, bool(proficient))

    return [((code // SHIFT, code % SHIFT), shown(sides[0][i], sides[1][i], sides[2][i]),
             shown(sides[3][i], sides[4][i], sides[5][i]))
            for i, code in enumerate(c.crossing_codes[:n].tolist())]


def described(shown: Shown, labels: Mapping[str, str]) -> str:
    state, level, _ = shown
    if state == "none":
        return "no record"
    return labels.get(level or "", level or "") if state == "level" else labels.get(state, state)
