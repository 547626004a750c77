"""The mastery engine: one student's evidence on one competency -> a level or a state.

The steps, in order, each recorded as a decision so the result explains itself:

1. order the evidence by the policy's date (assessed, submitted or due), ties
   broken by the other dates and then the evidence key, so database order never
   matters;
2. set aside superseded attempts, evidence outside the recency window, and
   excluded adaptive practice; cap adaptive practice where the district caps it;
3. insufficient evidence below the minimum;
4. the method, which gives a number or a state (not yet, needs teacher judgment);
5. the number, clamped to the scale and rounded half up to 2 places, reaches a level;
6. the DOK gate holds a proficient level one step down when no qualifying
   evidence at the target DOK is itself proficient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from connector.domain.evidence import (
    Decision,
    DecisionCode,
    EvidencePiece,
    EvidenceUse,
    InputStatus,
    MasteryResult,
)
from connector.domain.scale import Level, MasteryState, ProficiencyScale, round_half_up
from connector.mastery.explain import render_steps
from connector.mastery.methods import Fit, Undetermined, fit_true_score
from connector.mastery.policy import MasteryPolicy
from connector.mastery.prefix import Known
from connector.mastery.prefix import bounds as prefix_bounds
from connector.mastery.prefix_removal import fitted_outcomes, leaving, removal_outcomes
from connector.mastery.registry import ENGINE_PARAMETERS, MethodSpec, get_method

#: How far past the scale a method's value must be before the record says it was held.
HELD_TOLERANCE = 1e-9


def order_key(order_by: str) -> Callable[[EvidencePiece], tuple[datetime, datetime, datetime, str]]:
    """Sort key for evidence: the chosen date, then the other dates, then the key.

    A missing submitted or due date falls back to the assessed date, so every piece
    has a place in the order.
    """
    def key(e: EvidencePiece) -> tuple[datetime, datetime, datetime, str]:
        submitted = e.submitted_at or e.observed_at
        due = e.due_at or e.observed_at
        if order_by == "submitted":
            return (submitted, e.observed_at, due, e.key)
        if order_by == "due":
            return (due, e.observed_at, submitted, e.key)
        return (e.observed_at, submitted, due, e.key)
    return key


@dataclass(frozen=True)
class _Outcome:
    """The core answer before it is dressed as a result (also used for prefixes)."""

    state: MasteryState
    level: Level | None
    score: float | None
    decisions: tuple[Decision, ...]
    inputs: tuple[EvidenceUse, ...]
    effective: dict[str, Any]


def compute_mastery(
    evidence: Iterable[EvidencePiece],
    *,
    scale: ProficiencyScale,
    policy: MasteryPolicy,
    target_dok: int | None,
    engine_version: str,
) -> MasteryResult:
    """Turn one student's evidence on one competency into a level or state, with its reasons.

    A result is held within the scale: a fitted curve can overshoot it.
    """
    spec = get_method(policy.method)
    ordered = sorted(evidence, key=order_key(str(policy.parameters.get("order_by", "assessed"))))
    limits = (scale.min_value, scale.max_value)
    outcome = _assess(ordered, scale, policy, spec, target_dok, limits, record=True)
    proficient = outcome.level is not None and scale.is_proficient(outcome.level)
    counted = [u for u in outcome.inputs if u.counted]
    since = (_proficient_since(ordered, outcome.inputs, scale, policy, spec, target_dok, limits)
             if proficient else None)
    threshold = scale.proficient.value
    return MasteryResult(
        state=outcome.state,
        level_code=outcome.level.code if outcome.level else None,
        level_label=outcome.level.label if outcome.level else scale.state_label(outcome.state),
        score=outcome.score,
        proficient=proficient,
        method=policy.method,
        parameters=dict(outcome.effective),
        evidence_keys=tuple(e.key for e in ordered),
        steps=render_steps(outcome.inputs, outcome.decisions, scale=scale, method=policy.method,
                           parameters=outcome.effective),
        engine_version=engine_version,
        policy_version=policy.version,
        # "Demonstrated": only evidence that itself reached proficient shows a DOK.
        highest_dok=max((u.dok for u in counted if u.dok is not None
                         and (u.used_value if u.used_value is not None else u.value) >= threshold),
                        default=None),
        achieved_at=counted[-1].observed_at if counted else None,
        inputs=outcome.inputs,
        decisions=outcome.decisions,
        first_evidence_at=min((e.observed_at for e in ordered), default=None),
        proficient_since=since,
    )


def _assess(ordered: Sequence[EvidencePiece], scale: ProficiencyScale, policy: MasteryPolicy,
            spec: MethodSpec, target_dok: int | None, limits: tuple[float, float], *,
            record: bool) -> _Outcome:
    decisions: list[Decision] = []
    note = decisions.append if record else (lambda _d: None)
    effective = dict(policy.parameters)
    if "threshold" in effective and effective["threshold"] is None:
        effective["threshold"] = scale.proficient.value
    if ordered:
        note(Decision(DecisionCode.EVIDENCE))
    uses = _select(ordered, scale, policy, note)
    counted = [(piece, use) for piece, use in zip(ordered, uses, strict=True) if use.counted]

    def done(state: MasteryState, level: Level | None = None,
             score: float | None = None) -> _Outcome:
        return _Outcome(state, level, score, tuple(decisions), tuple(uses), effective)

    if len(counted) < policy.min_evidence:
        note(Decision(DecisionCode.MINIMUM, {"count": len(counted), "needed": policy.min_evidence}))
        return done(MasteryState.INSUFFICIENT_EVIDENCE)

    values = [use.used_value if use.used_value is not None else use.value for _, use in counted]
    kwargs = {k: v for k, v in effective.items() if k not in ENGINE_PARAMETERS}
    if spec.uses_weights:
        type_weights = effective.get("type_weights") or {}
        kwargs["weights"] = [piece.weight * type_weights.get(piece.evidence_type, 1.0)
                             for piece, _ in counted]
    raw = spec.function(values, **kwargs)
    detail = _detail(spec, values, effective) if record else {}
    if isinstance(raw, Undetermined):
        note(Decision(DecisionCode.UNDETERMINED, {"state": raw.state.value, "reason": raw.reason, **detail}))
        return done(raw.state)
    score = round_half_up(min(max(raw, limits[0]), limits[1]))
    # Float noise (0.9999999999999999 for a mean of ones) is not "held within the scale".
    clamped = not limits[0] - HELD_TOLERANCE <= raw <= limits[1] + HELD_TOLERANCE
    note(Decision(DecisionCode.METHOD, {"score": score, **({"raw": round(raw, 6)} if clamped else {}),
                                        **detail}))
    level = scale.level_for_value(score)
    note(Decision(DecisionCode.LEVEL, {"score": score, "level": level.code}))

    if policy.dok_gate and target_dok is not None and scale.is_proficient(level):
        threshold = scale.proficient.value
        qualifying = [
            index for index, use in enumerate(uses)
            if use.counted and use.dok is not None and use.dok >= target_dok
            and use.evidence_type in policy.qualifying_evidence_types
            and (use.used_value if use.used_value is not None else use.value) >= threshold
        ]
        if qualifying:
            # Decisions name inputs by position, so a stored record explains itself.
            note(Decision(DecisionCode.DOK_GATE_MET, {"target": target_dok, "input": qualifying[-1]}))
        elif scale.proficient == scale.levels[0]:
            # No level below proficient to hold the student at: the record is "not yet".
            note(Decision(DecisionCode.DOK_GATE_CAPPED, {"target": target_dok, "level": None,
                                                         "types": sorted(policy.qualifying_evidence_types)}))
            return done(MasteryState.NOT_YET, score=score)
        else:
            level = scale.below(scale.proficient)
            note(Decision(DecisionCode.DOK_GATE_CAPPED, {"target": target_dok, "level": level.code,
                                                         "types": sorted(policy.qualifying_evidence_types)}))
    return done(MasteryState.LEVEL, level, score)


def _select(ordered: Sequence[EvidencePiece], scale: ProficiencyScale, policy: MasteryPolicy,
            note: Callable[[Decision], None]) -> list[EvidenceUse]:
    """Which pieces the method sees, and at what value; every exclusion is a decision."""
    status = [InputStatus.USED] * len(ordered)
    used_value: list[float | None] = [None] * len(ordered)
    if policy.attempts == "supersede":
        latest: dict[str, int] = {}
        for index, piece in enumerate(ordered):
            if not piece.item_key:
                continue
            best = latest.get(piece.item_key)
            if best is None or (piece.attempt, index) >= (ordered[best].attempt, best):
                latest[piece.item_key] = index
        keep = set(latest.values())
        superseded = [i for i, p in enumerate(ordered) if p.item_key and i not in keep]
        for i in superseded:
            status[i] = InputStatus.SUPERSEDED
        if superseded:
            note(Decision(DecisionCode.SUPERSEDED, {"count": len(superseded)}))
    if policy.recency_days and ordered:
        newest = max(p.observed_at for p in ordered)
        since = newest - timedelta(days=policy.recency_days)
        old = [i for i, p in enumerate(ordered) if p.observed_at < since
               and status[i] is InputStatus.USED]
        for i in old:
            status[i] = InputStatus.OUTSIDE_WINDOW
        if old:
            note(Decision(DecisionCode.OUTSIDE_WINDOW, {"days": policy.recency_days, "count": len(old),
                                                        "since": since.date().isoformat()}))
    # Excluded adaptive work is out whatever else is true of it, missing or not.
    if policy.adaptive == "exclude":
        excluded = [i for i, p in enumerate(ordered) if p.evidence_type in policy.adaptive_types
                    and status[i] is InputStatus.USED]
        for i in excluded:
            status[i] = InputStatus.EXCLUDED
        if excluded:
            note(Decision(DecisionCode.ADAPTIVE_EXCLUDED, {"count": len(excluded),
                                                           "types": sorted(policy.adaptive_types)}))
    missing = [i for i, p in enumerate(ordered) if p.missing and status[i] is InputStatus.USED]
    if missing:
        if policy.missing_work == "lowest_level":
            lowest = scale.levels[0]
            for i in missing:
                status[i], used_value[i] = InputStatus.MISSING_AT_LOWEST, lowest.value
            note(Decision(DecisionCode.MISSING_WORK, {"count": len(missing), "rule": policy.missing_work,
                                                      "level": lowest.code}))
        else:
            for i in missing:
                status[i] = InputStatus.MISSING
            note(Decision(DecisionCode.MISSING_WORK, {"count": len(missing), "rule": policy.missing_work}))
    if policy.adaptive == "cap":
        cap = scale.level(str(policy.adaptive_max_level))
        capped = [i for i, p in enumerate(ordered) if p.evidence_type in policy.adaptive_types
                  and status[i] is InputStatus.USED and p.value > cap.value]
        for i in capped:
            status[i], used_value[i] = InputStatus.CAPPED, cap.value
        if capped:
            note(Decision(DecisionCode.ADAPTIVE_CAPPED, {"count": len(capped), "level": cap.code,
                                                         "types": sorted(policy.adaptive_types)}))
    return [EvidenceUse(key=p.key, value=p.value, observed_at=p.observed_at, dok=p.dok,
                        evidence_type=p.evidence_type, status=status[i], used_value=used_value[i],
                        label=p.label)
            for i, p in enumerate(ordered)]


def _detail(spec: MethodSpec, values: Sequence[float], effective: dict[str, Any]) -> dict[str, Any]:
    """Facts a reader needs beyond the number: which model won, or that a fallback applied."""
    if spec.name not in ("power_law", "true_score"):
        return {}
    usable = [v for v in values if v > 0] if effective.get("zeros") == "exclude" else values
    if len(usable) < 3:
        return {"fallback": effective.get("fallback")}
    if spec.name == "true_score":
        fits: list[Fit] = fit_true_score(values, effective.get("zeros", "exclude"))
        return {"model": fits[0].model,
                "errors": {f.model: round(f.error, 4) for f in fits}}
    return {}


def _proficient_since(ordered: Sequence[EvidencePiece], uses: Sequence[EvidenceUse],
                      scale: ProficiencyScale, policy: MasteryPolicy, spec: MethodSpec,
                      target_dok: int | None, limits: tuple[float, float]) -> datetime | None:
    """The date from which every result, evidence by evidence, has been proficient.

    Walks back from the newest piece while the result on the evidence up to each
    piece is still proficient; used for time to proficiency and pace. Every prefix's
    result comes from one pass where the method has a form for it
    (:mod:`connector.mastery.prefix`, and :mod:`connector.mastery.prefix_removal` when
    attempts supersede or a window drops old pieces), linear in the evidence;
    otherwise each prefix is assessed afresh.
    """
    if not ordered:
        return None
    proficient = _prefix_proficiency(ordered, uses, scale, policy, spec, target_dok, limits)
    start = len(ordered)
    while start > 1:
        if proficient is not None:
            good = proficient(start - 1)
        else:
            prefix = _assess(ordered[:start - 1], scale, policy, spec, target_dok, limits,
                             record=False)
            good = prefix.level is not None and scale.is_proficient(prefix.level)
        if not good:
            break
        start -= 1
    return ordered[start - 1].observed_at


def _prefix_proficiency(ordered: Sequence[EvidencePiece], uses: Sequence[EvidenceUse],
                        scale: ProficiencyScale, policy: MasteryPolicy, spec: MethodSpec,
                        target_dok: int | None, limits: tuple[float, float]
                        ) -> Callable[[int], bool] | None:
    """Whether the first k pieces give a proficient result, for any k, from one pass.

    Each piece counts, or not, for its own sake (adaptive exclusion, missing work),
    and at its own value (capping) in every prefix; what differs between prefixes is
    only which pieces a later attempt supersedes or the window leaves behind. The
    outcome of each prefix is exact, or an interval that settles it when it lies
    clear of the threshold; the rest are computed by the method itself.
    """
    effective = dict(policy.parameters)
    if "threshold" in effective and effective["threshold"] is None:
        effective["threshold"] = scale.proficient.value
    kwargs = {k: v for k, v in effective.items() if k not in ENGINE_PARAMETERS}
    threshold = scale.proficient.value
    appending = policy.attempts == "all" and not policy.recency_days
    if not appending:  # what each piece is for its own sake, whatever else is in the prefix
        uses = _select(ordered, scale, replace(policy, attempts="all", recency_days=None),
                       lambda _d: None)
    flags = [use.counted for use in uses]
    values = [use.used_value if use.used_value is not None else use.value for use in uses]
    type_weights = effective.get("type_weights") or {}
    weights = ([piece.weight * type_weights.get(piece.evidence_type, 1.0) for piece in ordered]
               if spec.uses_weights else [1.0] * len(ordered))
    qualifies = [flag and use.dok is not None and target_dok is not None
                 and use.dok >= target_dok and use.evidence_type in policy.qualifying_evidence_types
                 and value >= threshold for flag, use, value in zip(flags, uses, values, strict=True)]
    # Rounding to 2 places moves a value by at most 0.005: outside this band the
    # unrounded outcome settles the level.
    band = (threshold - 0.01, threshold + 0.01)
    if appending:
        table = _appending(spec.name, flags, values, weights, qualifies, kwargs, band)
    else:
        leaves = leaving([p.item_key for p in ordered], [p.attempt for p in ordered],
                         [p.observed_at for p in ordered], policy.attempts == "supersede",
                         policy.recency_days)
        table = _leaving(spec.name, flags, leaves, values, weights, qualifies, kwargs)
    if table is None:
        return None
    counts, known, qualified, members = table
    gated = policy.dok_gate and target_dok is not None

    def exact(length: int) -> Any:
        chosen = members(length)
        extra = {"weights": [weights[i] for i in chosen]} if spec.uses_weights else {}
        return spec.function([values[i] for i in chosen], **kwargs, **extra)

    def proficient(length: int) -> bool:
        count = counts[length]
        if count < policy.min_evidence or count == 0:
            return False
        if gated and not qualified[length]:
            return False
        outcome = known(length)
        if outcome is None:
            outcome = exact(length)
        if isinstance(outcome, Undetermined):
            return False
        low, high = outcome if isinstance(outcome, tuple) else (outcome, outcome)
        low, high = min(max(low, limits[0]), limits[1]), min(max(high, limits[0]), limits[1])
        if low >= band[1]:
            return True
        if high < band[0]:
            return False
        if isinstance(outcome, tuple):
            outcome = exact(length)
            if isinstance(outcome, Undetermined):
                return False
            low = min(max(outcome, limits[0]), limits[1])
        return scale.is_proficient(scale.level_for_value(round_half_up(low)))

    return proficient


#: Per prefix length (index 0 the empty prefix): pieces counted and whether a qualifying
#: piece is among them; the outcome as known, and the counted pieces in order, by length.
_Table = tuple[list[int], Callable[[int], Known], list[bool], Callable[[int], list[int]]]


def _appending(method: str, flags: Sequence[bool], values: Sequence[float],
               weights: Sequence[float], qualifies: Sequence[bool], kwargs: dict[str, Any],
               band: tuple[float, float]) -> _Table | None:
    """The table when each prefix counts what the one before it did, and maybe one more."""
    order = [i for i, flag in enumerate(flags) if flag]
    outcomes = prefix_bounds(method, [values[i] for i in order], [weights[i] for i in order],
                             kwargs, band)
    if outcomes is None:
        return None
    by_count: list[Known] = [None, *outcomes]
    counts, qualified, seen, found = [0], [False], 0, False
    for flag, good in zip(flags, qualifies, strict=True):
        seen += flag
        found = found or good
        counts.append(seen)
        qualified.append(found)
    return (counts, lambda length: by_count[counts[length]], qualified,
            lambda length: order[:counts[length]])


def _leaving(method: str, flags: Sequence[bool], leaves: Sequence[int], values: Sequence[float],
             weights: Sequence[float], qualifies: Sequence[bool], kwargs: dict[str, Any]
             ) -> _Table | None:
    """The table when a prefix's new piece can take earlier ones out of the count."""
    found = removal_outcomes(method, flags, leaves, values, weights, kwargs)
    known: Callable[[int], Known] | None
    if found is not None:
        known = found[1].__getitem__
    else:
        known = fitted_outcomes(method, flags, leaves, values, kwargs)
        if known is None:
            return None
    counts, qualified, held, good_held = [0], [False], 0, 0
    going: dict[int, list[bool]] = {}
    for index, (flag, good) in enumerate(zip(flags, qualifies, strict=True)):
        length = index + 1
        if flag and leaves[index] > length:
            held += 1
            good_held += good
            going.setdefault(leaves[index], []).append(good)
        for was_good in going.pop(length, ()):
            held -= 1
            good_held -= was_good
        counts.append(held)
        qualified.append(good_held > 0)

    def members(length: int) -> list[int]:
        return [i for i in range(length) if flags[i] and leaves[i] > length]

    return counts, known, qualified, members
