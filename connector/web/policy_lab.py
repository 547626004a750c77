"""The policy lab page: what another calculation policy would do, over the district's evidence.

A district admin picks a method, its parameters, a minimum evidence count or the DOK
gate, for the district policy or one framework's; the page answers with the records
that would change level, the students who would cross into or out of Proficient, and
the effect per competency and per school. The form is a GET: nothing is written, and
every comparison is a URL to send to the committee that decides.
"""

from __future__ import annotations

from typing import Any

from flask import request

from connector.api.access import district_session, needs
from connector.domain import roles
from connector.errors import DataError
from connector.mastery.registry import METHODS
from connector.sync import policy_lab as lab
from connector.web.pages import blueprint, page

#: Crossings listed on the page; the command prints them all (``--crossings``).
SHOWN = 200


def _parameters(text: str) -> dict[str, str]:
    """``weight=0.8, n=3`` as a mapping (DataError naming the piece that is not NAME=VALUE)."""
    out: dict[str, str] = {}
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        if not sep or not name.strip():
            raise DataError(f"parameters are NAME=VALUE, separated by commas: {piece[:40]!r}")
        out[name.strip()] = value.strip()
    return out


@blueprint.get("/districts/<key>/policy-lab")
@needs(roles.POLICY_COMPARE)
def policy_lab(key: str) -> Any:
    """The form, and when it names a change, the comparison."""
    settings, session = district_session(key)
    given = {name: request.args.get(name, "").strip()[:200]
             for name in ("method", "parameters", "min_evidence", "dok_gate", "framework")}
    report, problem = None, ""
    if any(given[n] for n in ("method", "parameters", "min_evidence", "dok_gate")):
        try:
            changes = lab.changes_from_text(
                settings, framework=given["framework"], method=given["method"],
                parameters=_parameters(given["parameters"]),
                min_evidence=given["min_evidence"], dok_gate=given["dok_gate"])
            report = lab.lab_report(
                lab.run_lab(session, settings, changes, given["framework"]), settings,
                crossings=SHOWN)
        except DataError as exc:
            problem = exc.message
    mastery = settings.district.mastery
    current = mastery.for_framework(given["framework"]) if given["framework"] else mastery.default
    return page("web/policy_lab.html", key, given=given, report=report, problem=problem,
                methods=sorted(METHODS), current=current, shown=SHOWN,
                frameworks=[f.key for f in settings.district.frameworks]), 400 if problem else 200
