"""The policy lab: every learning target's record under another policy, computed, never written.

The district's settings are copied with the change (the district policy, or one
framework's); each record a recompute would rewrite from evidence is computed under
the copy by the same paths a recompute takes (the batch engine for what it covers,
the scalar engine for the rest: missing work, and policies the batch path does not
compute) and compared with the record held now. Records a teacher's override holds
are counted apart; roll-up parents are outside the comparison (they follow their
learning targets). Nothing is written: the lab reads, so it may run beside a sync.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import ENGINE_VERSION
from connector.config.model import Settings
from connector.errors import DataError, MasteryError
from connector.mastery import batch
from connector.mastery.engine import compute_mastery
from connector.mastery.policy_compare import (
    STATES,
    Comparison,
    Pair,
    Records,
    Shown,
    compare,
    described,
)
from connector.mastery.policy_compare import crossings as listed
from connector.mastery.registry import get_method
from connector.persistence import bulk_io
from connector.persistence import models as m
from connector.persistence.bulk_io import SHIFT
from connector.persistence.tenancy import session_district
from connector.sync import batch_compute, compute, rollups
from connector.sync.util import chunks

#: The settings a lab run may change, as the policy names them.
CHANGEABLE = ("method", "parameters", "min_evidence", "dok_gate")


@dataclass
class LabResult:
    comparison: Comparison
    settings: Settings        # the district's settings with the change: what a recompute uses
    framework: str            # the framework whose policy changed; "" for the district's
    students: dict[int, str]  # student row id -> SIS id, for the crossings
    codes: dict[int, str]     # competency id -> code
    school_names: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def scope(self) -> str:
        return f"framework {self.framework}" if self.framework else "the district policy"


def changes_from_text(settings: Settings, *, framework: str = "", method: str = "",
                      parameters: Mapping[str, str] | None = None, min_evidence: str = "",
                      dok_gate: str = "") -> dict[str, Any]:
    """The change as a person typed it (a form, the command line), checked and typed.

    Blank means "as now". Parameters are read for the method chosen, or for the
    current one when only its parameters change.
    """
    base = _policy(settings, framework)
    changes: dict[str, Any] = {}
    if method.strip():
        changes["method"] = method.strip()
    given = {k: v for k, v in (parameters or {}).items() if str(v).strip()}
    try:
        if given or "method" in changes:
            changes["parameters"] = get_method(changes.get("method", base.method)).parse(given)
    except MasteryError as exc:
        raise DataError(exc.message) from None
    if str(min_evidence).strip():
        try:
            changes["min_evidence"] = int(str(min_evidence).strip())
        except ValueError:
            raise DataError(f"the minimum evidence count is a whole number: "
                            f"{str(min_evidence)[:20]!r}") from None
    if dok_gate.strip():
        if dok_gate.strip() not in ("on", "off"):
            raise DataError(f"the DOK gate is on or off: {dok_gate[:20]!r}")
        changes["dok_gate"] = dok_gate.strip() == "on"
    return changes


def with_change(settings: Settings, changes: Mapping[str, Any], framework: str = "") -> Settings:
    """The district's settings with ``changes`` applied to its policy or one framework's.

    DataError, saying which setting, when the change is not a policy.
    """
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise DataError(f"the lab changes {', '.join(CHANGEABLE)}: not {', '.join(unknown)}")
    if not changes:
        raise DataError("choose something to change: a method, its parameters, a minimum "
                        "evidence count or the DOK gate")
    mastery = settings.district.mastery
    try:
        if framework:
            known = {f.key for f in settings.district.frameworks}
            if framework not in known:
                raise DataError(f"no framework {framework!r}; the frameworks are "
                                f"{', '.join(sorted(known))}")
            overrides = {**mastery.overrides,
                         framework: mastery.for_framework(framework).merged(changes)}
            mastery = dataclasses.replace(mastery, overrides=overrides)
        else:
            mastery = dataclasses.replace(mastery, default=mastery.default.merged(changes))
    except MasteryError as exc:
        raise DataError(exc.message) from None
    district = dataclasses.replace(settings.district, mastery=mastery)
    return dataclasses.replace(settings, district=district)


def run_lab(session: Session, settings: Settings, changes: Mapping[str, Any],
            framework: str = "") -> LabResult:
    """Compare the records held now with those the changed policy would give (read-only)."""
    changed = with_change(settings, changes, framework)
    scale = settings.district.scale
    try:
        policies = compute.policies_by_competency(session, changed)
    except MasteryError as exc:
        raise DataError(exc.message) from None
    tree = rollups.hierarchy(session, settings)
    leaves = {cid for cid in policies if cid not in tree.rules}
    target = dict(session.execute(select(m.Competency.id, m.Competency.target_dok)).all())
    codes = {cid: code or str(cid) for cid, code in session.execute(
        select(m.Competency.id, m.Competency.human_coding_scheme))}
    overridden = np.unique(np.array([s * SHIFT + c for s, c in session.execute(
        select(m.MasteryOverride.student_id, m.MasteryOverride.competency_id)
        .where(m.MasteryOverride.cleared_at.is_(None))) if c in leaves], dtype=np.int64))
    level_codes = [lv.code for lv in scale.levels]
    # Reading the evidence is most of the time. On SQLite a helper process reads it
    # ahead, so start it, then read the records held and the missing work meanwhile.
    tables = _evidence(session)
    first = next(tables, None)
    missing = np.unique(np.array([s * SHIFT + c for s, c in session.execute(
        select(m.Evidence.student_id, m.Evidence.competency_id)
        .where(m.Evidence.missing.is_(True)).distinct())], dtype=np.int64))
    before = _held(session, leaves, overridden, level_codes)
    after, left = _by_batch(session, itertools.chain([first] if first is not None else [],
                                                     tables),
                            policies, leaves, target, scale, np.union1d(overridden, missing))
    scalar = _by_engine(session, set(left.tolist()) - set(overridden.tolist()), policies,
                        target, scale, level_codes)
    after = _joined(after, scalar)
    students = dict(session.execute(select(m.Student.id, m.Student.sourced_id)).all())
    schools = dict(session.execute(select(m.Student.id, m.Student.school_sourced_id)).all())
    result = compare(before, after, schools, level_codes, overridden)
    names = dict(session.execute(select(m.Organisation.sourced_id, m.Organisation.name)).all())
    return LabResult(result, changed, framework, students, codes, names)


def _joined(*parts: Records) -> Records:
    """Record columns from several parts, in pair order."""
    codes = np.concatenate([p.codes for p in parts])
    order = np.argsort(codes, kind="stable")
    return Records(codes[order], np.concatenate([p.state for p in parts])[order],
                   np.concatenate([p.level for p in parts])[order],
                   np.concatenate([p.proficient for p in parts])[order])


def _held(session: Session, leaves: set[int], overridden: Any,
          level_codes: list[str]) -> Records:
    """The learning targets' records held now, as columns (overridden pairs left out)."""
    # The driver's rows, not the ORM's: a large district holds a million records.
    rows = bulk_io.driver_rows(session, "SELECT student_id, competency_id, state, level_code,"
                               " proficient FROM mastery_record WHERE district_id = ?",
                               session_district(session))
    if not rows:
        return Records(*(np.zeros(0, dtype=k) for k in (np.int64, np.int16, np.int16, bool)))
    student, competency, state, level, proficient = zip(*rows, strict=True)
    codes = np.array(student, dtype=np.int64) * SHIFT + np.array(competency, dtype=np.int64)
    states = {name: n for n, name in enumerate(STATES)}
    levels = {code: n for n, code in enumerate(level_codes)}
    keep = np.isin(np.array(competency), sorted(leaves)) & ~np.isin(codes, overridden)
    held = Records(codes, np.array([states.get(s, 0) for s in state], dtype=np.int16),
                   np.array([levels.get(x or "", -1) for x in level], dtype=np.int16),
                   np.array(proficient, dtype=bool))
    return _joined(Records(held.codes[keep], held.state[keep], held.level[keep],
                           held.proficient[keep]))


def _evidence(session: Session) -> Iterator[Any]:
    """Every student's evidence, a slice of students at a time (a generator: lazy)."""
    students = list(session.scalars(select(m.Student.id).order_by(m.Student.id)))
    ranges = [(chunk[0], chunk[-1])
              for chunk in chunks(students, batch_compute.STUDENTS_PER_CHUNK)]
    # The lab writes nothing, so what it reads is committed: SQLite may read it on the
    # faster separate connection a recompute uses.
    yield from bulk_io.read_ranges(session, session_district(session), ranges, committed=True)


def _by_batch(session: Session, tables: Iterable[Any], policies: Mapping[int, Any],
              leaves: set[int], target: Mapping[int, int | None], scale: Any, excluded: Any
              ) -> tuple[Records, Any]:
    """The batch engine's result for every pair it covers, read a slice of students at a time.

    Returns the records and the pair codes it left to the scalar engine: missing work,
    and competencies whose changed policy the batch path does not compute.
    """
    district_id = session_district(session)
    proficient = np.array([scale.is_proficient(lv) for lv in scale.levels], dtype=bool)
    states = np.zeros(max(batch.LEVEL, batch.NOT_YET, batch.INSUFFICIENT) + 1, dtype=np.int16)
    states[batch.LEVEL] = STATES.index("level")
    states[batch.NOT_YET] = STATES.index("not_yet")
    states[batch.INSUFFICIENT] = STATES.index("insufficient_evidence")
    batchable = sorted(c for c in leaves if batch.batchable(policies[c]))
    parts: list[Records] = []
    left: list[Any] = []
    for table in tables:
        cols, competency, _ = bulk_io.columns(table, session, district_id)
        leaf = np.isin(competency, sorted(leaves))
        keep = leaf & np.isin(competency, batchable) & ~np.isin(cols.pair, excluded)
        left.append(np.unique(cols.pair[leaf & ~keep]))
        rows = np.flatnonzero(keep)
        cols, competency = batch.subset(cols, rows), competency[rows]
        for competency_id in np.unique(competency).tolist():
            found = batch.compute(batch.subset(cols, np.flatnonzero(competency == competency_id)),
                                  scale=scale, policy=policies[competency_id],
                                  target_dok=target.get(competency_id))
            level = found.level.astype(np.int16)
            parts.append(Records(found.pairs.astype(np.int64), states[found.state], level,
                                 (level >= 0) & proficient[np.maximum(level, 0)]))
    empty = Records(*(np.zeros(0, dtype=k) for k in (np.int64, np.int16, np.int16, bool)))
    return _joined(empty, *parts), (np.unique(np.concatenate(left)) if left
                                     else np.zeros(0, dtype=np.int64))


def _by_engine(session: Session, pairs: set[int], policies: Mapping[int, Any],
               target: Mapping[int, int | None], scale: Any, level_codes: list[str]
               ) -> Records:
    """The scalar engine's result for the pairs the batch path leaves (as a recompute does)."""
    found: dict[Pair, Shown] = {}
    for chunk in compute.pair_chunks((code // SHIFT, code % SHIFT) for code in pairs):
        evidence, _, _ = compute._read_evidence(session, chunk)
        for student_id, competency_id in chunk:
            pieces = evidence.get((student_id, competency_id), [])
            policy = policies[competency_id]
            if not pieces or (policy.missing_work == "ignore"
                              and all(p.missing for p in pieces)):
                continue  # no record, as a recompute would leave none
            result = compute_mastery(pieces, scale=scale, policy=policy,
                                     target_dok=target.get(competency_id),
                                     engine_version=ENGINE_VERSION)
            found[(student_id, competency_id)] = (
                str(getattr(result.state, "value", result.state)), result.level_code,
                bool(result.proficient))
    return Records.of(found, level_codes)

def lab_report(result: LabResult, settings: Settings, *, crossings: int | None = None
               ) -> dict[str, Any]:
    """The comparison as plain data: what the page, the command and its JSON show.

    ``crossings`` lists that many of the records crossing Proficient (all when None);
    ``crossing_count`` is how many there are.
    """
    c = result.comparison
    scale = settings.district.scale
    labels = {lv.code: lv.label for lv in scale.levels} | dict(scale.state_labels)
    names = result.school_names
    by_competency: list[dict[str, Any]] = sorted(
        ({"competency": result.codes.get(cid, str(cid)), **e.as_dict()}
         for cid, e in c.by_competency.items()),
        key=lambda r: (-int(r["changed"]), str(r["competency"])))
    by_school = sorted(({"school": names.get(sid, sid or "no school"), **e.as_dict()}
                        for sid, e in c.by_school.items()), key=lambda r: str(r["school"]))
    shown = [{"student": result.students.get(pair[0], str(pair[0])),
              "competency": result.codes.get(pair[1], str(pair[1])),
              "now": described(was, labels), "would_be": described(will, labels),
              "into_proficient": will[2]}
             for pair, was, will in listed(c, crossings)]
    return {"scope": result.scope, "changes": _said(result, settings),
            "total": c.total.as_dict(), "kept_by_override": c.kept_by_override,
            "by_competency": by_competency, "by_school": by_school,
            "crossing_count": len(c.crossing_codes), "crossings": shown}

def _said(result: LabResult, settings: Settings) -> list[str]:
    before = _policy(settings, result.framework)
    after = _policy(result.settings, result.framework)
    out = []
    for name in CHANGEABLE:
        was, will = getattr(before, name), getattr(after, name)
        if was != will:
            out.append(f"{name} {_value(was)} -> {_value(will)}")
    return out or ["nothing (the same policy)"]


def _policy(settings: Settings, framework: str) -> Any:
    """The policy a lab run changes: one framework's, or the district's."""
    mastery = settings.district.mastery
    return mastery.for_framework(framework) if framework else mastery.default


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) + "}"
    return "on" if value is True else "off" if value is False else str(value)

