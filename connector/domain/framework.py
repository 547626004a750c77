"""Competency frameworks as CASE describes them (CFDocument, CFItem, CFAssociation).

Identifiers are CASE UUIDs: they are the canonical key of a competency in this
product, so everything else (crosswalks, OneRoster learning-objective ids,
transcripts) points at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

ASSOCIATION_TYPES = frozenset(
    {
        "isChildOf",
        "isPeerOf",
        "isPartOf",
        "exactMatchOf",
        "precedes",
        "isRelatedTo",
        "replacedBy",
        "exemplar",
        "hasSkillLevel",
        "isTranslationOf",
    }
)


class FrameworkKind(StrEnum):
    """Academic competencies and habits of success are reported separately."""

    ACADEMIC = "academic"
    HABITS = "habits"
    #: Frameworks used only to describe others (a DOK framework); never assessed or reported.
    REFERENCE = "reference"


@dataclass(frozen=True)
class FrameworkDocument:
    """A CASE CFDocument: the root of one framework."""

    identifier: str
    title: str
    uri: str = ""
    creator: str = ""
    publisher: str = ""
    version: str = ""
    adoption_status: str = ""
    language: str = ""
    subjects: tuple[str, ...] = ()
    case_version: str = "1.0"
    last_change: datetime | None = None


@dataclass(frozen=True)
class Competency:
    """A CASE CFItem: a competency, measurement topic, learning target or grouping.

    ``target_dok`` is the Webb depth-of-knowledge level evidence must reach for
    proficiency; ``parent_identifier``/``sequence``/``depth`` place the item in the
    isChildOf hierarchy (depth 1 = directly under the document).
    """

    identifier: str
    full_statement: str
    human_coding_scheme: str = ""
    abbreviated_statement: str = ""
    item_type: str = ""
    education_levels: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    target_dok: int | None = None
    parent_identifier: str | None = None
    sequence: int | None = None
    depth: int = 0
    uri: str = ""
    list_enumeration: str = ""
    language: str = ""
    notes: str = ""
    last_change: datetime | None = None

    @property
    def label(self) -> str:
        """How a person refers to the item: its code and statement."""
        code = f"{self.human_coding_scheme} " if self.human_coding_scheme else ""
        return f"{code}{self.full_statement}"


@dataclass(frozen=True)
class Association:
    """A CASE CFAssociation between two nodes (items or documents, possibly external)."""

    identifier: str
    association_type: str
    origin_identifier: str
    destination_identifier: str
    origin_uri: str = ""
    destination_uri: str = ""
    origin_title: str = ""
    destination_title: str = ""
    sequence_number: int | None = None
    grouping_identifier: str | None = None
    last_change: datetime | None = None


@dataclass(frozen=True)
class ItemType:
    """A CASE CFItemType definition (e.g. "Learning Target")."""

    identifier: str
    title: str
    type_code: str = ""
    hierarchy_code: str = ""
    description: str = ""


@dataclass(frozen=True)
class Rubric:
    """A CASE CFRubric, kept whole (criteria and levels) for later scoring use."""

    identifier: str
    title: str
    description: str = ""
    criteria: tuple[dict[str, object], ...] = field(default_factory=tuple)
