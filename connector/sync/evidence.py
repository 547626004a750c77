"""The evidence step: each raw score seen through each of its item's alignments.

A score becomes a level on the district scale with the source's cut scores; a
per-objective score (OneRoster learningObjectiveResults) replaces the overall
score for its own competency. A score given only as text ("M", "Proficient")
goes through the source's text table. Exempt scores, and graded ones with no
value, produce no evidence.

Work the student did not turn in (``not submitted``: OneRoster's status, Canvas's
``missing``, Schoology's missing exception) is not evidence of mastery, whatever
score the gradebook put on it (a zero, usually). It is kept as evidence marked
``missing`` at the scale's lowest level, so the record's explanation can show it,
and the policy's ``missing_work`` rule decides whether it counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.adapters.registry import source_class
from connector.config.model import Settings
from connector.domain.hashing import content_hash
from connector.domain.records import ScoreStatus
from connector.errors import DataError, Rejection
from connector.mapping.normalise import text_to_level, to_level
from connector.persistence import models as m
from connector.persistence.bulk_insert import insert_rows
from connector.sync.util import chunks

#: Statuses under which a text-only score is a grade (not "Missing" on unsubmitted work).
GRADED = (ScoreStatus.FULLY_GRADED.value, ScoreStatus.PARTIALLY_GRADED.value)


@dataclass
class EvidenceResult:
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    affected_pairs: set[tuple[int, int]] = field(default_factory=set)
    rejections: list[Rejection] = field(default_factory=list)


def scores_of_items(session: Session, item_ids: Iterable[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(sorted(item_ids)):
        found.update(session.scalars(select(m.RawScore.id).where(
            m.RawScore.source_item_id.in_(chunk))))
    return found


def all_scores(session: Session) -> set[int]:
    return set(session.scalars(select(m.RawScore.id)))


_SCORE_COLUMNS = (m.RawScore.id, m.RawScore.source_system, m.RawScore.sourced_id,
                  m.RawScore.source_item_id, m.RawScore.student_id, m.RawScore.status,
                  m.RawScore.score, m.RawScore.max_score, m.RawScore.text_score,
                  m.RawScore.scored_at, m.RawScore.submitted_at, m.RawScore.attempt)
_ITEM_COLUMNS = (m.SourceItem.id, m.SourceItem.sourced_id, m.SourceItem.due_date,
                 m.SourceItem.assign_date, m.SourceItem.result_value_min,
                 m.SourceItem.result_value_max)


def build_evidence(session: Session, settings: Settings, score_ids: Iterable[int]) -> EvidenceResult:
    """Rebuild evidence for these raw scores; only differences are written."""
    result = EvidenceResult()
    scale = settings.district.scale
    competency_ids = {c.id: c.identifier for c in session.scalars(select(m.Competency))}
    # A district's first load has no evidence to compare with. Each chunk holds other
    # scores than the ones before it, so what this call inserts is never looked up
    # again: the lookup of existing evidence can only find nothing, and on PostgreSQL,
    # whose statistics still say the table is empty, it scanned the growing table once
    # per chunk (the step took 15.1 s of a 1,000-student first sync; 8.7 s without it).
    first_load = session.scalar(select(m.Evidence.id).limit(1)) is None
    for chunk in chunks(sorted(set(score_ids))):
        # Columns, not objects: an object per score and item cost more than the rules.
        scores = session.execute(select(*_SCORE_COLUMNS).where(m.RawScore.id.in_(chunk))).all()
        item_ids = {raw.source_item_id for raw in scores}
        items = {item.id: item for item in session.execute(
            select(*_ITEM_COLUMNS).where(m.SourceItem.id.in_(item_ids)))}
        alignments: dict[int, list[m.Alignment]] = defaultdict(list)
        for link in session.scalars(select(m.Alignment).where(
                m.Alignment.source_item_id.in_(item_ids))):
            alignments[link.source_item_id].append(link)
        objectives: dict[int, dict[str, tuple[float | None, str]]] = defaultdict(dict)
        for obj in session.scalars(select(m.RawScoreObjective).where(
                m.RawScoreObjective.raw_score_id.in_(chunk))):
            objectives[obj.raw_score_id][obj.learning_objective_id.lower()] = (
                obj.score, obj.text_score)
        existing = {} if first_load else {
            (e.raw_score_id, e.competency_id): e for e in session.scalars(
                select(m.Evidence).where(m.Evidence.raw_score_id.in_(chunk)))}
        wanted: dict[tuple[int, int], dict[str, Any]] = {}
        for raw in scores:
            source = settings.sources.get(raw.source_system)
            item = items.get(raw.source_item_id)
            if source is None or item is None or raw.status == ScoreStatus.EXEMPT.value:
                continue
            observed = raw.scored_at or item.due_date or item.assign_date
            for aligned in alignments.get(item.id, []):
                identifier = competency_ids[aligned.competency_id]
                score, text = objectives.get(raw.id, {}).get(
                    identifier.lower(), (raw.score, raw.text_score))
                missing = raw.status == ScoreStatus.NOT_SUBMITTED.value
                if not missing and score is None and (
                        not (text or "").strip() or raw.status not in GRADED):
                    continue
                if observed is None:
                    result.rejections.append(Rejection(
                        raw.source_system, None, "scoreDate",
                        "score has no date and its item no due date; it cannot be ordered "
                        "as evidence", raw.sourced_id))
                    break
                maximum = raw.max_score if raw.max_score is not None else item.result_value_max
                if not missing and score is not None and maximum is None:
                    meaning = (source.conversion.without_maximum
                               or source_class(source.kind).scores_without_maximum)
                    if meaning == "ungraded":
                        break  # not evidence, by the district's rule
                    if meaning == "reject":
                        result.rejections.append(Rejection(
                            raw.source_system, None, "resultValueMax",
                            f"item {item.sourced_id!r} has no maximum score, so a score of "
                            f"{score:g} cannot be read as a level; give the item its "
                            f"resultValueMax in the source, or set the source's "
                            f"score_conversion.without_maximum", raw.sourced_id))
                        break
                try:
                    level = (scale.levels[0] if missing else
                             to_level(score, maximum, source.conversion, scale,
                                      min_score=item.result_value_min)
                             if score is not None
                             else text_to_level(text or "", source.conversion, scale))
                except DataError as exc:
                    field = "score" if score is not None else "textScore"
                    result.rejections.append(Rejection(raw.source_system, None, field,
                                                       exc.message, raw.sourced_id))
                    break
                row: dict[str, Any] = {
                    "raw_score_id": raw.id, "competency_id": aligned.competency_id,
                    "student_id": raw.student_id, "source_item_id": item.id,
                    "attempt": raw.attempt, "level_code": level.code, "value": level.value,
                    "dok": aligned.dok, "evidence_type": aligned.evidence_type,
                    "weight": aligned.weight, "observed_at": observed,
                    "submitted_at": raw.submitted_at, "due_at": item.due_date,
                }
                # Hashed only when set, so evidence hashed before the flag existed stands.
                row["content_hash"] = content_hash({**row, "missing": True} if missing else row)
                row["missing"] = missing
                wanted[(raw.id, aligned.competency_id)] = row
        new_rows: list[dict[str, Any]] = []
        for key, row in wanted.items():
            current = existing.get(key)
            if current is None:
                new_rows.append(row)
                result.inserted += 1
            elif current.content_hash != row["content_hash"]:
                for name, value in row.items():
                    setattr(current, name, value)
                result.updated += 1
            else:
                result.unchanged += 1
                continue
            result.affected_pairs.add((int(row["student_id"]), key[1]))
        insert_rows(session, m.Evidence, new_rows)  # COPY on PostgreSQL; no ids read back
        stale = [e for key, e in existing.items() if key not in wanted]
        for evidence in stale:
            result.affected_pairs.add((evidence.student_id, evidence.competency_id))
        if stale:
            session.execute(delete(m.Evidence).where(m.Evidence.id.in_([e.id for e in stale])))
            result.deleted += len(stale)
    session.flush()
    return result
