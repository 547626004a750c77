"""``connector students export|purge SIS_ID``: a student's records for a request, and their removal."""

from __future__ import annotations

import json
from pathlib import Path

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table
from connector.sync.safe_push import cli_actor


@click.group("students")
def students() -> None:
    """A student's records: export them (records requests), purge them."""


@students.command("export")
@click.argument("sis_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSON here (readable by its owner only) instead of stdout.")
@pass_context
def export(ctx: CliContext, sis_id: str, out: Path | None) -> None:
    """Everything held about one student, as JSON: roster, scores, evidence, levels, what was sent."""
    from connector.sync.student_records import export_student

    with ctx.session() as session:
        data = export_student(session, sis_id)
    if out is None:
        echo_json(data)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    out.chmod(0o600)
    counts = ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in data.items()
                       if isinstance(v, list) and v)
    click.echo(f"wrote {out}: {counts or 'no records beyond the roster'}")


@students.command("purge")
@click.argument("sis_id")
@click.option("--reason", required=True, help="Why (kept in the audit entry).")
@click.option("--yes", is_flag=True, help="Remove them; without it, say what would go.")
@click.option("--actor", default=None, help="Who is purging (default: the login name).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@pass_context
def purge(ctx: CliContext, sis_id: str, reason: str, yes: bool, actor: str | None,
          as_json: bool) -> None:
    """Remove everything held about one student, with an audit entry.

    What was already sent to a SIS cannot be recalled from here: the outcome names
    the destinations that hold results for the student.
    """
    from connector.sync.student_records import purge_student

    with ctx.session() as session:
        transaction = session.begin()
        report = purge_student(session, sis_id, actor=actor or cli_actor(), reason=reason)
        if yes:
            transaction.commit()
        else:
            transaction.rollback()
    if as_json:
        echo_json({"purged": yes, **report.__dict__} if yes else
                  {"purged": False, **{**report.__dict__, "audit_id": None}})
        return
    verb = "removed" if yes else "would remove (run again with --yes)"
    click.echo(f"{sis_id}: {verb}:")
    click.echo(table(("what", "rows"), [(k.replace("_", " "), v)
                                        for k, v in report.removed.items() if v]))
    if report.sent:
        held = ", ".join(f"{d} ({n} results)" for d, n in sorted(report.sent.items()))
        click.echo(f"already sent and not recalled from here: {held}; ask each system to "
                   "remove them")
    if yes:
        click.echo(f"audit entry {report.audit_id}. If the roster still lists {sis_id}, the "
                   "next sync imports the student again: remove them at the source too")
