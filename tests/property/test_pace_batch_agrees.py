"""The batch pace path gives, student by student, what the scalar rules give.

Reports compute pace for a whole district with :mod:`connector.mastery.pace_batch`;
the student page, the family view and transcripts use
:func:`~connector.mastery.progress.domain_pace` and
:func:`~connector.mastery.progress.exception_reasons`. Both must say the same level,
working level, counts, pace and exception reasons for any proficient-since dates, day
and rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mastery.pace_batch import batch_paces, since_matrix
from connector.mastery.progress import Domain, PaceRules, domain_pace, exception_reasons

TARGETS = [f"t{n}" for n in range(10)]
DOMAINS = [
    Domain("ma", "Math", (("6", frozenset(TARGETS[:2])), ("7", frozenset(TARGETS[2:4])),
                          ("8", frozenset(TARGETS[4:6]))), graduation_level="7"),
    Domain("el", "ELA", (("6", frozenset(TARGETS[6:8])), ("7", frozenset(TARGETS[8:])))),
    # A level naming a competency the store does not hold: never reached.
    Domain("hs", "High school", (("9", frozenset({"t0", "elsewhere"})),),
           grades=frozenset({"09", "10"})),
]
BASE = datetime(2024, 7, 1, tzinfo=UTC)

days = st.integers(0, 700).map(lambda d: date(2024, 7, 1) + timedelta(days=d))


@st.composite
def district(draw: st.DrawFn) -> tuple[date, list[tuple[dict[str, datetime | None], str, bool]]]:
    """A report day and students whose dates cluster on the edges that day defines.

    Besides dates anywhere, some fall on the last instant of a day some weeks before
    the report day (the edges of the stalled and slowing windows) and on midnights (a
    school year's first instant), where a comparison off by one would show.
    """
    as_of = draw(days)
    last = datetime.combine(as_of, time.max, tzinfo=UTC)
    moments = st.none() | st.integers(-400, 700).map(
        lambda d: BASE + timedelta(days=d, hours=d % 5, microseconds=d % 3)) | \
        st.integers(0, 90).map(lambda d: last - timedelta(days=d)) | \
        st.integers(0, 400).map(lambda d: datetime.combine(as_of - timedelta(days=d), time.min,
                                                           tzinfo=UTC))
    pupils = draw(st.lists(st.tuples(st.dictionaries(st.sampled_from(TARGETS), moments),
                                     st.sampled_from(["06", "07", "09", "10"]), st.booleans()),
                           min_size=1, max_size=12))
    return as_of, pupils


rules = st.builds(PaceRules, year_start_month=st.sampled_from([7, 8, 9]),
                  year_start_day=st.sampled_from([1, 15, 25]),
                  minimum_days=st.sampled_from([0, 28]), window_days=st.sampled_from([14, 42]),
                  slowing_ratio=st.sampled_from([0.5, 0.8]),
                  several_domains=st.sampled_from([1, 2]))


@settings(max_examples=400, deadline=None)
@given(district(), rules)
def test_batch_paces_agree_with_the_scalar_rules(
        drawn: tuple[date, list[tuple[dict[str, datetime | None], str, bool]]],
        chosen: PaceRules) -> None:
    as_of, pupils = drawn
    sinces = [since for since, _, _ in pupils]
    grades = [grade for _, grade, _ in pupils]
    evidence = [has for _, _, has in pupils]
    batch = batch_paces(DOMAINS, TARGETS, since_matrix(sinces, TARGETS), grades, evidence,
                        as_of, chosen)
    for (since, grade, has), (paces, reasons) in zip(pupils, batch, strict=True):
        expected = [domain_pace(d, since, as_of, chosen, snapshot=False)
                    for d in DOMAINS if d.applies_to(grade)]
        assert paces == expected
        assert reasons == exception_reasons(since, expected, as_of, chosen, has_evidence=has)
