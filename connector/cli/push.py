"""``connector push``: preview, send, inspect and undo writes to a SIS API.

``plan`` never contacts the destination; ``run`` sends exactly what ``plan``
shows (both compute the same diff against the ledger); ``restore`` puts back
the before-images a run recorded. Exit code 1 when any record was refused, so
a scheduler or script notices.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import click
from sqlalchemy import select

from connector.cli.context import CliContext, pass_context
from connector.cli.output import echo_json, table
from connector.persistence import models as m
from connector.sync import safe_push
from connector.sync.push_diff import PushDiff


@click.group("push")
def push() -> None:
    """Preview, send and undo writes to an API destination (OneRoster REST, Ed-Fi)."""


def _plan_json(destination: str, changes: PushDiff) -> dict[str, Any]:
    return {
        "destination": destination,
        "summary": {"create": changes.count("create"), "update": changes.count("update"),
                    "delete": changes.count("delete"), "unchanged": changes.unchanged},
        "by_resource": changes.by_resource(),
        "skipped": [{"key": key, "why": why} for key, why in changes.skipped],
        "changes": [{"action": c.action, "resource": c.resource, "key": c.key,
                     "remote_id": c.remote_id, "label": c.label,
                     "body": dict(c.record.body) if c.record else None}
                    for c in changes.changes],
    }


@push.command("plan")
@click.argument("destination")
@click.option("--json", "as_json", is_flag=True, help="Every change with the body it would send.")
@pass_context
def push_plan(ctx: CliContext, destination: str, as_json: bool) -> None:
    """What 'push run DESTINATION' would create, update and delete; writes nothing."""
    changes = safe_push.plan(ctx.factory, ctx.district_id(), ctx.settings, destination)
    if as_json:
        echo_json(_plan_json(destination, changes))
        return
    rows = [(resource, n["create"], n["update"], n["delete"])
            for resource, n in sorted(changes.by_resource().items())]
    click.echo(f"push plan for {destination}: {changes.count('create')} to create, "
               f"{changes.count('update')} to update, {changes.count('delete')} to delete, "
               f"{changes.unchanged} unchanged")
    if rows:
        click.echo(table(("resource", "create", "update", "delete"), rows))
    if changes.skipped:
        reasons = Counter(why for _key, why in changes.skipped)
        click.echo(f"{len(changes.skipped)} results cannot be sent with this configuration:")
        for why, count in reasons.most_common():
            click.echo(f"  {count:>6}  {why}")


def _print_report(report: safe_push.PushReport, as_json: bool) -> None:
    if as_json:
        echo_json(report.as_dict())
    else:
        counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
        click.echo(f"push run {report.run_id} ({report.kind} {report.destination}): "
                   f"{report.status}; {counts}")
        if report.message:
            click.echo(report.message)
        if report.problems:
            click.echo(table(("record", "what", "status", "server said"),
                             [(p.label or p.key, p.status, p.http_status or "", p.message)
                              for p in report.problems]))
    if report.status != "completed":
        raise SystemExit(1)


@push.command("run")
@click.argument("destination")
@click.option("--json", "as_json", is_flag=True)
@click.option("--actor", default=None, help="Who is pushing (default: the login name).")
@pass_context
def push_run(ctx: CliContext, destination: str, as_json: bool, actor: str | None) -> None:
    """Send the plan: read each record first, write, read back, audit."""
    _print_report(safe_push.run(ctx.factory, ctx.district_id(), ctx.settings, destination,
                                actor=actor), as_json)


@push.command("restore")
@click.argument("run_id", type=int)
@click.option("--force", is_flag=True,
              help="Restore even though later runs changed some of the same records.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--actor", default=None)
@pass_context
def push_restore(ctx: CliContext, run_id: int, force: bool, as_json: bool,
                 actor: str | None) -> None:
    """Put back the state every record of push run RUN_ID had before it."""
    _print_report(safe_push.restore(ctx.factory, ctx.district_id(), ctx.settings, run_id,
                                    actor=actor, force=force), as_json)


@push.command("runs")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def push_runs(ctx: CliContext, limit: int, as_json: bool) -> None:
    """Recent pushes and restores, newest first."""
    with ctx.session() as session:
        runs: list[dict[str, Any]] = [{"run_id": r.id, "destination": r.destination, "kind": r.kind,
                 "actor": r.actor, "started_at": r.started_at, "finished_at": r.finished_at,
                 "status": r.status, "counts": r.counts, "restores_run_id": r.restores_run_id}
                for r in session.scalars(select(m.PushRun).order_by(m.PushRun.id.desc())
                                         .limit(limit))]
    if as_json:
        echo_json(runs)
        return
    click.echo(table(("run", "destination", "kind", "actor", "started", "status", "counts"),
                     [(r["run_id"], r["destination"], r["kind"], r["actor"],
                       r["started_at"].isoformat(timespec="seconds"), r["status"],
                       " ".join(f"{k}={v}" for k, v in r["counts"].items() if v))
                      for r in runs]))


@push.command("audit")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="With before, sent and after bodies.")
@pass_context
def push_audit(ctx: CliContext, run_id: int, as_json: bool) -> None:
    """Every record push run RUN_ID touched: action, outcome, and what the server said."""
    with ctx.session() as session:
        rows: list[dict[str, Any]] = [
            {"seq": a.seq, "resource": a.resource, "key": a.record_key, "action": a.action,
                 "status": a.status, "http_status": a.http_status, "message": a.message,
                 "at": a.at, "before": a.before, "sent": a.sent, "after": a.after}
                for a in session.scalars(select(m.PushAudit).where(m.PushAudit.run_id == run_id)
                                         .order_by(m.PushAudit.seq))]
    if as_json:
        echo_json(rows)
        return
    click.echo(table(("seq", "resource", "action", "status", "http", "record", "message"),
                     [(r["seq"], r["resource"], r["action"], r["status"], r["http_status"] or "",
                       r["key"][:60], r["message"][:80]) for r in rows]))
