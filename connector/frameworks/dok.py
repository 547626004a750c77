"""Read a competency's target depth of knowledge (Webb DOK 1-4) from CASE associations.

CASE has two ways to say it. ``hasSkillLevel`` points an item at a node that
defines a skill level. Real consortium data (Smarter Balanced) instead links a
target with ``isRelatedTo`` to an item of a separate DOK framework coded like
"M-DOK2", and the link itself carries only a placeholder title. So DOK is found
by resolving the destination by identifier, in this package or in frameworks
already imported, and reading its code or statement with the district's
patterns. "Level 2" alone counts only under ``hasSkillLevel`` or inside a DOK
framework: achievement-level descriptors are also called "Level 2".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from connector.domain.framework import Association

DEFAULT_DOK_PATTERNS: tuple[str, ...] = (
    r"(?i)\bDOK[-_ :]*([1-4])\b",
    r"(?i)depth[- ]of[- ]knowledge\D{0,20}([1-4])\b",
)
_LEVEL = re.compile(r"(?i)\blevel[-_ :]*([1-4])\b")
_DOK_CONTEXT = re.compile(r"(?i)depth[- ]of[- ]knowledge|\bDOK\b|\bwebb\b")
DOK_ASSOCIATION_TYPES = frozenset({"hasSkillLevel", "isRelatedTo"})


@dataclass(frozen=True)
class DokNode:
    """The texts of a node an association points at, and of the framework holding it."""

    texts: tuple[str, ...]
    framework_title: str = ""


def compile_patterns(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """Compile district patterns; each needs exactly one group capturing the level."""
    compiled = []
    for pattern in patterns:
        regex = re.compile(pattern)
        if regex.groups != 1:
            raise ValueError(f"DOK pattern {pattern!r} must have exactly one capture group")
        compiled.append(regex)
    return tuple(compiled)


def dok_from_texts(
    texts: Iterable[str], patterns: Sequence[re.Pattern[str]], *, allow_level: bool = False
) -> int | None:
    """The first DOK level any text states.

    >>> dok_from_texts(["M-DOK2"], compile_patterns(DEFAULT_DOK_PATTERNS))
    2
    >>> dok_from_texts(["Level 3"], compile_patterns(DEFAULT_DOK_PATTERNS)) is None
    True
    """
    for text in texts:
        for regex in patterns:
            match = regex.search(text)
            if match and match.group(1) in {"1", "2", "3", "4"}:
                return int(match.group(1))
        if allow_level:
            match = _LEVEL.search(text)
            if match:
                return int(match.group(1))
    return None


def target_doks(
    associations: Iterable[Association],
    resolve: Callable[[str], DokNode | None],
    patterns: Sequence[re.Pattern[str]],
) -> dict[str, int]:
    """Target DOK per origin item: the highest level any DOK link of the item states."""
    found: dict[str, int] = {}
    for assoc in associations:
        if assoc.association_type not in DOK_ASSOCIATION_TYPES:
            continue
        node = resolve(assoc.destination_identifier)
        skill = assoc.association_type == "hasSkillLevel"
        if node is not None:
            in_dok_framework = bool(_DOK_CONTEXT.search(node.framework_title))
            level = dok_from_texts(node.texts, patterns, allow_level=skill or in_dok_framework)
        else:
            # Unresolvable destination: only the link's own title or uri can say it.
            level = dok_from_texts(
                (assoc.destination_title, assoc.destination_uri.replace("%20", " ")),
                patterns,
                allow_level=skill,
            )
        if level is not None:
            found[assoc.origin_identifier] = max(level, found.get(assoc.origin_identifier, 0))
    return found
