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
from typing import Any

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

    ``key`` identifies the stored evidence row so the record can list what it used;
    ``item_key`` and ``attempt`` identify the assignment it answers, so a district can
    let a later attempt on the same item supersede earlier ones. ``observed_at`` is
    when it was assessed; ``submitted_at`` and ``due_at`` are the other dates a
    district may order evidence by.
    """

    key: str
    value: float
    observed_at: datetime
    dok: int | None
    evidence_type: str
    weight: float = 1.0
    label: str = ""
    item_key: str = ""
    attempt: int = 1
    submitted_at: datetime | None = None
    due_at: datetime | None = None
    #: Work the student did not turn in (OneRoster ``not submitted``, Canvas ``missing``).
    #: It is not evidence of mastery: the policy's ``missing_work`` rule says what it counts as.
    missing: bool = False

    def __post_init__(self) -> None:
        check_dok(self.dok)
        for name in ("observed_at", "submitted_at", "due_at"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"evidence {self.key}: {name} must be timezone-aware")
        if self.weight < 0:
            raise ValueError(f"evidence {self.key}: weight must be >= 0: {self.weight}")


class InputStatus(StrEnum):
    """Whether the method saw a piece of evidence, and if not, which rule set it aside."""

    USED = "used"
    CAPPED = "capped"
    SUPERSEDED = "superseded"
    OUTSIDE_WINDOW = "outside_window"
    EXCLUDED = "excluded"
    #: Missing work, set aside (``missing_work: ignore`` or ``flag``).
    MISSING = "missing"
    #: Missing work, counted at the scale's lowest level (``missing_work: lowest_level``).
    MISSING_AT_LOWEST = "missing_at_lowest"


@dataclass(frozen=True)
class EvidenceUse:
    """One input of a calculation as the record keeps it: what it was and what became of it."""

    key: str
    value: float
    observed_at: datetime
    dok: int | None
    evidence_type: str
    status: InputStatus = InputStatus.USED
    used_value: float | None = None
    label: str = ""

    @property
    def counted(self) -> bool:
        return self.status in (InputStatus.USED, InputStatus.CAPPED,
                               InputStatus.MISSING_AT_LOWEST)


class DecisionCode(StrEnum):
    """What a step of a calculation decided: the one list every form of a record uses.

    The engine, the batch path, its text formats and the explanations all name
    decisions by these codes; a stored record keeps the value (a plain string).
    """

    EVIDENCE = "evidence"
    SUPERSEDED = "superseded"
    OUTSIDE_WINDOW = "outside_window"
    MISSING_WORK = "missing_work"
    ADAPTIVE_EXCLUDED = "adaptive_excluded"
    ADAPTIVE_CAPPED = "adaptive_capped"
    MINIMUM = "minimum"
    METHOD = "method"
    UNDETERMINED = "undetermined"
    LEVEL = "level"
    DOK_GATE_MET = "dok_gate_met"
    DOK_GATE_CAPPED = "dok_gate_capped"
    OVERRIDE = "override"
    ROLLUP = "rollup"


@dataclass(frozen=True)
class Decision:
    """One decision of a calculation as data (a code and its facts), rendered to text on demand."""

    code: DecisionCode
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One decision in a mastery calculation, machine-readable and human-readable."""

    code: str
    message: str


@dataclass(frozen=True)
class MasteryResult:
    """The engine's answer for one student on one competency.

    ``inputs`` and ``decisions`` are the record of how it was reached; ``steps`` are
    the same decisions in words. Storage keeps the data and renders the words again
    with the same function, so an explanation is never written twice.
    """

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
    inputs: tuple[EvidenceUse, ...] = ()
    decisions: tuple[Decision, ...] = ()
    first_evidence_at: datetime | None = None
    proficient_since: datetime | None = None
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def explanation(self) -> str:
        return " ".join(step.message for step in self.steps)
