"""Content impact: how much each content provider was used, and mastery where it was: pure rules.

Districts are asked for data on "the use of instructional materials and their
impact on student performance". Per provider and per school or class, this counts
the students who used it and their evidence from it, and sets the share of records
proficient where it gave evidence beside the same share of the group's records on
the same competencies that it gave no evidence to. It also
counts how many of the users' proficient records came after their first use.
These are associations: students who use a provider differ from those who do not
in more ways than the provider, so nothing here says the provider caused a level.

Small groups are suppressed before anything is counted: a row whose users are
fewer than the district's minimum is hidden, and a comparison over fewer students
is left out of that row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


class PairFacts(NamedTuple):
    """One student on one competency: the groups, the record, and each provider's use.

    A tuple, not a dataclass: a district's report makes one per record in reach.
    """

    student: int
    competency: int
    groups: tuple[str, ...]          # the schools or classes this pair counts in
    proficient: bool
    since: datetime | None
    uses: Mapping[str, tuple[int, datetime]]  # provider -> (pieces of evidence, first one)


@dataclass
class ImpactRow:
    provider: str
    group: str
    students: int                    # students who used it here
    evidence: int                    # their pieces of evidence from it
    competencies: int                # competencies it has evidence on here
    proficient_users: float          # share of the users' records proficient
    proficient_after_use: float      # share of the users' records proficient since first use
    others: int | None               # students with a record there without it (None: hidden)
    proficient_others: float | None  # share of those records proficient (None: hidden)


@dataclass
class Impact:
    rows: list[ImpactRow]
    hidden: int                      # provider and group rows too small to show
    min_group: int


def impact(pairs: Iterable[PairFacts], providers: Iterable[str], min_group: int) -> Impact:
    """Every provider's use and the association with mastery, per group, small ones hidden."""
    by_group: dict[str, list[PairFacts]] = defaultdict(list)
    for pair in pairs:
        for group in pair.groups:
            by_group[group].append(pair)
    rows: list[ImpactRow] = []
    hidden = 0
    for provider in sorted(set(providers)):
        for group in sorted(by_group):
            here = by_group[group]
            used = [p for p in here if provider in p.uses]
            if not used:
                continue
            users = {p.student for p in used}
            if len(users) < min_group:
                hidden += 1
                continue
            aligned = {p.competency for p in used}
            # The comparison: records on the same competencies without the provider's
            # evidence, users' own included (a student practised one target and not another).
            rest = [p for p in here if p.competency in aligned and provider not in p.uses]
            others = {p.student for p in rest}
            after = sum(1 for p in used if p.proficient and p.since is not None
                        and p.since >= p.uses[provider][1])
            shown_others = len(others) >= min_group and bool(rest)
            rows.append(ImpactRow(
                provider, group, len(users), sum(p.uses[provider][0] for p in used),
                len(aligned), sum(p.proficient for p in used) / len(used), after / len(used),
                len(others) if shown_others else None,
                sum(p.proficient for p in rest) / len(rest) if shown_others else None))
    return Impact(rows, hidden, min_group)
