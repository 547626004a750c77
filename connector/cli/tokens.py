"""``connector tokens create|list|revoke``: machine tokens for the API, kept only as hashes."""

from __future__ import annotations

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table
from connector.sync.push_runs import cli_actor


@click.group("tokens")
def tokens() -> None:
    """Machine tokens for the API: create (shown once), list, revoke.

    One per system that calls the API, each with its own scopes.
    """


@tokens.command("create")
@click.option("--name", required=True, help="What the token is for (monitoring, warehouse).")
@click.option("--scope", "scopes", multiple=True, required=True,
              help="read, write, admin or intake:<source>; repeat for more than one.")
@click.option("--days", type=int, default=None,
              help="Expire after this many days (default: until revoked).")
@click.option("--user", default=None,
              help="An account's email: the token acts with that person's roles, capped by "
                   "its scopes (default: a service token for the whole district).")
@click.option("--by", default=None, help="Who is making it (default: the login name).")
@click.option("--json", "as_json", is_flag=True, help="Print the token and its id as JSON.")
@pass_context
def create(ctx: CliContext, name: str, scopes: tuple[str, ...], days: int | None,
           user: str | None, by: str | None, as_json: bool) -> None:
    """Make a token and print it once: only its hash is kept, so copy it now."""
    from connector.sync.api_tokens import make_token

    with ctx.session() as session, session.begin():
        made = make_token(session, name=name, scopes=list(scopes), by=by or cli_actor(),
                          days=days, user=user)
    if as_json:
        echo_json(made.__dict__)
        return
    until = made.expires_at.date().isoformat() if made.expires_at else "until revoked"
    click.echo(f"token {made.id} ({made.name}; {', '.join(made.scopes)}; {until}):")
    click.echo(made.token)
    click.echo("This is the only time it is shown: store it in the calling system's secrets.",
               err=True)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def list_(ctx: CliContext, as_json: bool) -> None:
    """The district's tokens: names, scopes, expiry, last use (never the tokens)."""
    from connector.sync.api_tokens import list_tokens

    with ctx.session() as session:
        rows = list_tokens(session)
    if as_json:
        echo_json(rows)
        return

    def day(value: object) -> str:
        return value.date().isoformat() if hasattr(value, "date") else ""

    click.echo(table(("id", "name", "starts", "scopes", "user", "made", "expires", "revoked",
                      "last used"),
                     [(r["id"], r["name"], r["prefix"] + "…", ",".join(r["scopes"]),
                       r["user"] or "(service)",
                       day(r["created_at"]), day(r["expires_at"]), day(r["revoked_at"]),
                       day(r["last_used_at"])) for r in rows]))


@tokens.command("revoke")
@click.argument("token_id", type=int)
@click.option("--reason", required=True, help="Why (kept in the audit entry).")
@click.option("--by", default=None, help="Who is revoking it (default: the login name).")
@pass_context
def revoke(ctx: CliContext, token_id: int, reason: str, by: str | None) -> None:
    """Revoke a token: from now on it is refused (401)."""
    from connector.sync.api_tokens import revoke_token

    with ctx.session() as session, session.begin():
        row = revoke_token(session, token_id, by=by or cli_actor(), reason=reason)
        name = row.name
    click.echo(f"token {token_id} ({name}) revoked")
