"""Evidence and mastery results: what the engine consumes and what it explains.

A mastery record must be explainable from its own contents, so a result holds
the evidence it used, in order, and every decision taken on it as steps. The
transcript letter, the API and the UI all read these steps; none of them
re-derives the explanation from separate prose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from connector.domain.scale import MasteryState


class EvidenceType(StrEnum):
    """How a piece of evidence was produced; the DOK gate trusts some kinds more."""

    TEACHER_TASK = "teacher_task"
    PERFORMANCE_TASK = "performance_task"
    COMMON_ASSESSMENT = "common_assessment"
    ADAPTIVE_PRACTICE = "adaptive_practice"
    DIAGNOSTIC = "diagnostic"
    STATE_TEST = "state_test"


DOK_LEVELS = (1, 2, 3, 4)


def check_dok(value: int | None) -> int | None:
    """Validate a Webb depth-of-knowledge level (1-4) or None for unknown."""
    if value is None:
        return None
    if value not in DOK_LEVELS:
        raise ValueError(f"DOK must be 1, 2, 3 or 4: {value!r}")
    return value


@dataclass(frozen=True)
class EvidencePiece:
    """One scored demonstration of a competency, already on the district scale.

    ``key`` identifies the stored evidence row so the record can list what it used.
    """

    key: str
    value: float
    observed_at: datetime
    dok: int | None
    evidence_type: str
    weight: float = 1.0
    label: str = ""

    def __post_init__(self) -> None:
        check_dok(self.dok)
        if self.observed_at.tzinfo is None:
            raise ValueError(f"evidence {self.key}: observed_at must be timezone-aware")
        if self.weight < 0:
            raise ValueError(f"evidence {self.key}: weight must be >= 0: {self.weight}")


@dataclass(frozen=True)
class Step:
    """One decision in a mastery calculation, machine-readable and human-readable."""

    code: str
    message: str


@dataclass(frozen=True)
class MasteryResult:
    """The engine's answer for one student on one competency."""

    state: MasteryState
    level_code: str | None
    level_label: str
    score: float | None
    method: str
    parameters: dict[str, object]
    evidence_keys: tuple[str, ...]
    steps: tuple[Step, ...]
    engine_version: str
    policy_version: str
    proficient: bool = False
    highest_dok: int | None = None
    achieved_at: datetime | None = None
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def explanation(self) -> str:
        return " ".join(step.message for step in self.steps)
