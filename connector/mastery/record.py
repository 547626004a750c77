"""A mastery result as stored data and back: compact rows in, the same explanation out.

A district holds about a million records (25,000 students x 40 competencies), so
a record keeps its inputs as short rows rather than sentences, and its decisions
as codes with their facts. :func:`explain_record` renders them with the same
function the engine used, so the CLI, the API and the transcript show the text
the engine would have written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from connector.domain.evidence import Decision, EvidenceUse, InputStatus, MasteryResult, Step
from connector.domain.scale import ProficiencyScale
from connector.mastery.explain import render_steps

#: Column order of one stored input row.
INPUT_COLUMNS = ("key", "evidence_id", "value", "assessed_at", "dok", "type", "status",
                 "counted_as")


def input_rows(inputs: Sequence[EvidenceUse], ids: Mapping[str, int]) -> list[list[Any]]:
    """Inputs as compact rows, in the order the engine saw them."""
    return [[u.key, ids.get(u.key), u.value, u.observed_at.isoformat(), u.dok, u.evidence_type,
             u.status.value, u.used_value] for u in inputs]


def decision_rows(decisions: Sequence[Decision]) -> list[dict[str, Any]]:
    return [{"code": d.code, **d.data} for d in decisions]


def inputs_from_rows(rows: Sequence[Sequence[Any]],
                     labels: Mapping[int, str] | None = None) -> list[EvidenceUse]:
    """Rebuild the inputs; ``labels`` (evidence id -> item title) makes sentences readable."""
    labels = labels or {}
    return [EvidenceUse(key=r[0], value=r[2], observed_at=datetime.fromisoformat(r[3]), dok=r[4],
                        evidence_type=r[5], status=InputStatus(r[6]), used_value=r[7],
                        label=labels.get(r[1], "") if r[1] is not None else "")
            for r in rows]


def decisions_from_rows(rows: Sequence[Mapping[str, Any]]) -> list[Decision]:
    return [Decision(str(r["code"]), {k: v for k, v in r.items() if k != "code"}) for r in rows]


def explain_record(inputs: Sequence[Sequence[Any]], decisions: Sequence[Mapping[str, Any]], *,
                   scale: ProficiencyScale, method: str, parameters: Mapping[str, Any],
                   labels: Mapping[int, str] | None = None) -> tuple[Step, ...]:
    """A stored record's explanation, sentence by sentence."""
    return render_steps(inputs_from_rows(inputs, labels), decisions_from_rows(decisions),
                        scale=scale, method=method, parameters=parameters)


def override_decision(*, state: str, level_code: str | None, reason: str, by: str,
                      at: datetime) -> Decision:
    """The decision a teacher override adds after the computed ones."""
    return Decision("override", {"state": state, "level": level_code, "reason": reason, "by": by,
                                 "at": at.isoformat()})


def result_rows(result: MasteryResult, ids: Mapping[str, int]) -> tuple[list[list[Any]],
                                                                           list[dict[str, Any]]]:
    """Both halves of a result's explanation, ready to store."""
    return input_rows(result.inputs, ids), decision_rows(result.decisions)
