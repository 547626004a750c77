"""The CLI's commands. Each one loads config, opens the store and calls a service."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from sqlalchemy import func, select

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table
from connector.cli.runs import print_report
from connector.config.loader import validate
from connector.domain.framework import FrameworkKind
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence import queries
from connector.persistence.db import upgrade
from connector.sample.generator import generate
from connector.sync.framework_import import fetch_package, import_framework


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
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@pass_context
def config_validate(ctx: CliContext, as_json: bool) -> None:
    """Report every problem with file, key path and reason; exit 2 if any is an error.

    Also checks this machine as a run will see it: every ${VAR} is set (named,
    never shown), every file and folder exists and can be read or written.
    """
    problems = validate(ctx.config_dir, ctx.district_key)
    errors = [p for p in problems if p.severity == "error"]
    summary = None
    if not errors:
        settings = ctx.settings
        summary = {"district": settings.district.key, "version": settings.version,
                   "sources": len(settings.sources), "destinations": len(settings.destinations),
                   "jobs": len(settings.jobs), "crosswalk_rows": len(settings.crosswalk)}
    if as_json:
        echo_json({"valid": not errors, **(summary or {}),
                   "errors": [p.as_dict() for p in errors],
                   "warnings": [p.as_dict() for p in problems if p.severity != "error"]})
    else:
        for problem in problems:
            prefix = "" if problem.severity == "error" else "warning: "
            click.echo(f"{prefix}{problem}", err=True)
        if summary is not None:
            click.echo(f"configuration of {summary['district']!r} is valid "
                       f"(version {summary['version']}): {summary['sources']} source(s), "
                       f"{summary['destinations']} destination(s), {summary['jobs']} job(s), "
                       f"{summary['crosswalk_rows']} crosswalk row(s)"
                       + (f"; {len(problems)} warning(s)" if problems else ""))
        else:
            click.echo(f"{len(errors)} problem(s)"
                       + (f" and {len(problems) - len(errors)} warning(s)"
                          if len(problems) > len(errors) else ""), err=True)
    if errors:
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
    if not location.startswith(("http://", "https://")) and not Path(location).exists():
        location = str(settings.resolve_path(location))
    # Without --key, a framework district.yaml lists at this location keeps its key there.
    configured = next((f for f in settings.district.frameworks if f.key == key or (
        not key and f.location in (location, str(settings.resolve_path(f.location))))), None)
    key = key or (configured.key if configured else "")
    kind = kind or (configured.kind if configured else FrameworkKind.ACADEMIC.value)
    token = os.environ.get(token_env) if token_env else None
    data, raw = fetch_package(location, token=token)
    with ctx.session() as session, session.begin():
        summary = import_framework(session, data, raw, location=location, key=key, kind=kind,
                                   dok_patterns=settings.district.dok_patterns)
    result = summary.as_dict()
    if as_json:
        echo_json(result)
        return
    click.echo(f"{summary.title} ({summary.identifier}), CASE {summary.case_version}")
    rows = [("key", summary.key), ("items", summary.items), ("associations", summary.associations)]
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
@click.option("--json", "as_json", is_flag=True, help="Print the frameworks as JSON.")
@pass_context
def framework_list(ctx: CliContext, as_json: bool) -> None:
    """Frameworks imported for the district."""
    with ctx.session() as session:
        rows = session.execute(
            select(m.Framework.key, m.Framework.kind, m.Framework.title, m.Framework.case_version,
                   func.count(m.Competency.id))
            .outerjoin(m.Competency, m.Competency.framework_id == m.Framework.id)
            .group_by(m.Framework.id).order_by(m.Framework.id)).all()
    if as_json:
        echo_json([{"key": r[0], "kind": r[1], "title": r[2], "case_version": r[3],
                    "items": r[4]} for r in rows])
        return
    click.echo(table(("key", "kind", "title", "CASE", "items"), rows))
    if not rows:
        click.echo("no framework imported yet: run a sync job, or 'connector framework import'")


@click.command("exceptions")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def exceptions(ctx: CliContext, as_json: bool) -> None:
    """Students a source could not match to the SIS roster, from each job's latest run.

    Fix each by linking the id to the roster student (``connector identity link``, or
    the identity queue), with an entry in the identity crosswalk file, or with the SIS
    id in the vendor's system; nothing is matched by name.
    """
    with ctx.session() as session:
        data = queries.identity_exceptions(session)
    if as_json:
        echo_json(data)
        return
    click.echo(table(("job", "run", "source", "kind", "id", "records", "linked", "why"),
                     [(d["job"], d["run"], d["source"], d["kind"], d["external_id"],
                       d["records"], d["linked"] or "", d["reason"]) for d in data]))
    click.echo(f"{len(data)} unmatched student(s)")
    if data:
        click.echo("link an id to its student with `connector identity link SOURCE KIND ID "
                   "SIS_ID`: the next run reads that source again in full. After fixing "
                   "the roster or the identity crosswalk file instead, run the job once with "
                   "`connector sync run JOB --full` so that scores refused before are read "
                   "again")


@click.group("mapping")
def mapping() -> None:
    """Alignments of source items to competencies."""


@mapping.command("unmapped")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
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


@click.group("sample")
def sample() -> None:
    """The fictional sample district."""


@sample.command("generate")
@click.option("--students", default=150, show_default=True,
              help="How many middle school students.")
@click.option("--high-school", "high_school", default=200, show_default=True,
              help="How many students at Cedar Ridge High School (0: none).")
@click.option("--seed", default=2026, show_default=True,
              help="Random seed: the same seed writes the same files.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the district's files to.")
def sample_generate(students: int, high_school: int, seed: int, out: Path) -> None:
    """Write the sample district's CASE, OneRoster and adaptive files at any size."""
    counts = generate(out, students=students, seed=seed, high_school_students=high_school)
    click.echo(table(("file set", "count"), sorted(counts.items())))


@click.command("demo")
@click.option("--overrides", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A CSV of teachers' overrides to apply after the syncs "
              "(the sample's: examples/sample-district/overrides.csv).")
@pass_context
def demo(ctx: CliContext, overrides: Path | None) -> None:
    """Run every job of the sample district once and print a summary (make demo).

    Sync jobs run first; then the teachers' overrides of ``--overrides`` are applied, so
    the transcripts that follow show them.
    """
    from connector.cli.mastery import apply_override_file

    upgrade(ctx.engine)
    settings = ctx.settings
    failed = False
    ordered = sorted(settings.jobs.values(), key=lambda j: j.kind != "sync")
    applied = overrides is None
    for job in ordered:
        if not applied and overrides is not None and job.kind != "sync":
            click.echo("\n== teachers' overrides ==")
            failed = bool(apply_override_file(ctx, overrides).rejected) or failed
            applied = True
        click.echo(f"\n== job {job.key} ({job.kind}) ==")
        report = definitions.run(ctx.factory, settings, job.key)
        print_report(report, False)
        failed = failed or report.failed
    if not applied and overrides is not None:
        failed = bool(apply_override_file(ctx, overrides).rejected) or failed
    if failed:
        sys.exit(1)
    _demo_admin(ctx)


#: Where ``make demo`` takes the demo admin's password from, when set.
DEMO_PASSWORD = "CONNECTOR_DEMO_ADMIN_PASSWORD"


def _demo_admin(ctx: CliContext) -> None:
    """A district admin to sign in to the web application with, made once.

    The password is ``CONNECTOR_DEMO_ADMIN_PASSWORD`` when set (and set again when it
    changed), else a new one printed once. A rerun with the account in place and no
    password given changes nothing.
    """
    from connector.domain.roles import DISTRICT_ADMIN
    from connector.sync import accounts

    email = f"admin@{ctx.settings.district.key}.example"
    given = os.environ.get(DEMO_PASSWORD, "")
    with ctx.session() as session, session.begin():
        user = accounts.find_user(session, email)
        if user is None:
            password = given or accounts.new_password()
            accounts.create_user(session, email, name="Demo administrator", by="make demo",
                                 password=password)
            accounts.grant(session, email, DISTRICT_ADMIN, by="make demo")
            told = f"password: {password}" if not given else f"password: from ${DEMO_PASSWORD}"
        elif given and accounts.authenticate(session, email, given) is None:
            accounts.reset_password(session, email, given, by="make demo")
            told = f"password: reset from ${DEMO_PASSWORD}"
        elif given:
            told = f"password: from ${DEMO_PASSWORD} (unchanged)"
        else:
            told = ("password: as made before (`connector users reset-password "
                    f"{email}` makes a new one)")
    click.echo(f"\n== web application ==\ndemo district admin: {email}\n{told}\n"
               "open it: CONNECTOR_COOKIE_SECURE=false .venv/bin/connector serve, then "
               "http://127.0.0.1:8080/")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8080, show_default=True, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes.")
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(2, 3600),
              help="Seconds a request may take before its worker is replaced.")
@click.option("--dev", is_flag=True,
              help="Flask's development server instead (one process, no request timeout).")
@pass_context
def serve(ctx: CliContext, host: str, port: int, workers: int, timeout: int, dev: bool) -> None:
    """Start the JSON API: reads, overrides, event intake, under gunicorn with a request timeout."""
    from connector.app import create_app

    overrides = {"CONNECTOR_CONFIG_DIR": str(ctx.config_dir),
                 "CONNECTOR_DATABASE_URL": ctx.database_url}
    if dev:
        create_app(overrides).run(host=host, port=port)
        return
    from connector.serving import ConnectorServer, gunicorn_options

    ConnectorServer(lambda: create_app(overrides),
                    gunicorn_options(host=host, port=port, workers=workers,
                                     timeout=timeout)).run()


