"""The methods agree with a second, independently written implementation of the published formulas.

The reference versions below are deliberately written another way: closed forms
instead of recursions, the ``statistics`` module instead of hand-written sums,
exact fractions where the formula allows. A disagreement means one of the two
misreads the formula.
"""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.mastery import methods

levels = st.sampled_from([1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])
sequences = st.lists(levels, min_size=1, max_size=15)
weights = st.sampled_from([0.5, 0.6, 0.65, 0.75, 0.8, 0.99])
SETTINGS = settings(max_examples=300, deadline=None)


def ref_decaying(xs: list[float], w: float) -> float:
    """Closed form: x1 carries (1-w)^(n-1), xk (k >= 2) carries w(1-w)^(n-k)."""
    fw = Fraction(w)
    n = len(xs)
    total = Fraction(xs[0]) * (1 - fw) ** (n - 1)
    for k in range(2, n + 1):
        total += Fraction(xs[k - 1]) * fw * (1 - fw) ** (n - k)
    return float(total)


def ref_canvas_weighted(xs: list[float], w: float) -> float:
    if len(xs) == 1:
        return xs[0]
    return float(Fraction(w) * Fraction(xs[-1])
                 + (1 - Fraction(w)) * sum(map(Fraction, xs[:-1])) / (len(xs) - 1))


def ref_power_law(xs: list[float]) -> float:
    fit = statistics.linear_regression([math.log(i) for i in range(1, len(xs) + 1)],
                                       [math.log(x) for x in xs])
    return math.exp(fit.intercept + fit.slope * math.log(len(xs)))


def ref_true_score(xs: list[float]) -> float:
    n = len(xs)
    t = list(range(1, n + 1))
    avg = statistics.fmean(xs)
    line = statistics.linear_regression(t, xs)
    power = statistics.linear_regression([math.log(i) for i in t], [math.log(x) for x in xs])
    models = [
        (sum((avg - x) ** 2 for x in xs), 0, avg),
        (sum((line.intercept + line.slope * i - x) ** 2 for i, x in zip(t, xs, strict=True)), 1,
         line.intercept + line.slope * n),
        (sum((math.exp(power.intercept + power.slope * math.log(i)) - x) ** 2
             for i, x in zip(t, xs, strict=True)), 2,
         math.exp(power.intercept + power.slope * math.log(n))),
    ]
    best = min(m[0] for m in models)
    return min((m for m in models if m[0] <= best + 1e-9 * (1 + best)), key=lambda m: m[1])[2]


@SETTINGS
@given(sequences, weights)
def test_decaying_average_matches_the_closed_form(xs: list[float], w: float) -> None:
    assert math.isclose(methods.decaying_average(xs, w), ref_decaying(xs, w), abs_tol=1e-9)


@SETTINGS
@given(sequences, weights)
def test_canvas_weighted_average_matches(xs: list[float], w: float) -> None:
    assert math.isclose(methods.canvas_weighted_average(xs, w), ref_canvas_weighted(xs, w),
                        abs_tol=1e-9)


@SETTINGS
@given(st.lists(levels, min_size=3, max_size=15))
def test_power_law_matches_statistics_linear_regression(xs: list[float]) -> None:
    assert math.isclose(float(methods.power_law(xs)), ref_power_law(xs), abs_tol=1e-9)  # type: ignore[arg-type]


@SETTINGS
@given(st.lists(levels, min_size=3, max_size=15))
def test_true_score_matches(xs: list[float]) -> None:
    got = methods.true_score(xs)
    assert isinstance(got, float)
    assert math.isclose(got, ref_true_score(xs), abs_tol=1e-6)


@SETTINGS
@given(sequences, st.integers(min_value=1, max_value=6))
def test_subset_methods_match(xs: list[float], k: int) -> None:
    assert math.isclose(methods.top_k_mean(xs, k), statistics.fmean(sorted(xs)[-k:]))
    assert math.isclose(methods.recent_n(xs, k), statistics.fmean(xs[-k:]))
    assert methods.recent_n(xs, k, "highest") == max(xs[-k:])
    assert methods.recent_n(xs, k, "median") == statistics.median(xs[-k:])
    assert methods.median(xs) == statistics.median(xs)
    assert math.isclose(methods.mean(xs), statistics.fmean(xs))


@SETTINGS
@given(sequences, st.integers(min_value=1, max_value=6))
def test_n_mastery_matches_canvas_definition(xs: list[float], n: int) -> None:
    reached = [x for x in xs if x >= 3]
    got = methods.n_mastery(xs, n, threshold=3)
    if len(reached) < n:
        assert isinstance(got, methods.Undetermined)
    else:
        assert math.isclose(float(got), statistics.fmean(reached))  # type: ignore[arg-type]


@SETTINGS
@given(sequences)
def test_mode_matches_statistics_multimode(xs: list[float]) -> None:
    modes = statistics.multimode(xs)
    assert methods.mode(xs, "higher") == max(modes)
    latest = next(x for x in reversed(xs) if x in modes)
    assert methods.mode(xs, "most_recent") == latest
    if len(modes) > 1:
        assert isinstance(methods.mode(xs, "none"), methods.Undetermined)


@SETTINGS
@given(sequences, st.integers(min_value=1, max_value=5), st.integers(min_value=0, max_value=5))
def test_m_of_n_matches_its_definition(xs: list[float], n: int, k: int) -> None:
    m = max(1, n - 1)
    window = xs[-n:]
    streak = len(xs) - max((i + 1 for i, x in enumerate(xs) if x < 3), default=0)
    met = sum(x >= 3 for x in window) >= m or (k > 0 and streak >= k)
    got = methods.m_of_n(xs, m, n, k, threshold=3)
    assert (got == 3) is met
