"""``connector identity links|link|unlink``: the identity queue resolved from a terminal."""

from __future__ import annotations

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table
from connector.sync.identity_links import KINDS
from connector.sync.push_runs import cli_actor


@click.group("identity")
def identity() -> None:
    """Identity links: a source's id for a student, tied to the roster student it means.

    Each row of ``connector exceptions`` names a source, a kind and an id; linking it
    to the student's SIS id lets the next run store the records that waited for it.
    """


@identity.command("links")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def links(ctx: CliContext, as_json: bool) -> None:
    """The links made so far, oldest first."""
    from connector.sync.identity_links import list_links

    with ctx.session() as session:
        rows = list_links(session)
    if as_json:
        echo_json(rows)
        return
    click.echo(table(("id", "source", "kind", "external id", "student", "by"),
                     [(r["id"], r["source"], r["kind"], r["external_id"], r["student"],
                       r["created_by"]) for r in rows]))
    click.echo(f"{len(rows)} link(s)")


@identity.command("link")
@click.argument("source")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("external_id")
@click.argument("sis_id")
@click.option("--by", default=None, help="Who is linking (default: the login name).")
@click.option("--json", "as_json", is_flag=True, help="Print the link as JSON.")
@pass_context
def link(ctx: CliContext, source: str, kind: str, external_id: str, sis_id: str,
         by: str | None, as_json: bool) -> None:
    """Link SOURCE's KIND id EXTERNAL_ID to the roster student SIS_ID (audited)."""
    from connector.sync.identity_links import add_link

    with ctx.session() as session, session.begin():
        row, made = add_link(session, ctx.settings, {
            "source": source, "kind": kind, "external_id": external_id, "student": sis_id},
            by=by or cli_actor())
    if as_json:
        echo_json(row)
        return
    if made:
        click.echo(f"link {row['id']}: {source} {kind} {external_id} is student {sis_id}; "
                   f"the next run of a job reading {source} brings in what waited for it")
    else:
        click.echo(f"link {row['id']} already says so: nothing changed")


@identity.command("unlink")
@click.argument("link_id", type=int)
@click.option("--reason", required=True, help="Why, for the audit.")
@click.option("--by", default=None, help="Who is removing it (default: the login name).")
@pass_context
def unlink(ctx: CliContext, link_id: int, reason: str, by: str | None) -> None:
    """Remove link LINK_ID; records already stored through it stay (audited)."""
    from connector.sync.identity_links import remove_link

    with ctx.session() as session, session.begin():
        gone = remove_link(session, link_id, by=by or cli_actor(), reason=reason)
    click.echo(f"link {gone['id']} removed ({gone['source']} {gone['kind']} "
               f"{gone['external_id']})")
