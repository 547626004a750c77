"""``connector transcripts``: working copies, and the official draft → issued workflow.

``generate`` writes working copies (marked DRAFT) to a folder. ``draft``, ``review``,
``issue``, ``reissue`` and ``revoke`` move a student's official transcript through its
versions (:mod:`connector.sync.transcript_documents`); ``list`` and ``show`` read them.
A step that does not apply to one student is reported and the others go on; the
command then exits 1.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table
from connector.cli.reports import as_of_day
from connector.errors import DataError
from connector.persistence import models as m
from connector.sync import transcript_documents as docs
from connector.sync.push_runs import cli_actor
from connector.sync.transcript_summary import build_for_students
from connector.transcripts import workflow as wf
from connector.transcripts.batch_progress import BatchProgress
from connector.transcripts.build import expected_graduation
from connector.transcripts.service import FORMATS, write_transcripts


@click.group("transcripts")
def transcripts() -> None:
    """Proficiency transcripts: working copies, and official versions drafted and issued."""


@transcripts.command("generate")
@click.option("--student", "students", multiple=True, help="SIS id (repeatable).")
@click.option("--all", "everyone", is_flag=True, help="Every student in the district.")
@click.option("--cohort", type=int, default=None,
              help="The class graduating in this spring (2027: this year's grade 12).")
@click.option("--school", default=None, help="Students of this school (org sourcedId).")
@click.option("--grade", default=None, help="Students in this grade (OneRoster code, 09).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the transcripts (created if missing).")
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS),
              default=FORMATS, show_default=True, help="pdf, html, or both (repeat).")
@click.option("--as-of", "as_of", default=None,
              help="Date the transcripts are as of (YYYY-MM-DD); default today in the district.")
@click.option("--resume", is_flag=True,
              help="Skip the students an interrupted batch into --out already wrote.")
@click.option("--processes", type=int, default=None, help="Render processes (default: cores).")
@click.option("--json", "as_json", is_flag=True, help="Print the files written as JSON.")
@pass_context
def transcripts_generate(ctx: CliContext, students: tuple[str, ...], everyone: bool,
                         cohort: int | None, school: str | None, grade: str | None, out: Path,
                         formats: tuple[str, ...], as_of: str | None, resume: bool,
                         processes: int | None, as_json: bool) -> None:
    """Write working copies (PDF and HTML, marked DRAFT) with the explanatory letter.

    Choose students by SIS id, --all, --cohort, --school or --grade (the last three
    combine). Rendering runs over every core; --resume continues a batch that was
    stopped. An official transcript is one issued with `transcripts issue`.
    """
    day = as_of_day(ctx, as_of)
    with ctx.session() as session:
        chosen = _chosen(session, students, everyone or cohort is not None, school, grade)
        if chosen is None:
            chosen = list(session.scalars(select(m.Student.sourced_id)
                                          .order_by(m.Student.sourced_id)))
        if cohort is not None:
            chosen = _of_cohort(session, chosen, cohort, day)
    progress = BatchProgress(out, day, formats, resume=resume)  # after the usage checks
    try:
        todo = [sis_id for sis_id in chosen if sis_id not in progress.done]
        with ctx.session() as session:
            built = build_for_students(session, ctx.settings, todo, day) if todo else []
        live = sys.stderr.isatty() and len(built) > 1
        with click.progressbar(length=len(built), label="transcripts", file=sys.stderr,
                               hidden=not live) as bar:
            batch = write_transcripts(built, out, formats=formats, processes=processes,
                                      progress=bar.update,
                                      written=lambda t: progress.mark(t.student.sis_id))
        progress.finish()
    finally:
        progress.close()
    skipped = len(chosen) - len(todo)
    if progress.started_over:
        click.echo("the folder held a batch for another day or format: started over", err=True)
    if as_json:
        echo_json({"transcripts": batch.count, "already_written": skipped, "out": str(out),
                   "files": [str(f) for f in batch.files]})
        return
    click.echo(f"{batch.count} transcript(s), {len(batch.files)} file(s) in {out}"
               + (f"; {skipped} already written by the interrupted batch" if skipped else ""))


def _of_cohort(session: Session, sis_ids: list[str], cohort: int, day: date) -> list[str]:
    """The students among ``sis_ids`` expected to graduate in the spring of ``cohort``."""
    grades = dict(session.execute(select(m.Student.sourced_id, m.Student.grade)).all())
    return [s for s in sis_ids if expected_graduation(grades.get(s) or "", day) == str(cohort)]


def _chosen(session: Session, students: tuple[str, ...], everyone: bool, school: str | None,
            grade: str | None) -> list[str] | None:
    """SIS ids named, or of a school and grade, or None for every student."""
    if students and (everyone or school or grade):
        raise click.UsageError("name students, or choose --all, --school or --grade: not both")
    if students:
        return list(dict.fromkeys(students))
    if not (everyone or school or grade):
        raise click.UsageError("name one or more students (SIS ids), or give --all, "
                               "--school ORG or --grade GRADE")
    if everyone and not (school or grade):
        return None
    query = select(m.Student.sourced_id).order_by(m.Student.sourced_id)
    if school:
        query = query.where(m.Student.school_sourced_id == school)
    if grade:
        query = query.where(m.Student.grade == grade)
    return list(session.scalars(query))


def _row(d: dict[str, Any]) -> tuple[Any, ...]:
    when = d["closed_at"] or d["issued_at"] or d["reviewed_at"] or d["created_at"]
    return (d["student"], d["version"], d["status"], when.strftime("%Y-%m-%d %H:%M") if when
            else "", d["as_of"] or "", (d["pdf_sha256"] or "")[:12])


_HEAD = ("student", "version", "status", "when (UTC)", "as of", "pdf sha256")


def _each(ctx: CliContext, sis_ids: list[str], step: Callable[[Session, str], Any],
          as_json: bool) -> None:
    """Apply ``step`` to each student in its own savepoint; report, and exit 1 if any failed."""
    done: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    with ctx.session() as session, session.begin():
        for sis_id in sis_ids:
            try:
                with session.begin_nested():
                    done.append(docs.describe(step(session, sis_id)))
            except (wf.WorkflowError, DataError) as exc:
                failed.append({"student": sis_id, "reason": exc.message})
    _report(done, failed, as_json)


def _step_many(ctx: CliContext, sis_ids: list[str], step: str, by: str, as_json: bool) -> None:
    """Review or issue many students as the registrar's desk does (``docs.step_many``)."""
    with ctx.session() as session, session.begin():
        stepped = docs.step_many(session, ctx.settings, sis_ids, step, by=by)
        done = [docs.describe(s.document) for s in stepped if s.document is not None]
        failed = [{"student": s.student, "reason": s.problem} for s in stepped if s.problem]
    _report(done, failed, as_json)


def _report(done: list[dict[str, Any]], failed: list[dict[str, str]], as_json: bool) -> None:
    if as_json:
        echo_json({"done": done, "failed": failed})
    else:
        if done:
            click.echo(table(_HEAD, [_row(d) for d in done]))
        for f in failed:
            click.echo(f"{f['student']}: {f['reason']}", err=True)
    if failed:
        sys.exit(1)


_students = click.argument("students", nargs=-1)
_json = click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
_actor = click.option("--actor", default=None, help="Who (default: the login name).")


@transcripts.command("draft")
@_students
@click.option("--all", "everyone", is_flag=True, help="Every student (or of --school/--grade).")
@click.option("--school", default=None, help="The students of one school (org sourcedId).")
@click.option("--grade", default=None, help="The students of one grade.")
@_actor
@_json
@pass_context
def transcripts_draft(ctx: CliContext, students: tuple[str, ...], everyone: bool,
                      school: str | None, grade: str | None, actor: str | None,
                      as_json: bool) -> None:
    """Draft official transcripts from the records now (safe to repeat).

    A draft whose records changed is redrafted and must be reviewed again;
    records unchanged since the issued version give no new draft.
    """
    with ctx.session() as session, session.begin():
        chosen = _chosen(session, students, everyone, school, grade)
        drafted = docs.draft(session, ctx.settings, chosen, by=actor or cli_actor())
        rows = [{"student": d.student, "outcome": d.outcome, "note": d.note,
                 **({"version": d.document.version, "status": d.document.status}
                    if d.document else {})} for d in drafted]
    if as_json:
        echo_json({"drafts": rows})
        return
    click.echo(table(("student", "version", "status", "outcome", "note"),
                     [(r["student"], r.get("version", ""), r.get("status", ""), r["outcome"],
                       r["note"]) for r in rows]))
    counts = {o: sum(1 for r in rows if r["outcome"] == o)
              for o in ("drafted", "redrafted", "unchanged")}
    click.echo(", ".join(f"{n} {o}" for o, n in counts.items()))


def _open(session: Session, sis_id: str) -> Any:
    """The student's open draft, for a re-issue (review and issue go through ``step_many``)."""
    found = docs.open_version(session, sis_id)
    if found is None:
        issued = docs.issued_version(session, sis_id)
        if issued is not None:
            raise DataError(f"version {issued.version} is issued and there is no newer draft; "
                            f"to correct it, draft again and use `transcripts reissue`")
        raise DataError(f"no draft: run `connector transcripts draft {sis_id}` first")
    return found


@transcripts.command("review")
@_students
@_actor
@_json
@pass_context
def transcripts_review(ctx: CliContext, students: tuple[str, ...], actor: str | None,
                       as_json: bool) -> None:
    """Mark each student's draft reviewed: read, and ready to issue."""
    if not students:
        raise click.UsageError("name one or more students (SIS ids)")
    _step_many(ctx, list(students), "review", actor or cli_actor(), as_json)


@transcripts.command("issue")
@_students
@_actor
@_json
@pass_context
def transcripts_issue(ctx: CliContext, students: tuple[str, ...], actor: str | None,
                      as_json: bool) -> None:
    """Issue each student's reviewed draft: its PDF and records are frozen and hashed."""
    if not students:
        raise click.UsageError("name one or more students (SIS ids)")
    _step_many(ctx, list(students), "issue", actor or cli_actor(), as_json)


@transcripts.command("reissue")
@click.argument("student")
@click.option("--reason", required=True, help="Why the issued version is replaced (audited).")
@_actor
@_json
@pass_context
def transcripts_reissue(ctx: CliContext, student: str, reason: str, actor: str | None,
                        as_json: bool) -> None:
    """Issue a reviewed draft over the issued version, which is superseded and kept."""
    by = actor or cli_actor()

    def step(session: Session, sis_id: str) -> Any:
        docs.latest(session, sis_id, wf.ISSUED)  # "no issued transcript" says more than 409
        return docs.issue(session, ctx.settings, _open(session, sis_id), by=by, reason=reason)
    _each(ctx, [student], step, as_json)


@transcripts.command("revoke")
@click.argument("student")
@click.option("--reason", required=True, help="Why (audited, and kept with the version).")
@_actor
@_json
@pass_context
def transcripts_revoke(ctx: CliContext, student: str, reason: str, actor: str | None,
                       as_json: bool) -> None:
    """Revoke the student's issued transcript: kept, marked revoked, its credential fails."""
    by = actor or cli_actor()
    _each(ctx, [student], lambda s, sis: docs.revoke(
        s, docs.latest(s, sis, wf.ISSUED), by=by, reason=reason), as_json)


@transcripts.command("list")
@click.option("--student", default=None, help="One student's versions (SIS id).")
@click.option("--status", type=click.Choice(wf.STATUSES), default=None,
              help="Only versions of this status.")
@click.option("--limit", type=int, default=200, show_default=True,
              help="At most this many versions.")
@_json
@pass_context
def transcripts_list(ctx: CliContext, student: str | None, status: str | None, limit: int,
                     as_json: bool) -> None:
    """Transcript versions, newest first."""
    with ctx.session() as session:
        found = [docs.describe(d) for d in docs.versions(session, student, status, limit)]
    if as_json:
        echo_json({"versions": found})
        return
    click.echo(table(_HEAD, [_row(d) for d in found]))
    click.echo(f"{len(found)} version(s)")


@transcripts.command("show")
@click.argument("student")
@click.option("--version", "number", type=int, default=None, help="Default: the newest.")
@click.option("--pdf", "pdf_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the version's PDF here (as issued, or marked DRAFT).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the version as an HTML page here.")
@_json
@pass_context
def transcripts_show(ctx: CliContext, student: str, number: int | None, pdf_out: Path | None,
                     html_out: Path | None, as_json: bool) -> None:
    """One version: its status, who did what and when, its hashes; optionally its files."""
    with ctx.session() as session:
        found = [d for d in docs.versions(session, student)
                 if number is None or d.version == number]
        if not found:
            raise DataError(f"student {student!r} has no transcript version"
                            f"{'' if number is None else f' {number}'}")
        document = found[0]
        shown = docs.describe(document)
        shown["intact"] = docs.intact(document) if document.status in wf.FROZEN else None
        if pdf_out is not None:
            pdf_out.write_bytes(docs.pdf_of(document))
        if html_out is not None:
            html_out.write_text(docs.html_of(document), encoding="utf-8")
    if as_json:
        echo_json(shown)
        return
    for key, value in shown.items():
        if value not in (None, ""):
            click.echo(f"{key.replace('_', ' ')}: {value}")


# --- signed credentials ---------------------------------------------------------------------


def _write(out: Path | None, data: Any) -> None:
    _write_bytes(out, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _write_bytes(out: Path | None, content: bytes) -> None:
    if out is None:
        click.echo(content.decode("utf-8"), nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: a reader never sees half a file.
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(content)
    partial.replace(out)
    click.echo(f"wrote {out}", err=True)


@transcripts.command("keygen")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the key (default: the configured signing_key_file).")
@pass_context
def transcripts_keygen(ctx: CliContext, out: Path | None) -> None:
    """Make the district's Ed25519 signing key (once; an existing key is never replaced)."""
    from connector.sync import credentials
    from connector.transcripts import signing

    target = out or credentials.key_path(ctx.settings)
    if target.exists():
        key = signing.load_key(target)
        click.echo(f"a signing key is already at {target}; kept (public key "
                   f"{signing.multikey(key.public_key())})")
        return
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(signing.new_key())
    key = signing.load_key(target)
    click.echo(f"signing key written to {target} (readable by this user only); public key "
               f"{signing.multikey(key.public_key())}. Publish it with "
               "`connector transcripts issuer-document`.")


@transcripts.command("export")
@click.argument("student")
@click.option("--format", "fmt", type=click.Choice(["clr", "badges", "pesc"]), default="clr",
              show_default=True, help="clr: one CLR 2.0 ClrCredential; badges: an Open Badges "
                                      "3.0 AchievementCredential per proficient competency; "
                                      "pesc: PESC High School Transcript v1.5.0 XML.")
@click.option("--destination", default="Admissions office", show_default=True,
              help="pesc: the receiving organisation's name.")
@click.option("--version", "number", type=int, default=None,
              help="An issued version (default: the one issued now).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (default: standard output).")
@pass_context
def transcripts_export(ctx: CliContext, student: str, fmt: str, destination: str,
                       number: int | None, out: Path | None) -> None:
    """The student's issued transcript as a signed credential (JSON-LD) or PESC XML."""
    from connector.sync import credentials

    with ctx.session() as session:
        if number is None:
            document = docs.latest(session, student, wf.ISSUED)
        else:
            found = [d for d in docs.versions(session, student) if d.version == number]
            if not found:
                raise DataError(f"student {student!r} has no transcript version {number}")
            document = found[0]
        if fmt == "pesc":
            xml = docs.export_pesc(ctx.settings, document, destination=destination)
        else:
            data: Any = (credentials.export_clr(ctx.settings, document) if fmt == "clr"
                         else credentials.export_badges(ctx.settings, document))
    if fmt == "pesc":
        _write_bytes(out, xml)
        return
    _write(out, data)


def _json_file(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{what} {path} is not a JSON file: {exc}") from None


@transcripts.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--issuer-document", "issuer_docs", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An issuer's DID document holding its public key (repeatable).")
@click.option("--status-list", "lists", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A status list credential, for credentials of other issuers (repeatable).")
@_json
@pass_context
def transcripts_verify(ctx: CliContext, file: Path, issuer_docs: tuple[Path, ...],
                       lists: tuple[Path, ...], as_json: bool) -> None:
    """Check a credential: the CLR 2.0 schema, every signature and the revocation status.

    Exits 0 when every check passes, 1 otherwise.
    """
    from connector.sync import credentials

    try:
        credential = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        credential = None
        problem = f"not JSON ({exc})"
    with ctx.session() as session:
        if credential is None:
            result = credentials.Verification()
            result.add("credential", False, problem)
        else:
            result = credentials.verify(
                credential, session=session, settings=ctx.settings,
                issuer_documents=[_json_file(p, "issuer document") for p in issuer_docs],
                status_lists=[_json_file(p, "status list") for p in lists])
    if as_json:
        echo_json(result.as_dict())
    else:
        for what, ok, detail in result.checks:
            click.echo(f"{'ok  ' if ok else 'FAIL'}  {what}: {detail}")
        click.echo("valid" if result.valid else "NOT valid")
    if not result.valid:
        sys.exit(1)


@transcripts.command("issuer-document")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (default: standard output).")
@pass_context
def transcripts_issuer_document(ctx: CliContext, out: Path | None) -> None:
    """The issuer's DID document with its public key, to publish (did:web: /.well-known/did.json)."""
    from connector.sync import credentials

    _write(out, credentials.issuer_document(ctx.settings))


@transcripts.command("status-list")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (default: standard output).")
@pass_context
def transcripts_status_list(ctx: CliContext, out: Path | None) -> None:
    """The district's signed revocation status list (also served by `connector serve`)."""
    from connector.sync import credentials

    with ctx.session() as session:
        _write(out, credentials.status_list_credential(session, ctx.settings))


@transcripts.command("deliver")
@click.option("--target", "targets", multiple=True,
              help="Only this delivery target (repeatable; default: every one).")
@_json
@pass_context
def transcripts_deliver(ctx: CliContext, targets: tuple[str, ...], as_json: bool) -> None:
    """Send issued transcripts (PDF, PESC XML) and revocation notices to the delivery targets.

    Each file goes once: running it again sends only what is new. Exits 1 if a target
    failed (what it did not take goes with the next run).
    """
    from connector.sync.transcript_delivery import deliver

    with ctx.session() as session:
        report = deliver(session, ctx.settings, only=targets)
    if as_json:
        echo_json({"sent": report.sent, "failed": report.failed})
    else:
        for key, names in report.sent.items():
            click.echo(f"{key}: {len(names)} file(s) sent"
                       + (f" ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
                          if names else ""))
        for key, message in report.failed.items():
            click.echo(f"{key}: FAILED: {message}", err=True)
    if not report.ok:
        sys.exit(1)
