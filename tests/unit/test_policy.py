"""compute_mastery: minimum evidence, chronological order, the DOK gate and explanations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connector.domain.evidence import EvidencePiece, EvidenceType, MasteryResult
from connector.domain.scale import Level, MasteryState, ProficiencyScale
from connector.errors import MasteryError
from connector.mastery.engine import compute_mastery
from connector.mastery.policy import DEFAULT_QUALIFYING_TYPES, MasteryPolicy
from tests.strategies import FOUR_POINT

ENGINE = "test-engine-1"
DAY0 = datetime(2024, 9, 3, 14, 30, tzinfo=UTC)
ADAPTIVE = EvidenceType.ADAPTIVE_PRACTICE.value
PERFORMANCE = EvidenceType.PERFORMANCE_TASK.value


def ev(key: str, value: float, day: int, *, dok: int | None = 2, etype: str = ADAPTIVE,
       label: str = "") -> EvidencePiece:
    return EvidencePiece(key=key, value=value, observed_at=DAY0 + timedelta(days=day), dok=dok,
                         evidence_type=etype, label=label)


def compute(evidence: list[EvidencePiece], policy: MasteryPolicy | None = None, *,
            target_dok: int | None = 3, scale: ProficiencyScale = FOUR_POINT) -> MasteryResult:
    return compute_mastery(evidence, scale=scale, policy=policy or MasteryPolicy(),
                           target_dok=target_dok, engine_version=ENGINE)


def codes(result: MasteryResult) -> list[str]:
    return [step.code for step in result.steps]


ADAPTIVE_FOURS = [ev("a1", 4, 0), ev("a2", 4, 7), ev("a3", 4, 14)]


# --- minimum evidence ---------------------------------------------------------------------


def test_fewer_than_minimum_is_insufficient_evidence() -> None:
    result = compute([ev("a1", 4, 0), ev("a2", 4, 1)], MasteryPolicy(min_evidence=3))
    assert result.state is MasteryState.INSUFFICIENT_EVIDENCE
    assert result.level_code is None
    assert result.score is None
    assert result.proficient is False
    assert result.level_label == "Insufficient evidence"
    assert "at least 3" in result.explanation
    assert "2 piece(s)" in result.explanation
    assert codes(result) == ["evidence", "minimum"]
    assert result.evidence_keys == ("a1", "a2")


def test_exactly_the_minimum_reports_a_level() -> None:
    result = compute([ev("a1", 2, 0), ev("a2", 2, 1), ev("a3", 2, 2)], MasteryPolicy(min_evidence=3))
    assert result.state is MasteryState.LEVEL
    assert result.level_code == "2"


def test_no_evidence_at_all_is_insufficient_with_no_dates() -> None:
    result = compute([])
    assert result.state is MasteryState.INSUFFICIENT_EVIDENCE
    assert result.evidence_keys == ()
    assert result.achieved_at is None
    assert result.highest_dok is None
    assert codes(result) == ["minimum"]


def test_insufficient_label_follows_the_scale_override() -> None:
    scale = ProficiencyScale(
        key="k", name="n", levels=FOUR_POINT.levels, proficient_code="3",
        state_labels={"insufficient_evidence": "Not enough evidence yet"},
    )
    result = compute([], scale=scale)
    assert result.level_label == "Not enough evidence yet"


# --- ordering -------------------------------------------------------------------------------


def test_most_recent_uses_the_latest_date_not_input_order() -> None:
    latest_low = ev("z-first-key", 2, 30)
    earlier_high = [ev("b", 4, 0), ev("c", 4, 10)]
    for evidence in ([latest_low, *earlier_high], [*earlier_high, latest_low],
                     [earlier_high[1], latest_low, earlier_high[0]]):
        result = compute(evidence, MasteryPolicy(method="most_recent"), target_dok=None)
        assert result.score == 2.0
        assert result.level_code == "2"
        assert result.evidence_keys == ("b", "c", "z-first-key")


def test_same_timestamp_is_ordered_by_key() -> None:
    same_time = [ev("k2", 1, 5), ev("k1", 4, 5)]
    result = compute(same_time, MasteryPolicy(method="most_recent"), target_dok=None)
    assert result.evidence_keys == ("k1", "k2")
    assert result.level_code == "1"


def test_decaying_average_follows_dates() -> None:
    # Source: Canvas blog recursive formula; [2, 3, 4] -> 3.53 only when 4 is the newest.
    shuffled = [ev("x", 4, 20), ev("y", 2, 0), ev("w", 3, 10)]
    result = compute(shuffled, target_dok=None)
    assert result.score == 3.53
    assert result.level_code == "3"
    assert result.proficient is True
    assert "3.53" in result.explanation
    assert "65%" in result.explanation


def test_timezones_are_compared_as_instants() -> None:
    # 20:00 in Tokyo is 11:00 UTC: earlier than 12:00 UTC although its wall clock is later.
    tokyo = timezone(timedelta(hours=9))
    pieces = [
        EvidencePiece("late", 1, datetime(2024, 9, 3, 12, 0, tzinfo=UTC), 2, ADAPTIVE),
        EvidencePiece("early", 4, datetime(2024, 9, 3, 20, 0, tzinfo=tokyo), 2, ADAPTIVE),
    ]
    result = compute(pieces, MasteryPolicy(method="most_recent"), target_dok=None)
    assert result.evidence_keys == ("early", "late")
    assert result.level_code == "1"


# --- DOK gate -------------------------------------------------------------------------------


def test_adaptive_practice_alone_is_capped_below_proficient() -> None:
    result = compute(ADAPTIVE_FOURS, MasteryPolicy(method="highest"))
    assert result.state is MasteryState.LEVEL
    assert result.score == 4.0
    assert result.level_code == "2"
    assert result.level_label == "Developing"
    assert result.proficient is False
    assert "dok_gate_capped" in codes(result)
    assert "dok_gate_met" not in codes(result)
    explanation = result.explanation
    assert "Target DOK 3 is not yet shown" in explanation
    for qualifying in ("teacher task", "performance task", "common assessment", "state test"):
        assert qualifying in explanation
    assert "held at 2 Developing" in explanation


def test_qualifying_performance_task_meets_the_gate() -> None:
    task = ev("pt", 3, 21, dok=3, etype=PERFORMANCE, label="Ratio lab")
    result = compute([*ADAPTIVE_FOURS, task], MasteryPolicy(method="highest"))
    assert result.level_code == "4"
    assert result.proficient is True
    assert "dok_gate_met" in codes(result)
    assert "dok_gate_capped" not in codes(result)
    assert "Ratio lab: 3 on 2024-09-24 (performance task, DOK 3)" in result.explanation


def test_gate_met_with_decaying_average_reaches_proficient() -> None:
    task = ev("pt", 3, 21, dok=3, etype=PERFORMANCE)
    result = compute([*ADAPTIVE_FOURS, task])
    assert result.score == 3.35  # 0.65*3 + 0.35*4
    assert result.level_code == "3"
    assert result.proficient is True


def test_deep_task_that_scored_below_proficient_does_not_satisfy_the_gate() -> None:
    task = ev("pt", 2, 21, dok=3, etype=PERFORMANCE)
    result = compute([*ADAPTIVE_FOURS, task], MasteryPolicy(method="highest"))
    assert result.level_code == "2"
    assert result.proficient is False
    assert "dok_gate_capped" in codes(result)


def test_proficient_task_below_the_target_dok_does_not_satisfy_the_gate() -> None:
    task = ev("pt", 4, 21, dok=2, etype=PERFORMANCE)
    result = compute([*ADAPTIVE_FOURS, task], MasteryPolicy(method="highest"))
    assert result.level_code == "2"


def test_task_with_unknown_dok_does_not_satisfy_the_gate() -> None:
    task = ev("pt", 4, 21, dok=None, etype=PERFORMANCE)
    result = compute([task], MasteryPolicy(method="highest"))
    assert result.level_code == "2"
    assert "DOK unknown" in result.explanation


def test_deeper_dok_than_target_satisfies_the_gate() -> None:
    task = ev("pt", 3, 21, dok=4, etype=EvidenceType.STATE_TEST.value)
    result = compute([task], MasteryPolicy(method="highest"))
    assert result.level_code == "3"
    assert "dok_gate_met" in codes(result)


def test_adaptive_practice_at_the_target_dok_still_does_not_qualify_by_default() -> None:
    deep_drill = [ev("a1", 4, 0, dok=3), ev("a2", 4, 1, dok=4)]
    result = compute(deep_drill, MasteryPolicy(method="highest"))
    assert result.level_code == "2"


def test_district_can_widen_the_qualifying_types() -> None:
    policy = MasteryPolicy(method="highest",
                           qualifying_evidence_types=frozenset({ADAPTIVE, PERFORMANCE}))
    result = compute([ev("a1", 4, 0, dok=3)], policy)
    assert result.level_code == "4"
    assert "dok_gate_met" in codes(result)


def test_gate_disabled_means_no_cap_and_no_gate_steps() -> None:
    result = compute(ADAPTIVE_FOURS, MasteryPolicy(method="highest", dok_gate=False))
    assert result.level_code == "4"
    assert result.proficient is True
    assert not {"dok_gate_met", "dok_gate_capped"} & set(codes(result))


def test_no_target_dok_means_no_gate() -> None:
    result = compute(ADAPTIVE_FOURS, MasteryPolicy(method="highest"), target_dok=None)
    assert result.level_code == "4"
    assert not {"dok_gate_met", "dok_gate_capped"} & set(codes(result))


def test_gate_does_not_touch_levels_below_proficient() -> None:
    result = compute([ev("a1", 2, 0), ev("a2", 1, 3)], MasteryPolicy(method="highest"))
    assert result.level_code == "2"
    assert result.score == 2.0
    assert codes(result) == ["evidence", "method", "level"]


def test_score_just_below_a_level_is_the_level_below() -> None:
    # 2.99 under a 1-4 scale is level 2 (ProficiencyScale docstring)
    result = compute([ev("a1", 2.98, 0), ev("a2", 3.0, 1)], MasteryPolicy(method="mean"),
                     target_dok=None)
    assert result.score == 2.99
    assert result.level_code == "2"
    assert result.proficient is False


def test_values_outside_the_scale_are_clamped() -> None:
    result = compute([ev("a1", 7, 0)], MasteryPolicy(method="highest"), target_dok=None)
    assert result.score == 4.0
    assert result.level_code == "4"


def test_gate_is_not_bypassed_when_proficient_is_the_lowest_level() -> None:
    met_scale = ProficiencyScale(
        key="met", name="Met/Exceeds scale", proficient_code="M",
        levels=(Level("M", "Met", 1), Level("E", "Exceeds", 2)),
    )
    result = compute([ev("a1", 2, 0)], MasteryPolicy(method="highest"), scale=met_scale)
    assert "dok_gate_capped" in codes(result)
    assert result.proficient is False
    assert result.state == MasteryState.NOT_YET and result.level_code is None


# --- result metadata --------------------------------------------------------------------------


def test_result_carries_keys_doks_dates_and_versions() -> None:
    policy = MasteryPolicy(method="mean")
    pieces = [ev("b", 3, 5, dok=1), ev("a", 3, 9, dok=None), ev("c", 3, 1, dok=3, etype=PERFORMANCE)]
    result = compute(pieces, policy)
    assert result.evidence_keys == ("c", "b", "a")
    assert result.highest_dok == 3
    assert result.achieved_at == DAY0 + timedelta(days=9)
    assert result.engine_version == ENGINE
    assert result.policy_version == policy.version
    assert result.method == "mean"
    assert result.parameters == {}


def test_highest_dok_is_none_when_no_evidence_states_one() -> None:
    result = compute([ev("a", 3, 0, dok=None)], target_dok=None)
    assert result.highest_dok is None
    assert result.achieved_at == DAY0


def test_parameters_are_resolved_into_the_result() -> None:
    result = compute([ev("a", 3, 0)], MasteryPolicy(), target_dok=None)
    assert result.parameters == {"weight": 0.65, "order_by": "assessed"}


def test_explanation_lists_evidence_oldest_first() -> None:
    result = compute([ev("b", 4, 2, label="Quiz 2"), ev("a", 3, 0, label="Quiz 1")], target_dok=None)
    first = result.steps[0]
    assert first.code == "evidence"
    assert first.message.index("Quiz 1: 3 on 2024-09-03") < first.message.index("Quiz 2: 4 on 2024-09-05")


# --- policy validation, version and description --------------------------------------------------


def test_policy_version_is_stable_for_equal_policies() -> None:
    explicit = MasteryPolicy(method="decaying_average", parameters={"weight": 0.65})
    assert MasteryPolicy().version == explicit.version
    assert MasteryPolicy() == explicit
    reordered = MasteryPolicy(qualifying_evidence_types=frozenset(sorted(DEFAULT_QUALIFYING_TYPES)))
    assert reordered.version == MasteryPolicy().version
    assert len(MasteryPolicy().version) == 12


@pytest.mark.parametrize("changed", [
    MasteryPolicy(parameters={"weight": 0.75}),
    MasteryPolicy(method="mean"),
    MasteryPolicy(min_evidence=2),
    MasteryPolicy(dok_gate=False),
    MasteryPolicy(qualifying_evidence_types=frozenset({PERFORMANCE})),
])
def test_policy_version_changes_with_any_rule(changed: MasteryPolicy) -> None:
    assert changed.version != MasteryPolicy().version


def test_minimum_evidence_below_one_is_rejected() -> None:
    with pytest.raises(MasteryError, match="'min_evidence' must be at least 1: 0"):
        MasteryPolicy(min_evidence=0)


def test_unknown_qualifying_type_is_rejected_with_the_known_ones() -> None:
    with pytest.raises(MasteryError) as caught:
        MasteryPolicy(qualifying_evidence_types=frozenset({"portfolio"}))
    assert "['portfolio']" in str(caught.value)
    assert "performance_task" in str(caught.value)


def test_policy_rejects_bad_method_parameters() -> None:
    with pytest.raises(MasteryError, match="between 0.5 and 0.99"):
        MasteryPolicy(parameters={"weight": 0.3})
    with pytest.raises(MasteryError, match="known methods"):
        MasteryPolicy(method="n_times")


def test_describe_states_the_actual_rule() -> None:
    sentences = MasteryPolicy(parameters={"weight": 0.7}, min_evidence=2).describe(FOUR_POINT)
    assert len(sentences) == 3
    method, minimum, dok = sentences
    assert "decaying average" in method and "70%" in method and "30%" in method
    assert "Four-point proficiency scale" in method
    assert "At least 2 piece(s)" in minimum
    assert '"Insufficient evidence"' in minimum
    assert "depth of knowledge (DOK)" in dok
    assert "Proficient or above" in dok
    assert "held one step below Proficient" in dok
    assert "performance task" in dok and "adaptive practice" not in dok.split(".")[0]
    assert "Adaptive practice alone never certifies proficiency" in dok


def test_describe_without_gate_has_no_dok_rule() -> None:
    sentences = MasteryPolicy(method="highest", dok_gate=False).describe(FOUR_POINT)
    assert len(sentences) == 2
    assert "highest score" in sentences[0]
    assert not any("DOK" in s for s in sentences)
