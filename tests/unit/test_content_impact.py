"""Content impact: use and mastery where a provider gave evidence, small groups hidden."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.mastery.content_impact import PairFacts, impact

EARLY, LATE = datetime(2025, 9, 1, tzinfo=UTC), datetime(2025, 11, 1, tzinfo=UTC)


def pair(student: int, competency: int, proficient: bool, since: datetime | None = None,
         used: bool = True, group: str = "s1") -> PairFacts:
    return PairFacts(student, competency, (group,), proficient, since,
                     {"pal": (3, EARLY)} if used else {})


def test_use_and_the_comparison_on_the_same_competencies() -> None:
    pairs = [pair(n, 1, n % 2 == 0, LATE) for n in range(10)]          # 5 of 10, after use
    pairs += [pair(n, 2, False, used=False) for n in range(10)]         # aligned? no: 2 unused
    pairs += [pair(n, 1, True, EARLY, used=False) for n in range(10, 20)]  # same target, no pal
    (row,) = impact(pairs, ["pal"], 10).rows
    assert (row.students, row.evidence, row.competencies) == (10, 30, 1)
    assert row.proficient_users == 0.5 and row.proficient_after_use == 0.5
    assert (row.others, row.proficient_others) == (10, 1.0)


def test_small_groups_are_hidden_and_a_small_comparison_is_left_out() -> None:
    few = [pair(n, 1, True, LATE, group="s2") for n in range(4)]
    enough = [pair(n, 1, False) for n in range(10)] + [
        pair(n, 1, True, used=False) for n in range(10, 13)]  # only 3 without it
    result = impact(few + enough, ["pal", "unused"], 10)
    assert [r.group for r in result.rows] == ["s1"] and result.hidden == 1
    assert result.rows[0].others is None and result.rows[0].proficient_others is None
    assert result.rows[0].proficient_after_use == 0.0  # none proficient
