"""Content impact from the store: each content provider's use and mastery where it was used.

Content providers are the district's sources of digital content (adaptive exports,
vendor file drops, xAPI and Caliper events), as opposed to its LMS and SIS
gradebooks. What each provider contributed is read from the evidence it gave; the
records are the mastery records held now. The pure rules and the suppression are
in :mod:`connector.mastery.content_impact`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.mastery.content_impact import Impact, PairFacts, impact
from connector.persistence import models as m
from connector.persistence import queries

#: Source kinds that are digital content, not a teacher's gradebook.
CONTENT_KINDS = frozenset({"adaptive_csv", "file_drop", "learning_events"})


def providers(settings: Settings) -> dict[str, str]:
    """The district's content providers: source key -> its name."""
    return {key: s.name or key for key, s in settings.sources.items() if s.kind in CONTENT_KINDS}


def content_impact(session: Session, settings: Settings, by: str,
                   within: Callable[[str, str], bool]) -> Impact:
    """Per provider and school (``by="school"``) or class, within the person's reach.

    ``within(group, school)`` says which groups the person may see; the rest are not
    read into any count.
    """
    named = providers(settings)
    e, r, i = m.Evidence, m.RawScore, m.SourceItem
    uses: dict[tuple[int, int], dict[str, tuple[int, datetime]]] = defaultdict(dict)
    if named:
        for student, competency, provider, count, first in session.execute(
                select(e.student_id, e.competency_id, i.source_system, func.count(e.id),
                       func.min(e.observed_at))
                .join(r, r.id == e.raw_score_id).join(i, i.id == r.source_item_id)
                .where(i.source_system.in_(sorted(named)))
                .group_by(e.student_id, e.competency_id, i.source_system)):
            uses[(student, competency)][provider] = (int(count), first)
    touched = {c for _, c in uses}
    schools = dict(session.execute(select(m.Student.id, m.Student.school_sourced_id)).all())
    groups: dict[int, list[tuple[str, set[int] | None]]] = defaultdict(list)
    if by == "school":
        for student, school in schools.items():
            if within(school, school):
                groups[student].append((school, None))
    else:
        ids = dict(session.execute(select(m.Competency.identifier, m.Competency.id)).all())
        student_ids = dict(session.execute(select(m.Student.sourced_id, m.Student.id)).all())
        sections = dict(session.execute(select(m.ClassSection.sourced_id,
                                               m.ClassSection.school_sourced_id)).all())
        subjects: dict[str, set[int]] = {}
        for class_id, sis in session.execute(select(
                m.Enrollment.class_sourced_id, m.Enrollment.user_sourced_id).where(
                m.Enrollment.role == "student")):
            if sis not in student_ids or not within(class_id, sections.get(class_id, "")):
                continue
            if class_id not in subjects:
                subjects[class_id] = {ids[x] for x in queries.class_subject(session, class_id)
                                      if x in ids}
            groups[student_ids[sis]].append((class_id, subjects[class_id]))
    pairs = []
    for student, competency, proficient, since in session.execute(select(
            m.MasteryRecord.student_id, m.MasteryRecord.competency_id,
            m.MasteryRecord.proficient, m.MasteryRecord.proficient_since)):
        if competency not in touched:
            continue
        mine = tuple(g for g, only in groups.get(student, ()) if only is None or competency in only)
        if mine:
            pairs.append(PairFacts(student, competency, mine, bool(proficient), since,
                                   uses.get((student, competency), {})))
    return impact(pairs, named, settings.district.reports.min_group)


def group_names(session: Session, by: str) -> dict[str, str]:
    if by == "school":
        return dict(session.execute(select(m.Organisation.sourced_id, m.Organisation.name)).all())
    return dict(session.execute(select(m.ClassSection.sourced_id, m.ClassSection.title)).all())


def as_rows(result: Impact, names: dict[str, str], provider_names: dict[str, str]
            ) -> list[dict[str, Any]]:
    return [{**vars(row), "provider_name": provider_names.get(row.provider, row.provider),
             "group_name": names.get(row.group, row.group)} for row in result.rows]
