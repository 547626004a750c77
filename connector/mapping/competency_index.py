"""Look competencies up the ways sources and crosswalks name them.

Crosswalks written by people use human coding schemes ("M.7.RP.2b"); systems
carry CASE UUIDs. Both resolve to the CASE identifier, the canonical key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CompetencyRef:
    """What mapping needs to know about a competency."""

    identifier: str
    human_coding_scheme: str = ""
    target_dok: int | None = None


class CompetencyIndex:
    """Resolve a UUID or a human coding scheme (case-insensitive) to a competency."""

    def __init__(self, competencies: Iterable[CompetencyRef]) -> None:
        self._by_id: dict[str, CompetencyRef] = {}
        self._by_code: dict[str, CompetencyRef] = {}
        #: Codes used by more than one competency (e.g. two frameworks both coding "RL.7.1").
        self.ambiguous_codes: set[str] = set()
        for ref in competencies:
            self._by_id[ref.identifier.lower()] = ref
            code = ref.human_coding_scheme.strip().lower()
            if not code:
                continue
            known = self._by_code.get(code)
            if known is not None and known.identifier != ref.identifier:
                self.ambiguous_codes.add(code)
            self._by_code.setdefault(code, ref)

    def __len__(self) -> int:
        return len(self._by_id)

    def by_identifier(self, identifier: str) -> CompetencyRef | None:
        return self._by_id.get(identifier.strip().lower())

    def by_code(self, code: str) -> CompetencyRef | None:
        """The competency with this code; None when no one or several competencies use it.

        An ambiguous code must not pick whichever row a database returned first:
        that would align evidence to a different competency from one run to the next.
        """
        key = code.strip().lower()
        return None if key in self.ambiguous_codes else self._by_code.get(key)

    def resolve(self, reference: str) -> CompetencyRef | None:
        """A CASE UUID first, then a human coding scheme."""
        return self.by_identifier(reference) or self.by_code(reference)
