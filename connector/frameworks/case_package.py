"""Parse a CASE 1.0/1.1 CFPackage into framework value objects, tolerating real data.

The reference implementation (OpenSALT) does not trust real packages to be
valid either: providers emit strings for integers, arrays for objects, empty
strings for absent values and wrap 1.1 packages in ``{"CFPackage": ...}``. We
accept those shapes, key everything on ``identifier`` (never on ``uri``, which
collides in the wild), and reject only objects we cannot use at all, each with
the JSON path and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from connector.domain.framework import (
    ASSOCIATION_TYPES,
    Association,
    Competency,
    FrameworkDocument,
    ItemType,
    Rubric,
)
from connector.domain.text import json_text_problem
from connector.errors import DataError, Rejection

#: Association type spellings seen in real packages, mapped to the CASE name.
_TYPE_ALIASES = {"RelatedTo": "isRelatedTo", "relatedTo": "isRelatedTo", "ischildof": "isChildOf"}


@dataclass(frozen=True)
class ParsedPackage:
    """Everything read from one CFPackage, plus what was rejected or only warned about."""

    document: FrameworkDocument
    items: tuple[Competency, ...]
    associations: tuple[Association, ...]
    item_types: tuple[ItemType, ...]
    rubrics: tuple[Rubric, ...]
    rejections: tuple[Rejection, ...] = ()
    warnings: tuple[Rejection, ...] = ()
    association_counts: dict[str, int] = field(default_factory=dict)


def parse_package(data: Any, source: str) -> ParsedPackage:
    """Read a decoded CFPackage. Raises :class:`DataError` when it is not a package at all."""
    if isinstance(data, Mapping) and "CFDocument" not in data and isinstance(
        data.get("CFPackage"), Mapping
    ):
        data = data["CFPackage"]
    if not isinstance(data, Mapping) or not isinstance(data.get("CFDocument"), Mapping):
        hint = ""
        if isinstance(data, Mapping) and ("lsDoc" in data or "lsItems" in data):
            hint = " It looks like a pre-1.0 OpenSALT draft (lsDoc/lsItems); export it as CASE 1.0 or 1.1."
        elif isinstance(data, Mapping) and "CFPackageURI" in data:
            hint = " It looks like a CFDocument; use its CFPackageURI instead."
        raise DataError(f"{source} is not a CASE CFPackage: it has no 'CFDocument' object.{hint}")

    rejections: list[Rejection] = []
    warnings: list[Rejection] = []
    problem = json_text_problem(data["CFDocument"], "CFDocument")
    if problem:
        raise DataError(f"{source}: {problem}; the framework is not imported",
                        field="CFDocument")
    document = _document(data["CFDocument"], source, warnings)
    raw_items = _list(data.get("CFItems"))
    raw_assocs = _list(data.get("CFAssociations"))
    definitions = data.get("CFDefinitions")
    definitions = definitions if isinstance(definitions, Mapping) else {}

    item_types = tuple(_item_types(_list(definitions.get("CFItemTypes")), source, warnings))
    type_titles = {t.identifier: t.title for t in item_types}

    items: dict[str, Competency] = {}
    for index, raw in enumerate(raw_items):
        path = f"CFItems[{index}]"
        try:
            problem = json_text_problem(raw, path)
            if problem:
                raise DataError(problem, field=path)
            item = _item(raw, type_titles, source, path, warnings)
        except DataError as exc:
            rejections.append(Rejection(source, index + 1, str(exc.context.get("field", "")),
                                        exc.message, _ident(raw)))
            continue
        if item.identifier in items:
            warnings.append(Rejection(source, index + 1, "identifier",
                                      "repeated item identifier; the later copy is kept",
                                      item.identifier))
        items[item.identifier] = item

    associations: dict[str, Association] = {}
    for index, raw in enumerate(raw_assocs):
        try:
            problem = json_text_problem(raw, f"CFAssociations[{index}]")
            if problem:
                raise DataError(problem.removeprefix(f"CFAssociations[{index}]").lstrip(".")
                                or problem, field="")
            assoc = _association(raw)
        except DataError as exc:
            rejections.append(Rejection(source, index + 1, str(exc.context.get("field", "")),
                                        f"CFAssociations[{index}]: {exc.message}", _ident(raw)))
            continue
        if assoc.identifier in associations:
            warnings.append(Rejection(source, index + 1, "identifier",
                                      "repeated association identifier; the later copy is kept",
                                      assoc.identifier))
        associations[assoc.identifier] = assoc

    rubrics = tuple(_rubrics(data.get("CFRubrics"), source, rejections))
    counts: dict[str, int] = {}
    for assoc in associations.values():
        counts[assoc.association_type] = counts.get(assoc.association_type, 0) + 1
    return ParsedPackage(
        document=document,
        items=tuple(items.values()),
        associations=tuple(associations.values()),
        item_types=item_types,
        rubrics=rubrics,
        rejections=tuple(rejections),
        warnings=tuple(warnings),
        association_counts=dict(sorted(counts.items())),
    )


def _document(raw: Mapping[str, Any], source: str, warnings: list[Rejection]) -> FrameworkDocument:
    identifier = _text(raw.get("identifier"))
    title = _text(raw.get("title"))
    if not identifier:
        raise DataError(f"{source}: CFDocument has no 'identifier'", field="identifier")
    if not title:
        raise DataError(f"{source}: CFDocument {identifier} has no 'title'", field="title")
    for name in ("uri", "creator", "lastChangeDateTime"):
        if not _text(raw.get(name)):
            warnings.append(Rejection(source, None, f"CFDocument.{name}",
                                      f"required field '{name}' is missing", identifier))
    for name, limit in (("identifier", 255), ("version", 120), ("adoptionStatus", 60),
                        ("language", 20)):
        if len(_text(raw.get(name))) > limit:
            raise DataError(f"{source}: CFDocument '{name}' is longer than {limit} characters",
                            field=name)
    uri = _text(raw.get("uri"))
    version = "1.1" if (
        _text(raw.get("caseVersion")) == "1.1" or "frameworkType" in raw or "/v1p1/" in uri
    ) else "1.0"
    return FrameworkDocument(
        identifier=_norm_id(identifier),
        title=title,
        uri=uri,
        creator=_text(raw.get("creator")),
        publisher=_text(raw.get("publisher")),
        version=_text(raw.get("version")),
        adoption_status=_text(raw.get("adoptionStatus")),
        language=_text(raw.get("language")),
        subjects=_strings(raw.get("subject")),
        case_version=version,
        last_change=parse_datetime(raw.get("lastChangeDateTime")),
    )


def _item(
    raw: Any,
    type_titles: Mapping[str, str],
    source: str,
    path: str,
    warnings: list[Rejection],
) -> Competency:
    if not isinstance(raw, Mapping):
        raise DataError(f"{path} is not an object", field="")
    identifier = _text(raw.get("identifier"))
    if not identifier:
        raise DataError(f"{path} has no 'identifier'", field="identifier")
    statement = _text(raw.get("fullStatement"))
    if not statement:
        fallback = (_text(raw.get("abbreviatedStatement")) or _text(raw.get("alternativeLabel"))
                    or _text(raw.get("humanCodingScheme")))
        if not fallback:
            raise DataError(f"{path} ({identifier}) has no 'fullStatement' and nothing to show "
                            f"in its place", field="fullStatement")
        warnings.append(Rejection(source, None, f"{path}.fullStatement",
                                  "required 'fullStatement' is missing; showing the abbreviated "
                                  "statement or code instead", identifier))
        statement = fallback
    type_uri = raw.get("CFItemTypeURI")
    item_type = _text(raw.get("CFItemType"))
    if isinstance(type_uri, Mapping):
        item_type = type_titles.get(_norm_id(_link_id(type_uri)), "") or item_type or _text(
            type_uri.get("title"))
    for name, limit in _ITEM_LIMITS.items():
        value = identifier if name == "identifier" else (
            item_type if name == "CFItemType" else _text(raw.get(name)))
        if len(value) > limit:
            raise DataError(f"{path} ({identifier[:60]}): '{name}' is {len(value)} characters "
                            f"long; at most {limit} are kept", field=name)
    levels = raw.get("educationLevel", raw.get("educationalLevel"))
    return Competency(
        identifier=_norm_id(identifier),
        full_statement=statement,
        human_coding_scheme=_text(raw.get("humanCodingScheme")),
        abbreviated_statement=_text(raw.get("abbreviatedStatement")),
        item_type=item_type,
        education_levels=_strings(levels, split_commas=True),
        subjects=_strings(raw.get("subject")),
        uri=_text(raw.get("uri")),
        list_enumeration=_text(raw.get("listEnumeration")),
        language=_text(raw.get("language")),
        notes=_text(raw.get("notes")),
        last_change=parse_datetime(raw.get("lastChangeDateTime")),
    )


#: The longest value each short CFItem field may have: the columns that store them.
_ITEM_LIMITS = {"identifier": 255, "humanCodingScheme": 255, "CFItemType": 255,
                "listEnumeration": 120, "language": 20}


def _association(raw: Any) -> Association:
    if not isinstance(raw, Mapping):
        raise DataError("not an object", field="")
    identifier = _text(raw.get("identifier"))
    if not identifier:
        raise DataError("has no 'identifier'", field="identifier")
    kind = _text(raw.get("associationType"))
    kind = _TYPE_ALIASES.get(kind, kind)
    if kind not in ASSOCIATION_TYPES and not kind.startswith("ext:"):
        raise DataError(
            f"{identifier}: unknown associationType {kind!r}; CASE allows "
            f"{sorted(ASSOCIATION_TYPES)} or an 'ext:' extension",
            field="associationType",
        )
    origin = raw.get("originNodeURI")
    destination = raw.get("destinationNodeURI")
    for name, node in (("originNodeURI", origin), ("destinationNodeURI", destination)):
        if not isinstance(node, Mapping) or not _link_id(node):
            raise DataError(f"{identifier}: '{name}' has no identifier", field=name)
    assert isinstance(origin, Mapping) and isinstance(destination, Mapping)
    grouping = raw.get("CFAssociationGroupingURI")
    return Association(
        identifier=_norm_id(identifier),
        association_type=kind,
        origin_identifier=_norm_id(_link_id(origin)),
        destination_identifier=_norm_id(_link_id(destination)),
        origin_uri=_text(origin.get("uri")),
        destination_uri=_text(destination.get("uri")),
        origin_title=_text(origin.get("title")),
        destination_title=_text(destination.get("title")),
        sequence_number=_int_or_none(raw.get("sequenceNumber")),
        grouping_identifier=_norm_id(_link_id(grouping)) if isinstance(grouping, Mapping) else None,
        last_change=parse_datetime(raw.get("lastChangeDateTime")),
    )


def _item_types(raw: Iterable[Any], source: str, warnings: list[Rejection]) -> Iterable[ItemType]:
    for entry in raw:
        if not isinstance(entry, Mapping) or not _text(entry.get("identifier")):
            warnings.append(Rejection(source, None, "CFDefinitions.CFItemTypes",
                                      "item type without an identifier was skipped"))
            continue
        yield ItemType(
            identifier=_norm_id(_text(entry.get("identifier"))),
            title=_text(entry.get("title")) or _text(entry.get("typeCode")),
            type_code=_text(entry.get("typeCode")),
            hierarchy_code=_text(entry.get("hierarchyCode")),
            description=_text(entry.get("description")),
        )


def _rubrics(raw: Any, source: str, rejections: list[Rejection]) -> Iterable[Rubric]:
    entries = raw.values() if isinstance(raw, Mapping) else _list(raw)
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not _text(entry.get("identifier")):
            rejections.append(Rejection(source, index + 1, "identifier",
                                        f"CFRubrics[{index}] has no identifier"))
            continue
        criteria = tuple(dict(c) for c in _list(entry.get("CFRubricCriteria"))
                         if isinstance(c, Mapping))
        yield Rubric(
            identifier=_norm_id(_text(entry.get("identifier"))),
            title=_text(entry.get("title")),
            description=_text(entry.get("description")),
            criteria=criteria,
        )


# ---- small tolerant readers -------------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _norm_id(identifier: str) -> str:
    """UUIDs compare case-insensitively; other identifiers are opaque strings."""
    identifier = identifier.strip()
    return identifier.lower() if _UUID.match(identifier) else identifier


def _link_id(link: Mapping[str, Any]) -> str:
    return _text(link.get("identifier")) or _text(link.get("sourcedId"))


def _ident(raw: Any) -> str:
    return _text(raw.get("identifier")) if isinstance(raw, Mapping) else ""


def _text(value: Any) -> str:
    if value is None or isinstance(value, Mapping | list):
        return ""
    return str(value).strip()


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _strings(value: Any, *, split_commas: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        parts = value.split(",") if split_commas else [value]
    elif isinstance(value, list):
        parts = [str(v) for v in value if v is not None]
    else:
        return ()
    return tuple(p.strip() for p in parts if p.strip())


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 date-times and dates, naive ones taken as UTC; anything else is None."""
    text = _text(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
