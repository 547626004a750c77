"""A school leader's reports: charts drawn on the server, each over the table it pictures."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from flask import Response, abort, request, url_for

from connector.api.access import district_session, needs, principal, reach_of, rows_within_reach
from connector.domain import roles
from connector.mastery.progress import report_day
from connector.persistence import queries
from connector.sync import content_impact, evidence_views, progress
from connector.transcripts.service import district_today
from connector.web.charts import stacked_bars
from connector.web.pages import blueprint, page, student_url

#: The DOK columns, in the order the chart stacks them.
DOK_SERIES = (("1", "DOK 1"), ("2", "DOK 2"), ("3", "DOK 3"), ("4", "DOK 4"),
              ("unknown", "DOK not given"))


def as_of_asked(settings: Any) -> Any:
    """The report day the URL asks for (``as_of``), or today in the district; 400 if unreadable."""
    try:
        return report_day(request.args["as_of"]) if request.args.get("as_of") else \
            district_today(settings)
    except ValueError as exc:
        abort(400, description=f"As of: {exc}")


def students_within(session: Any, reach: Any, **filters: str) -> list[str]:
    """SIS ids of the students a report may cover for this reach, narrowed by ``filters``."""
    return queries.report_students(session, schools=None if reach.everything else reach.schools,
                                   classes=reach.classes, **filters)


def school_choices(offered: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The schools of these classes as (id, name), by name: a report's school filter."""
    return sorted({(c["school"], c["school_name"]) for c in offered}, key=lambda s: s[1])


@blueprint.get("/districts/<key>/reports/dok")
@needs(roles.REPORTS_READ)
def dok(key: str) -> Any:
    """The share of evidence at each DOK level, per school or class and source.

    A school whose evidence is mostly DOK 1 practice shows it at a glance: the rigour
    students are asked for, not only how much work they turn in.
    """
    settings, session = district_session(key)
    by = request.args.get("by", "school")
    if by not in ("school", "class"):
        abort(404, description="a DOK report is by school or by class")
    rows = rows_within_reach(session, evidence_views.dok_exposure(session, settings, by), by,
                             roles.REPORTS_READ)
    kinds = {"adaptive": "adaptive", "teacher": "teacher"}
    labels = [f"{r['title'] or r[by]} · {r['source']} ({kinds.get(r['kind'], r['kind'])})"
              for r in rows]
    title = f"Share of evidence at each DOK level, by {by} and source"
    chart = stacked_bars(title, labels, [(name, [r["share"].get(k, 0.0) for r in rows])
                                         for k, name in DOK_SERIES]) if rows else ""
    return page("web/dok.html", key, rows=rows, by=by, chart=chart, title=title,
                series=DOK_SERIES, labels=labels)


#: Pace labels in the order a reader scans them, best first.
PACE_ORDER = ("complete", "on pace", "can catch up", "needs support")


def pace_distribution(rows: Iterable[Any]) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Per domain, how many students sit at each pace label (students with work there).

    ``rows`` are :class:`~connector.sync.progress.StudentProgress` rows or their dicts.

    >>> pace_distribution([{"domains": [{"domain": "ma", "label": "on pace", "total": 3}]},
    ...                    {"domains": [{"domain": "ma", "label": "needs support", "total": 3}]}])
    (['on pace', 'needs support'], {'ma': {'on pace': 1, 'needs support': 1}})
    """
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        for d in row["domains"] if isinstance(row, dict) else row.domains:
            domain, label, total = ((d["domain"], d["label"], d["total"]) if isinstance(d, dict)
                                    else (d.domain, d.label, d.total))
            if total:
                shelf = counts.setdefault(domain, {})
                shelf[label] = shelf.get(label, 0) + 1
    seen = {label for shelf in counts.values() for label in shelf}
    labels = [x for x in PACE_ORDER if x in seen] + sorted(seen - set(PACE_ORDER))
    return labels, counts


#: Students listed under "Needs attention"; the download lists every one.
ATTENTION_LISTED = 100


@blueprint.get("/districts/<key>/reports/progress")
@needs(roles.REPORTS_READ)
def pace(key: str) -> Any:
    """Pace per domain for a school, class or teacher, and the students needing attention.

    Viewers see the distribution only; people who may read records also see which
    students are stalled, slowing or behind in several domains, and why: the first
    hundred on the page (a district's list runs to thousands), all of them in the CSV.
    """
    settings, session = district_session(key)
    reach = reach_of(session, roles.REPORTS_READ)
    offered = queries.class_list(session, schools=None if reach.everything else reach.schools,
                                 classes=reach.classes)
    school, class_id, teacher = (request.args.get(k, "")[:255] for k in
                                 ("school", "class", "teacher"))
    ids = students_within(session, reach, school=school, class_id=class_id, teacher=teacher)
    as_of = as_of_asked(settings)
    rows = progress.progress(session, settings, as_of, ids, snapshot=False) if ids else []
    may_read = principal().allows(roles.RECORDS_READ)
    flagged = [r for r in rows if r.reasons] if may_read else []
    if request.args.get("format") == "csv":
        if not may_read:
            abort(403, description="the list of students needing attention needs the right "
                                   "to read records")
        return _attention_csv(flagged, as_of)
    labels, counts = pace_distribution(rows)
    min_group = settings.district.reports.min_group
    shown = len(rows) >= min_group
    domains = sorted(counts)
    title = "Students by pace in each domain"
    chart = stacked_bars(title, domains, [
        (label, [counts[d].get(label, 0) / max(sum(counts[d].values()), 1) for d in domains])
        for label in labels]) if shown and domains else ""
    teachers = sorted({(tid, name) for c in offered
                       for tid, name in zip(c["teacher_ids"], c["teachers"], strict=True)},
                      key=lambda t: t[1])
    chosen = {"school": school, "class": class_id, "teacher": teacher}
    asked: dict[str, Any] = {k: v for k, v in {**chosen, "as_of": request.args.get("as_of", "")}
                             .items() if v}
    csv_url = url_for("web.pace", key=key, format="csv", **asked)
    return page("web/progress.html", key, total=len(rows), counts=counts, labels=labels,
                domains=domains, chart=chart, title=title, shown=shown, min_group=min_group,
                as_of=as_of, may_read=may_read, student_url=student_url(key),
                flagged=len(flagged), listed=ATTENTION_LISTED, csv_url=csv_url,
                exceptions=[{"student": r.sis_id, "name": r.name, "grade": r.grade,
                             "why": "; ".join(r.reasons)} for r in flagged[:ATTENTION_LISTED]],
                schools=school_choices(offered), classes=offered, teachers=teachers,
                chosen=chosen)


def _attention_csv(flagged: list[Any], as_of: Any) -> Response:
    """Every student needing attention, with the reasons, for the filter asked."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "name", "grade", "as_of", "reasons"])
    for row in flagged:
        writer.writerow([row.sis_id, row.name, row.grade, as_of.isoformat(),
                         "; ".join(row.reasons)])
    return Response(buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="needs-attention.csv"',
        "Cache-Control": "no-store"})


@blueprint.get("/districts/<key>/reports/content")
@needs(roles.REPORTS_READ)
def content(key: str) -> Any:
    """Each content provider's use, and mastery where it was used, per school or class."""
    settings, session = district_session(key)
    by = request.args.get("by", "school")
    if by not in ("school", "class"):
        abort(404, description="the content impact report is by school or by class")
    reach = reach_of(session, roles.REPORTS_READ)
    within = (lambda group, school: True) if reach.everything else (
        lambda group, school: school in reach.schools or group in reach.classes)
    result = content_impact.content_impact(session, settings, by, within)
    named = content_impact.providers(settings)
    rows = content_impact.as_rows(result, content_impact.group_names(session, by), named)
    return page("web/content.html", key, rows=rows, by=by, result=result, providers=named)
