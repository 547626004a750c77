"""The calculator: one result from evidence typed by a person, for teachers, coaches and checks.

Evidence is written oldest first as ``VALUE[:DOK[:TYPE]]`` items separated by commas,
for example ``4:1:adaptive,3:3:teacher``. A value is a number on the district scale
or one of its level codes or labels. The calculator runs the same engine as a sync,
under the district's rules (DOK gate, adaptive practice) with the method and
parameters asked for, so what a teacher tries here is what a sync would do.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.domain.evidence import EvidencePiece, EvidenceType, MasteryResult
from connector.domain.scale import ProficiencyScale
from connector.errors import MasteryError
from connector.mastery.engine import compute_mastery
from connector.mastery.policy import MasteryPolicy
from connector.mastery.registry import get_method

#: Short names people type for evidence types.
TYPE_ALIASES = {
    "teacher": EvidenceType.TEACHER_TASK.value,
    "task": EvidenceType.TEACHER_TASK.value,
    "performance": EvidenceType.PERFORMANCE_TASK.value,
    "common": EvidenceType.COMMON_ASSESSMENT.value,
    "assessment": EvidenceType.COMMON_ASSESSMENT.value,
    "adaptive": EvidenceType.ADAPTIVE_PRACTICE.value,
    "practice": EvidenceType.ADAPTIVE_PRACTICE.value,
    "diagnostic": EvidenceType.DIAGNOSTIC.value,
    "state": EvidenceType.STATE_TEST.value,
    **{t.value: t.value for t in EvidenceType},
}
#: Calculator evidence is dated one day apart from this day, so "oldest first" is the order.
FIRST_DAY = datetime(2000, 1, 3, 12, 0, tzinfo=UTC)


#: Pieces of evidence one calculation takes. A student's body of work on one competency is
#: tens of pieces. Where a method has no one-pass form (true score, superseded attempts) the
#: walk that dates proficiency grows with the square of the count (1,000 pieces take 2.9 s),
#: so a request stays well under a second at this cap.
MAX_EVIDENCE = 200
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def parse_evidence(text: str, scale: ProficiencyScale) -> list[EvidencePiece]:
    """``'1,3:2,4:3:performance'`` -> evidence pieces one day apart, oldest first."""
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not items:
        raise MasteryError("give at least one piece of evidence, e.g. --evidence 1,3,2,4")
    if len(items) > MAX_EVIDENCE:
        raise MasteryError(f"at most {MAX_EVIDENCE} pieces of evidence per calculation; "
                           f"{len(items)} were given", field="evidence")
    pieces = []
    for index, item in enumerate(items, start=1):
        fields = [f.strip() for f in item.split(":")]
        if len(fields) > 3:
            raise MasteryError(f"evidence item {index} {item!r}: write VALUE[:DOK[:TYPE]]")
        value = _value(fields[0], scale, index)
        dok = None
        if len(fields) > 1 and fields[1]:
            if fields[1] not in ("1", "2", "3", "4"):
                raise MasteryError(f"evidence item {index} {item!r}: DOK must be 1, 2, 3 or 4")
            dok = int(fields[1])
        kind = EvidenceType.TEACHER_TASK.value
        if len(fields) > 2 and fields[2]:
            kind = TYPE_ALIASES.get(fields[2].lower(), "")
            if not kind:
                raise MasteryError(f"evidence item {index} {item!r}: unknown type {fields[2]!r}; "
                                   f"use one of {sorted(TYPE_ALIASES)}")
        pieces.append(EvidencePiece(key=f"e{index:03d}", value=value, dok=dok, evidence_type=kind,
                                    observed_at=FIRST_DAY + timedelta(days=index - 1),
                                    label=f"#{index}"))
    return pieces


def _value(text: str, scale: ProficiencyScale, index: int) -> float:
    """A number (ASCII digits, finite) or a level's code or label.

    >>> from connector.domain.scale import Level
    >>> scale = ProficiencyScale("s", "S", (Level("1", "Low", 1), Level("2", "High", 2)), "2")
    >>> _value("1.5", scale, 1), _value("high", scale, 2)
    (1.5, 2)
    >>> _value("nan", scale, 3)
    Traceback (most recent call last):
    ...
    connector.errors.MasteryError: evidence item 3: 'nan' is not a number or a level of S (1, 2)
    >>> _value("85", scale, 4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    connector.errors.MasteryError: evidence item 4: 85 is outside S (1 to 2); give a value on...
    """
    if _NUMBER.fullmatch(text):
        number = float(text)
        if not math.isfinite(number):
            raise MasteryError(f"evidence item {index}: {text!r} is too large to be a score",
                               field="evidence")
        if not scale.min_value <= number <= scale.max_value:
            raise MasteryError(f"evidence item {index}: {text} is outside {scale.name} "
                               f"({scale.min_value:g} to {scale.max_value:g}); give a value on "
                               f"the scale or a level's code", field="evidence")
        return number
    for level in scale.levels:
        if text.lower() in (level.code.lower(), level.label.lower()):
            return level.value
    raise MasteryError(f"evidence item {index}: {text!r} is not a number or a level of "
                       f"{scale.name} ({', '.join(lv.code for lv in scale.levels)})")


def calculate(method: str, evidence: str, *, scale: ProficiencyScale, base: MasteryPolicy,
              parameters: Mapping[str, Any] | None = None, text_parameters: bool = False,
              target_dok: int | None = None, min_evidence: int = 1,
              engine_version: str) -> MasteryResult:
    """One result under the district's rules with ``method`` and ``parameters``.

    ``text_parameters`` says the parameters were typed as text (``--param n=3``).
    """
    spec = get_method(method)
    given = dict(parameters or {})
    resolved = spec.parse(given) if text_parameters else spec.resolve(given)
    policy = dataclasses.replace(base, method=method, parameters=resolved,
                                 min_evidence=min_evidence, recency_days=None, attempts="all")
    if target_dok is not None and target_dok not in (1, 2, 3, 4):
        raise MasteryError(f"target DOK must be 1, 2, 3 or 4: {target_dok}")
    pieces = parse_evidence(evidence, scale)
    return compute_mastery(pieces, scale=scale, policy=policy, target_dok=target_dok,
                           engine_version=engine_version)


def as_json(result: MasteryResult) -> dict[str, Any]:
    """The calculator's JSON answer (CLI ``--json`` and the API)."""
    return {
        "value": result.score,
        "level": result.level_label if result.level_code else None,
        "level_code": result.level_code,
        "state": result.state.value,
        "proficient": result.proficient,
        "method": result.method,
        "parameters": result.parameters,
        "explanation": result.explanation,
        "steps": [{"code": s.code, "message": s.message} for s in result.steps],
    }
