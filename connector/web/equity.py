"""The equity view: proficiency and pace by the roster's demographics, small groups hidden first.

Demographics come from the roster's ``demographics.csv`` (kept apart from the student
rows, and behind their own permission, ``equity.read``). Only aggregates leave this
page: every group smaller than the district's ``reports.min_group`` is suppressed,
with its complement, before a bar is drawn or a row is written, on the page and in
the CSV alike.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, abort, request
from sqlalchemy import select

from connector.api.access import district_session, needs, reach_of
from connector.domain import roles
from connector.mastery.equity import DIMENSIONS, StudentFacts, breakdown, race_group, sex_group
from connector.persistence import models as m
from connector.persistence import queries
from connector.sync import progress
from connector.web.charts import stacked_bars
from connector.web.pages import blueprint, page
from connector.web.reports import PACE_ORDER, as_of_asked, school_choices, students_within


def facts(session: Any, settings: Any, as_of: Any, ids: list[str]) -> list[StudentFacts]:
    """Each student's groups, targets proficient and pace labels (no name, no id kept)."""
    if not ids:
        return []
    demo = {sis: (sex, races, hispanic) for sis, sex, races, hispanic in session.execute(
        select(m.Student.sourced_id, m.StudentDemographics.sex, m.StudentDemographics.races,
               m.StudentDemographics.hispanic_or_latino)
        .join(m.StudentDemographics, m.StudentDemographics.student_id == m.Student.id))}
    out = []
    for row in progress.progress(session, settings, as_of, ids, snapshot=False,
                                 exceptions=False):
        sex, races, hispanic = demo.get(row.sis_id, (None, [], None))
        counted = [d for d in row.domains if d.total]
        out.append(StudentFacts(
            {"race": race_group(list(races or []), hispanic), "sex": sex_group(sex)},
            sum(d.mastered for d in counted), sum(d.total for d in counted),
            tuple(d.label for d in counted)))
    return out


@blueprint.get("/districts/<key>/reports/equity")
@needs(roles.EQUITY_READ)
def equity(key: str) -> Any:
    """Groups by race and ethnicity or by sex, for the district or a school, any as-of day."""
    settings, session = district_session(key)
    reach = reach_of(session, roles.EQUITY_READ)
    by = request.args.get("by", "race")
    if by not in DIMENSIONS:
        abort(404, description="the equity view is by race (and ethnicity) or by sex")
    school = request.args.get("school", "")[:255]
    as_of = as_of_asked(settings)
    ids = students_within(session, reach, school=school)
    minimum = settings.district.reports.min_group
    result = breakdown(facts(session, settings, as_of, ids), by, minimum, PACE_ORDER)
    if request.args.get("format") == "csv":
        return _csv(result, by)
    title = f"Share of domain places at each pace, by {DIMENSIONS[by]}"
    chart = stacked_bars(title, [r.group for r in result.rows], [
        (label, [r.pace.get(label, 0.0) for r in result.rows]) for label in result.pace_labels
    ]) if result.rows else ""
    offered = queries.class_list(session, schools=None if reach.everything else reach.schools,
                                 classes=reach.classes)
    return page("web/equity.html", key, result=result, by=by, dimensions=DIMENSIONS,
                chart=chart, title=title, as_of=as_of, total=len(ids), school=school,
                schools=school_choices(offered))


def _csv(result: Any, by: str) -> Response:
    """The table as shown: suppressed groups are absent here too."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([by, "students", "targets_proficient_share",
                     *(f"pace_{label.replace(' ', '_')}" for label in result.pace_labels)])
    for row in result.rows:
        writer.writerow([row.group, row.students, f"{row.proficient_share:.3f}",
                         *(f"{row.pace.get(label, 0.0):.3f}" for label in result.pace_labels)])
    return Response(buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="equity-by-{by}.csv"'})
