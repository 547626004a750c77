"""The one-pass prefix scans give what assessing every prefix afresh gives.

"Proficient since" reads every prefix's result; :mod:`connector.mastery.prefix`
computes them in one pass. These properties hold it to the method functions
themselves (outcome by outcome, to the bit) and to the prefix-by-prefix walk
(the date the engine reports).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.domain.evidence import EvidencePiece
from connector.mastery.engine import compute_mastery, order_key
from connector.mastery.methods import Undetermined
from connector.mastery.prefix import (
    ESTIMATE_TOLERANCE,
    ESTIMATES,
    SCANS,
    ExactSum,
    bounds,
    estimate,
    scan,
)
from connector.mastery.prefix_removal import READERS, fitted_outcomes, leaving, removal_outcomes
from connector.mastery.registry import METHODS
from tests.strategies import evidence_lists, method_parameters, policies, scales

SETTINGS = settings(max_examples=300, deadline=None)

#: Few distinct values, so that ties, modes and thresholds are met often.
values = st.lists(st.one_of(st.sampled_from([0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0]),
                            st.floats(min_value=0, max_value=4, allow_nan=False)),
                  min_size=1, max_size=30)


def _method_kwargs(method: str, data: st.DataObject) -> dict[str, Any]:
    """Drawn parameters as the method function takes them: resolved, the threshold set."""
    parameters = METHODS[method].resolve(data.draw(method_parameters(method)))
    if "threshold" in parameters and parameters["threshold"] is None:
        parameters["threshold"] = 3.0
    parameters.pop("order_by", None)
    parameters.pop("type_weights", None)
    return parameters


@SETTINGS
@given(st.sampled_from(sorted(SCANS)), values, st.data())
def test_each_scan_gives_the_method_outcome_on_every_prefix(method: str, xs: list[float],
                                                            data: st.DataObject) -> None:
    spec = METHODS[method]
    weights = data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]),
                                 min_size=len(xs), max_size=len(xs)))
    kwargs = _method_kwargs(method, data)
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
    _assert_estimates(method, xs, _method_kwargs(method, data))


def test_the_power_law_estimate_holds_over_a_long_run_of_practice() -> None:
    # Thousands of pieces, zeros among them: the error must not grow with the count.
    # Every prefix up to 300, then every 97th to the last (the reference is quadratic).
    xs = [float((i * 7919) % 9) / 2 for i in range(3000)]
    lengths = [*range(1, 301), *range(397, 3000, 97), 3000]
    for zeros in ("exclude", "floor"):
        _assert_estimates("power_law", xs, {"zeros": zeros, "fallback": "mean"}, lengths)


def _holds(got: object, want: object) -> bool:
    """Whether a known outcome (exact, an interval, or None for "ask the method") fits."""
    if got is None:
        return True
    if isinstance(want, Undetermined):
        return got == want
    if isinstance(got, tuple):
        return got[0] <= want <= got[1]
    return got == want


@SETTINGS
@given(st.sampled_from(sorted({*SCANS, *ESTIMATES, "true_score"})), values, st.data())
def test_each_bound_holds_the_method_outcome_on_every_prefix(method: str, xs: list[float],
                                                             data: st.DataObject) -> None:
    # The band is where the exact value matters; outside it an interval may be wide.
    spec = METHODS[method]
    parameters = _method_kwargs(method, data)
    middle = data.draw(st.sampled_from([1.0, 2.0, 2.5, 3.0, 3.5]))
    band = (middle - 0.01, middle + 0.01) if data.draw(st.booleans()) else (-1e9, 1e9)
    weights = [1.0] * len(xs)
    found = bounds(method, xs, weights, parameters, band)
    assert found is not None
    for length, got in enumerate(found, start=1):
        extra = {"weights": weights[:length]} if spec.uses_weights else {}
        want = spec.function(xs[:length], **parameters, **extra)
        assert _holds(got, want), (length, got, want)
        if isinstance(got, tuple) and not isinstance(want, Undetermined):
            size = max(1.0, abs(got[0]), abs(got[1]))
            wide = got[1] - got[0] > 2.000001 * ESTIMATE_TOLERANCE * size
            assert not wide or got[0] >= band[1] or got[1] < band[0], (length, got, band)


def test_the_true_score_bounds_hold_over_a_long_run_of_practice() -> None:
    # Thousands of attempts, the power law's error read from its Taylor sums: each
    # prefix's interval holds the method's value, or the prefix is left to the method.
    xs = [float((i * 7919) % 9) / 2 for i in range(2000)]
    lengths = {*range(1, 200), *range(211, 2000, 89), 2000}
    for zeros in ("exclude", "floor"):
        parameters = {"zeros": zeros, "fallback": "mean"}
        found = list(bounds("true_score", xs, [1.0] * len(xs), parameters, (-1e9, 1e9)))
        assert sum(o is None for o in found) < len(found) // 10  # the errors decide most
        for length in sorted(lengths):
            want = METHODS["true_score"].function(xs[:length], **parameters)
            assert _holds(found[length - 1], want), (zeros, length, found[length - 1], want)


@st.composite
def leaving_cases(draw: st.DrawFn) -> tuple:
    """Pieces with items, attempts and dates, and which of them count for their own sake."""
    size = draw(st.integers(min_value=1, max_value=60))
    start = datetime(2026, 9, 1, tzinfo=UTC)
    xs = draw(st.lists(st.one_of(st.sampled_from([0.0, 1.0, 1.5, 2.0, 3.0, 4.0]),
                                 st.floats(min_value=0, max_value=4, allow_nan=False)),
                       min_size=size, max_size=size))
    items = draw(st.lists(st.sampled_from(["", "a", "b", "c", "d"]), min_size=size, max_size=size))
    attempts = draw(st.lists(st.integers(min_value=1, max_value=3), min_size=size, max_size=size))
    days = draw(st.lists(st.integers(min_value=0, max_value=60), min_size=size, max_size=size))
    observed = [start + timedelta(days=d) for d in days]
    counted = draw(st.lists(st.sampled_from([True, True, True, False]),
                            min_size=size, max_size=size))
    weights = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=size, max_size=size))
    supersede = draw(st.booleans())
    window = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=30)))
    return xs, items, attempts, observed, counted, weights, supersede, window


@SETTINGS
@given(st.sampled_from(sorted({*READERS, "power_law", "true_score"})), leaving_cases(), st.data())
def test_each_reader_gives_the_method_outcome_as_pieces_leave(method: str, case: tuple,
                                                             data: st.DataObject) -> None:
    # Readers keep the count as pieces come and go; the fitted methods refit each prefix.
    xs, items, attempts, observed, counted, weights, supersede, window = case
    spec = METHODS[method]
    parameters = _method_kwargs(method, data)
    leaves = leaving(items, attempts, observed, supersede, window)
    found = removal_outcomes(method, counted, leaves, xs, weights, parameters)
    fitted = fitted_outcomes(method, counted, leaves, xs, parameters)
    assert (found is None) != (fitted is None)
    counts, known = found if found is not None else (None, None)
    for length in range(1, len(xs) + 1):
        # The pieces this prefix counts, by the selection's own rules, one prefix at a time.
        members = []
        for i in range(length):
            if not counted[i]:
                continue
            # superseded: another attempt at the item is later in (attempt, position)
            if supersede and items[i] and any(items[j] == items[i]
                                              and (attempts[j], j) > (attempts[i], i)
                                              for j in range(length)):
                continue
            if window is not None and observed[i] < max(observed[:length]) - timedelta(days=window):
                continue
            members.append(i)
        if counts is not None:
            assert counts[length] == len(members), length
        if not members:
            continue
        extra = {"weights": [weights[i] for i in members]} if spec.uses_weights else {}
        want = spec.function([xs[i] for i in members], **parameters, **extra)
        got = known[length] if known is not None else fitted(length)
        assert _holds(got, want), (length, got, want)


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


@st.composite
def long_cases(draw: st.DrawFn) -> tuple:
    """Longer streams, under policies whose prefixes lose pieces."""
    scale = draw(scales())
    policy = draw(policies(scale))
    if policy.attempts == "all" and not policy.recency_days:
        policy = replace(policy, attempts="supersede")
    return (scale, policy, draw(evidence_lists(scale, max_size=40)),
            draw(st.one_of(st.none(), st.integers(min_value=1, max_value=4))))


@SETTINGS
@given(st.one_of(cases(), long_cases()))
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
