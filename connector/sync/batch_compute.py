"""Recompute many records at once through the batch path (``connector.mastery.batch``).

Used by the mastery step for pairs whose policy the batch path covers and that
carry no teacher override; the rest go through the scalar engine. Evidence is
read as columns (:mod:`connector.sync.bulk_io`) a bounded slice at a time, and a
record is rewritten only when its input digest changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector import ENGINE_VERSION
from connector.domain.scale import ProficiencyScale
from connector.mastery import batch, batch_text
from connector.mastery.policy import MasteryPolicy
from connector.mastery.record import context_word
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.persistence.tenancy import session_district
from connector.sync import bulk_io
from connector.sync.bulk_io import SHIFT
from connector.sync.util import chunks

Pair = tuple[int, int]
T = TypeVar("T")
#: Below this many eligible pairs the scalar engine is as quick and the batch path not worth it.
MIN_PAIRS = 100
#: Students per read: bounds memory (about 400 rows of evidence per student at 40 competencies).
STUDENTS_PER_CHUNK = 5000
#: Up to this many pairs are read by listing them; more, by ranges of students.
PAIRS_BY_LIST = 20_000
#: Evidence rows per read at most (one student's or pair's rows are never split): about what
#: 5,000 students of 40 competencies hold, so districts without heavy adaptive data read as before.
EVIDENCE_PER_READ = 2_000_000


class Counts:
    """What the batch path did, added into the step's ComputeResult by the caller."""

    def __init__(self) -> None:
        self.computed = self.inserted = self.updated = self.unchanged = 0
        self.codes: set[int] = set()  # pair codes of the records written
        self.changed: set[Pair] = set()


def eligible_pairs(session: Session, pairs: Iterable[Pair],
                   policies: Mapping[int, MasteryPolicy]) -> set[Pair]:
    """Pairs the batch path can compute: a batchable policy and no active override."""
    overridden = {(s, c) for s, c in session.execute(
        select(m.MasteryOverride.student_id, m.MasteryOverride.competency_id)
        .where(m.MasteryOverride.cleared_at.is_(None)))}
    found = {p for p in pairs if p not in overridden and p[1] in policies
             and batch.batchable(policies[p[1]])}
    return found if len(found) >= MIN_PAIRS else set()


def recompute(session: Session, pairs: set[Pair], *, scale: ProficiencyScale,
              policies: Mapping[int, MasteryPolicy], target: Mapping[int, int | None],
              scale_hash: str, committed: bool = False) -> tuple[Counts, set[Pair]]:
    """Compute and write these pairs; returns the counts and the pairs that had evidence.

    ``committed`` says the evidence these pairs read is committed, so SQLite may read
    it on a separate, faster connection (see :mod:`connector.sync.bulk_io`).
    """
    counts = Counts()
    handled: set[int] = set()  # pair codes
    district_id = session_district(session)
    wanted = np.array(sorted(s * SHIFT + c for s, c in pairs), dtype=np.int64)
    for table in _reads(session, district_id, pairs, committed):
        cols, competency, row_words = bulk_io.columns(table, session, district_id)
        keep = np.isin(cols.pair, wanted)
        if not keep.all():
            rows = np.flatnonzero(keep)
            cols, competency, row_words = (batch.subset(cols, rows), competency[rows],
                                           row_words[rows])
        if not len(cols):
            continue
        present = np.unique(cols.pair)
        students = sorted(set((present // SHIFT).tolist()))
        listed = None if len(pairs) > PAIRS_BY_LIST else [
            (code // SHIFT, code % SHIFT) for code in present.tolist()]
        existing = bulk_io.existing(session, district_id, students, listed)
        known = np.array(sorted(s * SHIFT + c for s, c in existing), dtype=np.int64)
        known_id = np.array([existing[(k // SHIFT, k % SHIFT)][0] for k in known.tolist()],
                            dtype=np.int64)
        known_digest = np.array([existing[(k // SHIFT, k % SHIFT)][1] for k in known.tolist()],
                                dtype=object)
        postgres = session.get_bind().dialect.name == "postgresql"
        now = utcnow()
        stamp = now.isoformat() if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")
        inserts: list[tuple[Any, ...]] = []
        replaced: list[int] = []
        for competency_id in np.unique(competency).tolist():
            rows = np.flatnonzero(competency == competency_id)
            sub = batch.subset(cols, rows)
            policy = policies[competency_id]
            out = batch.compute(sub, scale=scale, policy=policy,
                                target_dok=target.get(competency_id))
            digests = batch.digests(out, row_words[rows], context_word(
                ENGINE_VERSION, policy.version, target.get(competency_id), scale_hash, ""))
            handled.update(out.pairs.tolist())
            at = np.searchsorted(known, out.pairs)
            found = at < len(known)
            found[found] = known[at[found]] == out.pairs[found]
            same = found.copy()
            same[found] = known_digest[at[found]] == np.array(digests, dtype=object)[found]
            write = ~same
            counts.computed += len(out.pairs)
            counts.unchanged += int(same.sum())
            counts.inserted += int((~found).sum())
            counts.updated += int((found & ~same).sum())
            replaced += known_id[at[found & ~same]].tolist()
            counts.codes.update(out.pairs[write].tolist())
            if write.any():
                text = batch_text.record_text(out, sub, scale=scale, policy=policy,
                                              target_dok=target.get(competency_id))
                inserts += bulk_io.record_rows(district_id, policy.method, policy.version,
                                               ENGINE_VERSION, text, write, digests, stamp,
                                               postgres)
        bulk_io.write(session, district_id, inserts, replaced)
    session.flush()
    counts.changed = {(code // SHIFT, code % SHIFT) for code in counts.codes}
    return counts, {(code // SHIFT, code % SHIFT) for code in handled}


def _reads(session: Session, district_id: int, pairs: set[Pair], committed: bool
           ) -> Iterator[pa.Table]:
    """Evidence tables, a bounded slice at a time: student ranges for large sets, else pairs.

    Slices are cut by evidence rows, not only by students or pairs: a year of daily
    adaptive practice gives some students thousands of pieces, and one slice must
    never hold them all.
    """
    if len(pairs) > PAIRS_BY_LIST:
        students = sorted({s for s, _ in pairs})
        per_student: dict[int, int] = defaultdict(int)
        for (student, _), count in _evidence_counts(session, students).items():
            per_student[student] += count
        ranges = [(group[0], group[-1]) for group in packed(
            students, per_student, EVIDENCE_PER_READ, STUDENTS_PER_CHUNK)]
        yield from bulk_io.read_ranges(session, district_id, ranges, committed=committed)
        return
    ordered = sorted(pairs)
    counts = _evidence_counts(session, sorted({s for s, _ in ordered}))
    for listed in packed(ordered, counts, EVIDENCE_PER_READ, 5000):
        table = bulk_io.read_pairs(session, district_id, listed)
        if table is not None:
            yield table


def _evidence_counts(session: Session, students: list[int]) -> dict[Pair, int]:
    counts: dict[Pair, int] = {}
    for chunk in chunks(students, 500):
        for student, competency, count in session.execute(
                select(m.Evidence.student_id, m.Evidence.competency_id, func.count())
                .where(m.Evidence.student_id.in_(list(chunk)))
                .group_by(m.Evidence.student_id, m.Evidence.competency_id)):
            counts[(student, competency)] = count
    return counts


def packed(items: list[T], weight: Mapping[T, int], budget: int, most: int) -> Iterator[list[T]]:
    """Consecutive groups of ``items`` of at most ``most`` items and about ``budget`` weight.

    An item heavier than the budget makes a group of its own.

    >>> list(packed([1, 2, 3, 4], {1: 5, 2: 5, 3: 9, 4: 1}, budget=10, most=3))
    [[1, 2], [3, 4]]
    """
    group: list[T] = []
    total = 0
    for item in items:
        cost = weight.get(item, 0)
        if group and (total + cost > budget or len(group) >= most):
            yield group
            group, total = [], 0
        group.append(item)
        total += cost
    if group:
        yield group
