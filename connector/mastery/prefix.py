"""Every prefix's result in one pass: what "proficient since" needs, in linear time.

"Proficient since" is the date from which the result, evidence by evidence, has
stayed proficient. Assessing each prefix afresh costs O(n) a prefix and O(n^2) a
record: 1,000 pieces of adaptive practice took 6.6 s, 4,000 took a minute.

When the policy counts every attempt and has no recency window, the evidence the
method sees only ever grows by appending one piece (adaptive exclusion and capping
decide piece by piece), so each method can carry its state forward. The scans
below give, for each counted prefix, the same number or state as the method
function on that prefix, to the bit: sums are kept as exact partials
(Shewchuk's, as in ``math.fsum``) and rounded once per prefix, so a mean of
ones is never 0.9999999999999999 here and 1.0 there.
``tests/property/test_prefix_agrees.py`` checks every method against the
prefix-by-prefix walk.

The power law refits its curve on every prefix, and no float formula fed by
running sums gives the bits of the method's centred least squares. So it has an
*estimate* instead (:func:`estimate`): Welford's running means and co-moments give
each prefix's prediction to within :data:`ESTIMATE_TOLERANCE`, which settles every
prefix whose result is clearly above or below proficient; the engine computes the
few near the threshold exactly. True score also needs the power law's squared
error, a sum over every point of a curve that changes with each prefix, so it has
no one-pass form. Superseded attempts and recency windows remove pieces from the
middle of the sequence. Those return ``None`` here and the engine walks back
prefix by prefix.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from connector.domain.scale import MasteryState
from connector.mastery.methods import MIN_FIT_SCORES, MethodOutcome, Undetermined

#: One raw method outcome per counted prefix (lengths 1..n), oldest first.
Scan = Callable[[Sequence[float], Sequence[float], Mapping[str, Any]], Iterator[MethodOutcome]]


class ExactSum:
    """A running sum kept exactly, as a list of non-overlapping partials.

    ``value`` is the correctly rounded total, the same float ``math.fsum`` gives for
    the same numbers in any order.
    """

    def __init__(self) -> None:
        self.partials: list[float] = []

    def add(self, x: float) -> None:
        partials = self.partials
        i = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                partials[i] = low
                i += 1
            x = high
        partials[i:] = [x]

    @property
    def value(self) -> float:
        return math.fsum(self.partials)


def _mean(values: Sequence[float], _w: Sequence[float], _k: Mapping[str, Any]
          ) -> Iterator[MethodOutcome]:
    total = ExactSum()
    for n, x in enumerate(values, start=1):
        total.add(x)
        yield total.value / n


def _weighted_mean(values: Sequence[float], weights: Sequence[float], _k: Mapping[str, Any]
                   ) -> Iterator[MethodOutcome]:
    top, bottom = ExactSum(), ExactSum()
    for x, w in zip(values, weights, strict=True):
        top.add(w * x)
        bottom.add(w)
        total = bottom.value
        yield (top.value / total if total > 0 else
               Undetermined(MasteryState.INSUFFICIENT_EVIDENCE,
                            "every piece of evidence has weight 0"))


def _median(values: Sequence[float], _w: Sequence[float], _k: Mapping[str, Any]
            ) -> Iterator[MethodOutcome]:
    low: list[float] = []   # max-heap (negated): the smaller half, one more when odd
    high: list[float] = []  # min-heap: the larger half
    for x in values:
        if low and x > -low[0]:
            heapq.heappush(high, x)
        else:
            heapq.heappush(low, -x)
        if len(low) > len(high) + 1:
            heapq.heappush(high, -heapq.heappop(low))
        elif len(high) > len(low):
            heapq.heappush(low, -heapq.heappop(high))
        yield -low[0] if len(low) > len(high) else (-low[0] + high[0]) / 2


def _mode(values: Sequence[float], _w: Sequence[float], k: Mapping[str, Any]
          ) -> Iterator[MethodOutcome]:
    tie = k.get("tie", "higher")
    counts: dict[float, int] = {}
    top = 0
    tied: set[float] = set()
    best = latest = 0.0  # the highest and the latest-seen of the tied scores
    for x in values:
        c = counts.get(x, 0) + 1
        counts[x] = c
        if c > top:
            top, tied, best, latest = c, {x}, x, x
        elif c == top:
            tied.add(x)
            best, latest = max(best, x), x
        if len(tied) == 1 or tie == "higher":
            yield best
        elif tie == "most_recent":
            yield latest
        else:
            listed = ", ".join(f"{v:g}" for v in sorted(tied))
            yield Undetermined(MasteryState.NEEDS_JUDGMENT,
                               f"scores {listed} each occur {top} time(s); the mode is a tie")


def _highest(values: Sequence[float], _w: Sequence[float], _k: Mapping[str, Any]
             ) -> Iterator[MethodOutcome]:
    best = -math.inf
    for x in values:
        best = max(best, x)
        yield best


def _most_recent(values: Sequence[float], _w: Sequence[float], _k: Mapping[str, Any]
                 ) -> Iterator[MethodOutcome]:
    yield from values


def _recent_n(values: Sequence[float], _w: Sequence[float], k: Mapping[str, Any]
              ) -> Iterator[MethodOutcome]:
    # The window is the district's n (at most a few dozen): O(n) a prefix, linear overall.
    from connector.mastery.methods import recent_n
    n, aggregate = int(k.get("n", 3)), k.get("aggregate", "mean")
    for end in range(1, len(values) + 1):
        yield recent_n(values[max(0, end - n):end], n=n, aggregate=aggregate)


def _top_k_mean(values: Sequence[float], _w: Sequence[float], k: Mapping[str, Any]
                ) -> Iterator[MethodOutcome]:
    size = int(k.get("k", 3))
    kept: list[float] = []  # min-heap of the k highest so far
    for x in values:
        if len(kept) < size:
            heapq.heappush(kept, x)
        elif x > kept[0]:
            heapq.heapreplace(kept, x)
        yield math.fsum(kept) / len(kept)


def _n_mastery(values: Sequence[float], _w: Sequence[float], k: Mapping[str, Any]
               ) -> Iterator[MethodOutcome]:
    n, threshold = int(k.get("n", 5)), float(k["threshold"])
    total, reached = ExactSum(), 0
    for x in values:
        if x >= threshold:
            total.add(x)
            reached += 1
        yield (total.value / reached if reached >= n else
               Undetermined(MasteryState.NOT_YET,
                            f"{reached} of the {n} scores needed reach {threshold:g}"))


def _m_of_n(values: Sequence[float], _w: Sequence[float], k: Mapping[str, Any]
            ) -> Iterator[MethodOutcome]:
    from connector.mastery.methods import m_of_n
    m, n, streak_needed, threshold = (int(k.get("m", 4)), int(k.get("n", 5)), int(k.get("k", 0)),
                                      float(k["threshold"]))
    streak = 0
    for end in range(1, len(values) + 1):
        streak = streak + 1 if values[end - 1] >= threshold else 0
        window = values[max(0, end - n):end]
        correct = sum(1 for v in window if v >= threshold)
        if correct >= m or (streak_needed and streak >= streak_needed):
            yield threshold
        else:
            # the rare "not yet": the method's own words, from the window alone
            yield m_of_n(window, m=m, n=n, k=streak_needed, threshold=threshold)


def _canvas_weighted_average(values: Sequence[float], _w: Sequence[float], k: Mapping[str, Any]
                             ) -> Iterator[MethodOutcome]:
    weight = float(k.get("weight", 0.65))
    earlier = ExactSum()
    for n, x in enumerate(values, start=1):
        yield x if n == 1 else weight * x + (1 - weight) * (earlier.value / (n - 1))
        earlier.add(x)


def _decaying_average(values: Sequence[float], _w: Sequence[float], k: Mapping[str, Any]
                      ) -> Iterator[MethodOutcome]:
    weight = float(k.get("weight", 0.65))
    result = 0.0
    for n, x in enumerate(values):
        result = float(x) if n == 0 else weight * x + (1 - weight) * result
        yield result


SCANS: dict[str, Scan] = {
    "mean": _mean, "weighted_mean": _weighted_mean, "median": _median, "mode": _mode,
    "highest": _highest, "most_recent": _most_recent, "recent_n": _recent_n,
    "top_k_mean": _top_k_mean, "n_mastery": _n_mastery, "m_of_n": _m_of_n,
    "canvas_weighted_average": _canvas_weighted_average, "decaying_average": _decaying_average,
}


def scan(method: str, values: Sequence[float], weights: Sequence[float],
         parameters: Mapping[str, Any]) -> Iterator[MethodOutcome] | None:
    """The method's outcome on every counted prefix, or None when it has no one-pass form."""
    found = SCANS.get(method)
    return found(values, weights, parameters) if found else None


#: How far an estimate may lie from the method's own result, relative to the result
#: (at least 1). Welford's updates keep the error near n * 2**-53; this is orders above it.
ESTIMATE_TOLERANCE = 1e-6


def _power_law_estimate(values: Sequence[float], _w: Sequence[float], k: Mapping[str, Any]
                        ) -> Iterator[MethodOutcome]:
    """``power_law`` on every prefix, from running means and co-moments of the log points.

    The few-score fallbacks are exact (the same sums the mean scan keeps); fitted
    predictions are within :data:`ESTIMATE_TOLERANCE`.
    """
    zeros, fallback = k.get("zeros", "exclude"), k.get("fallback", "mean")
    total = ExactSum()
    points = 0
    mean_x = mean_y = sxx = sxy = 0.0
    for attempt, value in enumerate(values, start=1):
        total.add(value)
        if value != 0 or zeros != "exclude":
            x, y = math.log(attempt), math.log(value if value != 0 else 0.5)
            points += 1
            dx = x - mean_x
            mean_x += dx / points
            mean_y += (y - mean_y) / points
            sxx += dx * (x - mean_x)
            sxy += dx * (y - mean_y)
        if points >= MIN_FIT_SCORES:
            slope = sxy / sxx if sxx else 0.0
            yield math.exp(mean_y - slope * mean_x + slope * math.log(attempt))
        elif fallback == "mean":
            yield total.value / attempt
        elif fallback == "most_recent":
            yield value
        else:
            yield Undetermined(MasteryState.INSUFFICIENT_EVIDENCE,
                               f"{points} usable score(s); a curve needs {MIN_FIT_SCORES}")


ESTIMATES: dict[str, Scan] = {"power_law": _power_law_estimate}


def estimate(method: str, values: Sequence[float], weights: Sequence[float],
             parameters: Mapping[str, Any]) -> Iterator[MethodOutcome] | None:
    """Every counted prefix's outcome to within :data:`ESTIMATE_TOLERANCE`, or None.

    Undetermined outcomes are exact: they depend on counts, not on arithmetic.
    """
    found = ESTIMATES.get(method)
    return found(values, weights, parameters) if found else None


#: An outcome known only to lie between two numbers (inclusive).
Interval = tuple[float, float]

#: What a prefix's result is known to be: exactly a number or a state, within an
#: interval, or (None) only the method itself can say.
Known = MethodOutcome | Interval | None


def within(value: float) -> Interval:
    """An interval around an estimate: :data:`ESTIMATE_TOLERANCE` of it (at least 1)."""
    slack = ESTIMATE_TOLERANCE * max(1.0, abs(value))
    return (value - slack, value + slack)


#: How far from a power law's error the Taylor sums may drift, relative to the
#: squared scores (the terms that cancel in it); far above their rounding.
ERROR_SLACK = 1e-8

#: Taylor terms kept, and how far from the anchor exponent the sums may be read:
#: the remainder is under 0.5**11 / 11! (about 1e-11) of the sums.
_TERMS = 11
_REACH = 0.5


class _CurveError:
    """A power law's squared error on every prefix, without refitting every point.

    The error of ``exp(a) * i**b`` against the points is
    ``exp(2a) * sum(i**2b) - 2 exp(a) * sum(v * i**b) + sum(v**2)``, and the sums of
    powers change with ``b`` on every prefix. Expanded around an anchor exponent,
    ``i**b = i**anchor * sum((b - anchor)**m * ln(i)**m / m!)``, they become running
    sums over the points; the anchor moves (and the sums are rebuilt) only when ``b``
    strays too far from it for the expansion to hold. Points are folded in lazily:
    most prefixes never need the error.
    """

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []  # (ln attempt, score)
        self.squares = 0.0
        self.folded = 0
        self.anchor = 0.0
        self.near: list[float] = [0.0] * _TERMS  # sum of v * i**anchor * ln(i)**m
        self.far: list[float] = [0.0] * _TERMS  # sum of i**(2 anchor) * ln(i)**m

    def add(self, log_attempt: float, value: float) -> None:
        self.points.append((log_attempt, value))
        self.squares += value * value

    def _fold(self, upto: int) -> None:
        near, far, anchor = self.near, self.far, self.anchor
        for log_attempt, value in self.points[self.folded:upto]:
            one = math.exp(anchor * log_attempt)
            weighted, squared = value * one, one * one
            for m in range(_TERMS):
                near[m] += weighted
                far[m] += squared
                weighted *= log_attempt
                squared *= log_attempt
        self.folded = upto

    def error(self, intercept: float, slope: float) -> float:
        """The squared error of the curve ``exp(intercept) * i**slope`` over the points."""
        reach = 2 * abs(slope - self.anchor) * self.points[-1][0]
        if reach > _REACH:
            self.anchor, self.folded = slope, 0
            self.near, self.far = [0.0] * _TERMS, [0.0] * _TERMS
        self._fold(len(self.points))
        step = slope - self.anchor
        near = far = 0.0
        factor = 1.0
        for m in range(_TERMS):
            near += self.near[m] * factor
            far += self.far[m] * factor * (2.0 ** m)
            factor *= step / (m + 1)
        scale = math.exp(intercept)
        return scale * scale * far - 2 * scale * near + self.squares


def _true_score_bounds(values: Sequence[float], _w: Sequence[float], k: Mapping[str, Any],
                       band: Interval) -> Iterator[Known]:
    """``true_score`` on every prefix: exact, or an interval holding it.

    The average, the line and the power law each predict; the model with the least
    squared error wins. Where every model's prediction lies on the same side of
    ``band`` (the values that decide a level), the winner does not matter and the
    interval spans them all. Otherwise the errors decide: the average's and the line's
    come from running co-moments, the power law's from :class:`_CurveError`. A winner
    by less than the sums' slack, or the ties the method settles by rank, are left to
    the method (None).
    """
    zeros, fallback = k.get("zeros", "exclude"), k.get("fallback", "mean")
    total = ExactSum()
    squares = 0.0
    mean_x = mean_v = sxx = sxv = svv = 0.0  # attempts against scores: the line
    points = 0
    mean_lx = mean_ly = lxx = lxy = 0.0  # log points: the power law
    curve = _CurveError()
    low, high = band
    tolerance = ESTIMATE_TOLERANCE
    for attempt, value in enumerate(values, start=1):
        total.add(value)
        squares += value * value
        dx, dv = attempt - mean_x, value - mean_v
        mean_x += dx / attempt
        mean_v += dv / attempt
        sxx += dx * (attempt - mean_x)
        sxv += dx * (value - mean_v)
        svv += dv * (value - mean_v)
        if value != 0 or zeros != "exclude":
            used = value if value != 0 else 0.5
            x, y = math.log(attempt), math.log(used)
            points += 1
            dlx = x - mean_lx
            mean_lx += dlx / points
            mean_ly += (y - mean_ly) / points
            lxx += dlx * (x - mean_lx)
            lxy += dlx * (y - mean_ly)
            curve.add(x, used)
        if attempt < MIN_FIT_SCORES:
            if fallback == "mean":
                yield total.value / attempt
            elif fallback == "most_recent":
                yield value
            else:
                yield Undetermined(MasteryState.INSUFFICIENT_EVIDENCE,
                                   f"{attempt} score(s); a trend needs {MIN_FIT_SCORES}")
            continue
        slope = sxv / sxx
        predictions = [total.value / attempt, mean_v + slope * (attempt - mean_x)]
        if points >= MIN_FIT_SCORES:
            power = lxy / lxx if lxx else 0.0
            intercept = mean_ly - power * mean_lx
            predictions.append(math.exp(intercept + power * math.log(attempt)))
        least, most = min(predictions), max(predictions)
        spread = (least - tolerance * max(1.0, abs(least)), most + tolerance * max(1.0, abs(most)))
        if spread[0] >= high or spread[1] < low:
            yield spread
            continue
        errors = [max(svv, 0.0), max(svv - sxv * sxv / sxx, 0.0)]
        if len(predictions) > 2:
            try:
                errors.append(max(curve.error(intercept, power), 0.0))
            except OverflowError:  # scores near 0 make steep curves: the method decides
                yield None
                continue
        # The sums cancel down to the error: their size, not the error's, sets the slack.
        slack = ERROR_SLACK * (1.0 + squares + curve.squares + max(errors))
        best = min(range(len(errors)), key=errors.__getitem__)
        tie = 1e-9 * (1 + errors[best])
        clear = all(errors[best] + 2 * slack + tie < e for i, e in enumerate(errors) if i != best)
        yield within(predictions[best]) if clear else None


def bounds(method: str, values: Sequence[float], weights: Sequence[float],
           parameters: Mapping[str, Any], band: Interval) -> Iterator[Known] | None:
    """Every counted prefix's outcome, exact or within an interval, or None for the method.

    ``band`` is the range of outcomes where the exact value decides a level (the
    threshold and its rounding margin): outside it an interval, however wide, settles
    the result. Scans are exact; estimates lie within their tolerance.
    """
    exact = scan(method, values, weights, parameters)
    if exact is not None:
        return exact
    rough = estimate(method, values, weights, parameters)
    if rough is not None:
        return (within(o) if not isinstance(o, Undetermined) else o for o in rough)
    if method == "true_score":
        return _true_score_bounds(values, weights, parameters, band)
    return None
