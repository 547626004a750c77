"""Roll-up rules: a parent's level from its children's records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connector.domain.evidence import MasteryResult
from connector.domain.scale import MasteryState
from connector.errors import MasteryError
from connector.mastery.rollup import ChildResult, RollupRule, roll_up, rule_from_definition
from tests.strategies import FOUR_POINT

DAY = datetime(2025, 10, 1, tzinfo=UTC)


def child(code: str, level: str | None, state: str = "level", day: int = 0) -> ChildResult:
    proficient = level is not None and FOUR_POINT.is_proficient(FOUR_POINT.level(level))
    return ChildResult(identifier=f"id-{code}", code=code, state=state, level_code=level,
                       proficient=proficient, achieved_at=DAY + timedelta(days=day),
                       proficient_since=DAY + timedelta(days=day) if proficient else None,
                       first_evidence_at=DAY)


def up(children: list[ChildResult], rule: RollupRule, total: int | None = None) -> MasteryResult:
    return roll_up(children, rule, scale=FOUR_POINT, engine_version="t", total_children=total)


def test_all_proficient_takes_the_lowest_level_once_every_child_has_one() -> None:
    rule = RollupRule("all_proficient")
    result = up([child("a", "4", day=3), child("b", "3", day=9)], rule)
    assert (result.level_code, result.proficient) == ("3", True)
    assert result.proficient_since == DAY + timedelta(days=9)  # when the last child got there
    assert "CR" not in result.explanation and "a 4 Advanced; b 3 Proficient" in result.explanation
    below = up([child("a", "4"), child("b", "2")], rule)
    assert (below.level_code, below.proficient) == ("2", False)
    waiting = up([child("a", "4")], rule, total=2)
    assert waiting.state is MasteryState.NOT_YET
    assert "1 more has no record yet" in waiting.explanation
    assert "1 of 2 have a level" in waiting.explanation


def test_k_of_n_uses_the_kth_highest_level() -> None:
    rule = RollupRule("k_of_n", k=2)
    result = up([child("a", "4"), child("b", "3", day=5), child("c", "1")], rule)
    assert result.level_code == "3" and result.proficient
    assert result.parameters == {"k": 2}
    assert "2 of 3 proficient, 2 needed" in result.explanation
    assert up([child("a", "4"), child("b", "1")], rule).level_code == "1"
    assert up([child("a", "4")], rule, total=3).state is MasteryState.NOT_YET


def test_mean_of_children_levels() -> None:
    result = up([child("a", "4"), child("b", "3"), child("c", "2")], RollupRule("mean"))
    assert (result.score, result.level_code) == (3.0, "3")
    assert up([child("a", "4"), child("b", "1")], RollupRule("mean")).level_code == "2"  # 2.5


def test_points_with_required_children() -> None:
    rule = RollupRule("points", points={"b": 2}, points_required=3, required=frozenset({"c"}))
    met = up([child("a", "3"), child("b", "4"), child("c", "3")], rule)
    assert met.level_code == "3" and met.proficient  # 1 + 2 + 1 points, c proficient
    missing_required = up([child("a", "3"), child("b", "4"), child("c", "2")], rule)
    assert missing_required.state is MasteryState.NOT_YET
    assert "Required and not yet proficient: c" in missing_required.explanation
    short = up([child("a", "2"), child("c", "3")], rule)
    assert short.state is MasteryState.NOT_YET and "1 of 3 points" in short.explanation


def test_exempt_children_are_left_out() -> None:
    rule = RollupRule("all_proficient")
    result = up([child("a", "3"), child("b", None, state="exempt")], rule)
    assert result.level_code == "3"
    assert up([child("b", None, state="exempt")], rule).state is MasteryState.EXEMPT


def test_states_without_levels() -> None:
    rule = RollupRule("all_proficient")
    assert up([child("a", None, state="insufficient_evidence")], rule).state is \
        MasteryState.INSUFFICIENT_EVIDENCE
    assert up([child("a", "3"), child("b", None, state="not_yet")], rule).state is \
        MasteryState.NOT_YET


def test_direct_evidence_on_a_parent_is_named() -> None:
    result = roll_up([child("a", "3")], RollupRule("mean"), scale=FOUR_POINT, engine_version="t",
                     direct_evidence=4)
    assert "4 piece(s) of evidence aligned to this competency itself are kept" in \
        result.explanation


def test_rules_are_validated_and_versioned() -> None:
    with pytest.raises(MasteryError, match="must be one of"):
        RollupRule("majority")  # type: ignore[arg-type]
    with pytest.raises(MasteryError, match="'points_required' above 0"):
        RollupRule("points")
    a, b = RollupRule("k_of_n", k=2), RollupRule("k_of_n", k=3)
    assert a.version != b.version and a.version.startswith("r")
    assert rule_from_definition(a.as_dict()) == a
