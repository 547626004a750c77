"""Every prefix's result when pieces leave the count: superseded attempts, recency windows.

With ``attempts: supersede`` a new attempt at an item takes its earlier attempt out
of the count; with a recency window, each new piece can push the oldest ones out.
Either way the counted pieces of a prefix are not the counted pieces of the one
before plus one, so the appending scans of :mod:`connector.mastery.prefix` do not
apply. Here the counted pieces are kept as a set that pieces join and leave
(:class:`Present`), and each method reads its answer from that set: exact sums
with the left piece subtracted, order statistics from a Fenwick tree over the
scores, the latest pieces from a linked list. The decaying average forgets old
pieces geometrically, so it reads the latest pieces and an interval for the rest.

Which pieces a prefix counts follows the engine's selection (``engine._select``):
superseding first, over every piece, then the window, over those still in; a piece
the full selection would exclude or cap for its own sake (adaptive practice,
missing work) is excluded or capped in every prefix.

``power_law`` and ``true_score`` number the attempts, so a piece leaving from the
middle renumbers the rest and no running sum survives it. For them each prefix the
walk reads is refitted with numpy (:func:`fitted_outcomes`): O(n) a prefix, as
before, but vectorised, and an interval, with the method itself near the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from heapq import heappop, heappush
from typing import Any

import numpy as np

from connector.domain.scale import MasteryState
from connector.mastery import methods
from connector.mastery.prefix import ERROR_SLACK, ESTIMATE_TOLERANCE, ExactSum, Known, within


class Present:
    """The pieces a prefix counts, as pieces join and leave, with what methods read.

    ``values`` and ``weights`` are every piece's, by position; only positions added
    and not removed are present. ``keeps`` names what the method reads, so nothing
    else is kept: ``sum`` of the scores, the ``weighted`` sums, the sum and count of
    the scores ``reached`` the ``threshold``, their ``ranks`` (order statistics),
    their ``counts`` (the mode); the order of pieces is always kept.
    """

    def __init__(self, values: Sequence[float], weights: Sequence[float],
                 threshold: float | None, keeps: frozenset[str]) -> None:
        self.values, self.weights, self.threshold = values, weights, threshold
        self._sum, self._weighted = "sum" in keeps, "weighted" in keeps
        self._reached = "reached" in keeps and threshold is not None
        self._ranks, self._counts = "ranks" in keeps, "counts" in keeps
        self.sorted = sorted(set(values)) if self._ranks else []
        self._rank = {v: i + 1 for i, v in enumerate(self.sorted)}
        self._tree = [0] * (len(self.sorted) + 1)  # Fenwick tree of counts by rank
        self._step = 1 << max(0, len(self.sorted).bit_length() - 1)
        size = len(values)
        self._before, self._after = [-1] * size, [-1] * size  # a linked list in position order
        self.last = -1
        self.count = 0
        self.total, self.weighted, self.weight = ExactSum(), ExactSum(), ExactSum()
        self.reached, self.reached_count = ExactSum(), 0
        self.counts: dict[float, int] = {}
        self.buckets: dict[int, set[float]] = {}  # how often -> the scores seen that often
        self.most = 0

    def add(self, index: int) -> None:
        """Join ``index``, which is later than every present piece."""
        self._change(index, 1)
        self._before[index], self._after[index] = self.last, -1
        if self.last >= 0:
            self._after[self.last] = index
        self.last = index

    def remove(self, index: int) -> None:
        self._change(index, -1)
        before, after = self._before[index], self._after[index]
        if before >= 0:
            self._after[before] = after
        if after >= 0:
            self._before[after] = before
        else:
            self.last = before

    def _change(self, index: int, sign: int) -> None:
        value = self.values[index]
        self.count += sign
        if self._sum:
            self.total.add(value if sign > 0 else -value)
        if self._weighted:
            weight = self.weights[index]
            product = weight * value
            self.weighted.add(product if sign > 0 else -product)
            self.weight.add(weight if sign > 0 else -weight)
        if self._reached and value >= self.threshold:  # type: ignore[operator]
            self.reached.add(value if sign > 0 else -value)
            self.reached_count += sign
        if self._ranks:
            position, tree = self._rank[value], self._tree
            while position < len(tree):
                tree[position] += sign
                position += position & -position
        if self._counts:
            before = self.counts.get(value, 0)
            after = before + sign
            self.counts[value] = after
            if before:
                self.buckets[before].discard(value)
            if after:
                self.buckets.setdefault(after, set()).add(value)
            if after > self.most:
                self.most = after
            elif before == self.most and not self.buckets[before]:
                self.most = before - 1

    def kth(self, k: int) -> float:
        """The ``k``-th smallest present score (1-based)."""
        position, step = 0, self._step
        while step:
            ahead = position + step
            if ahead < len(self._tree) and self._tree[ahead] < k:
                position = ahead
                k -= self._tree[ahead]
            step >>= 1
        return self.sorted[position]

    def latest(self, n: int) -> list[float]:
        """The ``n`` latest present scores (all, if fewer), oldest first."""
        found: list[float] = []
        index = self.last
        while index >= 0 and len(found) < n:
            found.append(self.values[index])
            index = self._before[index]
        found.reverse()
        return found

    def latest_of(self, wanted: set[float]) -> float:
        index = self.last
        while self.values[index] not in wanted:
            index = self._before[index]
        return self.values[index]


Reader = Callable[[Present, Mapping[str, Any]], Known]


def _mean(p: Present, _k: Mapping[str, Any]) -> Known:
    return p.total.value / p.count


def _weighted_mean(p: Present, _k: Mapping[str, Any]) -> Known:
    total = p.weight.value
    return (p.weighted.value / total if total > 0 else
            methods.Undetermined(MasteryState.INSUFFICIENT_EVIDENCE,
                                 "every piece of evidence has weight 0"))


def _median(p: Present, _k: Mapping[str, Any]) -> Known:
    middle = p.count // 2
    if p.count % 2:
        return p.kth(middle + 1)
    return (p.kth(middle) + p.kth(middle + 1)) / 2


def _mode(p: Present, k: Mapping[str, Any]) -> Known:
    tied = p.buckets[p.most]
    if len(tied) == 1:
        return next(iter(tied))
    tie = k.get("tie", "higher")
    if tie == "higher":
        return max(tied)
    if tie == "most_recent":
        return p.latest_of(tied)
    listed = ", ".join(f"{v:g}" for v in sorted(tied))
    return methods.Undetermined(MasteryState.NEEDS_JUDGMENT,
                                f"scores {listed} each occur {p.most} time(s); the mode is a tie")


def _top_k_mean(p: Present, k: Mapping[str, Any]) -> Known:
    size = min(int(k.get("k", 3)), p.count)
    return math.fsum(p.kth(p.count - i) for i in range(size)) / size


def _n_mastery(p: Present, k: Mapping[str, Any]) -> Known:
    n, threshold = int(k.get("n", 5)), float(k["threshold"])
    return (p.reached.value / p.reached_count if p.reached_count >= n else
            methods.Undetermined(MasteryState.NOT_YET,
                                 f"{p.reached_count} of the {n} scores needed reach {threshold:g}"))


def _canvas_weighted_average(p: Present, k: Mapping[str, Any]) -> Known:
    latest = p.latest(1)[0]
    if p.count == 1:
        return latest
    earlier = math.fsum([*p.total.partials, -latest])
    weight = float(k.get("weight", 0.65))
    return weight * latest + (1 - weight) * (earlier / (p.count - 1))


#: The pieces a decaying average may read back before the rest weighs under 1e-12.
_DECAY_READ = 2_000


def _decaying_average(p: Present, k: Mapping[str, Any]) -> Known:
    """Exact on the latest pieces; the older ones' share bounded by (1 - w)**(n - 1)."""
    weight = float(k.get("weight", 0.65))
    keep = 1.0 - weight
    if keep < 0:
        return None
    if keep == 0:
        return p.latest(1)[0]
    read = 1 + math.ceil(math.log(1e-12) / math.log(keep)) if keep < 1 else p.count
    if p.count <= read:
        return methods.decaying_average(p.latest(p.count), weight=weight)
    if read > _DECAY_READ:
        return None
    value = methods.decaying_average(p.latest(read), weight=weight)
    # The full average and this one differ by keep**(read - 1) times the difference of
    # two averages of present scores, which lie between the lowest and the highest.
    slack = keep ** (read - 1) * (p.kth(p.count) - p.kth(1))
    slack += ESTIMATE_TOLERANCE * max(1.0, abs(value))
    return (value - slack, value + slack)


READERS: dict[str, Reader] = {
    "mean": _mean, "weighted_mean": _weighted_mean, "median": _median, "mode": _mode,
    "highest": lambda p, _k: p.kth(p.count),
    "most_recent": lambda p, _k: p.latest(1)[0],
    "recent_n": lambda p, k: methods.recent_n(p.latest(int(k.get("n", 3))), n=int(k.get("n", 3)),
                                              aggregate=k.get("aggregate", "mean")),
    "top_k_mean": _top_k_mean, "n_mastery": _n_mastery,
    # m of the last n, or k in a row: only the latest max(n, k) scores matter.
    "m_of_n": lambda p, k: methods.m_of_n(
        p.latest(max(int(k.get("n", 5)), int(k.get("k", 0)))), m=int(k.get("m", 4)),
        n=int(k.get("n", 5)), k=int(k.get("k", 0)), threshold=float(k["threshold"])),
    "canvas_weighted_average": _canvas_weighted_average, "decaying_average": _decaying_average,
}

#: What each reader needs kept (see :class:`Present`).
KEEPS: dict[str, frozenset[str]] = {
    "mean": frozenset({"sum"}), "weighted_mean": frozenset({"weighted"}),
    "median": frozenset({"ranks"}), "mode": frozenset({"counts"}),
    "highest": frozenset({"ranks"}), "top_k_mean": frozenset({"ranks"}),
    "n_mastery": frozenset({"reached"}), "canvas_weighted_average": frozenset({"sum"}),
    "decaying_average": frozenset({"ranks"}),
}


def leaving(items: Sequence[str | None], attempts: Sequence[int], observed: Sequence[datetime],
            supersede: bool, window_days: int | None) -> list[int]:
    """For each piece, the prefix length from which it no longer counts (or len + 1).

    A piece is superseded in a prefix holding a later-or-equal attempt at its item;
    outside the window in a prefix whose newest piece is more than ``window_days``
    newer, unless already superseded. A piece superseded or outside from the start
    leaves at its own prefix.
    """
    size = len(items)
    leaves = [size + 1] * size
    best: dict[str, int] = {}
    waiting: list[tuple[datetime, int]] = []  # pieces still in, oldest observed first
    newest: datetime | None = None
    span = timedelta(days=window_days) if window_days else None
    for index in range(size):
        length = index + 1
        item = items[index] if supersede else None
        if item:
            holder = best.get(item)
            if holder is None or attempts[index] >= attempts[holder]:
                best[item] = index
                if holder is not None and leaves[holder] > size:
                    leaves[holder] = length
            else:
                leaves[index] = length
        if span is None:
            continue
        newest = observed[index] if newest is None else max(newest, observed[index])
        if leaves[index] > size:
            heappush(waiting, (observed[index], index))
        while waiting and waiting[0][0] < newest - span:
            _, old = heappop(waiting)
            if leaves[old] > size:
                leaves[old] = length
    return leaves


def removal_outcomes(method: str, counted: Sequence[bool], leaves: Sequence[int],
                     values: Sequence[float], weights: Sequence[float],
                     parameters: Mapping[str, Any]) -> tuple[list[int], list[Known]] | None:
    """Each prefix's count of counted pieces and what its outcome is known to be.

    ``counted`` says which pieces count for their own sake; ``leaves`` (from
    :func:`leaving`) when each stops counting. Index 0 of both lists is the empty prefix.
    None when the method has no reader here.
    """
    reader = READERS.get(method)
    if reader is None:
        return None
    threshold = parameters.get("threshold")
    present = Present(values, weights, None if threshold is None else float(threshold),
                      KEEPS.get(method, frozenset()))
    going: dict[int, list[int]] = {}
    counts: list[int] = [0]
    known: list[Known] = [None]
    for index, flag in enumerate(counted):
        length = index + 1
        if flag and leaves[index] > length:
            present.add(index)
            going.setdefault(leaves[index], []).append(index)
        for old in going.pop(length, ()):
            present.remove(old)
        counts.append(present.count)
        known.append(reader(present, parameters) if present.count else None)
    return counts, known


def fitted_outcomes(method: str, counted: Sequence[bool], leaves: Sequence[int],
                    values: Sequence[float], parameters: Mapping[str, Any]
                    ) -> Callable[[int], Known] | None:
    """What a fitted method's outcome is known to be on a prefix, refitted when asked."""
    if method not in ("power_law", "true_score"):
        return None
    flags, leave = np.asarray(counted, dtype=bool), np.asarray(leaves)
    scores, positions = np.asarray(values, dtype=float), np.arange(len(values))
    zeros, fallback = parameters.get("zeros", "exclude"), parameters.get("fallback", "mean")

    def known(length: int) -> Known:
        chosen = scores[flags & (positions < length) & (leave > length)]
        if not len(chosen):
            return None
        with np.errstate(all="raise"):
            try:
                return _fit(method, chosen, zeros, fallback)
            except FloatingPointError:  # scores near 0 make steep curves: the method decides
                return None

    return known


def _line(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float]:
    """Slope and intercept by least squares, centred as ``methods._least_squares``."""
    mx, my = xs.mean(), ys.mean()
    sxx = float(((xs - mx) ** 2).sum())
    if sxx == 0:
        return 0.0, float(my)
    slope = float(((xs - mx) * (ys - my)).sum()) / sxx
    return slope, float(my - slope * mx)


def _fit(method: str, scores: np.ndarray, zeros: str, fallback: str) -> Known:
    count = len(scores)
    attempts = np.arange(1, count + 1, dtype=float)
    usable = scores != 0 if zeros == "exclude" else np.ones(count, dtype=bool)
    points = np.where(scores == 0, 0.5, scores)[usable]
    logs = np.log(attempts[usable])
    curve = None
    if len(points) >= methods.MIN_FIT_SCORES:
        slope, intercept = _line(logs, np.log(points))
        curve = (math.exp(intercept + slope * math.log(count)),
                 float(((np.exp(intercept + slope * logs) - points) ** 2).sum()))
    if method == "power_law":
        if curve is not None:
            return within(curve[0])
        return _few(scores, fallback, f"{len(points)} usable score(s); a curve needs "
                                      f"{methods.MIN_FIT_SCORES}")
    if count < methods.MIN_FIT_SCORES:
        return _few(scores, fallback, f"{count} score(s); a trend needs {methods.MIN_FIT_SCORES}")
    average = float(scores.mean())
    slope, intercept = _line(attempts, scores)
    models = [(average, float(((scores - average) ** 2).sum())),
              (intercept + slope * count, float(((intercept + slope * attempts - scores) ** 2).sum()))]
    if curve is not None:
        models.append(curve)
    errors = [e for _, e in models]
    best = min(range(len(models)), key=errors.__getitem__)
    slack = ERROR_SLACK * (1.0 + float((scores ** 2).sum()) + max(errors))
    tie = 1e-9 * (1 + errors[best])
    if all(errors[best] + 2 * slack + tie < e for i, e in enumerate(errors) if i != best):
        return within(models[best][0])
    predictions = [p for p, _ in models]
    return (within(min(predictions))[0], within(max(predictions))[1])


def _few(scores: np.ndarray, fallback: str, why: str) -> Known:
    """Too few scores to fit: the method's fallback (its mean, to within the sum's rounding)."""
    if fallback == "mean":
        return within(float(scores.mean()))
    if fallback == "most_recent":
        return float(scores[-1])
    return methods.Undetermined(MasteryState.INSUFFICIENT_EVIDENCE, why)
