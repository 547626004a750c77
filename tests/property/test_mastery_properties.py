"""Properties of the mastery engine that must hold for every scale, policy and body of evidence."""

from __future__ import annotations

from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.evidence import EvidencePiece, MasteryResult
from connector.domain.scale import MasteryState, ProficiencyScale
from connector.mastery.engine import compute_mastery, order_key
from connector.mastery.methods import Undetermined, decaying_average, highest, mean
from connector.mastery.policy import MasteryPolicy
from connector.mastery.registry import METHODS, MethodSpec
from tests.strategies import evidence_lists, method_parameters, policies, scales, values_on

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
        draw(policies(scale)),
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
    scale, policy, _, _ = case
    result = run(case)
    counted = [u for u in result.inputs if u.counted]
    if len(counted) < policy.min_evidence:
        assert result.state is MasteryState.INSUFFICIENT_EVIDENCE
        assert result.level_code is None and result.score is None and not result.proficient
        return
    if result.state is not MasteryState.LEVEL:
        assert result.level_code is None and not result.proficient
        assert result.level_label == scale.state_label(result.state)
        last = result.steps[-1].code
        if result.score is None:
            # the method itself gave a state (not yet, needs judgment, insufficient)
            assert last == "undetermined"
        else:
            # only a failed DOK gate on a scale whose lowest level is proficient
            assert result.state is MasteryState.NOT_YET
            assert scale.proficient == scale.levels[0] and last == "dok_gate_capped"
        return
    assert result.score is not None
    assert scale.min_value <= result.score <= scale.max_value
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
    scale, policy, _, target_dok = case
    result = run(case)
    if not (policy.dok_gate and target_dok is not None and result.proficient):
        return
    assert any(
        u.counted
        and u.dok is not None
        and u.dok >= target_dok
        and u.evidence_type in policy.qualifying_evidence_types
        and (u.used_value if u.used_value is not None else u.value) >= scale.proficient.value
        for u in result.inputs
    )
    assert "dok_gate_met" in [step.code for step in result.steps]


@PROPERTY_SETTINGS
@given(cases())
def test_capped_or_excluded_adaptive_practice_alone_never_goes_past_the_cap(case: Case) -> None:
    scale, policy, pieces, _ = case
    adaptive_only = [p for p in pieces if p.evidence_type in policy.adaptive_types]
    result = run(case, adaptive_only)
    if policy.adaptive == "exclude":
        assert result.state is MasteryState.INSUFFICIENT_EVIDENCE or not adaptive_only
        assert all(not u.counted for u in result.inputs)
    elif policy.adaptive == "cap" and result.level_code is not None:
        assert policy.adaptive_max_level is not None
        assert scale.level(result.level_code).value <= scale.level(policy.adaptive_max_level).value


@PROPERTY_SETTINGS
@given(cases())
def test_proficient_since_is_set_exactly_when_proficient(case: Case) -> None:
    result = run(case)
    if result.proficient:
        assert result.proficient_since is not None and result.first_evidence_at is not None
        assert result.first_evidence_at <= result.proficient_since
    else:
        assert result.proficient_since is None


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
def test_evidence_keys_follow_the_policy_order(
    case: Case,
) -> None:
    _, policy, pieces, _ = case
    by_key = {e.key: e for e in pieces}
    result = run(case)
    assert sorted(result.evidence_keys) == sorted(by_key)
    key = order_key(str(policy.parameters.get("order_by", "assessed")))
    ordered = [key(by_key[k]) for k in result.evidence_keys]
    assert ordered == sorted(ordered)


@PROPERTY_SETTINGS
@given(score_lists, st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=12, max_size=12),
       st.randoms(use_true_random=False), st.data())
def test_order_insensitive_methods_ignore_permutation(
    values: list[float], weights: list[float], rng: Random, data: st.DataObject,
) -> None:
    pairs = list(zip(values, weights, strict=False))
    shuffled = list(pairs)
    rng.shuffle(shuffled)
    for name, spec in METHODS.items():
        params = data.draw(method_parameters(name))
        resolved = spec.resolve(params)
        if spec.order_matters(resolved):
            continue
        kwargs = {k: v for k, v in resolved.items() if k not in ("order_by", "type_weights")}
        if "threshold" in kwargs:
            kwargs["threshold"] = 3.0

        def call(rows: list[tuple[float, float]], spec: MethodSpec = spec,
                 kwargs: dict[str, object] = kwargs) -> object:
            extra = {"weights": [w for _, w in rows]} if spec.uses_weights else {}
            return spec.function([v for v, _ in rows], **kwargs, **extra)

        a, b = call(pairs), call(shuffled)
        if isinstance(a, Undetermined) or isinstance(b, Undetermined):
            assert a == b, name
        else:
            assert abs(float(a) - float(b)) <= 1e-9, name  # type: ignore[arg-type]


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


@PROPERTY_SETTINGS
@given(score_lists, st.floats(min_value=0.5, max_value=0.99), st.data())
def test_a_score_at_or_above_the_decaying_average_never_lowers_it(
    values: list[float], weight: float, data: st.DataObject,
) -> None:
    before = decaying_average(values, weight)
    extra = data.draw(st.floats(min_value=before, max_value=10, allow_nan=False))
    assert decaying_average([*values, extra], weight) >= before - 1e-9
