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
from connector.sync.util import chunks

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
    e, i = m.Evidence, m.SourceItem
    uses: dict[tuple[int, int], dict[str, tuple[int, datetime]]] = defaultdict(dict)
    # The providers' items first (a few), then their evidence through the index that
    # leads with the item: the gradebooks' evidence is never read.
    provided = dict(session.execute(select(i.id, i.source_system).where(
        i.source_system.in_(sorted(named)))).all()) if named else {}
    for chunk in chunks(sorted(provided)):
        for student, competency, item, count, first in session.execute(
                select(e.student_id, e.competency_id, e.source_item_id, func.count(e.id),
                       func.min(e.observed_at))
                .where(e.source_item_id.in_(list(chunk)))
                .group_by(e.student_id, e.competency_id, e.source_item_id)):
            used = uses[(student, competency)]
            provider = provided[item or 0]
            had = used.get(provider)
            used[provider] = (int(count), first) if had is None else (
                had[0] + int(count), min(had[1], first))
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
        subjects = {class_id: {ids[x] for x in found if x in ids}
                    for class_id, found in queries.class_subjects(session).items()}
        for class_id, sis in session.execute(select(
                m.Enrollment.class_sourced_id, m.Enrollment.user_sourced_id).where(
                m.Enrollment.role == "student")):
            if sis not in student_ids or not within(class_id, sections.get(class_id, "")):
                continue
            groups[student_ids[sis]].append((class_id, subjects.get(class_id, set())))
    pairs = []
    record = m.MasteryRecord
    for student, competency, proficient, since in session.execute(select(
            record.student_id, record.competency_id, record.proficient, record.proficient_since)
            .where(record.competency_id.in_(sorted(touched)))) if touched else ():
        counted_in = tuple([g for g, only in groups.get(student, ())
                            if only is None or competency in only])
        if counted_in:
            pairs.append(PairFacts(student, competency, counted_in, bool(proficient), since,
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
