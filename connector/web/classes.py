"""A teacher's pages: my classes, a class's mastery grid, a student's profile and evidence.

The grid reads like Canvas's Learning Mastery Gradebook: students down, competencies
across, each cell the level's short code on the level's colour, with a legend that
names every level in words, so colour is never the only sign. Sorting and filtering
are query parameters, so a sorted, filtered grid is a URL a teacher can bookmark; the
CSV download is the same grid.

Who sees what is decided as the API decides it (``class_reach``, ``student_reach``): a
teacher reaches the classes the roster's teacher enrollments name, and their students.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

from flask import Response, abort, flash, redirect, request, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from connector.api.access import (
    actor,
    change,
    class_reach,
    district_session,
    needs,
    principal,
    reach_of,
    student_reach,
)
from connector.domain import roles
from connector.domain.scale import MasteryState, ProficiencyScale
from connector.errors import DataError, NotFoundError
from connector.persistence import queries
from connector.sync import evidence_views, overrides, progress
from connector.transcripts.service import district_today
from connector.web.pages import Form, blueprint, page

#: The short code a cell shows for a record that holds a state, not a level.
STATE_CODES = {MasteryState.NOT_YET.value: "NY", MasteryState.INSUFFICIENT_EVIDENCE.value: "IE",
               MasteryState.EXEMPT.value: "EX", MasteryState.NEEDS_JUDGMENT.value: "TJ"}


def legend(scale: ProficiencyScale) -> list[dict[str, str]]:
    """Every level and state a cell can show: its short code, its words, its colour class.

    Levels below proficient are warm, proficient and above cool; the lowest level has
    its own shade, so a four-level scale gets four distinct colours.

    >>> from connector.domain.scale import Level
    >>> scale = ProficiencyScale("s", "S", (Level("1", "Beginning", 1), Level("2", "Developing", 2),
    ...     Level("3", "Proficient", 3), Level("4", "Advanced", 4)), proficient_code="3")
    >>> [(x["code"], x["css"]) for x in legend(scale)][:4]
    [('1', 'lv-low'), ('2', 'lv-below'), ('3', 'lv-prof'), ('4', 'lv-above')]
    """
    proficient = scale.proficient.value
    shown = []
    for n, level in enumerate(scale.levels):
        css = ("lv-prof" if level.value == proficient else "lv-above" if level.value > proficient
               else "lv-low" if n == 0 else "lv-below")
        shown.append({"code": level.code, "label": level.label, "css": css})
    return shown + [{"code": code, "label": scale.state_labels.get(state, state),
                     "css": "lv-state"} for state, code in STATE_CODES.items()]


def cell_code(cell: dict[str, Any] | None) -> str:
    """What a grid cell shows for a record (a grid cell, or a whole record's dict)."""
    if cell is None:
        return ""
    level = cell["level"] if "level" in cell else cell.get("level_code")
    if cell["state"] == MasteryState.LEVEL.value and level:
        return str(level)
    return STATE_CODES.get(cell["state"], str(cell["state"]))


def arrange(grid: dict[str, Any], scale: ProficiencyScale, *, competency: str = "",
            student: str = "", level: str = "", sort: str = "name",
            descending: bool = False, within: set[str] | None = None) -> dict[str, Any]:
    """The grid as asked: filtered, then sorted by name, proficient count or a column.

    Columns are those whose code or statement match ``competency``; students those whose
    name or SIS id match ``student`` and, with ``level``, who have a cell at it; ``within``,
    when given, keeps only those competencies (the class's subject). Pure: it
    reorders what :func:`queries.class_grid` read and drops nothing it was not asked to.
    """
    words = competency.strip().lower()
    columns = [c for c in grid["competencies"]
               if (within is None or c["competency"] in within) and (
                   not words or str(c["code"] or "").lower().startswith(words)
                   or words in str(c["statement"] or "").lower())]
    keys = [c["competency"] for c in columns]
    who = student.strip().lower()
    rows = [r for r in grid["students"]
            if (not who or who in r["name"].lower() or r["student"].lower().startswith(who))
            and (not level or any(cell_code(r["levels"].get(k)) == level for k in keys))]
    value = {lv.code: lv.value for lv in scale.levels}
    for row in rows:
        row["proficient"] = sum(1 for k in keys if (cell := row["levels"].get(k))
                                and cell["state"] == MasteryState.LEVEL.value
                                and value.get(cell["level"], -1.0) >= scale.proficient.value)
    by_name = sorted(rows, key=lambda r: (r["name"].split()[-1:], r["name"], r["student"]))
    if sort == "proficient":
        rows = sorted(by_name, key=lambda r: r["proficient"], reverse=not descending)
    elif sort in keys:
        def rank(row: dict[str, Any]) -> float:
            cell = row["levels"].get(sort)
            if cell is None:
                return -2.0
            return value.get(cell["level"], -1.0) if cell["state"] == "level" else -1.0
        rows = sorted(by_name, key=rank, reverse=not descending)
    else:
        sort, rows = "name", list(reversed(by_name)) if descending else by_name
    return {**grid, "competencies": columns, "students": rows, "sort": sort,
            "descending": descending}


def row_cells(row: dict[str, Any], columns: list[tuple[str, str]],
              styles: dict[str, dict[str, str]]) -> Markup:
    """One grid row's cells as HTML, built here rather than in the template.

    A 250-student class across 40 competencies is 10,000 cells; a template loop with a
    ``url_for`` per cell took most of a second, string building takes milliseconds.
    Each cell links to the student's competency page under the row's own address.
    """
    out = []
    for competency, path in columns:
        cell = row["levels"].get(competency)
        if cell is None:
            out.append('<td class="cell-td"><span class="visually-hidden">no record</span></td>')
            continue
        shown = cell_code(cell)
        style = styles.get(shown, {})
        mark = "†" if cell["overridden"] else ""
        said = escape(style.get("label") or shown) + (", overridden" if mark else "")
        out.append(f'<td class="cell-td"><a class="cell {style.get("css") or "lv-state"}" '
                   f'href="{row["url"]}competencies/{path}">{escape(shown)}{mark}'
                   f'<span class="visually-hidden"> {said}</span></a></td>')
    return Markup("".join(out))


@blueprint.get("/districts/<key>/classes/")
@needs(roles.CLASSES_READ)
def classes(key: str) -> Any:
    """The classes this person may open: a teacher's own, a school's, or the district's."""
    _, session = district_session(key)
    reach = reach_of(session, roles.CLASSES_READ)
    found = queries.class_list(session, schools=None if reach.everything else reach.schools,
                               classes=reach.classes)
    school, words = request.args.get("school", ""), request.args.get("q", "").strip()[:100]
    schools = sorted({(r["school"], r["school_name"]) for r in found}, key=lambda s: s[1])
    shown = [r for r in found if (not school or r["school"] == school) and (
        not words or words.lower() in " ".join([r["title"], r["code"], *r["teachers"]]).lower())]
    return page("web/classes.html", key, classes=shown, total=len(found), schools=schools,
                school=school, words=words,
                mine=not reach.everything and not reach.schools)


def _grid(key: str, class_id: str) -> tuple[dict[str, Any], ProficiencyScale]:
    settings, session = district_session(key)
    class_reach(session, class_id, roles.CLASSES_READ)
    grid = queries.class_grid(session, class_id)
    if grid is None:
        abort(404, description=f"no class {class_id!r}")
    scale = settings.district.scale
    subject = None if request.args.get("subjects") == "all" else (
        queries.class_subject(session, class_id) or None)
    return arrange(grid, scale, within=subject,
                   competency=request.args.get("competency", "")[:100],
                   student=request.args.get("student", "")[:100],
                   level=request.args.get("level", "")[:20],
                   sort=request.args.get("sort", "name")[:200],
                   descending=request.args.get("order") == "desc"), scale


@blueprint.get("/districts/<key>/classes/<class_id>/")
@needs(roles.CLASSES_READ)
def grid(key: str, class_id: str) -> Any:
    """A class's students by competency, coloured by level, sortable and filterable."""
    shown, scale = _grid(key, class_id)
    kept = {k: v for k, v in request.args.items()
            if k in ("competency", "student", "level", "subjects")}
    shades = legend(scale)
    asked: dict[str, Any] = request.args.to_dict()
    styles = {x["code"]: x for x in shades}
    for row in shown["students"]:
        row["url"] = url_for("web.student", key=key, sis_id=row["student"])
    columns = [(c["competency"], quote(c["competency"], safe="")) for c in shown["competencies"]]
    return page("web/grid.html", key, grid=shown, legend=shades, kept=kept, scale=scale,
                cells=lambda row: row_cells(row, columns, styles),
                csv_url=url_for("web.grid_csv", key=key, class_id=class_id, **asked))


@blueprint.get("/districts/<key>/classes/<class_id>/grid.csv")
@needs(roles.CLASSES_READ)
def grid_csv(key: str, class_id: str) -> Any:
    """The grid as shown (filters and order kept): one row per student, a column per code."""
    shown, scale = _grid(key, class_id)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = shown["competencies"]
    writer.writerow(["sis_id", "name", "grade", "proficient",
                     *[c["code"] or c["competency"] for c in columns]])
    for row in shown["students"]:
        writer.writerow([row["student"], row["name"], row["grade"], row["proficient"], *[
            cell_code(row["levels"].get(c["competency"])) + (
                "*" if (row["levels"].get(c["competency"]) or {}).get("overridden") else "")
            for c in columns]])
    answer = Response(out.getvalue(), mimetype="text/csv")
    answer.headers["Content-Disposition"] = f'attachment; filename="class-{class_id}.csv"'
    answer.headers["Cache-Control"] = "no-store"  # students' records: not kept by caches
    return answer


@blueprint.get("/districts/<key>/students/<sis_id>/")
@needs(roles.RECORDS_READ)
def student(key: str, sis_id: str) -> Any:
    """A student's levels per domain beside grade level, pace, and every competency's level."""
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.RECORDS_READ)
    try:
        who = queries.find_student(session, sis_id)
        as_of = district_today(settings)
        (row,) = progress.progress(session, settings, as_of, [sis_id])
    except NotFoundError as exc:
        abort(404, description=exc.message)
    records = queries.student_mastery(session, sis_id, settings.district.scale) or []
    return page("web/student.html", key, student=who, progress=row.as_dict(), as_of=as_of,
                records=records, code=cell_code, levels={
                    x["code"]: x for x in legend(settings.district.scale)},
                zone=settings.district.timezone,
                school=queries.school_name(session, who.school_sourced_id),
                family_view=principal().allows(roles.FAMILY_READ))


def _may_override(session: Any, sis_id: str) -> bool:
    if not principal().allows(roles.RECORDS_OVERRIDE):
        return False
    try:
        student_reach(session, sis_id, roles.RECORDS_OVERRIDE)
    except HTTPException:
        return False
    return True


def _competency_page(key: str, sis_id: str, competency: str, status: int = 200,
                     problem: str = "", given: dict[str, str] | None = None) -> Any:
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.RECORDS_READ)
    try:
        who = queries.find_student(session, sis_id)
        view = evidence_views.side_by_side(session, settings, sis_id, competency)
        history = overrides.override_history(session, sis_id, competency)
    except DataError as exc:
        abort(404, description=exc.message)
    comp = queries.find_competency(session, competency)
    found = queries.student_mastery(session, sis_id, settings.district.scale, comp.id) or []
    scale = settings.district.scale
    return page("web/competency.html", key, student=who, view=view,
                record=found[0] if found else None, history=history, form=Form(),
                may_override=_may_override(session, sis_id), scale=scale,
                states=[(s, scale.state_labels.get(s, s)) for s in overrides.OVERRIDE_STATES],
                problem=problem, given=given or {}, zone=settings.district.timezone,
                competency=comp.identifier), status


@blueprint.get("/districts/<key>/students/<sis_id>/competencies/<competency>")
@needs(roles.RECORDS_READ)
def competency(key: str, sis_id: str, competency: str) -> Any:
    """One competency of one student: the evidence side by side, the explanation, overrides."""
    return _competency_page(key, sis_id, competency)


@blueprint.post("/districts/<key>/students/<sis_id>/competencies/<competency>/override")
@needs(roles.RECORDS_OVERRIDE)
def override(key: str, sis_id: str, competency: str) -> Any:
    """Set a teacher's level or state with the required reason (audited), then recompute."""
    settings, session = district_session(key)  # checks the form's CSRF token too
    student_reach(session, sis_id, roles.RECORDS_OVERRIDE)
    given = {name: request.form.get(name, "").strip() for name in ("choice", "reason")}
    kind, _, value = given["choice"].partition(":")
    if kind not in ("level", "state") or not value:
        return _competency_page(key, sis_id, competency, 400, "Choose a level or a state.", given)
    if not given["reason"]:
        return _competency_page(key, sis_id, competency, 400,
                                "Give a reason: it is shown with the record and audited.", given)
    try:
        with change(session):
            overrides.set_override(session, settings, sis_id, competency,
                                   level=value if kind == "level" else None,
                                   state=value if kind == "state" else None,
                                   reason=given["reason"][:2000], by=actor())
    except DataError as exc:
        session.rollback()
        if isinstance(exc, NotFoundError):
            abort(404, description=exc.message)
        return _competency_page(key, sis_id, competency, 400, exc.message, given)
    flash("Override saved: the record shows your level, and the computed one is kept.")
    return redirect(url_for("web.competency", key=key, sis_id=sis_id, competency=competency), 303)


@blueprint.post("/districts/<key>/students/<sis_id>/competencies/<competency>/override/clear")
@needs(roles.RECORDS_OVERRIDE)
def clear(key: str, sis_id: str, competency: str) -> Any:
    """Clear the override with a reason: the computed level shows again."""
    settings, session = district_session(key)  # checks the form's CSRF token too
    student_reach(session, sis_id, roles.RECORDS_OVERRIDE)
    reason = request.form.get("clear_reason", "").strip()
    if not reason:
        return _competency_page(key, sis_id, competency, 400,
                                "Give a reason for clearing the override.", {})
    try:
        with change(session):
            overrides.clear_override(session, settings, sis_id, competency,
                                     reason=reason[:2000], by=actor())
    except DataError as exc:
        session.rollback()
        abort(404, description=exc.message)
    flash("Override cleared: the computed level shows again.")
    return redirect(url_for("web.competency", key=key, sis_id=sis_id, competency=competency), 303)
