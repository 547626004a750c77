"""The mastery step: recompute only the student x competency pairs whose inputs changed.

A pair is recomputed when its evidence changed, or when its record was
computed under another policy or engine version. A recomputation that gives the
same answer writes nothing, so a rerun reports zero changes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from connector import ENGINE_VERSION
from connector.config.model import Settings
from connector.domain.evidence import EvidencePiece, MasteryResult
from connector.domain.hashing import content_hash
from connector.mastery.policy import MasteryPolicy, compute_mastery
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.persistence.tenancy import session_district
from connector.sync.util import chunks


@dataclass
class ComputeResult:
    computed: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    changed_pairs: set[tuple[int, int]] = field(default_factory=set)


def outdated_pairs(session: Session, settings: Settings) -> set[tuple[int, int]]:
    """Pairs whose record was computed under another policy or engine version."""
    policies = _policies_by_competency(session, settings)
    stale = set()
    for student_id, competency_id, policy_version, engine in session.execute(select(
            m.MasteryRecord.student_id, m.MasteryRecord.competency_id,
            m.MasteryRecord.policy_version, m.MasteryRecord.engine_version)):
        policy = policies.get(competency_id)
        if engine != ENGINE_VERSION or policy is None or policy.version != policy_version:
            stale.add((student_id, competency_id))
    return stale


def pairs_of_competencies(session: Session, identifiers: Iterable[str]) -> set[tuple[int, int]]:
    """Every pair with evidence or a record on these competencies (e.g. their target DOK moved)."""
    pairs: set[tuple[int, int]] = set()
    for chunk in chunks(sorted(identifiers)):
        ids = select(m.Competency.id).where(m.Competency.identifier.in_(chunk))
        pairs.update((s, c) for s, c in session.execute(
            select(m.Evidence.student_id, m.Evidence.competency_id)
            .where(m.Evidence.competency_id.in_(ids)).distinct()))
        pairs.update((s, c) for s, c in session.execute(
            select(m.MasteryRecord.student_id, m.MasteryRecord.competency_id)
            .where(m.MasteryRecord.competency_id.in_(ids))))
    return pairs


def all_pairs(session: Session) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = {
        (s, c) for s, c in session.execute(
            select(m.Evidence.student_id, m.Evidence.competency_id).distinct())}
    pairs.update((s, c) for s, c in session.execute(
        select(m.MasteryRecord.student_id, m.MasteryRecord.competency_id)))
    return pairs


def recompute(session: Session, settings: Settings, pairs: Iterable[tuple[int, int]]) -> ComputeResult:
    """Recompute these pairs and write what changed."""
    result = ComputeResult()
    district_id = session_district(session)
    now = utcnow()
    scale = settings.district.scale
    policies = _policies_by_competency(session, settings)
    target = {c.id: c.target_dok for c in session.scalars(select(m.Competency))}
    by_student: dict[int, set[int]] = defaultdict(set)
    for student_id, competency_id in pairs:
        by_student[student_id].add(competency_id)
    for student_chunk in chunks(sorted(by_student), 200):
        evidence: dict[tuple[int, int], list[EvidencePiece]] = defaultdict(list)
        evidence_ids: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
        rows = session.execute(
            select(m.Evidence, m.RawScore.source_system, m.RawScore.sourced_id, m.SourceItem.title)
            .join(m.RawScore, m.RawScore.id == m.Evidence.raw_score_id)
            .join(m.SourceItem, m.SourceItem.id == m.RawScore.source_item_id)
            .where(m.Evidence.student_id.in_(student_chunk)))
        for ev, source, sourced_id, title in rows:
            pair = (ev.student_id, ev.competency_id)
            if ev.competency_id not in by_student[ev.student_id]:
                continue
            key = f"{source}:{sourced_id}"
            evidence[pair].append(EvidencePiece(key=key, value=ev.value, observed_at=ev.observed_at,
                                                dok=ev.dok, evidence_type=ev.evidence_type,
                                                weight=ev.weight, label=title))
            evidence_ids[pair][key] = ev.id
        existing = {(r.student_id, r.competency_id): r for r in session.scalars(
            select(m.MasteryRecord).where(m.MasteryRecord.student_id.in_(student_chunk)))}
        new_rows: list[dict[str, object]] = []
        for student_id in student_chunk:
            for competency_id in sorted(by_student[student_id]):
                pair = (student_id, competency_id)
                pieces = evidence.get(pair)
                current = existing.get(pair)
                policy = policies.get(competency_id)
                if not pieces or policy is None:
                    if current is not None:
                        session.execute(delete(m.MasteryRecord).where(
                            m.MasteryRecord.id == current.id))
                        result.removed += 1
                        result.changed_pairs.add(pair)
                    continue
                outcome = compute_mastery(pieces, scale=scale, policy=policy,
                                          target_dok=target.get(competency_id),
                                          engine_version=ENGINE_VERSION)
                result.computed += 1
                values = _record_values(outcome, evidence_ids[pair])
                digest = content_hash(values)
                if current is None:
                    new_rows.append({**values, "student_id": student_id, "district_id": district_id,
                                     "competency_id": competency_id, "input_hash": digest,
                                     "computed_at": now})
                    result.inserted += 1
                elif current.input_hash != digest:
                    for name, value in values.items():
                        setattr(current, name, value)
                    current.input_hash = digest
                    current.computed_at = utcnow()
                    result.updated += 1
                else:
                    result.unchanged += 1
                    continue
                result.changed_pairs.add(pair)
        if new_rows:  # a plain executemany: no ORM objects, no ids to read back
            session.execute(insert(m.MasteryRecord), new_rows)
    session.flush()
    return result


def _record_values(outcome: MasteryResult, ids: dict[str, int]) -> dict[str, object]:
    return {
        "state": outcome.state.value,
        "level_code": outcome.level_code,
        "level_label": outcome.level_label,
        "score": outcome.score,
        "proficient": outcome.proficient,
        "method": outcome.method,
        "parameters": dict(outcome.parameters),
        "evidence_ids": [ids[key] for key in outcome.evidence_keys],
        "evidence_count": len(outcome.evidence_keys),
        "highest_dok": outcome.highest_dok,
        "steps": [{"code": s.code, "message": s.message} for s in outcome.steps],
        "explanation": outcome.explanation,
        "engine_version": outcome.engine_version,
        "policy_version": outcome.policy_version,
        "achieved_at": outcome.achieved_at,
    }


def _policies_by_competency(session: Session, settings: Settings) -> dict[int, MasteryPolicy]:
    keys = dict(session.execute(select(m.Framework.id, m.Framework.key)).all())
    return {
        cid: settings.district.mastery.for_framework(keys.get(fid) or "")
        for cid, fid in session.execute(select(m.Competency.id, m.Competency.framework_id))
    }


def distribution(session: Session) -> dict[str, int]:
    """How many records sit at each level or state (for run summaries and tests)."""
    counts: Counter[str] = Counter()
    for state, level in session.execute(select(m.MasteryRecord.state, m.MasteryRecord.level_code)):
        counts[level if state == "level" and level is not None else state] += 1
    return dict(sorted(counts.items()))
