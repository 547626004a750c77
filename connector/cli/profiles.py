"""``connector profiles``: list vendor profiles, and try an export against one before a sync."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from connector.adapters.vendor_profiles.export import read_export
from connector.adapters.vendor_profiles.profile import (
    COLUMN_ROLES,
    find_profile,
    shipped_profiles,
)
from connector.cli.output import echo_json, table
from connector.errors import ConfigurationError, Rejection


@click.group("profiles")
def profiles() -> None:
    """Vendor profiles for adaptive and diagnostic exports."""


@profiles.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def profiles_list(as_json: bool) -> None:
    """The shipped profiles: vendor, what a row is, evidence type and DOK."""
    rows = [{"profile": p.key, "vendor": p.vendor, "title": p.title, "evidence": p.evidence_type,
             "dok": p.dok, "columns": dict(p.columns), "columns_verified": p.columns_public}
            for p in shipped_profiles().values()]
    if as_json:
        echo_json(rows)
        return
    click.echo(table(("profile", "vendor", "evidence", "DOK", "columns seen in real exports"),
                     [(r["profile"], r["vendor"], r["evidence"], r["dok"],
                       "yes" if r["columns_verified"] else "no (see notes)") for r in rows]))


@profiles.command("check")
@click.argument("profile")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--column", "columns", multiple=True, metavar="ROLE=NAME",
              help=f"Read ROLE from another column; roles: {', '.join(COLUMN_ROLES)}.")
@click.option("--timezone", default="UTC", show_default=True,
              help="Time zone of dates in the export that carry none (IANA name).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def profiles_check(profile: str, file: Path, columns: tuple[str, ...], timezone: str,
                   as_json: bool) -> None:
    """Read FILE through PROFILE (a shipped key or a .yaml path) and report; nothing is stored."""
    try:
        chosen = find_profile(profile, Path)
    except ConfigurationError as exc:
        raise click.ClickException(exc.message) from None
    overrides = dict(c.split("=", 1) for c in columns if "=" in c)
    chosen = chosen.with_columns(overrides)
    counts: Counter[str] = Counter()
    problems: list[Rejection] = []
    skills: set[str] = set()
    for read in read_export(chosen, file, source="check", timezone=timezone):
        if isinstance(read, Rejection):
            counts["rows"] += (read.row or 0) > 1
            problems.append(read)
            continue
        counts["rows"] += 1
        if read is None:
            counts["blank scores skipped"] += 1
            continue
        counts["scores"] += 1
        skills.add(read.item.sourced_id)
    counts["items"] = len(skills)
    counts["rejected"] = len(problems)
    if as_json:
        echo_json({"profile": chosen.key, "file": file.name, "counts": dict(counts),
                   "rejections": [p.__dict__ for p in problems[:200]]})
    else:
        click.echo(f"{file.name} through {chosen.key}: " + ", ".join(
            f"{v} {k}" for k, v in counts.items()))
        if problems:
            click.echo(table(("row", "column", "reason"),
                             [(p.row, p.field, p.reason) for p in problems[:50]]))
    if problems and not counts["scores"]:
        raise SystemExit(1)


__all__ = ["profiles"]
