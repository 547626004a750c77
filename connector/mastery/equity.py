"""Proficiency and pace by demographic group, with small groups suppressed first: pure rules.

Competency-based districts say they move to mastery for equity, and the field's
reports ask them to show it: whether every group of students reaches proficiency
and keeps pace. A table of groups is also the easiest way to point at a student,
so suppression comes before anything is counted, drawn or exported: a group of
fewer than the district's minimum is hidden, and when exactly one group of a
breakdown is hidden, the next smallest is hidden too, so that no hidden count can
be worked out from the total and the rest (complementary suppression).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: OneRoster demographics race columns, in the words reports use.
RACE_LABELS = {
    "americanIndianOrAlaskaNative": "American Indian or Alaska Native",
    "asian": "Asian",
    "blackOrAfricanAmerican": "Black or African American",
    "nativeHawaiianOrOtherPacificIslander": "Native Hawaiian or Other Pacific Islander",
    "white": "White",
    "demographicRaceTwoOrMoreRaces": "Two or more races",
}
HISPANIC = "Hispanic or Latino"
NOT_REPORTED = "Not reported"
SEX_LABELS = {"female": "Female", "male": "Male", "other": "Another gender",
              "unspecified": NOT_REPORTED}
DIMENSIONS = {"race": "race and ethnicity", "sex": "sex"}


def race_group(races: Sequence[str], hispanic: bool | None) -> str:
    """One group per student, as US federal reporting counts them.

    Hispanic or Latino of any race; otherwise the one race reported, "Two or more
    races" for several, and "Not reported" for none.

    >>> race_group(["white"], True), race_group(["asian", "white"], False), race_group([], None)
    ('Hispanic or Latino', 'Two or more races', 'Not reported')
    """
    if hispanic:
        return HISPANIC
    named = [r for r in races if r in RACE_LABELS]
    if len(named) > 1:
        return RACE_LABELS["demographicRaceTwoOrMoreRaces"]
    return RACE_LABELS[named[0]] if named else NOT_REPORTED


def sex_group(sex: str | None) -> str:
    return SEX_LABELS.get((sex or "").strip().lower(), NOT_REPORTED) if sex else NOT_REPORTED


@dataclass(frozen=True)
class StudentFacts:
    """What the breakdown needs of one student: groups, targets proficient, pace per domain."""

    groups: dict[str, str]          # dimension -> group
    proficient: int                  # learning targets proficient, over every domain
    targets: int                     # learning targets, over every domain
    paces: tuple[str, ...] = ()      # the student's pace label in each domain with targets


@dataclass
class GroupRow:
    group: str
    students: int
    proficient_share: float          # targets proficient / targets, over the group
    pace: dict[str, float] = field(default_factory=dict)  # label -> share of domain places


@dataclass
class Breakdown:
    dimension: str
    rows: list[GroupRow]
    hidden: int                      # groups suppressed
    min_group: int
    pace_labels: list[str] = field(default_factory=list)


def suppressed(sizes: dict[str, int], min_group: int) -> set[str]:
    """The groups to hide: the small ones, and one more when only one would be hidden.

    >>> sorted(suppressed({"a": 30, "b": 12, "c": 4}, 10))
    ['b', 'c']
    >>> sorted(suppressed({"a": 30, "b": 12, "c": 4, "d": 3}, 10))
    ['c', 'd']
    >>> suppressed({"a": 30, "b": 12}, 10)
    set()
    """
    small = {g for g, n in sizes.items() if n < min_group}
    if len(small) == 1:
        rest = sorted((n, g) for g, n in sizes.items() if g not in small)
        if rest:
            small.add(rest[0][1])
    return small


def breakdown(students: Iterable[StudentFacts], dimension: str, min_group: int,
              pace_order: Sequence[str] = ()) -> Breakdown:
    """Each shown group's proficiency and pace; hidden groups appear only as a count."""
    members: dict[str, list[StudentFacts]] = {}
    for s in students:
        members.setdefault(s.groups.get(dimension, NOT_REPORTED), []).append(s)
    hidden = suppressed({g: len(v) for g, v in members.items()}, min_group)
    rows: list[GroupRow] = []
    seen: set[str] = set()
    for group in sorted(set(members) - hidden):
        them = members[group]
        targets = sum(s.targets for s in them)
        paces = Counter(label for s in them for label in s.paces)
        places = sum(paces.values())
        seen.update(paces)
        rows.append(GroupRow(group, len(them),
                             sum(s.proficient for s in them) / targets if targets else 0.0,
                             {k: v / places for k, v in paces.items()} if places else {}))
    labels = [x for x in pace_order if x in seen] + sorted(seen - set(pace_order))
    return Breakdown(dimension, rows, len(hidden), min_group, labels)
