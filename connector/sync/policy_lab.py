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
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector import ENGINE_VERSION
from connector.config.model import Settings
from connector.domain.scale import MasteryState
from connector.errors import DataError, MasteryError
from connector.mastery import batch
from connector.mastery.engine import compute_mastery
from connector.mastery.policy_compare import Comparison, Pair, Shown, compare, described
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
    scope: str                # "the district policy" or "framework <key>"
    students: dict[int, str]  # student row id -> SIS id, for the crossings
    codes: dict[int, str]     # competency id -> code
    school_names: dict[str, str] = dataclasses.field(default_factory=dict)


def changes_from_text(settings: Settings, *, framework: str = "", method: str = "",
                      parameters: Mapping[str, str] | None = None, min_evidence: str = "",
                      dok_gate: str = "") -> dict[str, Any]:
    """The change as a person typed it (a form, the command line), checked and typed.

    Blank means "as now". Parameters are read for the method chosen, or for the
    current one when only its parameters change.
    """
    mastery = settings.district.mastery
    base = mastery.for_framework(framework) if framework else mastery.default
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
    overridden = {(s, c) for s, c in session.execute(
        select(m.MasteryOverride.student_id, m.MasteryOverride.competency_id)
        .where(m.MasteryOverride.cleared_at.is_(None))) if c in leaves}
    pairs = {(s, c) for s, c in session.execute(
        select(m.Evidence.student_id, m.Evidence.competency_id).distinct()) if c in leaves}
    missing = {(s, c) for s, c in session.execute(
        select(m.Evidence.student_id, m.Evidence.competency_id)
        .where(m.Evidence.missing.is_(True)).distinct())}
    wanted = pairs - overridden
    by_batch = {p for p in wanted if p not in missing and batch.batchable(policies[p[1]])}
    after: dict[Pair, Shown] = {}
    if by_batch:
        after.update(_by_batch(session, by_batch, policies, target, scale))
    after.update(_by_engine(session, wanted - by_batch, policies, target, scale))

    before: dict[Pair, Shown] = {}
    record = m.MasteryRecord
    for s, c, state, level, proficient in session.execute(select(
            record.student_id, record.competency_id, record.state, record.level_code,
            record.proficient)):
        if c in leaves and (s, c) not in overridden:
            before[(s, c)] = (state, level, bool(proficient))
    students = dict(session.execute(select(m.Student.id, m.Student.sourced_id)).all())
    schools = dict(session.execute(select(m.Student.id, m.Student.school_sourced_id)).all())
    result = compare(before, after, schools, [lv.code for lv in scale.levels], overridden)
    scope = f"framework {framework}" if framework else "the district policy"
    names = dict(session.execute(select(m.Organisation.sourced_id, m.Organisation.name)).all())
    return LabResult(result, changed, scope, students, codes, names)


def _shown(state: str, level: str | None, proficient: bool) -> Shown:
    return (state, level, proficient)


def _by_batch(session: Session, pairs: set[Pair], policies: Mapping[int, Any],
              target: Mapping[int, int | None], scale: Any) -> dict[Pair, Shown]:
    """The batch engine's level for each pair, read a bounded slice of evidence at a time."""
    district_id = session_district(session)
    wanted = np.array(sorted(s * SHIFT + c for s, c in pairs), dtype=np.int64)
    levels = scale.levels
    proficient = [scale.is_proficient(lv) for lv in levels]
    states = {batch.LEVEL: MasteryState.LEVEL.value, batch.NOT_YET: MasteryState.NOT_YET.value,
              batch.INSUFFICIENT: MasteryState.INSUFFICIENT_EVIDENCE.value}
    out: dict[Pair, Shown] = {}
    # The lab writes nothing, so what it reads is committed: SQLite may read it on the
    # faster separate connection a recompute uses.
    for table in batch_compute._reads(session, district_id, pairs, committed=True):
        cols, competency, _ = bulk_io.columns(table, session, district_id)
        keep = np.isin(cols.pair, wanted)
        if not keep.all():
            rows = np.flatnonzero(keep)
            cols, competency = batch.subset(cols, rows), competency[rows]
        for competency_id in np.unique(competency).tolist():
            rows = np.flatnonzero(competency == competency_id)
            result = batch.compute(batch.subset(cols, rows), scale=scale,
                                   policy=policies[competency_id],
                                   target_dok=target.get(competency_id))
            for code, state, level in zip(result.pairs.tolist(), result.state.tolist(),
                                          result.level.tolist(), strict=True):
                shown = levels[level] if level >= 0 else None
                out[(code // SHIFT, code % SHIFT)] = _shown(
                    states[state], shown.code if shown else None,
                    bool(shown is not None and proficient[level]))
    return out


def _by_engine(session: Session, pairs: set[Pair], policies: Mapping[int, Any],
               target: Mapping[int, int | None], scale: Any) -> dict[Pair, Shown]:
    """The scalar engine's level for the pairs the batch path leaves (as a recompute does)."""
    by_student: dict[int, set[int]] = defaultdict(set)
    for s, c in pairs:
        by_student[s].add(c)
    out: dict[Pair, Shown] = {}
    for student_chunk in chunks(sorted(by_student), 200):
        evidence, _, _ = compute._read_evidence(session, student_chunk, by_student)
        for student_id in student_chunk:
            for competency_id in by_student[student_id]:
                pieces = evidence.get((student_id, competency_id), [])
                policy = policies[competency_id]
                if not pieces or (policy.missing_work == "ignore"
                                  and all(p.missing for p in pieces)):
                    continue  # no record, as a recompute would leave none
                result = compute_mastery(pieces, scale=scale, policy=policy,
                                         target_dok=target.get(competency_id),
                                         engine_version=ENGINE_VERSION)
                out[(student_id, competency_id)] = _shown(
                    str(result.state.value if hasattr(result.state, "value") else result.state),
                    result.level_code, bool(result.proficient))
    return out


def lab_report(result: LabResult, settings: Settings, *, crossings: bool = True
               ) -> dict[str, Any]:
    """The comparison as plain data: what the page, the command and its JSON show."""
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
             for pair, was, will in c.crossings] if crossings else []
    shown.sort(key=lambda x: (str(x["student"]), str(x["competency"])))
    return {"scope": result.scope, "changes": _said(result, settings),
            "total": c.total.as_dict(), "kept_by_override": c.kept_by_override,
            "by_competency": by_competency, "by_school": by_school, "crossings": shown}


def _said(result: LabResult, settings: Settings) -> list[str]:
    mastery = result.settings.district.mastery
    now = settings.district.mastery
    scope = result.scope.removeprefix("framework ")
    after = mastery.for_framework(scope) if result.scope != "the district policy" else mastery.default
    before = now.for_framework(scope) if result.scope != "the district policy" else now.default
    out = []
    for name in CHANGEABLE:
        was, will = getattr(before, name), getattr(after, name)
        if was != will:
            out.append(f"{name} {_value(was)} -> {_value(will)}")
    return out or ["nothing (the same policy)"]


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) + "}"
    return "on" if value is True else "off" if value is False else str(value)

