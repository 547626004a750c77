"""Calculation methods: one small pure function per method, over values oldest first.

Every function takes the evidence values already on the district scale, in the
order the policy chose (oldest first), and returns either a number on that
scale before rounding or an :class:`Undetermined` answer: a state such as
"not yet" with the reason. Rounding (half up, 2 places) and clamping to the
scale happen once, in the engine. The registry (:mod:`connector.mastery.registry`)
names these functions as districts write them in config.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from connector.domain.scale import MasteryState
from connector.errors import MasteryError

TiePolicy = Literal["higher", "most_recent", "none"]
Aggregate = Literal["mean", "highest", "median"]
ZeroPolicy = Literal["exclude", "floor"]
FewScores = Literal["mean", "most_recent", "insufficient"]

#: Below this many usable scores a curve fit is not meaningful (Marzano; JumpRope).
MIN_FIT_SCORES = 3


@dataclass(frozen=True)
class Undetermined:
    """A method's answer when the evidence does not give a number: a state and why."""

    state: MasteryState
    reason: str


MethodOutcome = float | Undetermined


# ---- averages ---------------------------------------------------------------------------


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean, sum(x) / n. Ignores order.

    ``math.fsum`` makes the sum exact, so any permutation gives the same bits.

    >>> mean([4, 3, 2, 1])
    2.5
    """
    _need_values(values, "mean")
    return math.fsum(values) / len(values)


def weighted_mean(values: Sequence[float], weights: Sequence[float]) -> MethodOutcome:
    """Weighted mean, sum(w*x) / sum(w). Ignores order.

    The weight of each piece is its alignment weight times the weight the district
    gives its evidence type (e.g. performance tasks 2, adaptive practice 0.5). Pieces
    of weight 0 do not count; if every weight is 0 there is nothing to average.

    >>> weighted_mean([2, 4], [1, 3])
    3.5
    >>> weighted_mean([2, 4], [0, 0]).state.value
    'insufficient_evidence'
    """
    _need_values(values, "weighted_mean")
    if len(weights) != len(values):
        raise MasteryError("weighted_mean needs one weight per score")
    if any(w < 0 for w in weights):
        raise MasteryError("weighted_mean: weights must not be negative")
    total = math.fsum(weights)
    if total <= 0:
        return Undetermined(MasteryState.INSUFFICIENT_EVIDENCE,
                            "every piece of evidence has weight 0")
    return math.fsum(w * x for w, x in zip(weights, values, strict=True)) / total


def median(values: Sequence[float]) -> float:
    """The middle score; with an even count, the mean of the two middle scores.

    >>> median([1, 4, 2])
    2
    >>> median([1, 4, 2, 3])
    2.5
    """
    _need_values(values, "median")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def mode(values: Sequence[float], tie: TiePolicy = "higher") -> MethodOutcome:
    """The most frequent score, with an explicit rule when two or more tie.

    ``tie``: ``higher`` takes the highest of the tied scores; ``most_recent`` the tied
    score that occurred last; ``none`` decides nothing and asks for teacher judgment,
    as districts that use the mode to find a student's consistent level often prefer.

    >>> mode([2, 3, 3, 1])
    3
    >>> mode([2, 3, 3, 2], tie="higher")
    3
    >>> mode([3, 2, 2, 3], tie="most_recent")
    3
    >>> mode([3, 2, 2, 3], tie="none").state.value
    'needs_teacher_judgment'
    """
    _need_values(values, "mode")
    counts = Counter(values)
    top = max(counts.values())
    tied = [v for v, c in counts.items() if c == top]
    if len(tied) == 1:
        return tied[0]
    if tie == "higher":
        return max(tied)
    if tie == "most_recent":
        return next(v for v in reversed(values) if v in tied)
    listed = ", ".join(f"{v:g}" for v in sorted(tied))
    return Undetermined(MasteryState.NEEDS_JUDGMENT,
                        f"scores {listed} each occur {top} time(s); the mode is a tie")


# ---- single scores and subsets ---------------------------------------------------------------


def highest(values: Sequence[float]) -> float:
    """The best score ever shown counts (Canvas "Highest Score").

    >>> highest([1, 4, 2])
    4
    """
    _need_values(values, "highest")
    return max(values)


def most_recent(values: Sequence[float]) -> float:
    """The latest score replaces all earlier ones (Canvas "Most Recent Score").

    Which score is latest depends on the policy's ordering key (assessed time, due
    date or submission time); ties are broken deterministically before this runs.

    >>> most_recent([1, 2, 4, 3])
    3
    """
    _need_values(values, "most_recent")
    return values[-1]


def recent_n(values: Sequence[float], n: int = 3, aggregate: Aggregate = "mean") -> float:
    """The mean, highest or median of the ``n`` most recent scores (all of them if fewer).

    >>> recent_n([1, 1, 3, 4, 4], n=3)
    3.6666666666666665
    >>> recent_n([1, 1, 3, 4, 2], n=3, aggregate="highest")
    4
    >>> recent_n([4, 1, 3, 2], n=3, aggregate="median")
    2
    """
    _need_values(values, "recent_n")
    window = list(values[-n:])
    if aggregate == "highest":
        return highest(window)
    if aggregate == "median":
        return median(window)
    return mean(window)


def top_k_mean(values: Sequence[float], k: int = 3) -> float:
    """The mean of the ``k`` highest scores (all of them if fewer). Ignores order.

    >>> round(top_k_mean([4, 4, 3], k=3), 2)
    3.67
    >>> top_k_mean([1, 4, 2, 4], k=2)
    4.0
    """
    _need_values(values, "top_k_mean")
    return mean(sorted(values, reverse=True)[:k])


def n_mastery(values: Sequence[float], n: int = 5, *, threshold: float) -> MethodOutcome:
    """Canvas "n Number of Times": not yet until ``n`` scores reach the mastery threshold.

    Once at least ``n`` scores are at or above ``threshold``, the result is the mean of
    the scores at or above it (scores below it are ignored). Ignores order.

    >>> n_mastery([3, 1, 4, 3], n=3, threshold=3)
    3.3333333333333335
    >>> n_mastery([3, 1, 4], n=3, threshold=3).state.value
    'not_yet'
    """
    _need_values(values, "n_mastery")
    reached = [v for v in values if v >= threshold]
    if len(reached) < n:
        return Undetermined(MasteryState.NOT_YET,
                            f"{len(reached)} of the {n} scores needed reach {threshold:g}")
    return mean(reached)


def m_of_n(values: Sequence[float], m: int = 4, n: int = 5, k: int = 0, *,
           threshold: float) -> MethodOutcome:
    """Practice mastery for adaptive streams: ``m`` correct in the last ``n``, or ``k`` in a row.

    A score counts as correct when it reaches ``threshold``. The criterion is met when at
    least ``m`` of the ``n`` most recent scores are correct, or (when ``k`` > 0) the
    ``k`` most recent scores are all correct. A met criterion certifies the threshold
    level, no more: this is a binary mastery check, not an average. Otherwise: not yet.

    >>> m_of_n([1, 3, 3, 1, 3, 3], m=4, n=5, threshold=3)
    3
    >>> m_of_n([3, 3, 1, 3], m=4, n=5, threshold=3).state.value
    'not_yet'
    >>> m_of_n([1, 1, 3, 3, 3], m=5, n=5, k=3, threshold=3)
    3
    """
    _need_values(values, "m_of_n")
    if m > n:
        raise MasteryError(f"m_of_n: 'm' ({m}) cannot exceed 'n' ({n})")
    window = values[-n:]
    correct = sum(1 for v in window if v >= threshold)
    if correct >= m:
        return threshold
    streak = 0
    for value in reversed(values):
        if value < threshold:
            break
        streak += 1
    if k and streak >= k:
        return threshold
    rule = f"{m} of the last {n}" + (f" or {k} in a row" if k else "")
    return Undetermined(MasteryState.NOT_YET,
                        f"{correct} of the last {min(n, len(values))} reach {threshold:g}; "
                        f"needs {rule}")


# ---- time-weighted ------------------------------------------------------------------------------


def canvas_weighted_average(values: Sequence[float], weight: float = 0.65) -> float:
    """Canvas's "Weighted Average" (its decaying average before 2024): w*latest + (1-w)*mean(earlier).

    With one score the result is that score.
    Source: Canvas Community, "What calculation methods are available for outcomes?"

    >>> canvas_weighted_average([1, 2, 3, 4, 5], 0.65)  # 4.13 after the engine's rounding
    4.125
    """
    _need_values(values, "canvas_weighted_average")
    if len(values) == 1:
        return values[0]
    return weight * values[-1] + (1 - weight) * mean(values[:-1])


def decaying_average(values: Sequence[float], weight: float = 0.65) -> float:
    """Recursive decaying average: D1 = x1, Dk = w*xk + (1-w)*D(k-1).

    Canvas's "Decaying Average" since 2024, MasteryConnect's and Schoology's (75%
    default there): the newest score carries weight w and older ones fade
    geometrically. Source: Canvas Community Product Blog, "Canvas Outcomes: New and
    Updated Proficiency Calculations".

    >>> round(decaying_average([2, 3, 4], 0.65), 2)
    3.53
    >>> round(decaying_average([1, 2, 3, 4], 0.65), 2)
    3.48
    """
    _need_values(values, "decaying_average")
    result = float(values[0])
    for value in values[1:]:
        result = weight * value + (1 - weight) * result
    return result


# ---- fitted curves --------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """One model fitted to the attempts: its prediction at the latest attempt and its error."""

    model: str
    value: float
    error: float


def fit_power_law(values: Sequence[float], zeros: ZeroPolicy = "exclude",
                  floor: float = 0.5) -> Fit | Undetermined:
    """Marzano's power law: fit ln(score) = a + b*ln(attempt) by least squares.

    The prediction is evaluated at the latest attempt number, exp(a + b*ln(n)); the
    error is the sum of squared differences between the curve and the observed scores,
    in scale units. ln(0) is undefined, so ``zeros`` decides: ``exclude`` drops zero
    scores but keeps every other score's attempt number; ``floor`` counts a zero as
    ``floor``. Fewer than three usable scores cannot be fitted.

    >>> round(fit_power_law([1, 3, 2, 4]).value, 2)
    3.66
    """
    points = []
    for attempt, value in enumerate(values, start=1):
        if value < 0:
            raise MasteryError(f"power law needs scores of 0 or more: {value:g}")
        if value == 0:
            if zeros == "exclude":
                continue
            value = floor
        points.append((math.log(attempt), math.log(value), value))
    if len(points) < MIN_FIT_SCORES:
        return Undetermined(MasteryState.INSUFFICIENT_EVIDENCE,
                            f"{len(points)} usable score(s); a curve needs {MIN_FIT_SCORES}")
    slope, intercept = _least_squares([p[0] for p in points], [p[1] for p in points])
    predict = [math.exp(intercept + slope * x) for x, _, _ in points]
    error = math.fsum((p - v) ** 2 for p, (_, _, v) in zip(predict, points, strict=True))
    return Fit("power law", math.exp(intercept + slope * math.log(len(values))), error)


def power_law(values: Sequence[float], zeros: ZeroPolicy = "exclude",
              fallback: FewScores = "mean") -> MethodOutcome:
    """Power law (Marzano; JumpRope, Empower): the fitted curve at the latest attempt.

    With fewer than three usable scores the curve is not fitted and ``fallback``
    decides: ``mean`` or ``most_recent`` of the scores, or ``insufficient`` evidence.
    The engine clamps the prediction to the scale (a rising curve can overshoot it).

    >>> [round(power_law(s), 2) for s in ([1, 2, 3, 4], [1, 3, 2, 4], [2, 4, 1, 3], [4, 3, 2, 1])]
    [4.0, 3.66, 2.16, 1.28]
    """
    _need_values(values, "power_law")
    fit = fit_power_law(values, zeros)
    if isinstance(fit, Undetermined):
        return _few_scores(values, fallback, fit)
    return fit.value


def fit_true_score(values: Sequence[float], zeros: ZeroPolicy = "exclude") -> list[Fit]:
    """Fit the average, a straight line and the power law; best (smallest error) first.

    Marzano's estimate of a student's true score: each model is judged by the sum of
    squared differences between its predictions and the observed scores, and the
    best one is evaluated at the latest attempt. Equal errors prefer the simpler
    model (average, then line, then power law).

    >>> [f.model for f in fit_true_score([1, 2, 3, 4])][:1]
    ['linear trend']
    """
    xs = [float(i) for i in range(1, len(values) + 1)]
    average = mean(values)
    fits = [Fit("average", average, math.fsum((v - average) ** 2 for v in values))]
    slope, intercept = _least_squares(xs, values)
    fits.append(Fit("linear trend", intercept + slope * xs[-1],
                    math.fsum((intercept + slope * x - v) ** 2
                              for x, v in zip(xs, values, strict=True))))
    power = fit_power_law(values, zeros)
    if isinstance(power, Fit):
        fits.append(power)
    rank = {"average": 0, "linear trend": 1, "power law": 2}
    best = min(f.error for f in fits)
    tolerance = 1e-9 * (1 + best)

    def order(fit: Fit) -> tuple[bool, float, int]:
        tied = fit.error <= best + tolerance
        return (not tied, 0.0 if tied else fit.error, rank[fit.model])

    return sorted(fits, key=order)


def true_score(values: Sequence[float], zeros: ZeroPolicy = "exclude",
               fallback: FewScores = "mean") -> MethodOutcome:
    """The prediction of whichever of average, line and power law fits the scores best.

    >>> round(true_score([4, 4, 4, 4]), 2)
    4.0
    >>> round(true_score([1, 2, 3, 4]), 2)
    4.0
    """
    _need_values(values, "true_score")
    if len(values) < MIN_FIT_SCORES:
        return _few_scores(values, fallback, Undetermined(
            MasteryState.INSUFFICIENT_EVIDENCE,
            f"{len(values)} score(s); a trend needs {MIN_FIT_SCORES}"))
    return fit_true_score(values, zeros)[0].value


# ---- helpers --------------------------------------------------------------------------------


def _least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Slope and intercept of the ordinary least-squares line through (x, y)."""
    n = len(xs)
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0, my
    slope = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, my - slope * mx


def _few_scores(values: Sequence[float], fallback: FewScores,
                why: Undetermined) -> MethodOutcome:
    if fallback == "mean":
        return mean(values)
    if fallback == "most_recent":
        return most_recent(values)
    return why


def _need_values(values: Sequence[float], name: str) -> None:
    if not values:
        raise MasteryError(f"method {name!r} needs at least one piece of evidence")
