"""The shortcuts reports take through pace give the answers the full computation gives.

A district's progress report computes pace for thousands of students, so it leaves
out the level dates it does not show (``snapshot=False``), turns each result into a
dict without a deep copy (``DomainPace.as_dict``) and walks the level dates in one
loop. These properties hold each shortcut to the plain definition.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mastery.placement import Placement
from connector.mastery.progress import (
    Domain,
    PaceRules,
    domain_pace,
    end_of,
    level_dates,
)

IDS = [f"c{n}" for n in range(9)]
DOMAIN = Domain("ma", "Math", (("6", frozenset(IDS[:3])), ("7", frozenset(IDS[3:6])),
                               ("8", frozenset(IDS[6:]))), graduation_level="7")
RULES = PaceRules(year_start_month=8, year_start_day=20)
BASE = datetime(2024, 6, 1, tzinfo=UTC)

moments = st.none() | st.integers(0, 900).map(lambda d: BASE + timedelta(days=d, hours=d % 7))
sinces = st.dictionaries(st.sampled_from(IDS + ["elsewhere"]), moments)
days = st.integers(0, 900).map(lambda d: date(2024, 6, 1) + timedelta(days=d))
placements = st.none() | st.builds(
    Placement, domain=st.just("ma"), level=st.sampled_from(["6", "7", "8", "9"]),
    source=st.just("map"), assessment=st.just("MAP"), score=st.floats(100, 300),
    placed_on=days)


def reference_level_dates(domain: Domain, since: dict[str, datetime | None],
                          moment: datetime) -> tuple[tuple[str, datetime | None], ...]:
    """The definition: a level's date is the latest of its own and every lower level's."""
    out: list[tuple[str, datetime | None]] = []
    needed: list[datetime] = []
    for name, ids in domain.levels:
        dates = [since.get(cid) for cid in ids]
        if any(d is None or d > moment for d in dates) or (out and out[-1][1] is None):
            out.append((name, None))
            continue
        needed += [d for d in dates if d is not None]
        out.append((name, max(needed)))
    return tuple(out)


@settings(max_examples=300, deadline=None)
@given(sinces, days)
def test_level_dates_follow_the_definition(since: dict[str, datetime | None], as_of: date) -> None:
    moment = end_of(as_of)
    assert level_dates(DOMAIN, since, moment) == reference_level_dates(DOMAIN, since, moment)


@settings(max_examples=300, deadline=None)
@given(sinces, days, placements)
def test_a_report_without_the_snapshot_differs_only_by_the_snapshot(
        since: dict[str, datetime | None], as_of: date, placement: Placement | None) -> None:
    full = domain_pace(DOMAIN, since, as_of, RULES, placement)
    short = domain_pace(DOMAIN, since, as_of, RULES, placement, snapshot=False)
    assert short == dataclasses.replace(full, levels=())


@settings(max_examples=200, deadline=None)
@given(sinces, days, placements)
def test_as_dict_is_asdict(since: dict[str, datetime | None], as_of: date,
                           placement: Placement | None) -> None:
    pace = domain_pace(DOMAIN, since, as_of, RULES, placement)
    assert pace.as_dict() == dataclasses.asdict(pace)
