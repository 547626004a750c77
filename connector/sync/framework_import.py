"""Import a CASE package into a district: fetch, parse, upsert by identifier, read DOK.

Re-importing a changed package updates items and associations by identifier;
anything no longer in the package is kept and marked deprecated, because
evidence and transcripts may still point at it. A package whose bytes have not
changed is recognised by hash and left alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connector.adapters.http.client import HttpClient
from connector.domain.framework import Association, FrameworkKind
from connector.domain.hashing import content_hash
from connector.errors import DataError, FatalSourceError
from connector.frameworks.case_package import ParsedPackage, parse_package
from connector.frameworks.dok import DEFAULT_DOK_PATTERNS, DokNode, compile_patterns, target_doks
from connector.frameworks.hierarchy import place_items
from connector.persistence import models as m
from connector.sync.util import chunks


@dataclass
class FrameworkImportSummary:
    """What an import found and changed; ``--json`` prints exactly this."""

    identifier: str
    title: str
    case_version: str
    kind: str
    #: The key the district's configuration and reports name the framework by.
    key: str = ""
    documents: int = 1
    items: int = 0
    associations: int = 0
    associations_by_type: dict[str, int] = field(default_factory=dict)
    items_with_dok: int = 0
    item_types: int = 0
    rubrics: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deprecated: int = 0
    package_unchanged: bool = False
    #: Competencies (in any framework of the district) whose target DOK this import changed.
    dok_changed: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def derive_key(title: str, taken: Collection[str]) -> str:
    """A framework key from its title, unlike every key ``taken``.

    >>> derive_key("ACT Holistic Framework, Math", set())
    'act-holistic-framework-math'
    >>> derive_key("Mathématiques 6e", {"mathematiques-6e"})
    'mathematiques-6e-2'
    >>> derive_key("数学", set())
    'framework'
    """
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:56].strip("-") or "framework"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}-{number}", number + 1
    return key


def fetch_package(location: str, *, token: str | None = None,
                  client: HttpClient | None = None) -> tuple[Any, bytes]:
    """Read a CFPackage from a file or a CASE provider URL; returns (decoded JSON, raw bytes)."""
    if location.startswith(("http://", "https://")):
        http = client or HttpClient("CASE provider")
        if token:
            http.session.headers["Authorization"] = f"Bearer {token}"
        raw = http.get(location, headers={"Accept": "application/json"}).content
    else:
        path = Path(location)
        if not path.is_file():
            raise FatalSourceError(f"CASE package not found: {path}", path=str(path))
        raw = path.read_bytes()
    try:
        return json.loads(raw.decode("utf-8-sig")), raw
    except UnicodeDecodeError as exc:
        raise DataError(f"{location} is not UTF-8 JSON: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{location} is not valid JSON: {exc.msg} at line {exc.lineno} "
                        f"column {exc.colno} (truncated download?)") from exc


def import_framework(
    session: Session,
    data: Any,
    raw: bytes,
    *,
    location: str,
    key: str = "",
    kind: str = FrameworkKind.ACADEMIC.value,
    dok_patterns: Sequence[str] = (),
) -> FrameworkImportSummary:
    """Store one package in the session's district (caller commits)."""
    package = parse_package(data, location)
    digest = hashlib.sha256(raw).hexdigest()
    doc = package.document
    summary = FrameworkImportSummary(doc.identifier, doc.title, doc.case_version, kind)
    summary.items = len(package.items)
    summary.associations = len(package.associations)
    summary.associations_by_type = package.association_counts
    summary.item_types = len(package.item_types)
    summary.rubrics = len(package.rubrics)
    summary.rejected = [str(r) for r in package.rejections]
    summary.warnings = [str(w) for w in package.warnings]

    framework = session.scalars(select(m.Framework).where(m.Framework.identifier == doc.identifier)).first()
    if framework is not None and framework.content_hash == digest and framework.kind == kind:
        summary.package_unchanged = True
        summary.unchanged = summary.items
        framework.key = key or framework.key
        summary.key = framework.key
        # the district's DOK patterns may have changed since the last import
        summary.dok_changed = refresh_target_dok(session, dok_patterns)
        summary.items_with_dok = _count_dok(session, framework.id)
        return summary
    if framework is None:
        framework = m.Framework(identifier=doc.identifier, title=doc.title)
        session.add(framework)
    # A framework imported without --key is named after its title: a blank key could be
    # neither configured nor reported.
    framework.key = key or framework.key or derive_key(
        doc.title, set(session.scalars(select(m.Framework.key))))
    summary.key = framework.key
    framework.kind = kind
    framework.title = doc.title
    framework.uri = doc.uri
    framework.creator = doc.creator
    framework.publisher = doc.publisher
    framework.version = doc.version
    framework.adoption_status = doc.adoption_status
    framework.language = doc.language
    framework.case_version = doc.case_version
    framework.last_change = doc.last_change
    framework.location = location
    framework.content_hash = digest
    session.flush()

    _store_items(session, framework, package, summary, location)
    _store_associations(session, framework, package)
    _store_definitions(session, framework, package)
    session.flush()
    summary.dok_changed = refresh_target_dok(session, dok_patterns)
    summary.items_with_dok = _count_dok(session, framework.id)
    return summary


def _store_items(session: Session, framework: m.Framework, package: ParsedPackage,
                 summary: FrameworkImportSummary, location: str) -> None:
    placements = place_items(package.document.identifier, package.items, package.associations)
    rows: list[dict[str, Any]] = []
    for item in package.items:
        where = placements[item.identifier]
        row: dict[str, Any] = {
            "identifier": item.identifier,
            "framework_id": framework.id,
            "full_statement": item.full_statement,
            "human_coding_scheme": item.human_coding_scheme,
            "abbreviated_statement": item.abbreviated_statement,
            "item_type": item.item_type,
            "education_levels": list(item.education_levels),
            "subjects": list(item.subjects),
            "parent_identifier": where.parent_identifier,
            "root_identifier": where.root_identifier,
            "sequence": where.sequence,
            "depth": where.depth,
            "uri": item.uri,
            "list_enumeration": item.list_enumeration,
            "language": item.language,
            "notes": item.notes,
            "last_change": item.last_change,
            "deprecated": False,
        }
        row["content_hash"] = content_hash(row)
        rows.append(row)
    existing = _existing(session, m.Competency, m.Competency.identifier,
                         [r["identifier"] for r in rows])
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[m.Competency, dict[str, Any]]] = []
    for row in rows:
        current = existing.get(row["identifier"])
        if current is None:
            inserts.append(row)
        elif current.framework_id != framework.id:
            # CASE identifiers are global: the item belongs to the framework that published it.
            summary.warnings.append(
                f"{location}: item {row['identifier']} already belongs to another imported "
                f"framework; it was kept there")
        elif current.content_hash != row["content_hash"] or current.deprecated:
            updates.append((current, row))
        else:
            summary.unchanged += 1
    for current, row in updates:
        for name, value in row.items():
            setattr(current, name, value)
    session.add_all(m.Competency(**row) for row in inserts)
    summary.created, summary.updated = len(inserts), len(updates)
    present = {r["identifier"] for r in rows}
    stale = [c for c in session.scalars(select(m.Competency).where(
        m.Competency.framework_id == framework.id, m.Competency.deprecated.is_(False)))
        if c.identifier not in present]
    for competency in stale:
        competency.deprecated = True
    summary.deprecated = len(stale)


def _store_associations(session: Session, framework: m.Framework, package: ParsedPackage) -> None:
    existing = {a.identifier: a for a in session.scalars(
        select(m.CompetencyAssociation).where(m.CompetencyAssociation.framework_id == framework.id))}
    present = set()
    new = []
    for assoc in package.associations:
        row = {
            "framework_id": framework.id,
            "identifier": assoc.identifier,
            "association_type": assoc.association_type,
            "origin_identifier": assoc.origin_identifier,
            "destination_identifier": assoc.destination_identifier,
            "origin_uri": assoc.origin_uri,
            "destination_uri": assoc.destination_uri,
            "destination_title": assoc.destination_title,
            "sequence_number": assoc.sequence_number,
            "grouping_identifier": assoc.grouping_identifier,
            "deprecated": False,
        }
        row["content_hash"] = content_hash(row)
        present.add(assoc.identifier)
        current = existing.get(assoc.identifier)
        if current is None:
            new.append(m.CompetencyAssociation(**row))
        elif current.content_hash != row["content_hash"] or current.deprecated:
            for name, value in row.items():
                setattr(current, name, value)
    session.add_all(new)
    for identifier, current in existing.items():
        if identifier not in present and not current.deprecated:
            current.deprecated = True


def _store_definitions(session: Session, framework: m.Framework, package: ParsedPackage) -> None:
    types = {t.identifier: t for t in session.scalars(
        select(m.CompetencyItemType).where(m.CompetencyItemType.framework_id == framework.id))}
    for item_type in package.item_types:
        row = types.get(item_type.identifier) or m.CompetencyItemType(
            framework_id=framework.id, identifier=item_type.identifier)
        row.title, row.type_code = item_type.title, item_type.type_code
        row.hierarchy_code, row.description = item_type.hierarchy_code, item_type.description
        session.add(row)
    rubrics = {r.identifier: r for r in session.scalars(
        select(m.Rubric).where(m.Rubric.framework_id == framework.id))}
    for rubric in package.rubrics:
        rrow = rubrics.get(rubric.identifier) or m.Rubric(
            framework_id=framework.id, identifier=rubric.identifier)
        rrow.title, rrow.description = rubric.title, rubric.description
        rrow.criteria = [json.loads(json.dumps(c, default=str)) for c in rubric.criteria]
        session.add(rrow)


def refresh_target_dok(session: Session, dok_patterns: Sequence[str]) -> list[str]:
    """Recompute every competency's target DOK in the district; returns those that changed.

    Run after each import: a DOK framework imported after the frameworks that
    point at it must still give them their DOK.
    """
    patterns = compile_patterns(dok_patterns or DEFAULT_DOK_PATTERNS)
    links = list(session.scalars(select(m.CompetencyAssociation).where(
        m.CompetencyAssociation.association_type.in_(("hasSkillLevel", "isRelatedTo")),
        m.CompetencyAssociation.deprecated.is_(False))))
    destinations = {a.destination_identifier for a in links}
    titles = dict(session.execute(select(m.Framework.id, m.Framework.title)).all())
    nodes: dict[str, DokNode] = {}
    for chunk in chunks(sorted(destinations)):
        for comp in session.scalars(select(m.Competency).where(m.Competency.identifier.in_(chunk))):
            nodes[comp.identifier] = DokNode(
                (comp.human_coding_scheme, comp.abbreviated_statement, comp.full_statement),
                titles.get(comp.framework_id, ""))
    doc_titles = dict(session.execute(select(m.Framework.identifier, m.Framework.title)).all())
    for identifier, title in doc_titles.items():
        nodes.setdefault(identifier, DokNode((title,), title))
    found = target_doks(_as_domain(links), nodes.get, patterns)
    current = dict(session.execute(select(m.Competency.identifier, m.Competency.target_dok)).all())
    by_value: dict[int | None, list[str]] = {}
    for identifier, old in current.items():
        new = found.get(identifier)
        if new != old:
            by_value.setdefault(new, []).append(identifier)
    for value, identifiers in by_value.items():
        for chunk in chunks(identifiers):
            session.execute(update(m.Competency).where(m.Competency.identifier.in_(chunk))
                            .values(target_dok=value))
    return sorted(identifier for group in by_value.values() for identifier in group)


def _as_domain(links: Iterable[m.CompetencyAssociation]) -> Iterable[Association]:
    for link in links:
        yield Association(
            identifier=link.identifier,
            association_type=link.association_type,
            origin_identifier=link.origin_identifier,
            destination_identifier=link.destination_identifier,
            destination_uri=link.destination_uri,
            destination_title=link.destination_title,
        )


def _count_dok(session: Session, framework_id: int) -> int:
    return len(session.scalars(select(m.Competency.id).where(
        m.Competency.framework_id == framework_id, m.Competency.target_dok.is_not(None))).all())


def _existing(session: Session, model: Any, column: Any, keys: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in chunks(keys):
        for row in session.scalars(select(model).where(column.in_(chunk))):
            found[getattr(row, column.key)] = row
    return found

