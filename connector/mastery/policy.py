"""Mastery policy: the rules a district chose, as one validated, versioned value.

A policy holds the method and its parameters plus the rules around it: how many
pieces of evidence are needed, how old evidence may be, whether a later attempt
on the same item replaces earlier ones, how adaptive practice counts, and the DOK
gate. The field's guidance (iNACOL Quality Principles; CompetencyWorks reports)
is that adaptive drill at low depth of knowledge must not certify proficiency on
its own; the DOK gate and the adaptive rule encode that.

Districts set a policy once and override it per framework and per competency;
an override names only what changes (see :meth:`MasteryPolicy.merged`). Every
record names the version (a content hash) of the policy it was computed under.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from connector.domain.evidence import EvidenceType
from connector.domain.scale import MasteryState, ProficiencyScale
from connector.errors import MasteryError
from connector.mastery.registry import get_method

#: Evidence types trusted to certify proficiency at a target DOK, unless the district says otherwise.
DEFAULT_QUALIFYING_TYPES = frozenset(
    {
        EvidenceType.TEACHER_TASK.value,
        EvidenceType.PERFORMANCE_TASK.value,
        EvidenceType.COMMON_ASSESSMENT.value,
        EvidenceType.STATE_TEST.value,
    }
)
DEFAULT_ADAPTIVE_TYPES = frozenset({EvidenceType.ADAPTIVE_PRACTICE.value})

AdaptiveTreatment = Literal["count", "cap", "exclude"]
AttemptRule = Literal["all", "supersede"]
MissingWork = Literal["ignore", "lowest_level", "flag"]
MISSING_WORK_RULES = ("ignore", "lowest_level", "flag")
_KNOWN_TYPES = frozenset(t.value for t in EvidenceType)


@dataclass(frozen=True)
class MasteryPolicy:
    """How one district, framework or competency turns evidence into a level.

    Attributes:
        method, parameters: the calculation (see :mod:`connector.mastery.registry`).
        min_evidence: pieces needed before a level is reported.
        recency_days: evidence more than this many days older than the newest piece
            is set aside (None: all evidence counts). Measured from the newest piece,
            not from today, so the same evidence always gives the same record.
        attempts: ``all`` counts every attempt; ``supersede`` keeps only the latest
            attempt on each item (reassessment replaces the earlier score).
        dok_gate, qualifying_evidence_types: proficient requires evidence at or above
            the competency's target DOK, of one of these types, itself proficient.
        adaptive: ``count`` adaptive practice like any evidence, ``cap`` each adaptive
            score at ``adaptive_max_level``, or ``exclude`` it from the calculation.
        adaptive_types: which evidence types the adaptive rule applies to.
        missing_work: work the student did not turn in is not evidence of mastery.
            ``ignore`` sets it aside (shown, not counted), ``lowest_level`` counts it
            at the scale's lowest level, ``flag`` sets it aside and asks a teacher to
            look. The same for every source.
    """

    method: str = "decaying_average"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    min_evidence: int = 1
    recency_days: int | None = None
    attempts: AttemptRule = "all"
    dok_gate: bool = True
    qualifying_evidence_types: frozenset[str] = DEFAULT_QUALIFYING_TYPES
    adaptive: AdaptiveTreatment = "count"
    adaptive_max_level: str | None = None
    adaptive_types: frozenset[str] = DEFAULT_ADAPTIVE_TYPES
    missing_work: MissingWork = "ignore"

    def __post_init__(self) -> None:
        spec = get_method(self.method)
        object.__setattr__(self, "parameters", spec.resolve(dict(self.parameters)))
        object.__setattr__(self, "qualifying_evidence_types",
                           frozenset(self.qualifying_evidence_types))
        object.__setattr__(self, "adaptive_types", frozenset(self.adaptive_types))
        if self.min_evidence < 1:
            raise MasteryError(f"'min_evidence' must be at least 1: {self.min_evidence}")
        if self.recency_days is not None and self.recency_days < 1:
            raise MasteryError(f"'recency_days' must be at least 1 day: {self.recency_days}")
        if self.attempts not in ("all", "supersede"):
            raise MasteryError(f"'attempts' must be 'all' or 'supersede': {self.attempts!r}")
        if self.adaptive not in ("count", "cap", "exclude"):
            raise MasteryError(f"'adaptive' must be 'count', 'cap' or 'exclude': {self.adaptive!r}")
        if self.missing_work not in MISSING_WORK_RULES:
            raise MasteryError(f"'missing_work' must be 'ignore', 'lowest_level' or 'flag': "
                               f"{self.missing_work!r}")
        if self.adaptive == "cap" and not self.adaptive_max_level:
            raise MasteryError("capping adaptive practice needs 'max_level', the highest level "
                               "adaptive evidence alone can show (e.g. \"2\")")
        for name, types in (("DOK gate", self.qualifying_evidence_types),
                            ("adaptive rule", self.adaptive_types)):
            unknown = set(types) - _KNOWN_TYPES
            if unknown:
                raise MasteryError(f"unknown evidence type(s) {sorted(unknown)} in the {name}; "
                                   f"known: {sorted(_KNOWN_TYPES)}")

    def as_dict(self) -> dict[str, Any]:
        """The policy as plain data: what its version hashes and what the store keeps."""
        return {
            "method": self.method,
            "parameters": dict(sorted(self.parameters.items())),
            "min_evidence": self.min_evidence,
            "recency_days": self.recency_days,
            "attempts": self.attempts,
            "dok_gate": self.dok_gate,
            "qualifying": sorted(self.qualifying_evidence_types),
            "adaptive": self.adaptive,
            "adaptive_max_level": self.adaptive_max_level,
            "adaptive_types": sorted(self.adaptive_types),
            # Left out at its default, so versions named before the rule existed stand.
            **({"missing_work": self.missing_work} if self.missing_work != "ignore" else {}),
        }

    @cached_property
    def version(self) -> str:
        """A short content hash: records name the policy they were computed under.

        Worked out once per policy: the scalar path asks it for every pair.
        """
        body = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:12]

    def merged(self, changes: Mapping[str, Any]) -> MasteryPolicy:
        """The policy with ``changes`` applied: an override names only what differs.

        Choosing another method does not inherit the old method's parameters (a
        decaying average's weight means nothing to ``highest``).
        """
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise MasteryError(f"unknown policy setting(s) {unknown}")
        values = dict(changes)
        if "method" in values and values["method"] != self.method and "parameters" not in values:
            values["parameters"] = {}
        elif "parameters" in values and "method" not in values:
            values["parameters"] = {**self.parameters, **values["parameters"]}
        return dataclasses.replace(self, **values)

    def describe(self, scale: ProficiencyScale) -> list[str]:
        """Sentences for the transcript letter: the actual rule, not a generic one."""
        spec = get_method(self.method)
        shown = dict(self.parameters)
        if "threshold" in shown and shown["threshold"] is None:
            shown["threshold"] = scale.proficient.value
        sentences = [
            f"A student's level on each competency is the {spec.describe(shown)} "
            f"of the evidence, on the {scale.name}.",
            f"At least {self.min_evidence} piece(s) of evidence are required before a level "
            f"is reported; until then the record reads "
            f"\"{scale.state_label(MasteryState.INSUFFICIENT_EVIDENCE)}\".",
        ]
        if self.recency_days:
            sentences.append(f"Only evidence from the {self.recency_days} days up to a student's "
                             f"most recent evidence counts.")
        if self.attempts == "supersede":
            sentences.append("When a student is reassessed on the same task, the latest attempt "
                             "replaces the earlier ones.")
        adaptive = types_phrase(self.adaptive_types)
        if self.adaptive == "exclude":
            sentences.append(f"Evidence from {adaptive} is reported beside the level but does "
                             f"not count toward it.")
        elif self.adaptive == "cap" and self.adaptive_max_level:
            cap = scale.level(self.adaptive_max_level)
            sentences.append(f"A score from {adaptive} counts at most as {cap.label}.")
        if self.dok_gate:
            sentences.append(
                f"Where a competency names a target depth of knowledge (DOK), the level "
                f"{scale.proficient.label} or above requires at least one piece of evidence at "
                f"that DOK or higher, itself at {scale.proficient.label} or above, from "
                f"{types_phrase(self.qualifying_evidence_types)}; without it the level is held "
                f"one step below {scale.proficient.label}."
            )
            if not self.adaptive_types & self.qualifying_evidence_types:
                sentences[-1] += (" Adaptive practice alone never certifies proficiency on such "
                                  "a competency.")
        return sentences


def types_phrase(types: Iterable[str]) -> str:
    names = [t.replace("_", " ") for t in sorted(types)]
    if len(names) <= 1:
        return "".join(names) or "no evidence type"
    return ", ".join(names[:-1]) + " or " + names[-1]



def policy_from_definition(definition: Mapping[str, Any]) -> MasteryPolicy:
    """Rebuild a policy from :meth:`MasteryPolicy.as_dict` (a stored policy version)."""
    return MasteryPolicy(
        method=definition["method"],
        parameters=definition.get("parameters", {}),
        min_evidence=definition.get("min_evidence", 1),
        recency_days=definition.get("recency_days"),
        attempts=definition.get("attempts", "all"),
        dok_gate=definition.get("dok_gate", True),
        qualifying_evidence_types=frozenset(definition.get("qualifying",
                                                           DEFAULT_QUALIFYING_TYPES)),
        adaptive=definition.get("adaptive", "count"),
        adaptive_max_level=definition.get("adaptive_max_level"),
        adaptive_types=frozenset(definition.get("adaptive_types", DEFAULT_ADAPTIVE_TYPES)),
    )
