"""Academic levels, pace codes, exceptions, credit and time to proficiency (pure rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from connector.errors import MasteryError
from connector.mastery.placement import (
    Diagnostic,
    Placement,
    PlacementCut,
    PlacementRule,
    place,
    placed_level,
)
from connector.mastery.progress import (
    Domain,
    PaceRules,
    academic_level,
    credit,
    days_to_proficiency,
    domain_pace,
    exception_reasons,
    level_dates,
)

MATH = Domain("math", "Mathematics", (
    ("6", frozenset({"a", "b"})), ("7", frozenset({"c", "d"})), ("8", frozenset({"e", "f"}))),
    graduation_level="7")
RULES = PaceRules(year_start_month=8, year_start_day=25, school_year_days=300, on_pace=1.0,
                  can_catch_up=0.7, minimum_days=28, window_days=42)
START = datetime(2025, 8, 25, 12, tzinfo=UTC)


def on(day: int) -> datetime:
    return START + timedelta(days=day)


def test_academic_level_needs_every_lower_level() -> None:
    assert academic_level(MATH, set()) is None
    assert academic_level(MATH, {"a", "b", "c"}) == "6"
    assert academic_level(MATH, {"a", "b", "c", "d", "e"}) == "7"
    assert academic_level(MATH, {"c", "d", "e", "f"}) is None  # level 6 is not done


def test_level_dates_are_the_last_date_needed() -> None:
    since = {"a": on(10), "b": on(40), "c": on(20), "d": on(30)}
    assert level_dates(MATH, since, on(100)) == (("6", on(40)), ("7", on(40)), ("8", None))
    assert level_dates(MATH, since, on(35)) == (("6", None), ("7", None), ("8", None))


@pytest.mark.parametrize(("mastered", "code", "label"), [
    # 171 days of 300 -> 2 targets per level * 1 level a year * 0.57 = 1.14 expected
    (2, 3, "on pace"), (1, 2, "can catch up"), (0, 1, "needs support")])
def test_pace_codes_follow_the_thresholds(mastered: int, code: int, label: str) -> None:
    since = {cid: on(5 + i) for i, cid in enumerate(["a", "b"][:mastered])}
    pace = domain_pace(MATH, since, on(170).date(), RULES)
    assert pace.expected_by_now == 1.14
    assert (pace.code, pace.label) == (code, label)
    assert pace.mastered_this_year == mastered


def test_last_years_proficiency_counts_for_the_level_not_this_years_pace() -> None:
    since = {"a": on(-200), "b": on(-150), "c": on(20)}
    pace = domain_pace(MATH, since, on(149).date(), RULES)
    assert pace.academic_level == "6" and pace.working_level == "7"
    assert pace.mastered == 3 and pace.mastered_this_year == 1
    assert pace.graduation_met is False


def test_early_in_the_year_pace_is_not_judged_and_complete_domains_are_on_pace() -> None:
    assert domain_pace(MATH, {}, on(10).date(), RULES).label == "too early to tell"
    done = {cid: on(-30) for cid in "abcdef"}
    pace = domain_pace(MATH, done, on(200).date(), RULES)
    assert (pace.code, pace.label, pace.graduation_met) == (3, "complete", True)


def test_exceptions_stalled_slowing_and_several_domains() -> None:
    as_of = on(140).date()
    stalled = exception_reasons({"a": on(50)}, [], as_of, RULES, has_evidence=True)
    assert stalled and stalled[0].startswith("stalled") and "last 2025-10-14" in stalled[0]
    # 4 in days 57-98, 1 in days 99-140: slowing, not stalled
    since = {"a": on(60), "b": on(70), "c": on(80), "d": on(90), "e": on(120)}
    slowing = exception_reasons(since, [], as_of, RULES, has_evidence=True)
    assert slowing == ["slowing: 1 competencies in the last 42 days against 4 in the 42 before"]
    behind = [domain_pace(MATH, {}, as_of, RULES), domain_pace(
        Domain("ela", "ELA", (("6", frozenset({"x"})),)), {}, as_of, RULES)]
    reasons = exception_reasons({"a": on(130)}, behind, as_of, RULES, has_evidence=True)
    assert reasons == ["needs support in 2 domains: ela, math"]
    assert exception_reasons({}, [], as_of, RULES, has_evidence=False) == []


def test_credit_is_earned_on_the_last_required_date() -> None:
    status = credit(["a", "b"], {"a": on(3), "b": on(9), "c": None})
    assert status.earned and status.earned_on == on(9)
    missing = credit(["a", "c"], {"a": on(3), "c": None})
    assert not missing.earned and missing.missing == ("c",)
    assert not credit([], {}).earned


def test_days_to_proficiency() -> None:
    assert days_to_proficiency(on(0), on(21)) == 21
    assert days_to_proficiency(on(0), None) is None


def test_rules_are_validated() -> None:
    with pytest.raises(MasteryError, match="can_catch_up <= on_pace"):
        PaceRules(on_pace=0.5, can_catch_up=0.7)
    with pytest.raises(ValueError):
        PaceRules(year_start_month=2, year_start_day=30)
    with pytest.raises(MasteryError, match="graduation level '9'"):
        Domain("x", "X", (("6", frozenset({"a"})),), graduation_level="9")
    assert RULES.year_start(date(2026, 3, 1)) == date(2025, 8, 25)
    assert RULES.year_start(date(2025, 8, 25)) == date(2025, 8, 25)


# ---- placement ("leveling") ---------------------------------------------------------------


def _placed(level: str, day: int, score: float = 240) -> Placement:
    return Placement("math", level, "map", "MAP Growth Math", score, on(day).date())


def test_a_placement_starts_work_at_its_level_without_counting_as_mastery() -> None:
    pace = domain_pace(MATH, {"a": on(10)}, on(149).date(), RULES, _placed("8", 5))
    assert (pace.academic_level, pace.working_level, pace.level_basis) == ("7", "8", "placement")
    assert pace.mastered == 1 and pace.mastered_this_year == 1  # pace counts mastery only
    assert pace.graduation_met is False  # graduation level 7 is reached by placement only
    # Mastery beyond the placement takes over; a placement from after the as-of date waits.
    done = {c: on(20) for c in "abcdef"}
    assert domain_pace(MATH, done, on(149).date(), RULES, _placed("7", 5)).level_basis == \
        "mastery"
    later = domain_pace(MATH, {}, on(149).date(), RULES, _placed("8", 160))
    assert (later.academic_level, later.level_basis, later.placement) == (None, "none", None)


def test_latest_diagnostic_in_a_domain_places() -> None:
    rules = [PlacementRule("map", "Math*", "math", (PlacementCut(0, "6"), PlacementCut(50, "7"),
                                                   PlacementCut(80, "8"))),
             PlacementRule("iready", "*", "ela", (PlacementCut(55, "7"),))]
    taken = [Diagnostic("map", "Mathematics", "MAP Math", 85, on(-100)),
             Diagnostic("map", "Mathematics", "MAP Math", 62, on(5)),
             Diagnostic("map", "Reading", "MAP Reading", 99, on(6)),      # no rule for Reading
             Diagnostic("iready", "diag-ela", "i-Ready ELA", 30, on(7))]  # below every cut
    placed = place(rules, taken)
    assert set(placed) == {"math"}
    assert (placed["math"].level, placed["math"].score, placed["math"].placed_on) == \
        ("7", 62, on(5).date())
    assert placed_level(["6", "7", "8"], None, _placed("6", 1)) == (None, "none")
    # The latest result decides, even below every cut: an older, higher one no longer places.
    low = [*taken, Diagnostic("map", "Mathematics", "MAP Math", 10, on(9))]
    strict = [PlacementRule("map", "Math*", "math", (PlacementCut(50, "7"), PlacementCut(80, "8")))]
    assert place(strict, low) == {}
    assert place(strict, low, as_of=on(8).date())["math"].level == "7"


def test_placement_rules_are_checked_against_the_domains() -> None:
    from marshmallow import ValidationError

    from connector.config.progress_schemas import ProgressSchema
    domains = [{"key": "math", "title": "Math", "levels": [
        {"level": "6", "competencies": ["M.6.*"]}, {"level": "7", "competencies": ["M.7.*"]}]}]
    good = ProgressSchema().load({"domains": domains, "placement": [
        {"source": "map", "item": "Math*", "domain": "math",
         "cuts": [{"min_score": 0, "level": "6"}, {"min_score": 60, "level": "7"}]}]})
    assert good.placement[0].level_for(75) == "7"
    with pytest.raises(ValidationError, match=r"levels \['9'\] are not levels of domain 'math'"):
        ProgressSchema().load({"domains": domains, "placement": [
            {"source": "map", "domain": "math", "cuts": [{"min_score": 0, "level": "9"}]}]})
    with pytest.raises(ValidationError, match="no domain 'science'"):
        ProgressSchema().load({"domains": domains, "placement": [
            {"source": "map", "domain": "science", "cuts": [{"min_score": 0, "level": "6"}]}]})
