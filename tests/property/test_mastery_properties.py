"""Properties of the mastery engine that must hold for every scale, policy and body of evidence."""

from __future__ import annotations

from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.evidence import EvidencePiece, MasteryResult
from connector.domain.scale import MasteryState, ProficiencyScale
from connector.mastery.methods import METHODS, decaying_average, highest, mean
from connector.mastery.policy import MasteryPolicy, compute_mastery
from tests.strategies import evidence_lists, policies, scales, values_on

ENGINE = "property-test"
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)

#: A scale, a policy, evidence in arbitrary order and the competency's target DOK.
Case = tuple[ProficiencyScale, MasteryPolicy, list[EvidencePiece], int | None]

scores = st.floats(min_value=0, max_value=10, allow_nan=False)
score_lists = st.lists(scores, min_size=1, max_size=12)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    scale = draw(scales())
    return (
        scale,
        draw(policies()),
        draw(evidence_lists(scale)),
        draw(st.one_of(st.none(), st.integers(min_value=1, max_value=4))),
    )


def run(case: Case, evidence: list[EvidencePiece] | None = None) -> MasteryResult:
    scale, policy, pieces, target_dok = case
    return compute_mastery(evidence if evidence is not None else pieces, scale=scale, policy=policy,
                           target_dok=target_dok, engine_version=ENGINE)


@PROPERTY_SETTINGS
@given(cases())
def test_a_level_is_on_the_scale_and_its_score_within_bounds(
    case: Case,
) -> None:
    scale, policy, pieces, _ = case
    result = run(case)
    if len(pieces) < policy.min_evidence:
        assert result.state is MasteryState.INSUFFICIENT_EVIDENCE
        assert result.level_code is None and result.score is None and not result.proficient
        return
    assert result.score is not None
    assert scale.min_value <= result.score <= scale.max_value
    if result.state is MasteryState.NOT_YET:
        # only a failed DOK gate on a scale whose lowest level is proficient gives "not yet"
        assert scale.proficient == scale.levels[0] and not result.proficient
        assert [s.code for s in result.steps][-1] == "dok_gate_capped"
        return
    assert result.state is MasteryState.LEVEL
    assert result.level_code is not None
    level = scale.level(result.level_code)
    assert result.level_label == level.label
    assert result.proficient == scale.is_proficient(level)
    # the reported level never exceeds the level the score reaches (the gate only lowers it)
    assert level.value <= scale.level_for_value(result.score).value


@PROPERTY_SETTINGS
@given(cases())
def test_dok_gate_is_never_violated(
    case: Case,
) -> None:
    scale, policy, pieces, target_dok = case
    result = run(case)
    if not (policy.dok_gate and target_dok is not None and result.proficient):
        return
    assert any(
        e.dok is not None
        and e.dok >= target_dok
        and e.evidence_type in policy.qualifying_evidence_types
        and e.value >= scale.proficient.value
        for e in pieces
    )
    assert "dok_gate_met" in [step.code for step in result.steps]


@PROPERTY_SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_result_ignores_the_order_rows_arrive_in(
    case: Case,
    rng: Random,
) -> None:
    shuffled = list(case[2])
    rng.shuffle(shuffled)
    assert run(case, shuffled) == run(case)


@PROPERTY_SETTINGS
@given(cases())
def test_result_is_deterministic(
    case: Case,
) -> None:
    first, second = run(case), run(case)
    assert first == second
    assert first.explanation == second.explanation


@PROPERTY_SETTINGS
@given(cases())
def test_evidence_keys_are_chronological(
    case: Case,
) -> None:
    by_key = {e.key: e for e in case[2]}
    result = run(case)
    assert sorted(result.evidence_keys) == sorted(by_key)
    ordered = [(by_key[k].observed_at, k) for k in result.evidence_keys]
    assert ordered == sorted(ordered)


@PROPERTY_SETTINGS
@given(score_lists, st.randoms(use_true_random=False))
def test_order_insensitive_methods_ignore_permutation(values: list[float], rng: Random) -> None:
    shuffled = list(values)
    rng.shuffle(shuffled)
    assert highest(shuffled) == highest(values)
    # summation order may change the last bit of a float mean
    assert abs(mean(shuffled) - mean(values)) <= 1e-9
    for spec in METHODS.values():
        if not spec.order_sensitive:
            params = spec.resolve({})
            assert abs(spec.function(shuffled, **params) - spec.function(values, **params)) <= 1e-9


@PROPERTY_SETTINGS
@given(score_lists, st.data())
def test_adding_a_score_at_or_above_the_max_never_lowers_highest(
    values: list[float], data: st.DataObject,
) -> None:
    extra = data.draw(st.floats(min_value=max(values), max_value=10, allow_nan=False))
    assert highest([*values, extra]) >= highest(values)


@PROPERTY_SETTINGS
@given(score_lists, st.data())
def test_adding_a_score_at_or_above_the_mean_never_lowers_mean(
    values: list[float], data: st.DataObject,
) -> None:
    extra = data.draw(st.floats(min_value=mean(values), max_value=10, allow_nan=False))
    assert mean([*values, extra]) >= mean(values) - 1e-9


@PROPERTY_SETTINGS
@given(score_lists, st.floats(min_value=0.5, max_value=0.99))
def test_decaying_average_stays_between_the_lowest_and_highest_score(
    values: list[float], weight: float,
) -> None:
    result = decaying_average(values, weight)
    assert min(values) - 1e-9 <= result <= max(values) + 1e-9


@PROPERTY_SETTINGS
@given(score_lists, st.floats(min_value=0.5, max_value=0.99), st.data())
def test_decaying_average_moves_toward_a_new_score(
    values: list[float], weight: float, data: st.DataObject,
) -> None:
    before = decaying_average(values, weight)
    extra = data.draw(scores)
    after = decaying_average([*values, extra], weight)
    # the new average lies between the old one and the new score
    assert min(before, extra) - 1e-9 <= after <= max(before, extra) + 1e-9


@PROPERTY_SETTINGS
@given(scales(), st.data())
def test_level_for_value_is_monotonic(scale: ProficiencyScale, data: st.DataObject) -> None:
    a = data.draw(values_on(scale))
    b = data.draw(values_on(scale))
    low, high = sorted((a, b))
    assert scale.level_for_value(low).value <= scale.level_for_value(high).value
    assert scale.level_for_value(high).value <= high
