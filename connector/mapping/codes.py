"""Find standard codes written into item titles ("Ratios quiz (M.7.RP.2)").

Teachers often type the code of the standard into an assignment title. We only
accept codes that exist in the district's frameworks, so a random "3.5" in a
title never becomes an alignment.
"""

from __future__ import annotations

import re

from connector.mapping.competency_index import CompetencyIndex, CompetencyRef

# A code is letters/digits joined by dots or hyphens: "M.7.RP.2", "ELA-8-W-1", "RL.7.1".
_CODE_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)+")


def find_codes(text: str, index: CompetencyIndex) -> list[CompetencyRef]:
    """Competencies whose human coding scheme appears in ``text``, in order, without repeats.

    Only whole tokens count: "M.7.RP.2c" does not fall back to "M.7.RP", because a
    near miss aligned to the wrong competency is worse than an unmapped item.
    """
    found: list[CompetencyRef] = []
    seen: set[str] = set()
    for match in _CODE_TOKEN.finditer(text or ""):
        ref = index.by_code(match.group(0))
        if ref is not None and ref.identifier not in seen:
            seen.add(ref.identifier)
            found.append(ref)
    return found


_DOK_IN_TEXT = re.compile(r"\bDOK[\s\-_:]*([1-4])\b", re.IGNORECASE)


def find_dok(text: str) -> int | None:
    """A DOK level written in an item's title or description ("Lab report - DOK 3").

    >>> find_dok("Performance task (DOK-3)")
    3
    >>> find_dok("Quiz 4") is None
    True
    """
    match = _DOK_IN_TEXT.search(text or "")
    return int(match.group(1)) if match else None
