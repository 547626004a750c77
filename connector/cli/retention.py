"""``connector retention apply``: remove what is past the district's retention settings."""

from __future__ import annotations

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table


@click.group("retention")
def retention() -> None:
    """Remove vendor data past the district's retention settings (the scheduler does it daily)."""


@retention.command("apply")
@click.option("--dry-run", is_flag=True, help="Count what would go; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@pass_context
def apply_command(ctx: CliContext, dry_run: bool, as_json: bool) -> None:
    """Remove read learning events, old rejections and unused raw scores past retention."""
    from connector.persistence.models import utcnow
    from connector.sync.retention import apply
    from connector.sync.safe_push import cli_actor

    rules = ctx.settings.district.retention
    if not rules.active:
        click.echo("no retention settings in district.yaml (retention:): everything is kept")
        return
    with ctx.session() as session, session.begin():
        report = apply(session, rules, utcnow(), actor=cli_actor(), dry_run=dry_run)
    if as_json:
        echo_json({"dry_run": dry_run, **report.__dict__})
        return
    verb = "would remove" if dry_run else "removed"
    click.echo(table(("what", "older than", verb),
                     [(name.replace("_", " "), report.cutoffs.get(
                         {"learning_events": "events"}.get(name, name), "")[:10], count)
                      for name, count in report.removed.items()]))
