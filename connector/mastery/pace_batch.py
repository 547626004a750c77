"""Pace and exceptions for many students at once: the report path of :mod:`.progress`.

A district's progress and equity reports compute pace in every domain for thousands
of students on each request. :func:`~connector.mastery.progress.domain_pace` does it
one student and domain at a time, and Python's per-call work was most of the page's
time. Here the proficient-since dates are one matrix (students x learning targets,
in integer microseconds, so every comparison is exact), and each domain's counts,
levels and pace are column operations over it.

It gives what ``domain_pace(..., snapshot=False)`` and ``exception_reasons`` give for a
student without a placement; ``tests/property/test_pace_batch_agrees.py`` holds it to
them. Students with a placement take the scalar path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from connector.mastery.progress import PACE_LABELS, Domain, DomainPace, PaceRules, end_of

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
#: The matrix value of a target not proficient (no date): later than any moment.
NEVER = np.iinfo(np.int64).max

Matrix = np.ndarray[Any, np.dtype[np.int64]]


def micros(when: datetime) -> int:
    """A moment as integer microseconds since 1970 (UTC): exact, unlike a float timestamp."""
    return (when - EPOCH) // ONE_MICROSECOND


def since_matrix(since: Sequence[Mapping[str, datetime | None]],
                 targets: Sequence[str]) -> Matrix:
    """Students x targets: when each became proficient, NEVER where it has not."""
    column = {identifier: n for n, identifier in enumerate(targets)}
    out = np.full((len(since), len(targets)), NEVER, dtype=np.int64)
    seen: dict[datetime, int] = {}
    for row, dates in enumerate(since):
        for identifier, when in dates.items():
            at = column.get(identifier)
            if when is None or at is None:
                continue
            value = seen.get(when)
            if value is None:
                value = seen[when] = micros(when)
            out[row, at] = value
    return out


def batch_paces(domains: Sequence[Domain], targets: Sequence[str], matrix: Matrix,
                grades: Sequence[str], has_evidence: Sequence[bool], as_of: date,
                rules: PaceRules) -> list[tuple[list[DomainPace], list[str]]]:
    """Per student (a row of ``matrix``): paces in the domains of their grade, and reasons.

    They are what the scalar rules give with ``snapshot=False``.
    """
    moment = micros(end_of(as_of))
    first_day = rules.year_start(as_of)
    start = micros(datetime.combine(first_day, time.min, tzinfo=UTC))
    elapsed = (as_of - first_day).days + 1
    column = {identifier: n for n, identifier in enumerate(targets)}
    done = matrix <= moment
    this_year = done & (matrix >= start)
    count = len(grades)
    per_domain: list[list[DomainPace | None]] = []
    for domain in domains:
        per_domain.append(_domain(domain, column, done, this_year, count, elapsed, rules,
                                  [domain.applies_to(g) for g in grades]))
    window = timedelta(days=rules.window_days) // ONE_MICROSECOND
    recent = (done & (matrix > moment - window)).sum(axis=1)
    before = (done & (matrix > moment - 2 * window) & (matrix <= moment - window)).sum(axis=1)
    dated = np.asarray(done.any(axis=1))
    last = np.where(done, matrix, np.iinfo(np.int64).min).max(
        axis=1, initial=np.iinfo(np.int64).min)
    out = []
    for row in range(count):
        paces = [p for shelf in per_domain if (p := shelf[row]) is not None]
        reasons: list[str] = []
        unfinished = not paces or any(p.label != "complete" for p in paces)
        if has_evidence[row] and unfinished and recent[row] == 0:
            latest = "" if not dated[row] else \
                f" (last {(EPOCH + int(last[row]) * ONE_MICROSECOND).date()})"
            reasons.append(f"stalled: no competency newly proficient in {rules.window_days} "
                           f"days{latest}")
        elif before[row] >= 2 and recent[row] < rules.slowing_ratio * before[row]:
            reasons.append(f"slowing: {recent[row]} competencies in the last "
                           f"{rules.window_days} days against {before[row]} in the "
                           f"{rules.window_days} before")
        behind = [p.domain for p in paces if p.code == 1]
        if len(behind) >= rules.several_domains:
            reasons.append(f"needs support in {len(behind)} domains: {', '.join(sorted(behind))}")
        out.append((paces, reasons))
    return out


def _domain(domain: Domain, column: Mapping[str, int], done: np.ndarray[Any, Any],
            this_year: np.ndarray[Any, Any], count: int, elapsed: int, rules: PaceRules,
            applies: list[bool]) -> list[DomainPace | None]:
    """One domain's pace for every student it applies to (None for the others)."""
    names = domain.level_names
    total = len(domain.competencies)
    known = sorted(column[c] for c in domain.competencies if c in column)
    mastered = done[:, known].sum(axis=1) if known else np.zeros(count, dtype=np.int64)
    fresh = this_year[:, known].sum(axis=1) if known else np.zeros(count, dtype=np.int64)
    full = np.ones((count, 0), dtype=bool)
    if domain.levels:
        full = np.column_stack([
            done[:, cols].all(axis=1) if len(cols) == len(ids)
            else np.zeros(count, dtype=bool)
            for _, ids in domain.levels
            for cols in [[column[c] for c in sorted(ids) if c in column]]])
    reached = np.logical_and.accumulate(full, axis=1).sum(axis=1) if domain.levels else \
        np.zeros(count, dtype=np.int64)
    per_level = total / max(len(domain.levels), 1)
    expected = per_level * rules.expected_levels_per_year * min(1.0, elapsed / rules.school_year_days)
    grad_at = names.index(domain.graduation_level) if domain.graduation_level is not None else None
    shown = round(expected, 2)
    out: list[DomainPace | None] = []
    for row in range(count):
        if not applies[row]:
            out.append(None)
            continue
        n, got, year = int(reached[row]), int(mastered[row]), int(fresh[row])
        level = names[n - 1] if n else None
        working = names[n] if n < len(names) else None
        graduation = None if grad_at is None else (n > 0 and n - 1 >= grad_at)
        basis = "mastery" if level else "none"
        if got == total and total:
            out.append(DomainPace(domain.key, level, None, got, total, year, shown, None, 3,
                                  "complete", graduation, (), basis, None))
        elif elapsed < rules.minimum_days or expected <= 0:
            out.append(DomainPace(domain.key, level, working, got, total, year, shown, None,
                                  None, "too early to tell", graduation, (), basis, None))
        else:
            ratio = year / expected
            code = 3 if ratio >= rules.on_pace else 2 if ratio >= rules.can_catch_up else 1
            out.append(DomainPace(domain.key, level, working, got, total, year, shown,
                                  round(ratio, 2), code, PACE_LABELS[code], graduation, (),
                                  basis, None))
    return out
