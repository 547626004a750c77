"""Roll-up records: parents computed from their children's records, deepest first.

A parent with a roll-up rule (district.yaml ``rollups``) gets its record from its
children's records rather than from evidence aligned to it directly; such
evidence is kept and named in the explanation. Whenever a child's record is
recomputed, its ancestors are too, deepest first, so a learning target's new
level reaches its measurement topic and competency in the same step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.mastery.rollup import ChildResult, RollupRule
from connector.persistence import models as m

Pair = tuple[int, int]


@dataclass
class Hierarchy:
    """The competency tree with the rule of every rolled-up parent."""

    parent: dict[int, int] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    depth: dict[int, int] = field(default_factory=dict)
    rules: dict[int, RollupRule] = field(default_factory=dict)

    def ancestors(self, competency_id: int) -> list[int]:
        found = []
        current = self.parent.get(competency_id)
        while current is not None and current not in found:
            found.append(current)
            current = self.parent.get(current)
        return found


def hierarchy(session: Session, settings: Settings) -> Hierarchy:
    """Parent links of the live competencies, and which parents roll up by which rule."""
    frameworks = dict(session.execute(select(m.Framework.id, m.Framework.key)).all())
    rows = session.execute(select(
        m.Competency.id, m.Competency.identifier, m.Competency.human_coding_scheme,
        m.Competency.parent_identifier, m.Competency.framework_id, m.Competency.depth,
        m.Competency.deprecated)).all()
    by_identifier = {r.identifier: r.id for r in rows}
    tree = Hierarchy()
    for r in rows:
        tree.depth[r.id] = r.depth
        parent = by_identifier.get(r.parent_identifier) if r.parent_identifier else None
        if parent is not None and not r.deprecated:
            tree.parent[r.id] = parent
            tree.children[parent].append(r.id)
    for r in rows:
        if tree.children.get(r.id) and not r.deprecated:
            rule = settings.district.rollups.rule_for(frameworks.get(r.framework_id) or "",
                                                      r.identifier, r.human_coding_scheme)
            if rule is not None:
                tree.rules[r.id] = rule
    return tree


def parents_to_compute(tree: Hierarchy, pairs: Iterable[Pair]) -> set[Pair]:
    """The rolled-up parents among ``pairs`` and every rolled-up ancestor of them."""
    out: set[Pair] = set()
    if not tree.rules:
        return out
    for student_id, competency_id in pairs:
        if competency_id in tree.rules:
            out.add((student_id, competency_id))
        out.update((student_id, a) for a in tree.ancestors(competency_id) if a in tree.rules)
    return out


def children_results(session: Session, tree: Hierarchy, student_ids: Iterable[int],
                     competencies: Iterable[int] | None = None) -> dict[Pair, ChildResult]:
    """Current records of these students as roll-up inputs, keyed by (student, competency).

    ``competencies``: only the records of these (the children of the parents asked for),
    not all of a student's.
    """
    codes = dict(session.execute(select(m.Competency.id, m.Competency.human_coding_scheme)).all())
    identifiers = dict(session.execute(select(m.Competency.id, m.Competency.identifier)).all())
    out: dict[Pair, ChildResult] = {}
    ids = sorted(set(student_ids))
    r = m.MasteryRecord
    # The columns a roll-up reads, not whole records: their explanations are most of a
    # record's bytes, and decoding them was most of the roll-up step's time.
    only = [] if competencies is None else [r.competency_id.in_(sorted(set(competencies)))]
    for start in range(0, len(ids), 500):
        for student, competency, state, level, proficient, achieved, since, first, digest in \
                session.execute(select(r.student_id, r.competency_id, r.state, r.level_code,
                                       r.proficient, r.achieved_at, r.proficient_since,
                                       r.first_evidence_at, r.input_hash)
                                .where(r.student_id.in_(ids[start:start + 500]), *only)):
            out[(student, competency)] = ChildResult(
                identifier=identifiers[competency], code=codes.get(competency) or "",
                state=state, level_code=level, proficient=proficient, achieved_at=achieved,
                proficient_since=since, first_evidence_at=first, input_hash=digest)
    return out


def direct_evidence(session: Session, pairs: Iterable[Pair]) -> dict[Pair, int]:
    """How many pieces of evidence are aligned to these parents themselves (kept, not used)."""
    wanted = set(pairs)
    if not wanted:
        return {}
    students = sorted({s for s, _ in wanted})
    parents = sorted({c for _, c in wanted})  # evidence on a parent itself is rare
    counts: dict[Pair, int] = {}
    for start in range(0, len(students), 500):
        for s, c, n in session.execute(
                select(m.Evidence.student_id, m.Evidence.competency_id, func.count())
                .where(m.Evidence.student_id.in_(students[start:start + 500]),
                       m.Evidence.competency_id.in_(parents),
                       m.Evidence.missing.is_(False))
                .group_by(m.Evidence.student_id, m.Evidence.competency_id)):
            if (s, c) in wanted:
                counts[(s, c)] = n
    return counts
