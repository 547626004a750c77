"""Roll-ups: a parent competency's level from its children's levels.

Districts keep evidence on learning targets and report measurement topics and
competencies from them. The rules are the ones competency frameworks use
(Moodle's "complete all" and "points" rules, plus "k of n" and the mean):

- ``all_proficient``: the parent is proficient when every child is; its level is
  the lowest child level. Until every child has a level it reads "not yet".
- ``k_of_n``: proficient when at least ``k`` children are; the level is the k-th
  highest child level.
- ``mean``: the mean of the children's level values, on the scale.
- ``points``: each proficient child earns its points (1 unless set); the parent is
  proficient when the total reaches ``points_required`` and every required child
  is proficient. A met rule gives the proficient level, otherwise "not yet".

Exempt children are left out of every rule. A rule is versioned like a policy,
so changing it recomputes exactly the parents it governs.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Literal

from connector.domain.evidence import Decision, DecisionCode, MasteryResult
from connector.domain.scale import Level, MasteryState, ProficiencyScale, round_half_up
from connector.errors import MasteryError
from connector.mastery.explain import render_steps

RuleName = Literal["all_proficient", "k_of_n", "mean", "points"]
RULES = ("all_proficient", "k_of_n", "mean", "points")


@dataclass(frozen=True)
class RollupRule:
    """How one parent (or every parent of a framework) is derived from its children."""

    rule: RuleName = "all_proficient"
    k: int = 1
    points: Mapping[str, float] = field(default_factory=dict)
    points_required: float = 0.0
    required: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise MasteryError(f"roll-up rule must be one of {list(RULES)}: {self.rule!r}")
        if self.k < 1:
            raise MasteryError(f"roll-up 'k' must be at least 1: {self.k}")
        if self.rule == "points" and self.points_required <= 0:
            raise MasteryError("the points rule needs 'points_required' above 0")
        if any(not math.isfinite(p) or p < 0 for p in self.points.values()):
            raise MasteryError("roll-up points must be numbers >= 0")
        object.__setattr__(self, "required", frozenset(self.required))

    def as_dict(self) -> dict[str, Any]:
        return {"rollup": self.rule, "k": self.k, "points": dict(sorted(self.points.items())),
                "points_required": self.points_required, "required": sorted(self.required)}

    def parameters(self) -> dict[str, Any]:
        """Only the settings the rule uses (what a record shows as its parameters)."""
        if self.rule == "k_of_n":
            return {"k": self.k}
        if self.rule == "points":
            return {"points": dict(sorted(self.points.items())),
                    "points_required": self.points_required, "required": sorted(self.required)}
        return {}

    @property
    def method(self) -> str:
        return f"rollup_{self.rule}"

    @cached_property
    def version(self) -> str:
        """A short content hash, kept once worked out: a roll-up asks it for every parent."""
        body = json.dumps(self.as_dict(), sort_keys=True)
        return "r" + hashlib.sha256(body.encode()).hexdigest()[:11]

    def describe(self, children: str = "children") -> str:
        """One phrase for the letter and explanations."""
        if self.rule == "all_proficient":
            return f"proficient when all its {children} are, at the lowest of their levels"
        if self.rule == "k_of_n":
            return f"proficient when at least {self.k} of its {children} are"
        if self.rule == "mean":
            return f"the mean of the levels of its {children}"
        required = f", including every required one ({len(self.required)})" if self.required else ""
        return (f"proficient when its proficient {children} earn {self.points_required:g} "
                f"points{required}")


def rule_from_definition(definition: Mapping[str, Any]) -> RollupRule:
    """Rebuild a rule from :meth:`RollupRule.as_dict` (a stored version)."""
    return RollupRule(rule=definition["rollup"], k=definition.get("k", 1),
                      points=definition.get("points", {}),
                      points_required=definition.get("points_required", 0.0),
                      required=frozenset(definition.get("required", ())))


@dataclass(frozen=True)
class ChildResult:
    """What a roll-up reads of one child: its code, level or state, and dates."""

    identifier: str
    code: str
    state: str
    level_code: str | None
    proficient: bool
    achieved_at: datetime | None = None
    proficient_since: datetime | None = None
    first_evidence_at: datetime | None = None
    #: The child record's input digest: what it was computed from, so also what it says.
    input_hash: str = ""

    def matches(self, names: frozenset[str] | Mapping[str, float]) -> bool:
        return self.identifier in names or (bool(self.code) and self.code in names)


def roll_up(children: Sequence[ChildResult], rule: RollupRule, *, scale: ProficiencyScale,
            engine_version: str, total_children: int | None = None,
            direct_evidence: int = 0) -> MasteryResult:
    """The parent's result from its children's results (children without records are missing).

    ``direct_evidence`` counts evidence aligned to the parent itself: it is kept and
    named in the explanation, but a rolled-up parent's level comes from its children.
    """
    total = total_children if total_children is not None else len(children)
    counted = [c for c in children if c.state != MasteryState.EXEMPT.value]
    leveled = [c for c in counted if c.level_code is not None]
    exempt = len(children) - len(counted)
    missing = total - len(children)
    listing = [{"code": c.code or c.identifier, "level": c.level_code, "state": c.state}
               for c in sorted(children, key=lambda c: c.code or c.identifier)]
    data: dict[str, Any] = {"rule": rule.rule, "children": listing, "missing": missing,
                            "exempt": exempt, "description": rule.describe()}
    if direct_evidence:
        data["direct_evidence"] = direct_evidence
    state, level, score = _apply(rule, counted, leveled, total - exempt, scale, data)
    proficient = level is not None and scale.is_proficient(level)
    decisions = (Decision(DecisionCode.ROLLUP, data),)
    return MasteryResult(
        state=state,
        level_code=level.code if level else None,
        level_label=level.label if level else scale.state_label(state),
        score=score,
        method=rule.method,
        parameters=rule.parameters(),
        evidence_keys=tuple(c.identifier for c in children),
        steps=render_steps((), decisions, scale=scale, method=rule.method, parameters={}),
        engine_version=engine_version,
        policy_version=rule.version,
        proficient=proficient,
        achieved_at=max((c.achieved_at for c in leveled if c.achieved_at), default=None),
        decisions=decisions,
        first_evidence_at=min((c.first_evidence_at for c in children if c.first_evidence_at),
                              default=None),
        proficient_since=_since(rule, counted) if proficient else None,
    )


def _apply(rule: RollupRule, counted: Sequence[ChildResult], leveled: Sequence[ChildResult],
           needed: int, scale: ProficiencyScale, data: dict[str, Any]
           ) -> tuple[MasteryState, Level | None, float | None]:
    if needed <= 0:
        return MasteryState.EXEMPT, None, None
    if not leveled:
        return MasteryState.INSUFFICIENT_EVIDENCE, None, None
    values = sorted((scale.level(str(c.level_code)).value for c in leveled), reverse=True)
    if rule.rule == "all_proficient":
        if len(leveled) < needed:
            data["outcome"] = f"{len(leveled)} of {needed} have a level"
            return MasteryState.NOT_YET, None, None
        return MasteryState.LEVEL, scale.level_for_value(values[-1]), values[-1]
    if rule.rule == "k_of_n":
        proficient = sum(1 for c in leveled if c.proficient)
        data["outcome"] = f"{proficient} of {needed} proficient, {rule.k} needed"
        if len(values) < rule.k:
            return MasteryState.NOT_YET, None, None
        return MasteryState.LEVEL, scale.level_for_value(values[rule.k - 1]), values[rule.k - 1]
    if rule.rule == "mean":
        if len(leveled) < needed:
            data["outcome"] = f"{len(leveled)} of {needed} have a level"
        score = round_half_up(math.fsum(values) / len(values))
        return MasteryState.LEVEL, scale.level_for_value(score), score
    earned = math.fsum(rule.points.get(c.identifier, rule.points.get(c.code, 1.0))
                       for c in counted if c.proficient)
    required = [c for c in counted if c.matches(rule.required)]
    unmet = sorted(c.code or c.identifier for c in required if not c.proficient)
    absent = len(rule.required) - len(required)
    data["outcome"] = f"{earned:g} of {rule.points_required:g} points"
    if unmet or absent:
        data["unmet_required"] = unmet + ([f"{absent} without a record"] if absent else [])
    if earned >= rule.points_required and not unmet and not absent:
        return MasteryState.LEVEL, scale.proficient, scale.proficient.value
    return MasteryState.NOT_YET, None, None


def _since(rule: RollupRule, counted: Sequence[ChildResult]) -> datetime | None:
    """When the parent became proficient: when the last child it needed did."""
    dates = sorted(c.proficient_since for c in counted if c.proficient and c.proficient_since)
    if not dates:
        return None
    if rule.rule == "k_of_n":
        return dates[min(rule.k, len(dates)) - 1]
    return dates[-1]
