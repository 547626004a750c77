"""``connector check``: sign in to every configured system and make one cheap read."""

from __future__ import annotations

import sys

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table
from connector.sync.check import check as check_systems


@click.command("check")
@click.argument("keys", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@pass_context
def check(ctx: CliContext, keys: tuple[str, ...], as_json: bool) -> None:
    """Try every source and destination: sign in and make one cheap read.

    KEYS limits the check to those sources, destinations or frameworks. Canvas
    shows whose token it is, OneRoster one org, Ed-Fi one school, Google and
    Schoology one course, SFTP a folder listing, a CASE provider its document
    list; files and folders are opened. No secret is ever printed. Exit 1 if any
    check failed.
    """
    results = check_systems(ctx.settings, keys, factory=ctx.factory,
                            district_id=ctx.district_id())
    if as_json:
        echo_json([r.as_dict() for r in results])
    else:
        click.echo(table(("", "what", "key", "kind", "seconds", "result"),
                         [("OK" if r.ok else "FAILED", r.what, r.key, r.kind, r.seconds,
                           r.message) for r in results]))
        failed = sum(1 for r in results if not r.ok)
        click.echo(f"{len(results) - failed} of {len(results)} check(s) passed")
    if any(not r.ok for r in results):
        sys.exit(1)
