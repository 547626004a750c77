"""A school leader's reports: charts drawn on the server, each over the table it pictures."""

from __future__ import annotations

from typing import Any

from flask import abort, request

from connector.api.access import district_session, needs, rows_within_reach
from connector.domain import roles
from connector.sync import evidence_views
from connector.web.charts import stacked_bars
from connector.web.pages import blueprint, page

#: The DOK columns, in the order the chart stacks them.
DOK_SERIES = (("1", "DOK 1"), ("2", "DOK 2"), ("3", "DOK 3"), ("4", "DOK 4"),
              ("unknown", "DOK not given"))


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
