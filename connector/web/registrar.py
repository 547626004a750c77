"""The registrar's desk: choose a cohort, preview a transcript, generate a batch, download it.

One student's transcript is rendered in the request (a preview, or its PDF): that is
a fraction of a second. A cohort's is a batch the scheduler renders, as it runs the
syncs people ask for, while the batch's page follows it; the result downloads as one
zip. Approving and issuing come with the transcript workflow; until then the desk
generates, previews and downloads.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, request, send_file, url_for
from sqlalchemy import func, or_, select

from connector.api.access import actor, change, district_session, needs, principal, reach_of, student_reach
from connector.domain import roles
from connector.errors import DataError, NotFoundError
from connector.persistence import models as m
from connector.sync import transcript_batches
from connector.transcripts.html import render_html
from connector.transcripts.pdf import render_pdf
from connector.transcripts.service import build_for_students, district_today, safe_file_stem
from connector.web.pages import Form, blueprint, page
from connector.web.reports import students_within

#: The most students the desk lists at once; a batch may still take every match.
SHOWN = 300
BADGES = {"queued": "Queued", "running": "Rendering", "succeeded": "Ready", "failed": "Failed"}


def _cohort(session: Any, school: str, grade: str, q: str) -> list[str]:
    """SIS ids of the students matching the desk's filters, within the registrar's reach."""
    reach = reach_of(session, roles.TRANSCRIPTS_READ)
    ids = students_within(session, reach, school=school)
    if not grade and not q:
        return ids
    query = select(m.Student.sourced_id).where(m.Student.sourced_id.in_(ids))
    if grade:
        query = query.where(m.Student.grade == grade)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(m.Student.sourced_id).like(like),
                                func.lower(m.Student.given_name).like(like),
                                func.lower(m.Student.family_name).like(like)))
    return list(session.scalars(query.order_by(m.Student.sourced_id)))


def _filters() -> dict[str, str]:
    return {name: request.values.get(name, "").strip()[:100] for name in ("school", "grade", "q")}


@blueprint.get("/districts/<key>/registrar/")
@needs(roles.TRANSCRIPTS_READ)
def registrar(key: str) -> Any:
    """The cohort (by school, grade, name or SIS id), its students, and the recent batches."""
    settings, session = district_session(key)
    given = _filters()
    ids = _cohort(session, **given)
    shown = ids[:SHOWN]
    students = list(session.scalars(select(m.Student).where(
        m.Student.sourced_id.in_(shown)).order_by(m.Student.family_name, m.Student.given_name)))
    schools = dict(session.execute(select(m.Organisation.sourced_id, m.Organisation.name)
                                   .where(m.Organisation.type == "school")).all())
    grades = sorted(g for g in session.scalars(select(m.Student.grade).distinct()) if g)
    return page("web/registrar.html", key, students=students, total=len(ids), given=given,
                schools=schools, grades=grades, batches=transcript_batches.recent(session, 10),
                badges=BADGES, form=Form(), zone=settings.district.timezone,
                may_write=principal().allows(roles.TRANSCRIPTS_WRITE), shown=SHOWN)


def _one(key: str, sis_id: str) -> Any:
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.TRANSCRIPTS_READ)
    try:
        (built,) = build_for_students(session, settings, [sis_id], district_today(settings))
    except NotFoundError as exc:
        abort(404, description=exc.message)
    return built


@blueprint.get("/districts/<key>/registrar/students/<sis_id>/transcript.html")
@needs(roles.TRANSCRIPTS_READ)
def transcript_preview(key: str, sis_id: str) -> Any:
    """The transcript as it stands today, as a page: what the PDF will say."""
    return Response(render_html(_one(key, sis_id)), mimetype="text/html")


@blueprint.get("/districts/<key>/registrar/students/<sis_id>/transcript.pdf")
@needs(roles.TRANSCRIPTS_READ)
def transcript_pdf(key: str, sis_id: str) -> Any:
    name = f"transcript-{safe_file_stem(sis_id)}.pdf"
    return Response(render_pdf(_one(key, sis_id)), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.post("/districts/<key>/registrar/batches")
@needs(roles.TRANSCRIPTS_WRITE)
def batch_request(key: str) -> Any:
    """Queue the chosen students' transcripts (or every match) for the scheduler to render."""
    _, session = district_session(key)  # checks the form's CSRF token too
    given = _filters()
    chosen = (_cohort(session, **given) if request.form.get("every") == "yes"
              else request.form.getlist("student"))
    if not reach_of(session, roles.TRANSCRIPTS_READ).everything:
        outside = set(chosen) - set(_cohort(session, "", "", ""))
        if outside:
            abort(403, description=f"{len(outside)} of the chosen students are not in the "
                                   f"schools {actor()} may issue transcripts for")
    try:
        with change(session):
            batch_id = transcript_batches.request_batch(session, chosen, by=actor())
    except DataError as exc:
        flash(f"Nothing was queued: {exc.message}.")
        kept: dict[str, Any] = {k: v for k, v in given.items() if v}
        return redirect(url_for("web.registrar", key=key, **kept), 303)
    flash(f"Batch {batch_id} of {len(set(chosen))} transcripts is queued: the scheduler "
          "renders it.")
    return redirect(url_for("web.batch", key=key, batch_id=batch_id), 303)


@blueprint.get("/districts/<key>/registrar/batches/<int:batch_id>")
@needs(roles.TRANSCRIPTS_READ)
def batch(key: str, batch_id: int) -> Any:
    """A batch and its progress; the page follows it until its files are ready."""
    settings, session = district_session(key)
    try:
        found = transcript_batches.describe(transcript_batches.find(session, batch_id))
    except NotFoundError as exc:
        abort(404, description=exc.message)
    return page("web/batch.html", key, batch=found, badges=BADGES,
                zone=settings.district.timezone)


@blueprint.get("/districts/<key>/registrar/batches/<int:batch_id>/transcripts.zip")
@needs(roles.TRANSCRIPTS_READ)
def batch_download(key: str, batch_id: int) -> Any:
    settings, session = district_session(key)
    try:
        path = transcript_batches.archive(settings, transcript_batches.find(session, batch_id))
    except NotFoundError as exc:
        abort(404, description=exc.message)
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=f"transcripts-batch-{batch_id}.zip")
