"""The batch path: the engine's rules over whole columns of evidence at once (numpy).

A full recompute of a 25,000-student district is a million records over ten
million pieces of evidence; one Python call per record is minutes. This module
computes the same results as :func:`connector.mastery.engine.compute_mastery`
for the policies most districts run (mean, weighted mean, highest, most recent,
Canvas's weighted average and the decaying average; adaptive practice counted,
capped or excluded; minimum evidence; the DOK gate; any ordering date), with
array operations. Everything else (superseding attempts, recency windows, the
fitted and state-giving methods, overrides) stays on the scalar engine.
``tests/property/test_batch_agrees.py`` checks that both paths give identical
records.

Rows belong to pairs (student x competency, numbered 0..P-1). Times are int64
microseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from connector.domain.evidence import DecisionCode, EvidenceType
from connector.domain.scale import ProficiencyScale
from connector.mastery.engine import HELD_TOLERANCE
from connector.mastery.policy import MasteryPolicy

Array = np.ndarray[Any, Any]

BATCH_METHODS = frozenset({"mean", "weighted_mean", "highest", "most_recent",
                           "canvas_weighted_average", "decaying_average"})
#: Evidence types by code: the order rows carry them in ``Columns.kind``.
TYPE_CODES: tuple[str, ...] = tuple(t.value for t in EvidenceType)

# Result states (``Outcome.state``).
LEVEL, NOT_YET, INSUFFICIENT = 0, 1, 2
#: A pair of student and competency as one number: student id * SHIFT + competency id.
SHIFT = 1 << 24
# Row statuses (``Outcome.status``), as in InputStatus.
USED, CAPPED, EXCLUDED = 0, 1, 2
# DOK gate outcomes (``Outcome.gate``).
NO_GATE, GATE_MET, GATE_CAPPED = 0, 1, 2


def batchable(policy: MasteryPolicy) -> bool:
    """Whether the batch path computes exactly what the scalar engine would for this policy."""
    return (policy.method in BATCH_METHODS and policy.attempts == "all"
            and policy.recency_days is None)


@dataclass
class Columns:
    """Evidence as columns, one row per piece (any order)."""

    pair: Array        # int64: the pair each piece belongs to
    evidence_id: Array  # int64
    value: Array       # float64, on the district scale
    assessed: Array    # int64 microseconds
    submitted: Array   # int64 microseconds (the assessed time where unknown)
    due: Array         # int64 microseconds (the assessed time where unknown)
    key: Any           # str per row (numpy, or any array with ``take``): the last tie-break
    dok: Array         # int64, 0 where unknown
    kind: Array        # int64 index into TYPE_CODES
    weight: Array      # float64

    def __len__(self) -> int:
        return len(self.value)


@dataclass
class Outcome:
    """Per pair (in ``pairs`` order) the result; per row (in engine order) the inputs."""

    pairs: Array        # pair numbers, ascending
    start: Array        # first ordered row of each pair
    length: Array       # rows of each pair
    order: Array        # rows of ``Columns`` in engine order
    status: Array       # per ordered row: USED, CAPPED or EXCLUDED
    counted_as: Array   # per ordered row: the value the method saw (capped), NaN if unchanged
    state: Array
    level: Array        # index into scale.levels, -1 when none
    score: Array        # NaN when none
    raw: Array          # the method's value when it was held within the scale, else NaN
    zero_weight: Array  # weighted mean with no weight: insufficient evidence by the method
    counted: Array      # pieces the method saw
    capped: Array
    excluded: Array
    gate: Array
    gate_input: Array   # position (within the pair) of the evidence that met the gate, -1
    highest_dok: Array  # 0 when none
    achieved: Array     # microseconds of the newest counted piece, -1 when none
    first: Array        # microseconds of the oldest piece
    since: Array        # microseconds proficient since, -1 when not proficient


def keys_at(keys: Any, rows: Array) -> Array:
    """The natural keys of these rows as a str array (keys may be any array with ``take``)."""
    if isinstance(keys, np.ndarray):
        return keys[rows].astype(str)
    return np.asarray(keys.take(rows).to_pylist(), dtype=str)


def subset(cols: Columns, rows: Array) -> Columns:
    """These rows of ``cols`` (keys stay lazy when they are not a numpy array)."""
    picked = {name: getattr(cols, name)[rows] for name in Columns.__dataclass_fields__
              if name != "key"}
    keys = cols.key[rows] if isinstance(cols.key, np.ndarray) else cols.key.take(rows)
    return Columns(key=keys, **picked)


def engine_order(cols: Columns, order_by: str) -> Array:
    """Rows sorted by pair, then the chosen date, the other two dates, then the key."""
    first, second, third = {"submitted": (cols.submitted, cols.assessed, cols.due),
                            "due": (cols.due, cols.assessed, cols.submitted)}.get(
        order_by, (cols.assessed, cols.submitted, cols.due))
    # Dates a source does not have equal the assessed date: they cannot reorder anything.
    later = [k for k in (second, third) if not np.array_equal(k, first)]
    if _ascending(cols.pair, first, later):  # rows usually arrive in order already
        order = np.arange(len(cols.pair))
    else:
        order = np.lexsort((*reversed(later), first, cols.pair))
    # Rows equal on pair and all three dates are put in key order (rare outside date-only data).
    p, a, b, c = cols.pair[order], first[order], second[order], third[order]
    same = (p[1:] == p[:-1]) & (a[1:] == a[:-1]) & (b[1:] == b[:-1]) & (c[1:] == c[:-1])
    if same.any():
        run_start = np.flatnonzero(np.r_[True, ~same])
        run_id = np.repeat(np.arange(len(run_start)), np.diff(np.r_[run_start, len(order)]))
        tied = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
        within = np.lexsort((keys_at(cols.key, order[tied]), run_id[tied]))
        order[tied] = order[tied][within]
    return order


def _ascending(pair: Array, first: Array, keys: list[Array]) -> bool:
    """Whether rows are already sorted by pair, then date, then ``keys``.

    ``keys`` are the remaining dates, most significant first.
    """
    if len(pair) < 2:
        return True
    step = np.diff(pair)
    if (step < 0).any():
        return False
    same = step == 0
    later = np.diff(first)
    if (same & (later < 0)).any():
        return False
    tied = same & (later == 0)
    for key in keys:
        if not tied.any():
            return True
        more = np.diff(key)
        if (tied & (more < 0)).any():
            return False
        tied &= more == 0
    return True


def round_half_up(values: Array) -> Array:
    """Vector version of ``connector.domain.scale.round_half_up`` (settle at 1e-9, then 2 places).

    Works in whole nano-units so 2.675 rounds to 2.68 as the decimal rounding does,
    not to 2.67 as its binary value would; NaN stays NaN.
    """
    missing = np.isnan(values)
    nanos = np.rint(np.where(missing, 0.0, values) * 1e9).astype(np.int64)
    cents = np.sign(nanos) * ((np.abs(nanos) + 5_000_000) // 10_000_000)
    return np.where(missing, np.nan, cents / 100)


def _segments(pair_sorted: Array) -> tuple[Array, Array]:
    start = np.flatnonzero(np.r_[True, pair_sorted[1:] != pair_sorted[:-1]])
    return start, np.diff(np.r_[start, len(pair_sorted)])


def _method_values(method: str, params: dict[str, Any], v: Array, w: Array, start: Array,
                   length: Array) -> tuple[Array, Array, Array]:
    """Final and prefix values of the method over counted rows, and the zero-weight flag.

    ``v``, ``w`` are the counted rows in engine order; pairs are the segments
    (``start``, ``length``). Prefix values are the method's value on each pair's
    first 1, 2, ... counted rows.
    """
    seg = np.repeat(np.arange(len(start)), length)
    pos = np.arange(len(v)) - start[seg]
    zero = np.zeros(len(start), dtype=bool)
    if method == "decaying_average" or method == "canvas_weighted_average":
        weight = float(params["weight"])
    if method in ("decaying_average", "highest"):
        # Walk every pair forward one position at a time, all pairs at once: the same
        # arithmetic, in the same order, as the scalar recursion (and running maximum).
        prefix = v.copy()
        current = v[start].copy()
        for step in range(1, int(length.max()) if len(length) else 0):
            alive = length > step
            rows = start[alive] + step
            if method == "highest":
                current[alive] = np.maximum(v[rows], current[alive])
            else:
                current[alive] = weight * v[rows] + (1 - weight) * current[alive]
            prefix[rows] = current[alive]
        return current, prefix, zero
    if method == "most_recent":
        return v[start + length - 1], v.copy(), zero
    if method == "weighted_mean":
        sw, swv = _cumsum_by(w, seg, start), _cumsum_by(w * v, seg, start)
        with np.errstate(divide="ignore", invalid="ignore"):
            prefix = np.where(sw > 0, swv / np.where(sw > 0, sw, 1), np.nan)
        last = start + length - 1
        return prefix[last], prefix, sw[last] <= 0
    sums = _cumsum_by(v, seg, start)
    means = sums / (pos + 1)
    if method == "mean":
        return means[start + length - 1], means, zero
    # canvas_weighted_average: w * latest + (1 - w) * mean of the earlier ones
    earlier = np.where(pos > 0, (sums - v) / np.maximum(pos, 1), v)
    prefix = np.where(pos > 0, weight * v + (1 - weight) * earlier, v)
    return prefix[start + length - 1], prefix, zero


def _cumsum_by(x: Array, seg: Array, start: Array) -> Array:
    """Running sums that restart at each segment."""
    total: Array = np.cumsum(x)
    before: Array = total[start] - x[start]
    restarted: Array = total - before[seg]
    return restarted


def compute(cols: Columns, *, scale: ProficiencyScale, policy: MasteryPolicy,
            target_dok: int | None) -> Outcome:
    """Every pair's result under one batchable policy and target DOK."""
    if not batchable(policy):
        raise ValueError(f"policy {policy.method!r} is not for the batch path")
    params = dict(policy.parameters)
    if not len(cols):
        return Outcome(**{f.name: np.zeros(0, dtype=np.int64) for f in fields(Outcome)})
    order = engine_order(cols, str(params.get("order_by", "assessed")))
    pair = cols.pair[order]
    start, length = _segments(pair)
    seg = np.repeat(np.arange(len(start)), length)
    value = cols.value[order]
    kind = cols.kind[order]
    dok = cols.dok[order]
    assessed = cols.assessed[order]
    n = len(order)

    adaptive = np.isin(kind, [TYPE_CODES.index(t) for t in sorted(policy.adaptive_types)])
    status = np.full(n, USED, dtype=np.int8)
    counted_as = np.full(n, np.nan)
    used = value.copy()
    if policy.adaptive == "exclude":
        status[adaptive] = EXCLUDED
    elif policy.adaptive == "cap":
        cap = scale.level(str(policy.adaptive_max_level)).value
        over = adaptive & (value > cap)
        status[over], counted_as[over], used[over] = CAPPED, cap, cap
    counted_row = status != EXCLUDED
    counted = np.add.reduceat(counted_row.astype(np.int64), start) if n else np.zeros(0, int)
    capped = np.add.reduceat((status == CAPPED).astype(np.int64), start) if n else counted
    excluded = np.add.reduceat((status == EXCLUDED).astype(np.int64), start) if n else counted

    # The method over counted rows only, pair by pair, with its value on every prefix.
    pairs_with = counted > 0
    crow = np.flatnonzero(counted_row)
    cstart, clength = (_segments(pair[crow]) if len(crow) else
                       (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)))
    type_weights = params.get("type_weights") or {}
    kind_weight = np.array([type_weights.get(t, 1.0) for t in TYPE_CODES])
    weights = cols.weight[order][crow] * kind_weight[kind[crow]]
    final_c, prefix_c, zero_c = _method_values(policy.method, params, used[crow], weights,
                                               cstart, clength)
    raw = np.full(len(start), np.nan)
    zero_weight = np.zeros(len(start), dtype=bool)
    raw[pairs_with] = final_c
    zero_weight[pairs_with] = zero_c

    low, high = scale.min_value, scale.max_value
    clamped = np.clip(raw, low, high)
    score = round_half_up(clamped)
    held = np.where((raw < low - HELD_TOLERANCE) | (raw > high + HELD_TOLERANCE), raw, np.nan)
    values = np.array([lv.value for lv in scale.levels])
    level = np.clip(np.searchsorted(values, score, side="right") - 1, 0, len(values) - 1)
    proficient_index = scale.levels.index(scale.proficient)
    threshold = scale.proficient.value

    state = np.full(len(start), LEVEL, dtype=np.int8)
    insufficient = (counted < policy.min_evidence) | zero_weight
    state[insufficient] = INSUFFICIENT
    level = np.where(insufficient, -1, level)
    score = np.where(insufficient, np.nan, score)
    held = np.where(insufficient, np.nan, held)

    gate = np.full(len(start), NO_GATE, dtype=np.int8)
    gate_input = np.full(len(start), -1, dtype=np.int64)
    gated = policy.dok_gate and target_dok is not None
    qualifying = np.zeros(n, dtype=bool)
    if gated:
        trusted = np.isin(kind, [TYPE_CODES.index(t)
                                 for t in sorted(policy.qualifying_evidence_types)])
        qualifying = counted_row & (dok >= int(target_dok or 0)) & (dok > 0) & trusted & (
            used >= threshold)
        position = np.arange(n) - start[seg]
        last_q = np.maximum.reduceat(np.where(qualifying, position, -1), start) if n else gate
        asks = (state == LEVEL) & (level >= proficient_index)
        met = asks & (last_q >= 0)
        gate[met], gate_input[met] = GATE_MET, last_q[met]
        failed = asks & (last_q < 0)
        gate[failed] = GATE_CAPPED
        if proficient_index == 0:
            state[failed], level[failed] = NOT_YET, -1
        else:
            level[failed] = proficient_index - 1
    proficient = (state == LEVEL) & (level >= proficient_index)

    reached = counted_row & (used >= threshold) & (dok > 0)
    highest_dok = np.maximum.reduceat(np.where(reached, dok, 0), start) if n else counted
    last_counted = np.maximum.reduceat(np.where(counted_row, np.arange(n), -1), start) if n \
        else counted
    achieved = np.where(last_counted >= 0, assessed[np.maximum(last_counted, 0)], -1)
    first = np.minimum.reduceat(assessed, start) if n else counted

    since = _since(policy, scale, seg, start, length, counted_row, crow, prefix_c, qualifying,
                   gated, proficient, assessed, n)
    return Outcome(pairs=pair[start], start=start, length=length, order=order, status=status,
                   counted_as=counted_as, state=state, level=level, score=score, raw=held,
                   zero_weight=zero_weight, counted=counted, capped=capped, excluded=excluded,
                   gate=gate, gate_input=gate_input, highest_dok=highest_dok, achieved=achieved,
                   first=first, since=since)


def _since(policy: MasteryPolicy, scale: ProficiencyScale, seg: Array, start: Array,
           length: Array, counted_row: Array, crow: Array, prefix_c: Array, qualifying: Array,
           gated: bool, proficient: Array, assessed: Array, n: int) -> Array:
    """Start of the current proficient run: the engine's prefix walk, for every pair at once.

    A prefix ending at a row is proficient when it has the minimum evidence, its
    rounded value reaches the proficient level, and (under the gate) a qualifying
    piece is among its rows. The walk looks at prefixes shorter than the whole.
    """
    since = np.full(len(start), -1, dtype=np.int64)
    if not n or not proficient.any():
        return since
    prefix = np.full(n, np.nan)
    prefix[crow] = prefix_c
    # carry the last counted prefix value forward over rows the method did not see
    filled = np.where(counted_row, np.arange(n), -1)
    filled = np.maximum.accumulate(filled)
    own = filled >= start[seg]
    prefix = np.where(own, prefix[np.maximum(filled, 0)], np.nan)
    count = _cumsum_by(counted_row.astype(np.int64), seg, start)
    values = np.array([lv.value for lv in scale.levels])
    rounded = round_half_up(np.clip(prefix, scale.min_value, scale.max_value))
    level = np.searchsorted(values, rounded, side="right") - 1
    good = own & ~np.isnan(prefix) & (count >= policy.min_evidence) & (
        level >= scale.levels.index(scale.proficient))
    if gated:
        good &= _cumsum_by(qualifying.astype(np.int64), seg, start) > 0
    position = np.arange(n) - start[seg]
    # the last row whose prefix is not proficient, among prefixes shorter than the whole pair
    shorter = position < (length[seg] - 1)
    last_bad = np.maximum.reduceat(np.where(~good & shorter, position, -1), start)
    begin = start + last_bad + 1
    since[proficient] = assessed[begin[proficient]]
    return since


def decaying_values(pair: Array, assessed: Array, key: Array, value: Array,
                    weight: float) -> tuple[Array, Array]:
    """(pairs ascending, decaying average of each) with the engine's order: for benchmarks."""
    cols = Columns(pair=pair, evidence_id=np.arange(len(pair)), value=value,
                   assessed=assessed, submitted=assessed, due=assessed, key=key,
                   dok=np.zeros(len(pair), dtype=np.int64),
                   kind=np.zeros(len(pair), dtype=np.int64), weight=np.ones(len(pair)))
    order = engine_order(cols, "assessed")
    start, length = _segments(cols.pair[order])
    final, _, _ = _method_values("decaying_average", {"weight": weight}, value[order],
                                 np.ones(len(order)), start, length)
    return cols.pair[order][start], final


# ---- results as the records the scalar engine would store ----------------------------------

_STATES = {LEVEL: "level", NOT_YET: "not_yet", INSUFFICIENT: "insufficient_evidence"}
_STATUS = {USED: "used", CAPPED: "capped", EXCLUDED: "excluded"}
_EPOCH = np.datetime64("1970-01-01T00:00:00", "us")
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(micros: int) -> str:
    """``datetime.isoformat()`` of a UTC instant: seconds, microseconds only when non-zero."""
    text = str(_EPOCH + np.timedelta64(int(micros), "us"))
    if text.endswith(".000000"):
        text = text[:-7]
    return text + "+00:00"


def _moment(micros: int) -> datetime:
    return _UTC_EPOCH + timedelta(microseconds=int(micros))


def to_records(out: Outcome, cols: Columns, *, scale: ProficiencyScale, policy: MasteryPolicy,
               target_dok: int | None, engine_version: str) -> list[dict[str, Any]]:
    """The values :func:`connector.sync.compute.record_values` stores, pair by pair.

    Same keys, same inputs rows and decisions as the scalar engine; the batch
    agreement test compares them field by field.
    """
    levels = scale.levels
    values = np.array([lv.value for lv in levels])
    params = dict(policy.parameters)
    qualifying = sorted(policy.qualifying_evidence_types)
    adaptive = sorted(policy.adaptive_types)
    cap = scale.level(str(policy.adaptive_max_level)).code if policy.adaptive == "cap" else None
    order = out.order.tolist()
    ids, vals = cols.evidence_id.tolist(), cols.value.tolist()
    assessed, doks, kinds = cols.assessed.tolist(), cols.dok.tolist(), cols.kind.tolist()
    status, counted_as = out.status.tolist(), out.counted_as.tolist()
    before_gate = (np.clip(np.searchsorted(values, np.nan_to_num(out.score), side="right") - 1, 0,
                           len(values) - 1)).tolist()
    records = []
    for i, (start, length) in enumerate(zip(out.start.tolist(), out.length.tolist(), strict=True)):
        rows = []
        for position in range(start, start + length):
            row = order[position]
            extra = counted_as[position]
            rows.append([ids[row], vals[row], _iso(assessed[row]), doks[row] or None,
                         TYPE_CODES[kinds[row]], _STATUS[status[position]],
                         None if extra != extra else extra])
        decisions: list[dict[str, Any]] = [{"code": DecisionCode.EVIDENCE}]
        if out.excluded[i]:
            decisions.append({"code": DecisionCode.ADAPTIVE_EXCLUDED, "count": int(out.excluded[i]),
                              "types": adaptive})
        if out.capped[i]:
            decisions.append({"code": DecisionCode.ADAPTIVE_CAPPED, "count": int(out.capped[i]),
                              "level": cap, "types": adaptive})
        state = int(out.state[i])
        score: float | None = None
        level_index = int(out.level[i])
        if out.counted[i] < policy.min_evidence:
            decisions.append({"code": DecisionCode.MINIMUM, "count": int(out.counted[i]),
                              "needed": policy.min_evidence})
        elif out.zero_weight[i]:
            decisions.append({"code": DecisionCode.UNDETERMINED, "state": "insufficient_evidence",
                              "reason": "every piece of evidence has weight 0"})
        else:
            score = float(out.score[i])
            method: dict[str, Any] = {"code": DecisionCode.METHOD, "score": score}
            if out.raw[i] == out.raw[i]:
                method["raw"] = round(float(out.raw[i]), 6)
            decisions += [method, {"code": DecisionCode.LEVEL, "score": score,
                                   "level": levels[before_gate[i]].code}]
            if out.gate[i] == GATE_MET:
                decisions.append({"code": DecisionCode.DOK_GATE_MET, "target": target_dok,
                                  "input": int(out.gate_input[i])})
            elif out.gate[i] == GATE_CAPPED:
                decisions.append({"code": DecisionCode.DOK_GATE_CAPPED, "target": target_dok,
                                  "level": levels[level_index].code if level_index >= 0 else None,
                                  "types": qualifying})
        level = levels[level_index] if level_index >= 0 else None
        state_name = _STATES[state]
        proficient = level is not None and scale.is_proficient(level)
        records.append({
            "state": state_name,
            "level_code": level.code if level else None,
            "level_label": level.label if level else scale.state_label(state_name),
            "score": score,
            "proficient": proficient,
            "computed_state": state_name,
            "computed_level_code": level.code if level else None,
            "computed_score": score,
            "override_id": None,
            "method": policy.method,
            "parameters": dict(params),
            "inputs": rows,
            "decisions": decisions,
            "evidence_count": int(out.counted[i]),
            "highest_dok": int(out.highest_dok[i]) or None,
            "engine_version": engine_version,
            "policy_version": policy.version,
            "first_evidence_at": _moment(out.first[i]),
            "proficient_since": _moment(out.since[i]) if out.since[i] >= 0 else None,
            "achieved_at": _moment(out.achieved[i]) if out.achieved[i] >= 0 else None,
        })
    return records


# ---- the input digest, for every pair at once ------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def words(content_hashes: Array) -> Array:
    """``connector.mastery.record.evidence_word`` for many hashes (their first 16 hex digits)."""
    raw = np.frombuffer(np.asarray(content_hashes).astype("S16").tobytes(),
                        dtype=np.uint8).reshape(-1, 16)
    nibbles = (raw & 0x0F) + 9 * (raw >> 6)  # '0'-'9' -> 0-9, 'a'-'f' and 'A'-'F' -> 10-15
    packed = ((nibbles[:, 0::2] << 4) | nibbles[:, 1::2]).astype(np.uint8)
    result: Array = np.ascontiguousarray(packed).view(">u8").reshape(-1).astype(np.uint64)
    return result


def _mix(x: Array) -> Array:
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed: Array = x ^ (x >> np.uint64(31))
    return mixed


def digests(out: Outcome, row_words: Array, context: int) -> list[str]:
    """``connector.mastery.record.input_digest`` of every pair, in engine order."""
    if not len(out.start):
        return []
    ordered = row_words[out.order]
    seg = np.repeat(np.arange(len(out.start)), out.length)
    position = (np.arange(len(ordered)) - out.start[seg] + 1).astype(np.uint64)
    with np.errstate(over="ignore"):
        mixed = _mix(ordered ^ (position * _GOLDEN))
        acc = np.bitwise_xor.reduceat(mixed, out.start)
        final = _mix(acc ^ np.uint64(context))
    return [f"{v:016x}" for v in final.tolist()]
