"""Adaptive evidence beside teacher evidence, and where each source's evidence sits in DOK.

Adaptive software is "only one indicator": a teacher looking at a student's
competency must see what the software says and what classroom work says apart,
with the depth each reached, and what the district's policy lets the software's
evidence establish on its own. A principal needs the other view: in each class
and school, how much of the evidence from each source sits at each DOK level.
Missing and late work are neither: habits of work, counted apart (:func:`work_habits`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from connector.config.model import Settings
from connector.domain.evidence import DecisionCode, EvidenceType
from connector.domain.records import ScoreStatus
from connector.domain.scale import ProficiencyScale
from connector.mastery.policy import MasteryPolicy
from connector.persistence import models as m
from connector.persistence import queries
from connector.sync.util import chunks

#: Vendor-scored evidence is shown on the adaptive side even where a policy counts it fully.
MACHINE_SCORED = frozenset({EvidenceType.ADAPTIVE_PRACTICE.value, EvidenceType.DIAGNOSTIC.value})
DOK_KEYS = ("1", "2", "3", "4", "unknown")


def adaptive_types(policy: MasteryPolicy) -> frozenset[str]:
    return frozenset(policy.adaptive_types) | MACHINE_SCORED


def adaptive_ceiling(policy: MasteryPolicy, scale: ProficiencyScale,
                     target_dok: int | None) -> tuple[str | None, str]:
    """The highest level adaptive evidence alone can establish, and the rule that says so."""
    codes = [lv.code for lv in scale.levels]
    if policy.adaptive == "exclude":
        return None, "adaptive evidence is shown but does not count toward the level"
    limit, why = len(codes) - 1, "adaptive evidence counts like any other"
    if policy.adaptive == "cap" and policy.adaptive_max_level:
        limit = codes.index(policy.adaptive_max_level)
        why = f"each adaptive score counts at most as {scale.level(codes[limit]).label}"
    gated = (policy.dok_gate and target_dok is not None
             and not adaptive_types(policy) & policy.qualifying_evidence_types)
    below = max(codes.index(scale.proficient_code) - 1, 0)
    if gated and below < limit:
        limit = below
        why = (f"the target asks for DOK {target_dok}, which only "
               f"{', '.join(sorted(t.replace('_', ' ') for t in policy.qualifying_evidence_types))}"
               f" can show; adaptive evidence alone is held at {scale.level(codes[limit]).label}")
    return codes[limit], why


def side_by_side(session: Session, settings: Settings, sis_id: str,
                 competency_ref: str) -> dict[str, Any]:
    """A student's evidence on one competency, adaptive and teacher apart (DataError if unknown)."""
    student = queries.find_student(session, sis_id)
    competency = queries.find_competency(session, competency_ref)
    scale = settings.district.scale
    framework = session.scalar(select(m.Framework.key).where(
        m.Framework.id == competency.framework_id)) or ""
    policy = settings.district.mastery.for_competency(framework, competency.identifier,
                                                      competency.human_coding_scheme)
    rows = session.execute(
        select(m.Evidence, m.SourceItem.source_system, m.SourceItem.title)
        .outerjoin(m.SourceItem, m.SourceItem.id == m.Evidence.source_item_id)
        .where(m.Evidence.student_id == student.id, m.Evidence.competency_id == competency.id)
        .order_by(m.Evidence.observed_at, m.Evidence.id)).all()
    machine = adaptive_types(policy)
    sides: dict[str, list[dict[str, Any]]] = {"adaptive": [], "teacher": []}
    for evidence, source, title in rows:
        side = "adaptive" if evidence.evidence_type in machine else "teacher"
        sides[side].append({
            "source": source or "", "item": title or "", "type": evidence.evidence_type,
            "dok": evidence.dok, "level": None if evidence.missing else evidence.level_code,
            "label": "Missing" if evidence.missing else scale.level(evidence.level_code).label,
            "value": None if evidence.missing else evidence.value,
            "observed_at": evidence.observed_at, "missing": evidence.missing})
    record = session.scalars(select(m.MasteryRecord).where(
        m.MasteryRecord.student_id == student.id,
        m.MasteryRecord.competency_id == competency.id)).first()
    ceiling, why = adaptive_ceiling(policy, scale, competency.target_dok)
    gate = None
    if record is not None:
        codes = {d.get("code") for d in record.decisions}
        gate = "capped" if DecisionCode.DOK_GATE_CAPPED in codes else (
            "met" if DecisionCode.DOK_GATE_MET in codes else None)
    return {
        "student": sis_id,
        "competency": {"identifier": competency.identifier,
                       "code": competency.human_coding_scheme,
                       "statement": competency.full_statement,
                       "target_dok": competency.target_dok},
        "adaptive": _summary(sides["adaptive"], scale),
        "teacher": _summary(sides["teacher"], scale),
        "adaptive_alone": {"can_reach": ceiling,
                           "label": scale.level(ceiling).label if ceiling else None,
                           "why": why},
        "record": None if record is None else {
            "state": record.state, "level": record.level_code, "label": record.level_label,
            "proficient": record.proficient, "highest_dok": record.highest_dok,
            "dok_gate": gate},
    }


def _summary(evidence: list[dict[str, Any]], scale: ProficiencyScale) -> dict[str, Any]:
    """Counts and highs over the work turned in; missing work is listed, not summed."""
    shown = [e for e in evidence if not e["missing"]]
    doks = [e["dok"] for e in shown if e["dok"] is not None]
    order = {lv.code: n for n, lv in enumerate(scale.levels)}
    best = max((e["level"] for e in shown), key=order.__getitem__, default=None)
    return {"count": len(shown), "missing": len(evidence) - len(shown),
            "highest_dok": max(doks, default=None), "highest_level": best,
            "evidence": evidence}


def dok_exposure(session: Session, settings: Settings, by: str = "school") -> list[dict[str, Any]]:
    """Per class or school and source: evidence count and the share at each DOK level.

    Evidence counts toward the class of its item where the item belongs to one (a
    gradebook assignment); vendor and event evidence counts toward each class the
    student is enrolled in that teaches the same competency.

    Gradebook evidence is counted per item in the store, through the index that
    leads with the item and holds type and DOK, so the district's evidence is never
    read row by row; only evidence of items without a class (a small share) is read
    per student and competency, to find the classes it counts in.
    """
    items = {item_id: (source, cls) for item_id, source, cls in session.execute(
        select(m.SourceItem.id, m.SourceItem.source_system, m.SourceItem.class_sourced_id))}
    e = m.Evidence
    counted: list[tuple[int | None, int | None, str, int | None, str, str, int]] = []
    for item_id, etype, dok, count in session.execute(
            select(e.source_item_id, e.evidence_type, e.dok, func.count())
            .where(e.missing.is_(False), e.source_item_id.is_not(None))
            .group_by(e.source_item_id, e.evidence_type, e.dok)):
        source, cls = items.get(item_id or 0, ("", ""))
        if cls:
            counted.append((None, None, etype, dok, source, cls, count))
    classless = sorted(item_id for item_id, (_, cls) in items.items() if not cls)
    for chunk in chunks(classless):
        for student_id, competency_id, item_id, etype, dok, count in session.execute(
                select(e.student_id, e.competency_id, e.source_item_id, e.evidence_type, e.dok,
                       func.count())
                .where(e.missing.is_(False), e.source_item_id.in_(list(chunk)))
                .group_by(e.student_id, e.competency_id, e.source_item_id, e.evidence_type,
                          e.dok)):
            counted.append((student_id, competency_id, etype, dok, items[item_id or 0][0], "",
                            count))
    teaches = set(session.execute(
        select(m.SourceItem.class_sourced_id, m.Alignment.competency_id)
        .join(m.Alignment, m.Alignment.source_item_id == m.SourceItem.id)
        .where(m.SourceItem.class_sourced_id != "").distinct()).all())
    classes = {c.sourced_id: (c.title, c.school_sourced_id)
               for c in session.scalars(select(m.ClassSection))}
    schools = dict(session.execute(select(m.Organisation.sourced_id, m.Organisation.name)).all())
    student_classes: dict[int, list[str]] = defaultdict(list)
    for pupil, class_id in session.execute(
            select(m.Student.id, m.Enrollment.class_sourced_id)
            .join(m.Enrollment, m.Enrollment.user_sourced_id == m.Student.sourced_id)
            .where(m.Enrollment.role == "student")):
        student_classes[pupil].append(class_id)
    adaptive = adaptive_types(settings.district.mastery.default)
    totals: dict[tuple[str, str, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(DOK_KEYS, 0))
    for who, target, etype, dok, source, item_class, count in counted:
        homes = [item_class] if item_class else [
            c for c in student_classes.get(who or 0, ()) if (c, target) in teaches]
        units = _units(homes, classes, by)
        kind = "adaptive" if etype in adaptive else "teacher"
        for unit in units:
            totals[(unit, source, kind)][str(dok) if dok else "unknown"] += count
    out = []
    for (unit, source, kind), counts in sorted(totals.items()):
        total = sum(counts.values())
        title = classes.get(unit, ("", ""))[0] if by == "class" else schools.get(unit, unit)
        out.append({by: unit, "title": title, "source": source, "kind": kind, "total": total,
                    "counts": counts,
                    "share": {k: round(v / total, 4) for k, v in counts.items()}})
    return out


def _units(homes: Iterable[str], classes: dict[str, tuple[str, str]], by: str) -> set[str]:
    if by == "class":
        return {h for h in homes if h in classes}
    return {classes[h][1] for h in homes if h in classes}


def work_habits(session: Session, by: str = "student") -> list[dict[str, Any]]:
    """Work not turned in and work turned in late, per student or class: habits, not levels.

    Counted once per piece of work (a score), whichever competencies it was aligned
    to, from every source: OneRoster's ``not submitted``, ``missing`` and ``late``,
    Canvas's ``missing`` and ``late``, Schoology's missing exception. Only rows with
    something to count; the most missing work first.
    """
    rs, item = m.RawScore, m.SourceItem
    missing = func.sum(case((rs.status == ScoreStatus.NOT_SUBMITTED.value, 1), else_=0))
    late = func.sum(case((rs.late.is_(True), 1), else_=0))
    either = (rs.status == ScoreStatus.NOT_SUBMITTED.value) | rs.late.is_(True)
    if by == "class":
        classes = {c.sourced_id: c.title for c in session.scalars(select(m.ClassSection))}
        by_class = session.execute(
            select(item.class_sourced_id, missing, late, func.count(func.distinct(rs.student_id)))
            .select_from(rs).join(item, item.id == rs.source_item_id).where(either)
            .group_by(item.class_sourced_id)).all()
        out = [{"class": cls or "", "title": classes.get(cls or "", ""), "missing": int(gone),
                "late": int(after), "students": students}
               for cls, gone, after, students in by_class]
    else:
        by_student = session.execute(
            select(m.Student.sourced_id, m.Student.given_name, m.Student.family_name,
                   m.Student.grade, missing, late)
            .select_from(rs).join(m.Student, m.Student.id == rs.student_id).where(either)
            .group_by(m.Student.sourced_id, m.Student.given_name, m.Student.family_name,
                      m.Student.grade)).all()
        out = [{"student": sis, "name": f"{given} {family}".strip(), "grade": grade,
                "missing": int(gone), "late": int(after)}
               for sis, given, family, grade, gone, after in by_student]
    return sorted(out, key=lambda r: (-r["missing"], -r["late"],
                                      r.get("student") or r.get("class")))
