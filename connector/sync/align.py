"""The mapping step: align every source item to competencies and store the differences."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.domain.framework import FrameworkKind
from connector.domain.records import LearningObjectiveRef
from connector.mapping.alignment import ItemFacts, resolve_alignments
from connector.mapping.competency_index import (
    CompetencyIndex,
    CompetencyRef,
    exact_match_aliases,
)
from connector.mapping.crosswalk import Crosswalk
from connector.persistence import models as m
from connector.sync.stored_crosswalk import stored_entries


@dataclass
class AlignResult:
    mapped: int = 0
    unmapped: int = 0
    alignments_changed: int = 0
    changed_items: set[int] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def assessable_competencies(session: Session) -> list[m.Competency]:
    """Competencies evidence may align to: not deprecated, not in a reference framework."""
    return list(session.scalars(
        select(m.Competency).join(m.Framework, m.Framework.id == m.Competency.framework_id).where(
            m.Competency.deprecated.is_(False),
            m.Framework.kind != FrameworkKind.REFERENCE.value)))


def _exact_matches(session: Session) -> list[tuple[str, str]]:
    """Standard codes that name district competencies through CASE ``exactMatchOf``."""
    rows = session.execute(select(
        m.CompetencyAssociation.origin_identifier, m.CompetencyAssociation.destination_identifier,
        m.CompetencyAssociation.destination_title).where(
        m.CompetencyAssociation.association_type == "exactMatchOf",
        m.CompetencyAssociation.deprecated.is_(False))).all()
    if not rows:
        return []
    codes = dict(session.execute(select(m.Competency.identifier,
                                        m.Competency.human_coding_scheme)).all())
    return exact_match_aliases([(o, d, t or "") for o, d, t in rows],
                               {k: v or "" for k, v in codes.items()})


def _placement_note(settings: Settings, source: str, item_id: str) -> str:
    """Why an unaligned diagnostic is still used: it places students (progress.placement)."""
    domains = sorted({r.domain for r in settings.district.progress.placement
                      if r.applies(source, item_id)})
    if not domains:
        return ""
    return (f"used for placement in {', '.join(domains)} (progress.placement); evidence only "
            "if a crosswalk aligns it")


def align_items(session: Session, settings: Settings) -> AlignResult:
    """Resolve every item's alignments; only differences are written."""
    result = AlignResult()
    competencies = assessable_competencies(session)
    index = CompetencyIndex(
        (CompetencyRef(c.identifier, c.human_coding_scheme, c.target_dok) for c in competencies),
        aliases=_exact_matches(session))
    ids = {c.identifier: c.id for c in competencies}
    # The district's files and the entries made from the mapping queue, together.
    crosswalk = Crosswalk([*settings.crosswalk, *stored_entries(session)])
    categories = {(c.source_system, c.sourced_id): c.title
                  for c in session.scalars(select(m.Category))}
    existing: dict[int, dict[int, m.Alignment]] = defaultdict(dict)
    for link in session.scalars(select(m.Alignment)):
        existing[link.source_item_id][link.competency_id] = link

    for item in session.scalars(select(m.SourceItem)):
        source = settings.sources.get(item.source_system)
        current = existing.get(item.id, {})
        if source is None:
            wanted: dict[int, tuple[int | None, str, float, str]] = {}
            note = f"source {item.source_system!r} is no longer configured"
        else:
            facts = ItemFacts(
                source=item.source_system,
                item_id=item.sourced_id,
                title=item.title,
                description=item.description,
                category=categories.get((item.source_system, item.category_sourced_id), ""),
                learning_objectives=tuple(LearningObjectiveRef(s, i)
                                          for s, i in item.learning_objectives),
                course=item.class_sourced_id or "",
            )
            resolution = resolve_alignments(facts, crosswalk=crosswalk, index=index,
                                            defaults=source.evidence)
            wanted = {ids[a.competency_identifier]: (a.dok, a.evidence_type, a.weight, a.origin)
                      for a in resolution.alignments}
            note = "; ".join(resolution.problems)
            if not wanted:
                note = note or _placement_note(settings, item.source_system, item.sourced_id)
            result.problems.extend(f"{item.source_system}/{item.sourced_id}: {p}"
                                   for p in resolution.problems)
        changed = False
        for competency_id, (dok, etype, weight, origin) in wanted.items():
            row = current.get(competency_id)
            if row is None:
                session.add(m.Alignment(source_item_id=item.id, competency_id=competency_id,
                                        dok=dok, evidence_type=etype, weight=weight, origin=origin))
                changed = True
            elif (row.dok, row.evidence_type, row.weight, row.origin) != (dok, etype, weight, origin):
                row.dok, row.evidence_type, row.weight, row.origin = dok, etype, weight, origin
                changed = True
        for competency_id, stale in current.items():
            if competency_id not in wanted:
                session.delete(stale)
                changed = True
        if changed:
            result.changed_items.add(item.id)
            result.alignments_changed += 1
        if item.mapped != bool(wanted) or item.mapping_note != note:
            item.mapped, item.mapping_note = bool(wanted), note
        if wanted:
            result.mapped += 1
        else:
            result.unmapped += 1
    session.flush()
    return result
