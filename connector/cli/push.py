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
from connector.cli.output import StageProgress, echo_json, table
from connector.errors import ConfigurationError
from connector.persistence import models as m
from connector.sync import push_review, safe_push
from connector.sync.push import file_plan, push_destination
from connector.sync.push_diff import PushDiff
from connector.sync.push_hold import Verdict, judge


@click.group("push")
def push() -> None:
    """Preview, send, hold, approve and undo pushes to destinations."""


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
    """What the next push to DESTINATION would create, update and delete; writes nothing.

    Also says whether the push would be held for review (the destination's hold rules).
    """
    settings = ctx.settings
    config = settings.destinations.get(destination)
    if config is None:
        raise ConfigurationError(f"there is no destination {destination!r}; the configured "
                                 f"ones are {', '.join(sorted(settings.destinations)) or 'none'}")
    if not safe_push.is_record_destination(settings, destination):
        _file_plan(ctx, destination, as_json)
        return
    changes, entries = safe_push.planned(ctx.factory, ctx.district_id(), settings,
                                         safe_push.record_destination(settings, destination))
    verdict = judge(config.hold, safe_push.size_of(changes, entries))
    if as_json:
        echo_json({**_plan_json(destination, changes),
                   "hold": {"held": verdict.held, "reason": verdict.reason,
                            "size": verdict.size.as_dict() if verdict.size else {}}})
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
    _say_hold(verdict)


def _say_hold(verdict: Verdict) -> None:
    if verdict.held:
        click.echo(f"this push would be held for review: {verdict.reason}")
    elif verdict.size is not None and verdict.size.lowered:
        click.echo(f"{verdict.size.lowered} result(s) would go down a level")


def _file_plan(ctx: CliContext, destination: str, as_json: bool) -> None:
    settings = ctx.settings
    config = settings.destinations[destination]
    with ctx.session() as session:
        planned = file_plan(session, settings, config, settings.district.key)
    verdict = judge(config.hold, planned.size)
    size = planned.size
    unchanged = len(planned.wanted) - len(planned.changed)
    if as_json:
        echo_json({"destination": destination,
                   "summary": {"create": size.create, "update": size.update, "delete": 0,
                               "unchanged": unchanged, "lowered": size.lowered},
                   "hold": {"held": verdict.held, "reason": verdict.reason,
                            "size": size.as_dict()},
                   "changes": [{"action": "update" if r.record_key in planned.ledger else "create",
                                "key": r.record_key, "student": r.student_sourced_id,
                                "competency": r.line_item.competency_code
                                or r.line_item.competency_identifier,
                                "class": r.line_item.class_sourced_id,
                                "level": r.level_code or None, "state": r.state,
                                "was": planned.ledger[r.record_key].level_value
                                if r.record_key in planned.ledger else None}
                               for r in planned.changed]})
        return
    click.echo(f"push plan for {destination}: {size.create} result(s) to create, {size.update} "
               f"to update, {unchanged} unchanged (the destination has {size.at_destination})")
    _say_hold(verdict)


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
    if report.status == "held":
        click.echo(f"nothing was sent: review with 'connector push plan {report.destination}', "
                   f"then 'connector push approve {report.run_id}'")
    if report.status != "completed":
        raise SystemExit(1)


@push.command("run")
@click.argument("destination")
@click.option("--json", "as_json", is_flag=True, help="Print the push report as JSON.")
@click.option("--actor", default=None, help="Who is pushing (default: the login name).")
@pass_context
def push_run(ctx: CliContext, destination: str, as_json: bool, actor: str | None) -> None:
    """Send the plan now: API records are read first, written, read back and audited.

    A plan beyond the destination's hold rules is held instead (exit 1); approve it
    with 'connector push approve RUN'.
    """
    settings = ctx.settings
    if destination in settings.destinations and not safe_push.is_record_destination(
            settings, destination):
        with ctx.session() as session, session.begin():
            result = push_destination(session, settings, settings.destinations[destination],
                                      settings.district.key, None, actor=actor or safe_push.cli_actor())
        if as_json:
            echo_json(result.__dict__)
        elif result.held:
            click.echo(f"held for review as push run {result.held['push_run']}: "
                       f"{result.held['reason']}")
        else:
            click.echo(f"{result.written} result(s) written to {result.location or destination}, "
                       f"{result.unchanged} unchanged")
        if result.held:
            raise SystemExit(1)
        return
    progress = StageProgress(as_json=as_json)
    try:
        report = safe_push.run(ctx.factory, ctx.district_id(), settings, destination,
                               actor=actor, progress=progress)
    finally:
        progress.close()
    _print_report(report, as_json)


@push.command("approve")
@click.argument("run_id", type=int)
@click.option("--by", "actor", default=None, help="Who approves (default: the login name).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@pass_context
def push_approve(ctx: CliContext, run_id: int, actor: str | None, as_json: bool) -> None:
    """Send the held push RUN_ID, if its plan is still the plan now.

    If new evidence changed the plan since it was held, nothing is sent: the new
    plan is held as another push run to review (exit 1).
    """
    decision = push_review.approve(ctx.factory, ctx.district_id(), ctx.settings, run_id,
                                   actor=actor or safe_push.cli_actor())
    _print_decision(decision, as_json)
    if decision.status not in ("completed",):
        raise SystemExit(1)


@push.command("discard")
@click.argument("run_id", type=int)
@click.option("--reason", default="", help="Why (kept with the push run).")
@click.option("--by", "actor", default=None, help="Who discards (default: the login name).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@pass_context
def push_discard(ctx: CliContext, run_id: int, reason: str, actor: str | None,
                 as_json: bool) -> None:
    """Drop the held push RUN_ID without sending it."""
    decision = push_review.discard(ctx.factory, ctx.district_id(), run_id,
                                   actor=actor or safe_push.cli_actor(), reason=reason)
    _print_decision(decision, as_json)


def _print_decision(decision: push_review.Decision, as_json: bool) -> None:
    if as_json:
        echo_json(decision.__dict__)
    else:
        click.echo(f"push run {decision.run_id} to {decision.destination}: {decision.status}; "
                   f"{decision.message}")


@push.command("restore")
@click.argument("run_id", type=int)
@click.option("--force", is_flag=True,
              help="Restore even though later runs changed some of the same records.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--actor", default=None, help="Who restores (default: the login name).")
@pass_context
def push_restore(ctx: CliContext, run_id: int, force: bool, as_json: bool,
                 actor: str | None) -> None:
    """Put back the state every record of push run RUN_ID had before it."""
    _print_report(safe_push.restore(ctx.factory, ctx.district_id(), ctx.settings, run_id,
                                    actor=actor, force=force), as_json)


@push.command("runs")
@click.option("--limit", default=20, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
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
