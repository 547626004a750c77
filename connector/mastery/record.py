"""A mastery result as stored data and back: compact rows in, the same explanation out.

A district holds about a million records (25,000 students x 40 competencies), so
a record keeps its inputs as short rows rather than sentences, and its decisions
as codes with their facts. :func:`explain_record` renders them with the same
function the engine used, so the CLI, the API and the transcript show the text
the engine would have written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from connector.domain.evidence import (
    Decision,
    DecisionCode,
    EvidenceUse,
    InputStatus,
    MasteryResult,
    Step,
)
from connector.domain.scale import ProficiencyScale
from connector.mastery.explain import render_steps

#: What a mastery record stores about its result, in column order: the one definition of
#: the record's shape. The scalar writer (``sync.compute.record_values``), the batch path
#: (``mastery.batch.to_records`` and ``persistence.batch_text``), the bulk writer's columns
#: (``persistence.bulk_io.RECORD_COLUMNS``) and the ORM model are all checked against it.
#: ``state`` is a :class:`~connector.domain.scale.MasteryState` value, ``decisions`` codes
#: are :class:`~connector.domain.evidence.DecisionCode` values.
RECORD_FIELDS = (
    "state", "level_code", "level_label", "score", "proficient", "computed_state",
    "computed_level_code", "computed_score", "override_id", "method", "parameters", "inputs",
    "decisions", "evidence_count", "highest_dok", "engine_version", "policy_version",
    "first_evidence_at", "proficient_since", "achieved_at")
#: Beside them, a stored record has its keys and bookkeeping.
RECORD_KEYS = ("district_id", "student_id", "competency_id")
RECORD_BOOKKEEPING = ("computed_at", "input_hash")

#: Column order of one stored input row. The evidence id leads to the score's natural key
#: and item when a record is shown; the rest is what the engine saw.
INPUT_COLUMNS = ("evidence_id", "value", "assessed_at", "dok", "type", "status", "counted_as")


def input_rows(inputs: Sequence[EvidenceUse], ids: Mapping[str, int]) -> list[list[Any]]:
    """Inputs as compact rows, in the order the engine saw them."""
    return [[ids.get(u.key), u.value, u.observed_at.isoformat(), u.dok, u.evidence_type,
             u.status.value, u.used_value] for u in inputs]


def decision_rows(decisions: Sequence[Decision]) -> list[dict[str, Any]]:
    return [{"code": d.code, **d.data} for d in decisions]


def inputs_from_rows(rows: Sequence[Sequence[Any]],
                     labels: Mapping[int, str] | None = None) -> list[EvidenceUse]:
    """Rebuild the inputs; ``labels`` (evidence id -> item title) makes sentences readable."""
    labels = labels or {}
    return [EvidenceUse(key=str(r[0]), value=r[1], observed_at=datetime.fromisoformat(r[2]),
                        dok=r[3], evidence_type=r[4], status=InputStatus(r[5]), used_value=r[6],
                        label=labels.get(r[0], "") if r[0] is not None else "")
            for r in rows]


def decisions_from_rows(rows: Sequence[Mapping[str, Any]]) -> list[Decision]:
    return [Decision(DecisionCode(r["code"]), {k: v for k, v in r.items() if k != "code"})
            for r in rows]


def explain_record(inputs: Sequence[Sequence[Any]], decisions: Sequence[Mapping[str, Any]], *,
                   scale: ProficiencyScale, method: str, parameters: Mapping[str, Any],
                   labels: Mapping[int, str] | None = None) -> tuple[Step, ...]:
    """A stored record's explanation, sentence by sentence."""
    return render_steps(inputs_from_rows(inputs, labels), decisions_from_rows(decisions),
                        scale=scale, method=method, parameters=parameters)


def override_decision(*, state: str, level_code: str | None, reason: str, by: str,
                      at: datetime) -> Decision:
    """The decision a teacher override adds after the computed ones."""
    return Decision(DecisionCode.OVERRIDE, {"state": state, "level": level_code, "reason": reason, "by": by,
                                 "at": at.isoformat()})


def result_rows(result: MasteryResult, ids: Mapping[str, int]) -> tuple[list[list[Any]],
                                                                           list[dict[str, Any]]]:
    """Both halves of a result's explanation, ready to store."""
    return input_rows(result.inputs, ids), decision_rows(result.decisions)


# ---- the input digest -------------------------------------------------------------------------

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(value: int) -> int:
    """SplitMix64's finaliser: spreads every input bit over the 64 output bits."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK
    return value ^ (value >> 31)


def evidence_word(content_hash: str) -> int:
    """A piece of evidence as 64 bits: the head of its content hash (hex)."""
    return int(content_hash[:16], 16)


def context_word(*parts: object) -> int:
    """What besides evidence a result depends on, as 64 bits.

    That is the engine version, the policy version, the target DOK, the scale and the
    active override.
    """
    text = "|".join(str(p) for p in parts)
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16)


def input_digest(words: Sequence[int], context: int) -> str:
    """A digest of what a record was computed from: the evidence in the engine's order.

    Equal digests mean equal inputs, and the engine is deterministic, so a record
    whose digest has not changed is not rewritten. Position is mixed into each
    piece, so reordering changes the digest. The batch path computes the same
    value with numpy (``connector.mastery.batch``).

    >>> input_digest([1, 2], 7) != input_digest([2, 1], 7)
    True
    """
    acc = 0
    for position, word in enumerate(words, start=1):
        acc ^= mix64(word ^ ((position * GOLDEN) & MASK))
    return f"{mix64(acc ^ context):016x}"


def rollup_digest(children: Sequence[tuple[int, str, str]], *parts: object) -> str:
    """A rolled-up parent's input digest: its children's own digests, and the rule.

    ``children`` are (competency id, code, the child record's input digest) of the
    children that have records. A child's digest stands for everything the child says
    (equal digests, equal records), and its id and code for where it sits in the
    parent's explanation. ``parts`` is the rest (engine and rule versions, the scale,
    the count of children, direct evidence, the override).
    """
    return input_digest([evidence_word((digest or "").ljust(16, "0")) for _, _, digest in children],
                        context_word(*parts, *(f"{cid}:{code}" for cid, code, _ in children)))
