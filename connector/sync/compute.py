"""The mastery step: recompute only the student x competency pairs whose inputs changed.

A pair is recomputed when its evidence changed, when a teacher overrode it, or
when its record was computed under another policy or engine version. A
recomputation that gives the same answer writes nothing, so a rerun reports
zero changes. A teacher's active override stays authoritative through every
recomputation; the engine's result is kept beside it as the suggestion.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from connector import ENGINE_VERSION
from connector.config.model import Settings
from connector.domain.evidence import DecisionCode, EvidencePiece, MasteryResult
from connector.domain.hashing import content_hash
from connector.domain.scale import MasteryState, ProficiencyScale
from connector.mastery.engine import compute_mastery
from connector.mastery.policy import MasteryPolicy
from connector.mastery.record import (
    context_word,
    evidence_word,
    input_digest,
    override_decision,
    result_rows,
    rollup_digest,
)
from connector.mastery.rollup import roll_up
from connector.persistence import models as m
from connector.persistence.bulk_insert import insert_rows
from connector.persistence.models import utcnow
from connector.sync import batch_compute, rollups
from connector.sync.util import chunks

Pair = tuple[int, int]


@dataclass
class ComputeResult:
    computed: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    changed_pairs: set[Pair] = field(default_factory=set)


def policies_by_competency(session: Session, settings: Settings) -> dict[int, MasteryPolicy]:
    """Each competency's policy: district, then framework, then competency settings."""
    keys = dict(session.execute(select(m.Framework.id, m.Framework.key)).all())
    mastery = settings.district.mastery
    return {
        cid: mastery.for_competency(keys.get(fid) or "", identifier, code)
        for cid, fid, identifier, code in session.execute(select(
            m.Competency.id, m.Competency.framework_id, m.Competency.identifier,
            m.Competency.human_coding_scheme))
    }


def outdated_pairs(session: Session, settings: Settings) -> set[Pair]:
    """Pairs whose record was computed under another policy, roll-up rule or engine version."""
    versions = {cid: p.version for cid, p in policies_by_competency(session, settings).items()}
    versions.update({cid: r.version for cid, r in rollups.hierarchy(session, settings).rules.items()})
    stale = set()
    for student_id, competency_id, policy_version, engine in session.execute(select(
            m.MasteryRecord.student_id, m.MasteryRecord.competency_id,
            m.MasteryRecord.policy_version, m.MasteryRecord.engine_version)):
        if engine != ENGINE_VERSION or versions.get(competency_id) != policy_version:
            stale.add((student_id, competency_id))
    return stale


def pairs_of_competencies(session: Session, identifiers: Iterable[str]) -> set[Pair]:
    """Every pair with evidence or a record on these competencies (e.g. their target DOK moved)."""
    pairs: set[Pair] = set()
    for chunk in chunks(sorted(identifiers)):
        ids = select(m.Competency.id).where(m.Competency.identifier.in_(chunk))
        pairs.update((s, c) for s, c in session.execute(
            select(m.Evidence.student_id, m.Evidence.competency_id)
            .where(m.Evidence.competency_id.in_(ids)).distinct()))
        pairs.update((s, c) for s, c in session.execute(
            select(m.MasteryRecord.student_id, m.MasteryRecord.competency_id)
            .where(m.MasteryRecord.competency_id.in_(ids))))
    return pairs


def all_pairs(session: Session) -> set[Pair]:
    """Every pair with evidence, a record or an active override (roll-ups follow their children)."""
    pairs: set[Pair] = {
        (s, c) for s, c in session.execute(
            select(m.Evidence.student_id, m.Evidence.competency_id).distinct())}
    pairs.update((s, c) for s, c in session.execute(
        select(m.MasteryRecord.student_id, m.MasteryRecord.competency_id)))
    pairs.update((s, c) for s, c in session.execute(
        select(m.MasteryOverride.student_id, m.MasteryOverride.competency_id)
        .where(m.MasteryOverride.cleared_at.is_(None))))
    return pairs


def recompute(session: Session, settings: Settings, pairs: Iterable[Pair], *,
              committed: bool = False) -> ComputeResult:
    """Recompute these pairs, then every rolled-up parent above them, and write what changed.

    ``committed``: the evidence read is committed (the sync's mastery step), which lets
    the batch path read it on a faster, separate connection.
    """
    wanted = set(pairs)
    tree = rollups.hierarchy(session, settings)
    result = ComputeResult()
    _recompute_from_evidence(session, settings, {p for p in wanted if p[1] not in tree.rules},
                             result, committed)
    _recompute_rollups(session, settings, tree, rollups.parents_to_compute(tree, wanted), result)
    return result


def _recompute_from_evidence(session: Session, settings: Settings, pairs: set[Pair],
                             result: ComputeResult, committed: bool) -> None:
    scale = settings.district.scale
    policies = policies_by_competency(session, settings)
    record_policy_versions(session, [(p.version, p.as_dict()) for p in policies.values()])
    target = dict(session.execute(select(m.Competency.id, m.Competency.target_dok)).all())
    scale_hash = content_hash(scale)
    eligible = batch_compute.eligible_pairs(session, pairs, policies)
    if eligible:
        counts, handled = batch_compute.recompute(session, eligible, scale=scale,
                                                  policies=policies, target=target,
                                                  scale_hash=scale_hash, committed=committed)
        result.computed += counts.computed
        result.inserted += counts.inserted
        result.updated += counts.updated
        result.unchanged += counts.unchanged
        result.changed_pairs |= counts.changed
        pairs = pairs - handled  # pairs left without evidence are removed below
    for chunk in pair_chunks(pairs):
        students = sorted({s for s, _ in chunk})
        competencies = {c for _, c in chunk}
        evidence, ids, words = _read_evidence(session, chunk)
        writer = _Writer(session, students, result, competencies)
        for pair in chunk:
            student_id, competency_id = pair
            pieces = evidence.get(pair, [])
            policy = policies.get(competency_id)
            override = writer.overrides.get(pair)
            if policy is None or not (pieces or override) or (
                    override is None and policy.missing_work == "ignore"
                    and all(p.missing for p in pieces)):
                # Missing work alone is no evidence: no record, unless a teacher is asked
                # to look (``flag``) or it counts (``lowest_level``).
                writer.remove(pair)
                continue
            outcome = compute_mastery(pieces, scale=scale, policy=policy,
                                      target_dok=target.get(competency_id),
                                      engine_version=ENGINE_VERSION)
            digest = input_digest(
                [words[pair][k] for k in outcome.evidence_keys],
                context_word(ENGINE_VERSION, policy.version, target.get(competency_id),
                             scale_hash, override.id if override else ""))
            writer.write(pair, record_values(outcome, ids.get(pair, {}), scale, override),
                         digest)
        writer.flush()


def _recompute_rollups(session: Session, settings: Settings, tree: rollups.Hierarchy,
                       pairs: set[Pair], result: ComputeResult) -> None:
    """Parents deepest first, each reading its children's records as they now stand."""
    if not pairs:
        return
    scale = settings.district.scale
    scale_hash = content_hash(scale)
    record_policy_versions(session, [(r.version, r.as_dict()) for r in tree.rules.values()])
    for depth in sorted({tree.depth[c] for _, c in pairs}, reverse=True):
        level = sorted(p for p in pairs if tree.depth[p[1]] == depth)
        for chunk in chunks(level, 2000):
            students = sorted({s for s, _ in chunk})
            parents = {c for _, c in chunk}
            children = rollups.children_results(
                session, tree, students, {c for p in parents for c in tree.children[p]})
            direct = rollups.direct_evidence(session, chunk)
            writer = _Writer(session, students, result, parents)
            for pair in chunk:
                student_id, parent_id = pair
                found = [(c, children[(student_id, c)]) for c in tree.children[parent_id]
                         if (student_id, c) in children]
                override = writer.overrides.get(pair)
                if not found and override is None:
                    writer.remove(pair)
                    continue
                rule, total = tree.rules[parent_id], len(tree.children[parent_id])
                digest = rollup_digest(
                    [(c, child.code or child.identifier, child.input_hash) for c, child in found],
                    ENGINE_VERSION, rule.version, scale_hash, total, direct.get(pair, 0),
                    override.id if override else "")
                if writer.unchanged(pair, digest):  # the children and the rule are as they were
                    continue
                outcome = roll_up([child for _, child in found], rule, scale=scale,
                                  engine_version=ENGINE_VERSION, total_children=total,
                                  direct_evidence=direct.get(pair, 0))
                writer.write(pair, record_values(outcome, {}, scale, override), digest)
            writer.flush()


class _Writer:
    """Writes one chunk's records where their input digest changed, in two executemanys.

    Inserts go in one, updates by primary key in the other. It reads each stored
    record's id and digest, never the whole record: a record's explanation is most of
    its bytes, and loading and decoding them was most of the roll-up step's time.
    """

    def __init__(self, session: Session, students: Iterable[int], result: ComputeResult,
                 competencies: Iterable[int] | None = None) -> None:
        ids = list(students)
        only = [] if competencies is None else [
            m.MasteryRecord.competency_id.in_(sorted(set(competencies)))]
        self.session, self.result = session, result
        self.now = utcnow()
        self.overrides = {(o.student_id, o.competency_id): o for o in session.scalars(
            select(m.MasteryOverride).where(m.MasteryOverride.student_id.in_(ids),
                                            m.MasteryOverride.cleared_at.is_(None))
            .order_by(m.MasteryOverride.id))}
        r = m.MasteryRecord
        self.existing: dict[Pair, tuple[int, str]] = {
            (student, competency): (record_id, digest)
            for record_id, student, competency, digest in session.execute(
                select(r.id, r.student_id, r.competency_id, r.input_hash)
                .where(r.student_id.in_(ids), *only))}
        self.new_rows: list[dict[str, Any]] = []
        self.changed_rows: list[dict[str, Any]] = []

    def remove(self, pair: Pair) -> None:
        current = self.existing.get(pair)
        if current is not None:
            self.session.execute(delete(m.MasteryRecord).where(m.MasteryRecord.id == current[0]))
            self.result.removed += 1
            self.result.changed_pairs.add(pair)

    def unchanged(self, pair: Pair, digest: str) -> bool:
        """The stored record has this digest: counted as computed and unchanged."""
        current = self.existing.get(pair)
        if current is None or current[1] != digest:
            return False
        self.result.computed += 1
        self.result.unchanged += 1
        return True

    def write(self, pair: Pair, values: dict[str, Any], digest: str) -> None:
        """Insert or update ``values`` unless the stored record has the same ``digest``."""
        self.result.computed += 1
        current = self.existing.get(pair)
        if current is None:
            self.new_rows.append({**values, "student_id": pair[0], "competency_id": pair[1],
                                  "input_hash": digest, "computed_at": self.now})
            self.result.inserted += 1
        elif current[1] != digest:
            self.changed_rows.append({**values, "id": current[0], "input_hash": digest,
                                      "computed_at": self.now})
            self.result.updated += 1
        else:
            self.result.unchanged += 1
            return
        self.result.changed_pairs.add(pair)

    def flush(self) -> None:
        self.session.flush()
        insert_rows(self.session, m.MasteryRecord, self.new_rows)  # COPY on PostgreSQL
        if self.changed_rows:
            # ORM bulk UPDATE by primary key: one executemany per set of columns. Records
            # this session loaded before are expired, so nothing reads the old values.
            self.session.execute(update(m.MasteryRecord), self.changed_rows)
            self.session.expire_all()


def pair_chunks(pairs: Iterable[Pair], size: int = 1000) -> Iterable[Sequence[Pair]]:
    """Pairs in chunks of one or two competencies' students, for :func:`_read_evidence`.

    Sorted by competency, a chunk's students and competencies select almost exactly
    its pairs through the (student, competency) index.
    """
    return chunks(sorted(pairs, key=lambda p: (p[1], p[0])), size)


def _read_evidence(session: Session, pairs: Collection[Pair]
                   ) -> tuple[dict[Pair, list[EvidencePiece]], dict[Pair, dict[str, int]],
                              dict[Pair, dict[str, int]]]:
    """The evidence of these pairs, as engine input (see :func:`pair_chunks`).

    Also returns, per pair and by the piece's key, each piece's evidence id and its
    64-bit word for the input digest. Only the pairs' students and competencies are
    read: reading each student's whole evidence for a few pairs of theirs was most of
    the mastery step at 25,000 students.
    """
    wanted = set(pairs)
    evidence: dict[Pair, list[EvidencePiece]] = defaultdict(list)
    ids: dict[Pair, dict[str, int]] = defaultdict(dict)
    words: dict[Pair, dict[str, int]] = defaultdict(dict)
    e = m.Evidence
    rows = session.execute(
        select(e.id, e.student_id, e.competency_id, e.value, e.observed_at, e.dok,
               e.evidence_type, e.weight, e.source_item_id, e.attempt, e.submitted_at, e.due_at,
               e.missing, e.content_hash, m.RawScore.source_system, m.RawScore.sourced_id)
        .join(m.RawScore, m.RawScore.id == e.raw_score_id)
        .where(e.student_id.in_(sorted({s for s, _ in wanted})),
               e.competency_id.in_(sorted({c for _, c in wanted}))))
    for (eid, sid, cid, value, observed, dok, etype, weight, item, attempt, submitted, due,
         missing, digest, source, sourced_id) in rows:
        if (sid, cid) not in wanted:
            continue
        key = f"{source}:{sourced_id}"
        evidence[(sid, cid)].append(EvidencePiece(
            key=key, value=value, observed_at=observed, dok=dok, evidence_type=etype,
            weight=weight, item_key=str(item or ""), attempt=attempt, submitted_at=submitted,
            due_at=due, missing=bool(missing)))
        ids[(sid, cid)][key] = eid
        words[(sid, cid)][key] = evidence_word(digest)
    return evidence, ids, words


def record_values(outcome: MasteryResult, ids: dict[str, int], scale: ProficiencyScale,
                  override: m.MasteryOverride | None) -> dict[str, Any]:
    """What a record stores: the authoritative result, the computed one, and the reasons."""
    inputs, decisions = result_rows(outcome, ids)
    values: dict[str, Any] = {
        "state": outcome.state.value,
        "level_code": outcome.level_code,
        "level_label": outcome.level_label,
        "score": outcome.score,
        "proficient": outcome.proficient,
        "computed_state": outcome.state.value,
        "computed_level_code": outcome.level_code,
        "computed_score": outcome.score,
        "override_id": None,
        "method": outcome.method,
        "parameters": dict(outcome.parameters),
        "inputs": inputs,
        "decisions": decisions,
        "evidence_count": sum(1 for u in outcome.inputs if u.counted),
        "highest_dok": outcome.highest_dok,
        "engine_version": outcome.engine_version,
        "policy_version": outcome.policy_version,
        "first_evidence_at": outcome.first_evidence_at,
        "proficient_since": outcome.proficient_since,
        "achieved_at": outcome.achieved_at,
    }
    if override is not None:
        level = scale.level(override.level_code) if override.level_code else None
        state = MasteryState(override.state)
        values.update({
            "state": state.value,
            "level_code": level.code if level else None,
            "level_label": level.label if level else scale.state_label(state),
            "score": level.value if level else None,
            "proficient": level is not None and scale.is_proficient(level),
            "override_id": override.id,
            "achieved_at": override.created_at if level else outcome.achieved_at,
            "proficient_since": (outcome.proficient_since or override.created_at)
            if level is not None and scale.is_proficient(level) else None,
        })
        values["decisions"] = [*decisions, {"code": DecisionCode.OVERRIDE, **override_decision(
            state=state.value, level_code=override.level_code, reason=override.reason,
            by=override.author, at=override.created_at).data}]
    return values


def record_policy_versions(session: Session, versions: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Keep the rules behind every version a record can name (policies and roll-up rules)."""
    unique = dict(versions)
    known = set(session.scalars(select(m.MasteryPolicyVersion.version).where(
        m.MasteryPolicyVersion.version.in_(list(unique)))))
    for version, definition in sorted(unique.items()):
        if version not in known:
            session.add(m.MasteryPolicyVersion(version=version, definition=definition))
    session.flush()


def distribution(session: Session) -> dict[str, int]:
    """How many records sit at each level or state (for run summaries and tests)."""
    counts: Counter[str] = Counter()
    for state, level in session.execute(select(m.MasteryRecord.state, m.MasteryRecord.level_code)):
        counts[level if state == "level" and level is not None else state] += 1
    return dict(sorted(counts.items()))
