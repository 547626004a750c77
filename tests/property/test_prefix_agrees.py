"""The one-pass prefix scans give what assessing every prefix afresh gives.

"Proficient since" reads every prefix's result; :mod:`connector.mastery.prefix`
computes them in one pass. These properties hold it to the method functions
themselves (outcome by outcome, to the bit) and to the prefix-by-prefix walk
(the date the engine reports).
"""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.evidence import EvidencePiece
from connector.mastery.engine import compute_mastery, order_key
from connector.mastery.methods import Undetermined
from connector.mastery.prefix import ESTIMATE_TOLERANCE, ESTIMATES, SCANS, ExactSum, estimate, scan
from connector.mastery.registry import METHODS
from tests.strategies import evidence_lists, method_parameters, policies, scales

SETTINGS = settings(max_examples=300, deadline=None)

#: Few distinct values, so that ties, modes and thresholds are met often.
values = st.lists(st.one_of(st.sampled_from([0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0]),
                            st.floats(min_value=0, max_value=4, allow_nan=False)),
                  min_size=1, max_size=30)


@SETTINGS
@given(st.sampled_from(sorted(SCANS)), values, st.data())
def test_each_scan_gives_the_method_outcome_on_every_prefix(method: str, xs: list[float],
                                                            data: st.DataObject) -> None:
    spec = METHODS[method]
    parameters = spec.resolve(data.draw(method_parameters(method)))
    if "threshold" in parameters and parameters["threshold"] is None:
        parameters["threshold"] = 3.0
    weights = data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]),
                                 min_size=len(xs), max_size=len(xs)))
    kwargs = dict(parameters)
    kwargs.pop("order_by", None)
    kwargs.pop("type_weights", None)
    outcomes = scan(method, xs, weights, kwargs)
    assert outcomes is not None
    for length, got in enumerate(outcomes, start=1):
        extra = {"weights": weights[:length]} if spec.uses_weights else {}
        want = spec.function(xs[:length], **kwargs, **extra)
        if isinstance(want, Undetermined):
            assert got == want
        else:
            assert not isinstance(got, Undetermined)
            assert got == want, (length, got, want)  # the same float, not a close one


def _assert_estimates(method: str, xs: list[float], parameters: dict,
                      lengths: list[int] | None = None) -> None:
    """Each prefix's estimate against the method on that prefix (the given lengths, or all)."""
    spec = METHODS[method]
    found = estimate(method, xs, [1.0] * len(xs), parameters)
    assert found is not None
    outcomes = list(found)
    for length in lengths or range(1, len(xs) + 1):
        got = outcomes[length - 1]
        want = spec.function(xs[:length], **parameters)
        if isinstance(want, Undetermined):
            assert got == want
        else:
            assert not isinstance(got, Undetermined)
            assert abs(got - want) <= ESTIMATE_TOLERANCE * max(1.0, abs(want)), (length, got, want)


@SETTINGS
@given(st.sampled_from(sorted(ESTIMATES)), values, st.data())
def test_each_estimate_lies_within_its_tolerance_on_every_prefix(method: str, xs: list[float],
                                                                data: st.DataObject) -> None:
    parameters = METHODS[method].resolve(data.draw(method_parameters(method)))
    parameters.pop("order_by", None)
    _assert_estimates(method, xs, parameters)


def test_the_power_law_estimate_holds_over_a_long_run_of_practice() -> None:
    # Thousands of pieces, zeros among them: the error must not grow with the count.
    # Every prefix up to 300, then every 97th to the last (the reference is quadratic).
    xs = [float((i * 7919) % 9) / 2 for i in range(3000)]
    lengths = [*range(1, 301), *range(397, 3000, 97), 3000]
    for zeros in ("exclude", "floor"):
        _assert_estimates("power_law", xs, {"zeros": zeros, "fallback": "mean"}, lengths)


@SETTINGS
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), max_size=40))
def test_an_exact_sum_is_fsum(xs: list[float]) -> None:
    total = ExactSum()
    for x in xs:
        total.add(x)
    assert total.value == math.fsum(xs)


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    scale = draw(scales())
    policy = draw(policies(scale))
    # Mostly the policies the one-pass form covers, so the property tests it.
    if draw(st.booleans()):
        policy = replace(policy, attempts="all", recency_days=None)
    return (scale, policy, draw(evidence_lists(scale, max_size=10)),
            draw(st.one_of(st.none(), st.integers(min_value=1, max_value=4))))


@SETTINGS
@given(cases())
def test_proficient_since_is_the_walk_over_every_prefix(case: tuple) -> None:
    scale, policy, pieces, target_dok = case

    def result(evidence: list[EvidencePiece]):
        return compute_mastery(evidence, scale=scale, policy=policy, target_dok=target_dok,
                               engine_version="t")

    whole = result(pieces)
    if not whole.proficient:
        assert whole.proficient_since is None
        return
    ordered = sorted(pieces, key=order_key(str(policy.parameters.get("order_by", "assessed"))))
    start = len(ordered)
    while start > 1 and result(ordered[:start - 1]).proficient:
        start -= 1
    assert whole.proficient_since == ordered[start - 1].observed_at
