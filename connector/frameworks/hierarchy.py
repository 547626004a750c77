"""Place items in their framework's tree from isChildOf associations.

Real packages often omit ``sequenceNumber`` (or give it as a string), so
siblings are ordered by sequenceNumber first, then by a natural sort of their
code ("L1.2" before "L1.10"), then by their order in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from connector.domain.framework import Association, Competency


@dataclass(frozen=True)
class Placement:
    """Where an item sits: its parent, its position among siblings, depth and root."""

    parent_identifier: str | None
    sequence: int
    depth: int
    root_identifier: str


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders embedded numbers numerically.

    >>> sorted(["L1.10", "L1.2", "L1.1"], key=natural_key)
    ['L1.1', 'L1.2', 'L1.10']
    """
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", text)
        if part
    )


def place_items(
    document_identifier: str,
    items: Iterable[Competency],
    associations: Iterable[Association],
) -> dict[str, Placement]:
    """Compute every item's placement. Items with no isChildOf sit under the document."""
    items = list(items)
    known = {item.identifier: (index, item) for index, item in enumerate(items)}
    parents: dict[str, tuple[str, int | None]] = {}
    for assoc in associations:
        if assoc.association_type != "isChildOf" or assoc.origin_identifier not in known:
            continue
        parent = assoc.destination_identifier
        if parent != document_identifier and parent not in known:
            continue  # a parent in another framework does not place the item here
        current = parents.get(assoc.origin_identifier)
        if current is None or _seq_rank(assoc.sequence_number) < _seq_rank(current[1]):
            parents[assoc.origin_identifier] = (parent, assoc.sequence_number)

    children: dict[str, list[str]] = {}
    for identifier in known:
        parent = parents.get(identifier, (document_identifier, None))[0]
        children.setdefault(parent, []).append(identifier)

    def sibling_key(identifier: str) -> tuple[object, ...]:
        index, item = known[identifier]
        seq = parents.get(identifier, ("", None))[1]
        code = item.human_coding_scheme or item.list_enumeration
        return (seq is None, seq or 0, natural_key(code) if code else (), index)

    placements: dict[str, Placement] = {}
    # Breadth-first from the document; anything unreached (a cycle) hangs off the document.
    frontier = [(document_identifier, 0, "")]
    while frontier:
        parent, depth, root = frontier.pop()
        for position, child in enumerate(sorted(children.get(parent, []), key=sibling_key), 1):
            if child in placements:
                continue
            child_root = root or child
            placements[child] = Placement(
                None if parent == document_identifier else parent, position, depth + 1, child_root
            )
            frontier.append((child, depth + 1, child_root))
    for identifier in known:
        if identifier not in placements:
            placements[identifier] = Placement(None, 0, 1, identifier)
    return placements


def _seq_rank(sequence: int | None) -> tuple[bool, int]:
    return (sequence is None, sequence or 0)
