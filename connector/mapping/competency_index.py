"""Look competencies up the ways sources and crosswalks name them.

Crosswalks written by people use human coding schemes ("M.7.RP.2b"); systems
carry CASE UUIDs. Both resolve to the CASE identifier, the canonical key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: A destination title that is a code ("6.RP.A.1", "CCSS.MATH.CONTENT.6.RP.A.1"), not prose.
_CODE_LIKE = re.compile(r"^[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)+$")


def case_identifier(text: str) -> str:
    """The CASE identifier a system wrote, in any of the forms systems write it.

    A bare UUID, a ``urn:uuid:`` URN, or an item's URI (``.../CFItems/<id>``, the
    ``uri`` of a CFItem): the identifier is the UUID, in lower case.

    >>> case_identifier("urn:uuid:9874FA15-1E48-5C23-9063-F23DDF2E9038")
    '9874fa15-1e48-5c23-9063-f23ddf2e9038'
    >>> case_identifier("https://case.example.org/ims/case/v1p0/CFItems/9874fa15-1e48-5c23-9063-f23ddf2e9038/")
    '9874fa15-1e48-5c23-9063-f23ddf2e9038'
    >>> case_identifier(" 6.RP.A.1 ")
    '6.rp.a.1'
    """
    value = text.strip().lower()
    if value.startswith("urn:uuid:"):
        return value[len("urn:uuid:"):]
    if "://" in value:
        return value.rstrip("/").rsplit("/", 1)[-1]
    return value


@dataclass(frozen=True)
class CompetencyRef:
    """What mapping needs to know about a competency."""

    identifier: str
    human_coding_scheme: str = ""
    target_dok: int | None = None


class CompetencyIndex:
    """Resolve a UUID or a human coding scheme (case-insensitive) to a competency."""

    def __init__(self, competencies: Iterable[CompetencyRef],
                 aliases: Iterable[tuple[str, str]] = ()) -> None:
        """``aliases`` are (code, competency identifier): a standard the competency matches.

        A competency's own code always wins over an alias; an alias two
        competencies share is ambiguous and resolves to neither.
        """
        self._by_id: dict[str, CompetencyRef] = {}
        self._by_code: dict[str, CompetencyRef] = {}
        #: Codes used by more than one competency (e.g. two frameworks both coding "RL.7.1").
        self.ambiguous_codes: set[str] = set()
        for ref in competencies:
            self._by_id[ref.identifier.lower()] = ref
            self._add_code(ref.human_coding_scheme, ref)
        own = set(self._by_code)
        for code, identifier in aliases:
            target = self._by_id.get(identifier.lower())
            if target is not None and code.strip().lower() not in own:
                self._add_code(code, target)

    def _add_code(self, code: str, ref: CompetencyRef) -> None:
        code = code.strip().lower()
        if not code:
            return
        known = self._by_code.get(code)
        if known is not None and known.identifier != ref.identifier:
            self.ambiguous_codes.add(code)
        self._by_code.setdefault(code, ref)

    def __len__(self) -> int:
        return len(self._by_id)

    def by_identifier(self, identifier: str) -> CompetencyRef | None:
        """By CASE identifier, written as a UUID, a ``urn:uuid:`` or a CFItem URI."""
        return self._by_id.get(identifier.strip().lower()) or self._by_id.get(
            case_identifier(identifier))

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


def exact_match_aliases(associations: Iterable[tuple[str, str, str]],
                        codes: Mapping[str, str]) -> list[tuple[str, str]]:
    """(code, competency) pairs from CASE ``exactMatchOf`` associations.

    ``associations`` are (origin identifier, destination identifier, destination
    title); ``codes`` maps every imported item's identifier to its human coding
    scheme. A district competency that is an exact match of a Common Core
    standard can then be found by the standard's code ("6.RP.A.1") in a vendor's
    export. The other end's code comes from an imported framework, else from the
    association's destination title when that title is a code. Both directions
    count: exactness is symmetric.

    >>> exact_match_aliases([("d-1", "cc-1", ""), ("d-2", "x", "7.SP.C.8")],
    ...                     {"d-1": "CR.1", "cc-1": "6.RP.A.1", "d-2": "CR.2"})
    [('6.RP.A.1', 'd-1'), ('CR.1', 'cc-1'), ('7.SP.C.8', 'd-2'), ('CR.2', 'x')]
    """
    out: list[tuple[str, str]] = []
    for origin, destination, title in associations:
        dest_code = codes.get(destination) or (title.strip() if _CODE_LIKE.match(title.strip())
                                               else "")
        if dest_code:
            out.append((dest_code, origin))
        if codes.get(origin):
            out.append((codes[origin], destination))
    return out
