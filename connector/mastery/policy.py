"""Mastery policy: method choice, minimum evidence and the DOK gate, with explanations.

The field's guidance (iNACOL Quality Principles; CompetencyWorks reports) is that
adaptive drill at low depth of knowledge must not certify proficiency on its own.
The DOK gate encodes that: a competency with a target DOK reaches the proficient
level only when a piece of evidence of a trusted type, at or above the target DOK,
itself shows proficiency. Otherwise the level is capped one below proficient and
the explanation says exactly why.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from connector.domain.evidence import EvidencePiece, EvidenceType, MasteryResult, Step
from connector.domain.scale import Level, MasteryState, ProficiencyScale, round_half_up
from connector.errors import MasteryError
from connector.mastery.methods import get_method

#: Evidence types trusted to certify proficiency at a target DOK, unless the district says otherwise.
DEFAULT_QUALIFYING_TYPES = frozenset(
    {
        EvidenceType.TEACHER_TASK.value,
        EvidenceType.PERFORMANCE_TASK.value,
        EvidenceType.COMMON_ASSESSMENT.value,
        EvidenceType.STATE_TEST.value,
    }
)


@dataclass(frozen=True)
class MasteryPolicy:
    """How one district (or one framework within it) turns evidence into a level."""

    method: str = "decaying_average"
    parameters: Mapping[str, float] = field(default_factory=dict)
    min_evidence: int = 1
    dok_gate: bool = True
    qualifying_evidence_types: frozenset[str] = DEFAULT_QUALIFYING_TYPES

    def __post_init__(self) -> None:
        spec = get_method(self.method)
        object.__setattr__(self, "parameters", spec.resolve(dict(self.parameters)))
        if self.min_evidence < 1:
            raise MasteryError(f"'min_evidence' must be at least 1: {self.min_evidence}")
        unknown = set(self.qualifying_evidence_types) - {t.value for t in EvidenceType}
        if unknown:
            raise MasteryError(
                f"unknown evidence type(s) {sorted(unknown)} in the DOK gate; known: "
                f"{sorted(t.value for t in EvidenceType)}"
            )

    @property
    def version(self) -> str:
        """A short content hash: records name the policy they were computed under."""
        body = json.dumps(
            {
                "method": self.method,
                "parameters": dict(sorted(self.parameters.items())),
                "min_evidence": self.min_evidence,
                "dok_gate": self.dok_gate,
                "qualifying": sorted(self.qualifying_evidence_types),
            },
            sort_keys=True,
        )
        return hashlib.sha256(body.encode()).hexdigest()[:12]

    def describe(self, scale: ProficiencyScale) -> list[str]:
        """Sentences for the transcript letter: the actual rule, not a generic one."""
        spec = get_method(self.method)
        sentences = [
            f"A student's level on each competency is the {spec.describe(self.parameters)} "
            f"of the evidence, on the {scale.name}.",
            f"At least {self.min_evidence} piece(s) of evidence are required before a level "
            f"is reported; until then the record reads "
            f"\"{scale.state_label(MasteryState.INSUFFICIENT_EVIDENCE)}\".",
        ]
        if self.dok_gate:
            sentences.append(
                f"Where a competency names a target depth of knowledge (DOK), the level "
                f"{scale.proficient.label} or above requires at least one piece of evidence at "
                f"that DOK or higher, itself at {scale.proficient.label} or above, from "
                f"{_types_phrase(self.qualifying_evidence_types)}; without it the level is held "
                f"one step below {scale.proficient.label}. Adaptive practice alone never "
                f"certifies proficiency on such a competency."
            )
        return sentences


def compute_mastery(
    evidence: Iterable[EvidencePiece],
    *,
    scale: ProficiencyScale,
    policy: MasteryPolicy,
    target_dok: int | None,
    engine_version: str,
) -> MasteryResult:
    """Turn one student's evidence on one competency into a level or state.

    Evidence is ordered oldest first, ties broken by key, so the result never
    depends on the order rows came out of a database.
    """
    ordered = sorted(evidence, key=lambda e: (e.observed_at, e.key))
    spec = get_method(policy.method)
    params = dict(policy.parameters)
    keys = tuple(e.key for e in ordered)
    steps: list[Step] = []

    def result(state: MasteryState, level: Level | None = None,
               score: float | None = None) -> MasteryResult:
        return MasteryResult(
            state=state,
            level_code=level.code if level else None,
            level_label=level.label if level else scale.state_label(state),
            score=score,
            proficient=level is not None and scale.is_proficient(level),
            method=policy.method,
            parameters=dict(params),
            evidence_keys=keys,
            steps=tuple(steps),
            engine_version=engine_version,
            policy_version=policy.version,
            # "Demonstrated": only evidence that itself reached proficient shows a DOK.
            highest_dok=max((e.dok for e in ordered if e.dok is not None
                             and e.value >= scale.proficient.value), default=None),
            achieved_at=ordered[-1].observed_at if ordered else None,
        )

    if ordered:
        steps.append(Step("evidence", "Evidence, oldest first: " + "; ".join(
            _describe_piece(e) for e in ordered) + "."))
    if len(ordered) < policy.min_evidence:
        steps.append(
            Step(
                "minimum",
                f"{len(ordered)} piece(s) of evidence; at least {policy.min_evidence} are needed "
                f"before a level is reported.",
            )
        )
        return result(MasteryState.INSUFFICIENT_EVIDENCE)

    raw = spec.function([e.value for e in ordered], **params)
    score = round_half_up(scale.clamp(raw))
    steps.append(Step("method", f"The {spec.describe(params)} is {score:.2f}."))
    level = scale.level_for_value(score)
    steps.append(Step("level", f"{score:.2f} reaches level {level.code} {level.label}."))

    if policy.dok_gate and target_dok is not None and scale.is_proficient(level):
        qualifying = [
            e
            for e in ordered
            if e.dok is not None
            and e.dok >= target_dok
            and e.evidence_type in policy.qualifying_evidence_types
            and e.value >= scale.proficient.value
        ]
        if qualifying:
            best = qualifying[-1]
            steps.append(
                Step(
                    "dok_gate_met",
                    f"Target DOK {target_dok} is met by {_describe_piece(best)}.",
                )
            )
        else:
            missing = (
                f"Target DOK {target_dok} is not yet shown: no evidence at DOK {target_dok} or "
                f"higher at {scale.proficient.label} or above from "
                f"{_types_phrase(policy.qualifying_evidence_types)}"
            )
            if scale.proficient == scale.levels[0]:
                # No level below proficient to hold the student at: the record is "not yet".
                steps.append(Step("dok_gate_capped", f"{missing}, so the record reads "
                                  f"\"{scale.state_label(MasteryState.NOT_YET)}\"."))
                return result(MasteryState.NOT_YET, score=score)
            capped = scale.below(scale.proficient)
            steps.append(Step("dok_gate_capped", f"{missing}, so the level is held at "
                              f"{capped.code} {capped.label}."))
            level = capped

    return result(MasteryState.LEVEL, level, score)


def _describe_piece(e: EvidencePiece) -> str:
    dok = f"DOK {e.dok}" if e.dok is not None else "DOK unknown"
    what = f"{e.label}: " if e.label else ""
    kind = e.evidence_type.replace("_", " ")
    return f"{what}{_num(e.value)} on {e.observed_at.date().isoformat()} ({kind}, {dok})"


def _num(value: float) -> str:
    return f"{value:g}"


def _types_phrase(types: Iterable[str]) -> str:
    names = [t.replace("_", " ") for t in sorted(types)]
    if len(names) <= 1:
        return "".join(names) or "no evidence type"
    return ", ".join(names[:-1]) + " or " + names[-1]

