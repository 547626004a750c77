"""Recompute many records at once through the batch path (``connector.mastery.batch``).

Used by the mastery step for pairs whose policy the batch path covers and that
carry no teacher override; the rest go through the scalar engine. Evidence is
read as columns (:mod:`connector.persistence.bulk_io`) a bounded slice at a time, and a
record is rewritten only when its input digest changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import ENGINE_VERSION
from connector.domain.scale import ProficiencyScale
from connector.mastery import batch
from connector.mastery.policy import MasteryPolicy
from connector.mastery.record import context_word
from connector.persistence import batch_text, bulk_io
from connector.persistence import models as m
from connector.persistence.bulk_io import SHIFT
from connector.persistence.models import utcnow
from connector.persistence.tenancy import session_district
from connector.sync.util import chunks

Pair = tuple[int, int]
#: Below this many eligible pairs the scalar engine is as quick and the batch path not worth it.
MIN_PAIRS = 100
#: Students per read: bounds memory (about 400 rows of evidence per student at 40 competencies).
STUDENTS_PER_CHUNK = 5000
#: Up to this many pairs are read by listing them; more, by ranges of students.
PAIRS_BY_LIST = 20_000


class Counts:
    """What the batch path did, added into the step's ComputeResult by the caller."""

    def __init__(self) -> None:
        self.computed = self.inserted = self.updated = self.unchanged = 0
        self.codes: set[int] = set()  # pair codes of the records written
        self.changed: set[Pair] = set()


def eligible_pairs(session: Session, pairs: Iterable[Pair],
                   policies: Mapping[int, MasteryPolicy]) -> set[Pair]:
    """Pairs the batch path can compute: a batchable policy, no active override, no missing work.

    Missing work is a few pairs in a hundred; the scalar engine applies its rule.
    """
    overridden = {(s, c) for s, c in session.execute(
        select(m.MasteryOverride.student_id, m.MasteryOverride.competency_id)
        .where(m.MasteryOverride.cleared_at.is_(None)))}
    overridden.update((s, c) for s, c in session.execute(
        select(m.Evidence.student_id, m.Evidence.competency_id)
        .where(m.Evidence.missing.is_(True)).distinct()))
    found = {p for p in pairs if p not in overridden and p[1] in policies
             and batch.batchable(policies[p[1]])}
    return found if len(found) >= MIN_PAIRS else set()


def recompute(session: Session, pairs: set[Pair], *, scale: ProficiencyScale,
              policies: Mapping[int, MasteryPolicy], target: Mapping[int, int | None],
              scale_hash: str, committed: bool = False) -> tuple[Counts, set[Pair]]:
    """Compute and write these pairs; returns the counts and the pairs that had evidence.

    ``committed`` says the evidence these pairs read is committed, so SQLite may read
    it on a separate, faster connection (see :mod:`connector.persistence.bulk_io`).
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
    """Evidence tables, a bounded slice at a time: student ranges for large sets, else pairs."""
    if len(pairs) > PAIRS_BY_LIST:
        students = sorted({s for s, _ in pairs})
        ranges = [(chunk[0], chunk[-1]) for chunk in chunks(students, STUDENTS_PER_CHUNK)]
        yield from bulk_io.read_ranges(session, district_id, ranges, committed=committed)
        return
    for listed in chunks(sorted(pairs), 5000):
        table = bulk_io.read_pairs(session, district_id, listed)
        if table is not None:
            yield table
