"""The CLI's commands. Each one loads config, opens the store and calls a service."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from connector.cli.context import CliContext, pass_context
from connector.cli.mastery import mastery
from connector.cli.output import echo_json, table
from connector.cli.profiles import profiles
from connector.cli.push import push
from connector.cli.reports import reports
from connector.config.loader import validate
from connector.domain.framework import FrameworkKind
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.db import upgrade
from connector.sample.generator import generate
from connector.sync.framework_import import fetch_package, import_framework
from connector.sync.report import RunReport
from connector.transcripts.service import (
    FORMATS,
    build_for_students,
    district_today,
    write_transcripts,
)


@click.group("db")
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: CliContext) -> None:
    """Create or migrate the schema to the latest version (safe to repeat)."""
    upgrade(ctx.engine)
    click.echo(f"schema is current ({ctx.engine.url.render_as_string(hide_password=True)})")


@click.group("config")
def config() -> None:
    """The district configuration."""


@config.command("validate")
@pass_context
def config_validate(ctx: CliContext) -> None:
    """Report every problem with file, key path and reason; exit 2 if any."""
    problems = validate(ctx.config_dir, ctx.district_key)
    if not problems:
        settings = ctx.settings
        click.echo(f"configuration of {settings.district.key!r} is valid "
                   f"(version {settings.version}): {len(settings.sources)} source(s), "
                   f"{len(settings.destinations)} destination(s), {len(settings.jobs)} job(s), "
                   f"{len(settings.crosswalk)} crosswalk row(s)")
        return
    for problem in problems:
        click.echo(str(problem), err=True)
    click.echo(f"{len(problems)} problem(s)", err=True)
    sys.exit(2)


@click.group("framework")
def framework() -> None:
    """Competency frameworks (CASE)."""


@framework.command("import")
@click.argument("location")
@click.option("--key", default="", help="Framework key (as in district.yaml).")
@click.option("--kind", type=click.Choice([k.value for k in FrameworkKind]), default=None,
              help="academic (default), habits or reference.")
@click.option("--token-env", default=None, help="Name of the env variable holding a bearer token.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_context
def framework_import(ctx: CliContext, location: str, key: str, kind: str | None,
                     token_env: str | None, as_json: bool) -> None:
    """Import a CASE 1.0/1.1 CFPackage from a file or a CASE provider URL."""
    settings = ctx.settings
    configured = next((f for f in settings.district.frameworks if f.key == key), None)
    kind = kind or (configured.kind if configured else FrameworkKind.ACADEMIC.value)
    token = os.environ.get(token_env) if token_env else None
    if not location.startswith(("http://", "https://")) and not Path(location).exists():
        location = str(settings.resolve_path(location))
    data, raw = fetch_package(location, token=token)
    with ctx.session() as session, session.begin():
        summary = import_framework(session, data, raw, location=location, key=key, kind=kind,
                                   dok_patterns=settings.district.dok_patterns)
    result = summary.as_dict()
    if as_json:
        echo_json(result)
        return
    click.echo(f"{summary.title} ({summary.identifier}), CASE {summary.case_version}")
    rows = [("items", summary.items), ("associations", summary.associations)]
    rows += [(f"  {t}", n) for t, n in summary.associations_by_type.items()]
    rows += [("items with DOK", summary.items_with_dok), ("item types", summary.item_types),
             ("rubrics", summary.rubrics), ("created", summary.created),
             ("updated", summary.updated), ("unchanged", summary.unchanged),
             ("deprecated", summary.deprecated), ("rejected", len(summary.rejected)),
             ("warnings", len(summary.warnings))]
    click.echo(table(("", "count"), rows))
    for line in summary.rejected[:20]:
        click.echo(f"rejected: {line}", err=True)


@framework.command("list")
@pass_context
def framework_list(ctx: CliContext) -> None:
    """Frameworks imported for the district."""
    with ctx.session() as session:
        rows = session.execute(
            select(m.Framework.key, m.Framework.kind, m.Framework.title, m.Framework.case_version,
                   func.count(m.Competency.id))
            .outerjoin(m.Competency, m.Competency.framework_id == m.Framework.id)
            .group_by(m.Framework.id).order_by(m.Framework.id)).all()
    click.echo(table(("key", "kind", "title", "CASE", "items"), rows))


@click.group("sync")
def sync() -> None:
    """Sync jobs."""


def _print_report(report: RunReport, as_json: bool) -> None:
    if as_json:
        echo_json(report.as_dict())
        return
    rows: list[tuple[Any, ...]] = []
    for fw in report.frameworks:
        rows.append(("framework", fw["title"][:40], fw["items"], fw["created"] + fw["updated"],
                     len(fw["rejected"])))
    for source, streams in report.sources.items():
        for stream, c in streams.items():
            rows.append((f"source {source}", stream, c["read"],
                         c["inserted"] + c["updated"] + c["deleted"], c["rejected"]))
    if report.mapping:
        rows.append(("mapping", "items mapped / unmapped",
                     f"{report.mapping['mapped_items']} / {report.mapping['unmapped_items']}",
                     report.mapping["items_realigned"], ""))
    if report.evidence:
        e = report.evidence
        rows.append(("evidence", "pieces", e["inserted"] + e["updated"] + e["unchanged"],
                     e["inserted"] + e["updated"] + e["deleted"], e["rejected"]))
    if report.mastery:
        ms = report.mastery
        rows.append(("mastery", "records recomputed", ms["recomputed"],
                     ms["inserted"] + ms["updated"] + ms["removed"], ""))
    for p in report.push:
        rows.append((f"push {p['destination']}", "results", p["planned"] + p["unchanged"],
                     p["written"], ""))
    if report.transcripts:
        rows.append(("transcripts", report.transcripts["out"], report.transcripts["students"],
                     report.transcripts["files"], ""))
    click.echo(table(("stage", "what", "seen", "changed", "rejected"), rows))
    if report.mastery.get("distribution"):
        dist = ", ".join(f"{k}: {v}" for k, v in report.mastery["distribution"].items())
        click.echo(f"mastery levels: {dist}")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(report.summary_line())
    if report.rejections:
        click.echo(f"see the rejected records: connector runs rejections {report.run_id}")


@sync.command("run")
@click.argument("job")
@click.option("--json", "as_json", is_flag=True)
@click.option("--full", is_flag=True,
              help="Read every source in full, not only what changed since the last run "
                   "(after fixing the roster or the identity crosswalk).")
@pass_context
def sync_run(ctx: CliContext, job: str, as_json: bool, full: bool) -> None:
    """Run JOB once now. Exits 1 only when the run as a whole failed."""
    report = definitions.run(ctx.factory, ctx.settings, job, full=full)
    _print_report(report, as_json)
    if report.failed:
        sys.exit(1)


@click.group("runs")
def runs() -> None:
    """Past runs and their rejections."""


@runs.command("list")
@click.option("--limit", default=20, show_default=True)
@pass_context
def runs_list(ctx: CliContext, limit: int) -> None:
    with ctx.session() as session:
        rows = session.execute(select(
            m.SyncRun.id, m.SyncRun.job, m.SyncRun.status, m.SyncRun.started_at,
            m.SyncRun.rejection_count, m.SyncRun.config_version).order_by(
            m.SyncRun.id.desc()).limit(limit)).all()
    click.echo(table(("run", "job", "status", "started", "rejections", "config"),
                     [(r[0], r[1], r[2], r[3].isoformat(timespec="seconds"), r[4], r[5])
                      for r in rows]))


@runs.command("rejections")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def runs_rejections(ctx: CliContext, run_id: int, as_json: bool) -> None:
    """Every record RUN_ID rejected: file, row, field and reason."""
    with ctx.session() as session:
        rows = session.scalars(select(m.SyncRejection).where(
            m.SyncRejection.run_id == run_id).order_by(m.SyncRejection.id)).all()
    data = [{"file": r.file, "row": r.row, "field": r.field, "reason": r.reason,
             "record": r.record_key} for r in rows]
    if as_json:
        echo_json(data)
    else:
        click.echo(table(("file", "row", "field", "reason"),
                         [(d["file"], d["row"], d["field"], d["reason"]) for d in data]))


@click.command("exceptions")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def exceptions(ctx: CliContext, as_json: bool) -> None:
    """Students a source could not match to the SIS roster, from each job's latest run.

    Fix each with an entry in the identity crosswalk (system,kind,external_id,sis_id)
    or with the SIS id in the vendor's system; nothing is matched by name.
    """
    with ctx.session() as session:
        data = queries.identity_exceptions(session)
    if as_json:
        echo_json(data)
        return
    click.echo(table(("job", "run", "records", "where", "why"),
                     [(d["job"], d["run"], d["records"], d["where"], d["reason"])
                      for d in data]))
    click.echo(f"{len(data)} unmatched student(s)")
    if data:
        click.echo("after fixing the roster or the identity crosswalk, run the job once with "
                   "`connector sync run JOB --full` so that scores refused before are read again")


@click.group("mapping")
def mapping() -> None:
    """Alignments of source items to competencies."""


@mapping.command("unmapped")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def mapping_unmapped(ctx: CliContext, as_json: bool) -> None:
    """Items no rule aligned: add them to the crosswalk, or leave them out on purpose."""
    with ctx.session() as session:
        data = queries.unmapped_items(session)
    if as_json:
        echo_json(data)
        return
    click.echo(table(("source", "item", "title", "scores"),
                     [(d["source"], d["item"], d["title"][:50], d["scores"]) for d in data]))
    click.echo(f"{len(data)} unmapped item(s)")


@click.group("transcripts")
def transcripts() -> None:
    """Proficiency transcripts and explanatory letters."""


@transcripts.command("generate")
@click.option("--student", "students", multiple=True, help="SIS id (repeatable).")
@click.option("--all", "everyone", is_flag=True, help="Every student in the district.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS),
              default=FORMATS, show_default=True)
@click.option("--processes", type=int, default=None, help="Render processes (default: cores).")
@pass_context
def transcripts_generate(ctx: CliContext, students: tuple[str, ...], everyone: bool, out: Path,
                         formats: tuple[str, ...], processes: int | None) -> None:
    """Write a PDF and HTML transcript with the explanatory letter per student."""
    if bool(students) == everyone:
        raise click.UsageError("give --student SIS_ID (one or more) or --all")
    with ctx.session() as session:
        built = build_for_students(session, ctx.settings, None if everyone else list(students),
                                   district_today(ctx.settings))
    batch = write_transcripts(built, out, formats=formats, processes=processes)
    click.echo(f"{batch.count} transcript(s), {len(batch.files)} file(s) in {out}")


@click.group("sample")
def sample() -> None:
    """The fictional sample district."""


@sample.command("generate")
@click.option("--students", default=150, show_default=True)
@click.option("--seed", default=2026, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def sample_generate(students: int, seed: int, out: Path) -> None:
    """Write the sample district's CASE, OneRoster and adaptive files at any size."""
    counts = generate(out, students=students, seed=seed)
    click.echo(table(("file set", "count"), sorted(counts.items())))


@click.command("demo")
@pass_context
def demo(ctx: CliContext) -> None:
    """Run every job of the sample district once and print a summary (make demo)."""
    upgrade(ctx.engine)
    settings = ctx.settings
    failed = False
    ordered = sorted(settings.jobs.values(), key=lambda j: j.kind != "sync")
    for job in ordered:
        click.echo(f"\n== job {job.key} ({job.kind}) ==")
        report = definitions.run(ctx.factory, settings, job.key)
        _print_report(report, False)
        failed = failed or report.failed
    if failed:
        sys.exit(1)


@click.command("scheduler")
@pass_context
def scheduler(ctx: CliContext) -> None:
    """Run the district's jobs on their cron schedules until interrupted."""
    from connector.jobs.scheduler import build_scheduler

    sched = build_scheduler(ctx.factory, ctx.settings, blocking=True)
    for job in sched.get_jobs():
        click.echo(f"scheduled {job.id}: next run {job.next_run_time}")
    sched.start()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@pass_context
def serve(ctx: CliContext, host: str, port: int) -> None:
    """Start the JSON API: reads, overrides, event intake (a development server; use WSGI in production)."""
    from connector.app import create_app

    app = create_app({"CONNECTOR_CONFIG_DIR": str(ctx.config_dir),
                      "CONNECTOR_DATABASE_URL": ctx.database_url})
    app.run(host=host, port=port)


ALL = [db, config, framework, sync, runs, exceptions, mapping, mastery, reports, push, transcripts, sample,
       demo, scheduler, serve, profiles]
