"""What a student works on next, in words a student and a family read: the family view's core.

Districts that advance students on mastery show students and parents the same
progress the teachers see, and the question a family asks is "what next?". The
answer comes from the progression: the learning targets of the level the student
is working on, then the levels above, that are not yet proficient, in the
framework's order. For each, what the record says is still needed, read from the
calculation's own decisions (too few pieces of evidence, the DOK gate, or a level
below proficient), so the words never disagree with the explanation a teacher sees.

Pure: plain data in, plain data out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.domain.evidence import DecisionCode
from connector.domain.scale import MasteryState
from connector.mastery.progress import Domain

#: How many next targets each domain shows: a few to work on, not the whole list.
SHOWN = 3
#: Webb's depth-of-knowledge levels, in the words a family page uses.
DOK_WORDS = {1: "recall and reproduction", 2: "skills and concepts",
             3: "strategic thinking and reasoning", 4: "extended thinking"}


@dataclass(frozen=True)
class TargetStatus:
    """One learning target and what the student's record on it says (no record: ``state`` None)."""

    identifier: str
    code: str
    statement: str
    target_dok: int | None = None
    state: str | None = None
    level_label: str = ""
    proficient: bool = False
    evidence_count: int = 0
    decisions: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


@dataclass(frozen=True)
class NextStep:
    identifier: str
    code: str
    statement: str
    target_dok: int | None
    level: str       # the domain level the target belongs to
    standing: str    # where the student stands on it now
    needed: str      # what evidence would move it on


def still_needed(status: TargetStatus) -> str:
    """What evidence the record still needs, in a sentence.

    >>> still_needed(TargetStatus("x", "M.1", "", 3))
    'No evidence yet: show it on a task at DOK 3 or higher.'
    >>> still_needed(TargetStatus("x", "M.1", "", 2, "insufficient_evidence", evidence_count=1,
    ...     decisions=[{"code": "minimum", "count": 1, "needed": 3}]))
    '2 more pieces of evidence before a level is given.'
    """
    dok = f" at DOK {status.target_dok} or higher" if status.target_dok else ""
    if status.state is None or status.evidence_count == 0:
        return f"No evidence yet: show it on a task{dok}."
    for decision in status.decisions:
        code = decision.get("code")
        if code == DecisionCode.MINIMUM and int(decision.get("count", 0)) < int(
                decision.get("needed", 0)):
            more = int(decision["needed"]) - int(decision["count"])
            return (f"{more} more piece{'s' if more != 1 else ''} of evidence before a level "
                    "is given.")
        if code == DecisionCode.DOK_GATE_CAPPED:
            target = decision.get("target") or status.target_dok
            return (f"A teacher-scored task or assessment at DOK {target} or higher, done at "
                    "the proficient level: practice alone cannot show proficiency here.")
    if status.state == MasteryState.NEEDS_JUDGMENT:
        return "A teacher is looking at the evidence: nothing more is needed for now."
    return f"More work at the proficient level{dok}."


def standing(status: TargetStatus) -> str:
    if status.state is None:
        return "Not started"
    pieces = f"{status.evidence_count} piece{'s' if status.evidence_count != 1 else ''}"
    return f"{status.level_label or 'No level yet'} ({pieces} of evidence so far)"


def next_steps(domain: Domain, working_level: str | None,
               statuses: Mapping[str, TargetStatus], shown: int = SHOWN) -> list[NextStep]:
    """The next learning targets in ``domain``: not proficient, from the working level up.

    Targets of a level come in the framework's code order; exempt targets and
    targets with no known status are left out. A domain with nothing left (or
    no working level, when every level is done) has no next steps.
    """
    names = [name for name, _ in domain.levels]
    if working_level is None or working_level not in names:
        return []
    out: list[NextStep] = []
    for name, ids in domain.levels[names.index(working_level):]:
        for status in sorted((statuses[i] for i in ids if i in statuses),
                             key=lambda s: (s.code, s.identifier)):
            if status.proficient or status.state == MasteryState.EXEMPT:
                continue
            out.append(NextStep(status.identifier, status.code, status.statement,
                                status.target_dok, name, standing(status),
                                still_needed(status)))
            if len(out) >= shown:
                return out
    return out
