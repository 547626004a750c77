"""Decisions in words: the one place a mastery explanation is written.

The engine records its decisions as data; records keep that data. This module
turns it into sentences for the CLI, the API, transcripts and the calculator,
from the record alone, so an explanation shown anywhere is the same text and
can never drift from what was computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from connector.domain.evidence import Decision, DecisionCode, EvidenceUse, InputStatus, Step
from connector.domain.scale import MasteryState, ProficiencyScale
from connector.mastery.registry import get_method

_SET_ASIDE = {
    InputStatus.SUPERSEDED: "superseded",
    InputStatus.OUTSIDE_WINDOW: "outside the window",
    InputStatus.EXCLUDED: "not counted",
    InputStatus.MISSING: "missing work, not counted",
}

Render = Callable[[Mapping[str, Any], "_Context"], str]


class _Context:
    def __init__(self, inputs: Sequence[EvidenceUse], scale: ProficiencyScale, method: str,
                 parameters: Mapping[str, Any]) -> None:
        self.inputs = inputs
        self.scale = scale
        self.method = method
        self.parameters = parameters

    def describe_method(self) -> str:
        return get_method(self.method).describe(self.parameters)

    def level(self, code: str) -> str:
        return f"{code} {self.scale.level(code).label}"


def describe_piece(use: EvidenceUse) -> str:
    """'Ratio lab: 3 on 2024-09-24 (performance task, DOK 3)'.

    Missing work has no score of its own: 'Essay: not turned in, 2024-10-01 (...)'.
    """
    dok = f"DOK {use.dok}" if use.dok is not None else "DOK unknown"
    what = f"{use.label}: " if use.label else ""
    kind = use.evidence_type.replace("_", " ")
    day = use.observed_at.date().isoformat()
    if use.status in (InputStatus.MISSING, InputStatus.MISSING_AT_LOWEST):
        return f"{what}not turned in, {day} ({kind}, {dok})"
    return f"{what}{use.value:g} on {day} ({kind}, {dok})"


def _types(types: Sequence[str]) -> str:
    names = [t.replace("_", " ") for t in types]
    if len(names) <= 1:
        return "".join(names) or "no evidence type"
    return ", ".join(names[:-1]) + " or " + names[-1]


def _evidence(_: Mapping[str, Any], c: _Context) -> str:
    parts = []
    for use in c.inputs:
        text = describe_piece(use)
        if use.status is InputStatus.CAPPED and use.used_value is not None:
            text += f" [counted as {use.used_value:g}]"
        elif use.status is InputStatus.MISSING_AT_LOWEST and use.used_value is not None:
            text += f" [missing work, counted as {use.used_value:g}]"
        elif use.status in _SET_ASIDE:
            text += f" [{_SET_ASIDE[use.status]}]"
        parts.append(text)
    return "Evidence, oldest first: " + "; ".join(parts) + "."


def _superseded(d: Mapping[str, Any], _: _Context) -> str:
    return (f"{d['count']} earlier attempt(s) on the same item are replaced by the "
            f"latest attempt and do not count.")


def _outside(d: Mapping[str, Any], _: _Context) -> str:
    return (f"{d['count']} piece(s) dated before {d['since']} fall outside the {d['days']}-day "
            f"window and do not count.")


def _missing(d: Mapping[str, Any], c: _Context) -> str:
    count = f"{d['count']} piece(s) of work not turned in"
    if d["rule"] == "lowest_level":
        return (f"{count} count at the lowest level, {c.level(d['level'])}, as the district's "
                f"missing-work rule says.")
    text = f"{count} are shown but do not count: missing work is not evidence of mastery."
    if d["rule"] == "flag":
        text += " The district asks a teacher to look at this record."
    return text


def _excluded(d: Mapping[str, Any], _: _Context) -> str:
    return (f"{d['count']} piece(s) of {_types(d['types'])} are shown but do not count toward "
            f"the level.")


def _capped(d: Mapping[str, Any], c: _Context) -> str:
    return f"{d['count']} piece(s) of {_types(d['types'])} count at most as {c.level(d['level'])}."


def _minimum(d: Mapping[str, Any], _: _Context) -> str:
    return (f"{d['count']} piece(s) of evidence; at least {d['needed']} are needed before a level "
            f"is reported.")


def _fallback(d: Mapping[str, Any]) -> str:
    if d.get("fallback"):
        used = {"mean": "the mean", "most_recent": "the most recent score",
                "insufficient": "nothing"}[d["fallback"]]
        return f" (fewer than 3 usable scores for a curve, so {used} is used)"
    if d.get("model"):
        return f" (the {d['model']} fits the scores best)"
    return ""


def _method(d: Mapping[str, Any], c: _Context) -> str:
    held = ""
    raw = d.get("raw")  # present only when the result was held within the scale
    if raw is not None:
        held = f", held within the scale from {raw:.2f}"
    return f"The {c.describe_method()} is {d['score']:.2f}{_fallback(d)}{held}."


def _undetermined(d: Mapping[str, Any], c: _Context) -> str:
    label = c.scale.state_label(MasteryState(d["state"]))
    return (f"The {c.describe_method()} gives no level{_fallback(d)}: {d['reason']}, so the "
            f"record reads \"{label}\".")


def _level(d: Mapping[str, Any], c: _Context) -> str:
    return f"{d['score']:.2f} reaches level {c.level(d['level'])}."


def _gate_met(d: Mapping[str, Any], c: _Context) -> str:
    index = d["input"]
    shown = describe_piece(c.inputs[index]) if 0 <= index < len(c.inputs) else f"input {index}"
    return f"Target DOK {d['target']} is met by {shown}."


def _gate_capped(d: Mapping[str, Any], c: _Context) -> str:
    target = d["target"]
    missing = (f"Target DOK {target} is not yet shown: no evidence at DOK {target} or higher at "
               f"{c.scale.proficient.label} or above from {_types(d['types'])}")
    if d.get("level") is None:
        return f"{missing}, so the record reads \"{c.scale.state_label(MasteryState.NOT_YET)}\"."
    return f"{missing}, so the level is held at {c.level(d['level'])}."


def _override(d: Mapping[str, Any], c: _Context) -> str:
    shown = c.level(d["level"]) if d.get("level") else c.scale.state_label(
        MasteryState(d["state"]))
    return (f"Teacher override by {d['by']} on {d['at'][:10]}: {shown} "
            f"(reason: {d['reason']}). The computed result is kept beside it.")


def _rollup(d: Mapping[str, Any], c: _Context) -> str:
    shown = []
    for child in d["children"]:
        if child.get("level"):
            shown.append(f"{child['code']} {c.level(child['level'])}")
        else:
            shown.append(f"{child['code']} {c.scale.state_label(MasteryState(child['state']))}")
    count = len(d["children"])
    text = (f"Rolled up from {count} child competenc{'y' if count == 1 else 'ies'}; the parent is "
            f"{d['description']}: " + ("; ".join(shown) or "none yet") + ".")
    if d.get("missing"):
        text += (f" {d['missing']} more {'has' if d['missing'] == 1 else 'have'} no record "
                 f"yet.")
    if d.get("outcome"):
        text += f" {d['outcome'][0].upper()}{d['outcome'][1:]}."
    if d.get("unmet_required"):
        text += f" Required and not yet proficient: {', '.join(d['unmet_required'])}."
    if d.get("direct_evidence"):
        text += (f" {d['direct_evidence']} piece(s) of evidence aligned to this competency itself "
                 f"are kept but do not count: its level comes from its children.")
    return text


RENDERERS: dict[str, Render] = {
    DecisionCode.EVIDENCE: _evidence,
    DecisionCode.SUPERSEDED: _superseded,
    DecisionCode.OUTSIDE_WINDOW: _outside,
    DecisionCode.MISSING_WORK: _missing,
    DecisionCode.ADAPTIVE_EXCLUDED: _excluded,
    DecisionCode.ADAPTIVE_CAPPED: _capped,
    DecisionCode.MINIMUM: _minimum,
    DecisionCode.METHOD: _method,
    DecisionCode.UNDETERMINED: _undetermined,
    DecisionCode.LEVEL: _level,
    DecisionCode.DOK_GATE_MET: _gate_met,
    DecisionCode.DOK_GATE_CAPPED: _gate_capped,
    DecisionCode.OVERRIDE: _override,
    DecisionCode.ROLLUP: _rollup,
}


def render_steps(inputs: Sequence[EvidenceUse], decisions: Sequence[Decision], *,
                 scale: ProficiencyScale, method: str,
                 parameters: Mapping[str, Any]) -> tuple[Step, ...]:
    """Every decision as a sentence, in the order it was taken."""
    context = _Context(inputs, scale, method, parameters)
    return tuple(Step(d.code, RENDERERS[d.code](d.data, context)) for d in decisions)
