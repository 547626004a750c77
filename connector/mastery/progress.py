"""Proficiency, pace and progress: academic levels, on-pace codes, credit and exceptions.

"Learning is the constant, time is the variable": competency-based districts
track where a student is working in each domain (the academic level, apart from
the grade level), how fast targets are being mastered against an expected
annual rate, and who is stalled, slowing or behind in several domains.

All of it is computed from when each competency became proficient
(``proficient_since`` on the records), as of a given date, so a report for a
past date is reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import Any

from connector.errors import MasteryError
from connector.mastery.placement import Placement, placed_level

#: Lindsay Unified's codes: 3 on pace, 2 can catch up, 1 needs support.
PACE_LABELS = {3: "on pace", 2: "can catch up", 1: "needs support"}


@dataclass(frozen=True)
class Domain:
    """A content area and its levels, lowest first: (level name, competency identifiers)."""

    key: str
    title: str
    levels: tuple[tuple[str, frozenset[str]], ...]
    graduation_level: str | None = None
    #: The grades the domain is for (a high school's domains are not a middle schooler's);
    #: empty: every grade.
    grades: frozenset[str] = frozenset()

    def applies_to(self, grade: str) -> bool:
        """Whether a student in ``grade`` is measured in this domain.

        >>> Domain("hs", "HS", (("9", frozenset({"x"})),), grades=frozenset({"09"})).applies_to("07")
        False
        """
        return not self.grades or grade.strip() in self.grades

    def __post_init__(self) -> None:
        names = [name for name, _ in self.levels]
        if len(set(names)) != len(names):
            raise MasteryError(f"domain {self.key!r} names a level twice: {names}")
        if self.graduation_level is not None and self.graduation_level not in names:
            raise MasteryError(f"domain {self.key!r}: graduation level {self.graduation_level!r} "
                               f"is not one of its levels {names}")

    @cached_property
    def level_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.levels)

    @cached_property
    def competencies(self) -> frozenset[str]:
        """Every level's competencies; kept once made, since pace asks for it per record."""
        return frozenset().union(*(ids for _, ids in self.levels)) if self.levels else frozenset()


@dataclass(frozen=True)
class PaceRules:
    """The district's expectations; every threshold is configurable."""

    year_start_month: int = 8
    year_start_day: int = 15
    school_year_days: int = 300
    expected_levels_per_year: float = 1.0
    on_pace: float = 1.0
    can_catch_up: float = 0.7
    minimum_days: int = 28
    window_days: int = 42
    slowing_ratio: float = 0.5
    several_domains: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.can_catch_up <= self.on_pace:
            raise MasteryError("pace thresholds need 0 < can_catch_up <= on_pace")
        if self.school_year_days < 1 or self.window_days < 1 or self.minimum_days < 0:
            raise MasteryError("pace day counts must be positive")
        date(2001, self.year_start_month, self.year_start_day)  # raises on 2/30

    def year_start(self, as_of: date) -> date:
        """The first day of the school year ``as_of`` falls in."""
        start = date(as_of.year, self.year_start_month, self.year_start_day)
        return start if start <= as_of else date(as_of.year - 1, self.year_start_month,
                                                 self.year_start_day)


#: Report dates a school could mean; outside them, date arithmetic runs off the calendar.
FIRST_REPORT_DAY, LAST_REPORT_DAY = date(1900, 1, 1), date(2199, 12, 31)


def report_day(text: str) -> date:
    """A report's as-of date from ``YYYY-MM-DD``, within the years a school could mean.

    >>> report_day("2025-12-19")
    datetime.date(2025, 12, 19)
    >>> report_day("0001-01-01")
    Traceback (most recent call last):
    ...
    ValueError: the date must lie between 1900-01-01 and 2199-12-31: '0001-01-01'
    """
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"write the date as YYYY-MM-DD: {text!r}") from None
    if not FIRST_REPORT_DAY <= day <= LAST_REPORT_DAY:
        raise ValueError(f"the date must lie between {FIRST_REPORT_DAY} and {LAST_REPORT_DAY}: "
                         f"{text!r}")
    return day


@lru_cache(maxsize=64)
def end_of(day: date) -> datetime:
    """The last instant of ``day`` in UTC (reports count what happened on the as-of day)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(
        microseconds=1)


def proficient_by(since: Mapping[str, datetime | None], moment: datetime) -> set[str]:
    return {cid for cid, when in since.items() if when is not None and when <= moment}


def academic_level(domain: Domain, proficient: set[str]) -> str | None:
    """The highest level whose competencies, and those of every level below, are all proficient.

    >>> d = Domain("ma", "Math", (("6", frozenset({"a", "b"})), ("7", frozenset({"c"}))))
    >>> academic_level(d, {"a", "b"}), academic_level(d, {"a", "c"}), academic_level(d, {"a"})
    ('6', None, None)
    """
    reached = None
    for name, ids in domain.levels:
        if not ids <= proficient:
            break
        reached = name
    return reached


def level_dates(domain: Domain, since: Mapping[str, datetime | None],
                moment: datetime) -> tuple[tuple[str, datetime | None], ...]:
    """When each level was credentialed, as on a Chugach-style performance snapshot.

    A level's date is the day its last competency (or a lower level's) became
    proficient; None while it is not yet reached.
    """
    out: list[tuple[str, datetime | None]] = []
    reached: datetime | None = None
    blocked = False
    for name, ids in domain.levels:
        latest: datetime | None = None
        for cid in () if blocked else ids:
            when = since.get(cid)
            if when is None or when > moment:
                blocked = True
                break
            if latest is None or when > latest:
                latest = when
        if blocked or latest is None:
            blocked = True
            out.append((name, None))
            continue
        reached = latest if reached is None else max(reached, latest)
        out.append((name, reached))
    return tuple(out)


@dataclass(frozen=True)
class DomainPace:
    domain: str
    academic_level: str | None
    working_level: str | None
    mastered: int
    total: int
    mastered_this_year: int
    expected_by_now: float
    ratio: float | None
    code: int | None
    label: str
    graduation_met: bool | None
    levels: tuple[tuple[str, datetime | None], ...] = ()
    #: What the academic level rests on: "mastery", "placement" (a diagnostic) or "none".
    level_basis: str = "none"
    placement: Placement | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict, as :func:`dataclasses.asdict` gives them, without its deep copy.

        A district's progress report turns thousands of these into dicts; the values are
        immutable, so a shallow copy is the same answer at a fraction of the time.
        """
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.placement is not None:
            out["placement"] = asdict(self.placement)
        return out


def domain_pace(domain: Domain, since: Mapping[str, datetime | None], as_of: date,
                rules: PaceRules, placement: Placement | None = None, *,
                snapshot: bool = True) -> DomainPace:
    """Pace in one domain: targets mastered this school year against the expected rate.

    A placement taken by ``as_of`` raises the academic level to the level below the
    one placed at, and work starts at the placed level; mastered counts and pace
    are unchanged, because a placement shows no competency. ``snapshot=False``
    leaves out the date each level was reached (``levels``), which reports over
    thousands of students do not show.
    """
    moment = end_of(as_of)
    within = domain.competencies
    done = {k for k, when in since.items() if when is not None and when <= moment and k in within}
    names = domain.level_names
    if placement is not None and placement.placed_on > as_of:
        placement = None
    mastered_level = academic_level(domain, done)
    level, basis = placed_level(names, mastered_level, placement)
    floor = names.index(level) + 1 if level is not None else 0
    working = next((n for n, ids in domain.levels[floor:] if not ids <= done), None)
    first_day = rules.year_start(as_of)
    start = datetime.combine(first_day, time.min, tzinfo=UTC)
    this_year = sum(1 for cid in done if (when := since.get(cid)) is not None and when >= start)
    per_level = len(domain.competencies) / max(len(domain.levels), 1)
    elapsed = (as_of - first_day).days + 1
    expected = per_level * rules.expected_levels_per_year * min(1.0, elapsed / rules.school_year_days)
    levels = level_dates(domain, since, moment) if snapshot else ()
    graduation = None
    if domain.graduation_level is not None:
        # Graduation is shown by mastery alone: a placement shows no competency.
        graduation = (mastered_level is not None
                      and names.index(mastered_level) >= names.index(domain.graduation_level))
    if len(done) == len(domain.competencies) and domain.competencies:
        return DomainPace(domain.key, level, None, len(done), len(domain.competencies), this_year,
                          round(expected, 2), None, 3, "complete", graduation, levels,
                          basis, placement)
    if elapsed < rules.minimum_days or expected <= 0:
        return DomainPace(domain.key, level, working, len(done), len(domain.competencies),
                          this_year, round(expected, 2), None, None, "too early to tell",
                          graduation, levels, basis, placement)
    ratio = this_year / expected
    code = 3 if ratio >= rules.on_pace else 2 if ratio >= rules.can_catch_up else 1
    return DomainPace(domain.key, level, working, len(done), len(domain.competencies), this_year,
                      round(expected, 2), round(ratio, 2), code, PACE_LABELS[code], graduation,
                      levels, basis, placement)


def exception_reasons(since: Mapping[str, datetime | None], paces: Sequence[DomainPace],
                      as_of: date, rules: PaceRules, *, has_evidence: bool) -> list[str]:
    """Why a student belongs on the exceptions report (empty when they do not)."""
    reasons: list[str] = []
    moment = end_of(as_of)
    window = timedelta(days=rules.window_days)
    dates = [d for d in since.values() if d is not None and d <= moment]
    recent = sum(1 for d in dates if d > moment - window)
    before = sum(1 for d in dates if moment - 2 * window < d <= moment - window)
    unfinished = not paces or any(p.label != "complete" for p in paces)
    if has_evidence and unfinished and recent == 0:
        last = max(dates, default=None)
        reasons.append("stalled: no competency newly proficient in "
                       f"{rules.window_days} days" + (f" (last {last.date()})" if last else ""))
    elif before >= 2 and recent < rules.slowing_ratio * before:
        reasons.append(f"slowing: {recent} competencies in the last {rules.window_days} days "
                       f"against {before} in the {rules.window_days} before")
    behind = [p.domain for p in paces if p.code == 1]
    if len(behind) >= rules.several_domains:
        reasons.append(f"needs support in {len(behind)} domains: {', '.join(sorted(behind))}")
    return reasons


@dataclass(frozen=True)
class CreditStatus:
    earned: bool
    earned_on: datetime | None
    missing: tuple[str, ...]


def credit(required: Iterable[str], since: Mapping[str, datetime | None]) -> CreditStatus:
    """A course's credit: earned when every required competency is proficient, on the last date."""
    needed = sorted(set(required))
    dates = [when for c in needed if (when := since.get(c)) is not None]
    missing = tuple(c for c in needed if since.get(c) is None)
    if missing or not needed:
        return CreditStatus(False, None, missing)
    return CreditStatus(True, max(dates), ())


def days_to_proficiency(first_evidence: datetime | None, since: datetime | None) -> int | None:
    """Days from the first evidence to the start of the current proficient run."""
    if first_evidence is None or since is None:
        return None
    return max((since - first_evidence).days, 0)
