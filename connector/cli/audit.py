"""``connector audit``: the changes people made, newest first, with before and after."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table


@click.command("audit")
@click.option("--action", default=None, help="Only this action (override.set, token.revoke...).")
@click.option("--subject", default=None, help="Only subjects starting so (a SIS id, token:3).")
@click.option("--actor", default=None, help="Only changes by this actor.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only changes from this day on (UTC).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="How many events, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def audit(ctx: CliContext, action: str | None, subject: str | None, actor: str | None,
          since: datetime | None, limit: int, as_json: bool) -> None:
    """The changes people made: who, when, what, why, before and after."""
    from connector.sync.audit import events

    with ctx.session() as session:
        rows = events(session, action=action, subject=subject, actor=actor,
                      since=since.replace(tzinfo=UTC) if since else None, limit=limit)
    if as_json:
        echo_json(rows)
        return

    def brief(value: object) -> str:
        return "" if value is None else json.dumps(value, sort_keys=True)[:60]

    click.echo(table(("id", "at", "actor", "action", "subject", "before", "after", "reason"),
                     [(r["id"], r["at"].isoformat(timespec="seconds"), r["actor"], r["action"],
                       r["subject"], brief(r["before"]), brief(r["after"]), r["reason"][:40])
                      for r in rows]))
