"""The registrar's desk: choose a cohort, preview a transcript, generate a batch, download it.

One student's transcript is rendered in the request (a preview, or its PDF): that is
a fraction of a second. A cohort's is a batch the scheduler renders, as it runs the
syncs people ask for, while the batch's page follows it; the result downloads as one
zip. Those are working copies, marked DRAFT.

The official transcript is a student's own page: draft it from today's records, mark
the draft reviewed, issue it (its PDF frozen), re-issue over it with a reason, or
revoke it; every version stays listed with its PDF and, once issued, its signed CLR
credential. The steps are the same service the CLI and the API call.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, flash, redirect, request, send_file, url_for
from sqlalchemy import func, or_, select

from connector.api.access import actor, change, district_session, needs, principal, reach_of, student_reach
from connector.domain import roles
from connector.errors import ConfigurationError, DataError, NotFoundError
from connector.persistence import models as m
from connector.sync import credentials, transcript_batches
from connector.sync import transcript_documents as docs
from connector.sync.transcript_summary import build_for_students
from connector.transcripts import workflow as wf
from connector.transcripts.html import render_html
from connector.transcripts.pdf import render_pdf
from connector.transcripts.service import district_today, safe_file_stem
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
    official = {}
    for sis, version, status in session.execute(
            select(m.TranscriptDocument.student_sis_id, m.TranscriptDocument.version,
                   m.TranscriptDocument.status).where(
                m.TranscriptDocument.student_sis_id.in_(shown))
            .order_by(m.TranscriptDocument.version)):
        official[sis] = f"v{version} {STATUS_WORDS.get(status, status).lower()}"
    return page("web/registrar.html", key, students=students, total=len(ids), given=given,
                official=official,
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
    return Response(render_html(_one(key, sis_id), watermark=wf.WATERMARK), mimetype="text/html")


@blueprint.get("/districts/<key>/registrar/students/<sis_id>/transcript.pdf")
@needs(roles.TRANSCRIPTS_READ)
def transcript_pdf(key: str, sis_id: str) -> Any:
    name = f"transcript-{safe_file_stem(sis_id)}.pdf"
    return Response(render_pdf(_one(key, sis_id), watermark=wf.WATERMARK), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.post("/districts/<key>/registrar/batches")
@needs(roles.TRANSCRIPTS_WRITE)
def batch_request(key: str) -> Any:
    """Queue the chosen students' transcripts (or every match) for the scheduler to render."""
    _, session = district_session(key)  # checks the form's CSRF token too
    given = _filters()
    chosen = _chosen_within_reach(session, given)
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


def _chosen_within_reach(session: Any, given: dict[str, str]) -> list[str]:
    """The students the form chose (or every match), refusing any outside the reach."""
    chosen = (_cohort(session, **given) if request.form.get("every") == "yes"
              else request.form.getlist("student"))
    if not reach_of(session, roles.TRANSCRIPTS_READ).everything:
        outside = set(chosen) - set(_cohort(session, "", "", ""))
        if outside:
            abort(403, description=f"{len(outside)} of the chosen students are not in the "
                                   f"schools {actor()} may issue transcripts for")
    return chosen


@blueprint.post("/districts/<key>/registrar/official")
@needs(roles.TRANSCRIPTS_WRITE)
def official_many(key: str) -> Any:
    """Draft, review or issue the official transcripts of the chosen students (audited)."""
    settings, session = district_session(key)
    given = _filters()
    step = request.form.get("step", "")
    if step not in ("draft", "review", "issue"):
        abort(400, description=f"no step {step!r}: draft, review or issue")
    chosen = _chosen_within_reach(session, given)
    kept: dict[str, Any] = {k: v for k, v in given.items() if v}
    if not chosen:
        flash("Nothing was done: choose one or more students.")
        return redirect(url_for("web.registrar", key=key, **kept), 303)
    with change(session):
        if step == "draft":
            drafted = docs.draft(session, settings, chosen, by=actor())
            counts = {o: sum(1 for d in drafted if d.outcome == o)
                      for o in ("drafted", "redrafted", "unchanged")}
            flash(f"{counts['drafted']} drafted, {counts['redrafted']} drafted again (the "
                  f"records changed), {counts['unchanged']} unchanged: read each, then mark "
                  "them reviewed.")
        else:
            stepped = docs.step_many(session, settings, chosen, step, by=actor())
            failed = [s for s in stepped if s.problem]
            word = "reviewed" if step == "review" else "issued"
            flash(f"{len(stepped) - len(failed)} {word}" + (
                f"; {len(failed)} not done: " + "; ".join(
                    f"{s.student}: {s.problem}" for s in failed[:10])
                + (" …" if len(failed) > 10 else "") if failed else "") + ".")
    return redirect(url_for("web.registrar", key=key, **kept), 303)


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


# --- the official transcript: versions and their steps --------------------------------------

STATUS_WORDS = {"draft": "Draft", "reviewed": "Reviewed", "issued": "Issued",
                "superseded": "Superseded", "revoked": "Revoked"}


@blueprint.get("/districts/<key>/registrar/students/<sis_id>/")
@needs(roles.TRANSCRIPTS_READ)
def official(key: str, sis_id: str) -> Any:
    """A student's official transcript: every version, and the step each can take next."""
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.TRANSCRIPTS_READ)
    student = session.scalars(select(m.Student).where(m.Student.sourced_id == sis_id)).first()
    if student is None:
        abort(404, description=f"no student {sis_id!r}")
    versions = [docs.describe(d) for d in docs.versions(session, sis_id)]
    issued = next((v for v in versions if v["status"] == wf.ISSUED), None)
    return page("web/official.html", key, student=student, versions=versions,
                issued=issued, words=STATUS_WORDS, form=Form(), zone=settings.district.timezone,
                may_write=principal().allows(roles.TRANSCRIPTS_WRITE),
                signs=credentials.can_sign(settings))


def _back(key: str, sis_id: str) -> Any:
    return redirect(url_for("web.official", key=key, sis_id=sis_id), 303)


@blueprint.post("/districts/<key>/registrar/students/<sis_id>/draft")
@needs(roles.TRANSCRIPTS_WRITE)
def official_draft(key: str, sis_id: str) -> Any:
    """Draft the official transcript from today's records (or refresh the open draft)."""
    settings, session = district_session(key)
    student_reach(session, sis_id, roles.TRANSCRIPTS_WRITE)
    try:
        with change(session):
            [made] = docs.draft(session, settings, [sis_id], by=actor())
            version = made.document.version if made.document else None
    except NotFoundError as exc:
        abort(404, description=exc.message)
    flash({"drafted": f"Version {version} is drafted: read it, then mark it reviewed.",
           "redrafted": f"The records changed: version {version} is drafted again and needs "
                        "a new review.",
           "unchanged": f"Nothing changed: {made.note}."}[made.outcome])
    return _back(key, sis_id)


def _version_of(session: Any, key: str, document_id: int, permission: str) -> Any:
    try:
        document = docs.find(session, document_id)
    except NotFoundError as exc:
        abort(404, description=exc.message)
    student_reach(session, document.student_sis_id, permission)
    return document


@blueprint.post("/districts/<key>/registrar/versions/<int:document_id>/<step>")
@needs(roles.TRANSCRIPTS_WRITE)
def official_step(key: str, document_id: int, step: str) -> Any:
    """Review, issue (or re-issue, with a reason) or revoke a version (audited)."""
    settings, session = district_session(key)
    if step not in ("review", "issue", "revoke"):
        abort(404, description=f"no step {step!r}: review, issue or revoke")
    document = _version_of(session, key, document_id, roles.TRANSCRIPTS_WRITE)
    sis_id, reason = document.student_sis_id, request.form.get("reason", "").strip()[:2000]
    try:
        with change(session):
            document = docs.find(session, document_id, lock=True)
            if step == "review":
                docs.review(session, document, by=actor())
            elif step == "issue":
                docs.issue(session, settings, document, by=actor(), reason=reason)
            else:
                docs.revoke(session, document, by=actor(), reason=reason)
            version = document.version
    except (wf.WorkflowError, DataError) as exc:
        flash(f"Not done: {exc.message}.")
        return _back(key, sis_id)
    flash({"review": f"Version {version} is reviewed: it may be issued.",
           "issue": f"Version {version} is issued: its PDF is frozen.",
           "revoke": f"Version {version} is revoked."}[step])
    return _back(key, sis_id)


@blueprint.get("/districts/<key>/registrar/versions/<int:document_id>/transcript.pdf")
@needs(roles.TRANSCRIPTS_READ)
def official_pdf(key: str, document_id: int) -> Any:
    """The version's PDF: as issued, byte for byte, or marked DRAFT before that."""
    _, session = district_session(key)
    document = _version_of(session, key, document_id, roles.TRANSCRIPTS_READ)
    name = f"transcript-{safe_file_stem(document.student_sis_id)}-v{document.version}.pdf"
    return Response(docs.pdf_of(document), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.get("/districts/<key>/registrar/versions/<int:document_id>/credential.json")
@needs(roles.TRANSCRIPTS_READ)
def official_credential(key: str, document_id: int) -> Any:
    """The issued version as a signed CLR 2.0 credential, for the student or a college."""
    settings, session = district_session(key)
    document = _version_of(session, key, document_id, roles.TRANSCRIPTS_READ)
    try:
        body = credentials.export_clr(settings, document)
    except ConfigurationError as exc:
        abort(503, description=exc.message)
    except DataError as exc:
        abort(409, description=exc.message)
    name = f"transcript-{safe_file_stem(document.student_sis_id)}-v{document.version}.clr.json"
    return Response(json.dumps(body, indent=2, ensure_ascii=False),
                    mimetype="application/vc+ld+json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
