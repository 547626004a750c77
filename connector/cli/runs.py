"""``connector sync run`` and ``connector runs``: run a job now, and read what runs did.

A run that is refused because the job is already running exits 3; one stopped
by SIGTERM or SIGINT exits 4 and is recorded ``interrupted`` with the reason.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.output import StageProgress, echo_json, table
from connector.cli.signals import stop_on_signals
from connector.jobs import definitions
from connector.sync import run_history
from connector.sync.report import FINAL, INTERRUPTED, RunReport
from connector.sync.run_lock import close_dead_runs
from connector.sync.stop import StopToken


@click.group("sync")
def sync() -> None:
    """Run a sync job now."""


def print_report(report: RunReport, as_json: bool) -> None:
    """The run's table (or its JSON), its errors, and where to look next."""
    if as_json:
        echo_json(report.as_dict())
        return
    rows: list[tuple[Any, ...]] = []
    for fw in report.frameworks:
        rows.append(("framework", fw["title"][:40], fw["items"], fw["created"] + fw["updated"],
                     len(fw["rejected"])))
    for source, streams in report.sources.items():
        for stream, c in streams.items():
            rows.append((f"source {source}", stream, c["read"],
                         c["inserted"] + c["updated"] + c["deleted"], c["rejected"]))
    if report.mapping:
        rows.append(("mapping", "items mapped / unmapped",
                     f"{report.mapping['mapped_items']} / {report.mapping['unmapped_items']}",
                     report.mapping["items_realigned"], ""))
    if report.evidence:
        e = report.evidence
        rows.append(("evidence", "pieces", e["inserted"] + e["updated"] + e["unchanged"],
                     e["inserted"] + e["updated"] + e["deleted"], e["rejected"]))
    if report.mastery:
        ms = report.mastery
        rows.append(("mastery", "records recomputed", ms["recomputed"],
                     ms["inserted"] + ms["updated"] + ms["removed"], ""))
    for p in report.push:
        what = "results held for approval" if p.get("held") else "results"
        rows.append((f"push {p['destination']}", what, p["planned"] + p["unchanged"],
                     p["written"], ""))
    if report.transcripts:
        rows.append(("transcripts", report.transcripts["out"], report.transcripts["students"],
                     report.transcripts["files"], ""))
    if rows:
        click.echo(table(("stage", "what", "seen", "changed", "rejected"), rows))
    if report.mastery.get("distribution"):
        dist = ", ".join(f"{k}: {v}" for k, v in report.mastery["distribution"].items())
        click.echo(f"mastery levels: {dist}")
    if report.interrupted:
        click.echo(f"interrupted: {report.interrupted}; run the job again to finish", err=True)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(report.summary_line())
    if report.rejections:
        click.echo(f"see the rejected records: connector runs rejections {report.run_id}")


def exit_code(report: RunReport) -> int:
    if report.status == INTERRUPTED:
        return 4
    return 1 if report.failed else 0


@sync.command("run")
@click.argument("job")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option("--full", is_flag=True,
              help="Read every source in full, not only what changed since the last run "
                   "(after fixing the roster or the identity crosswalk).")
@click.option("--wait", is_flag=True,
              help="If JOB is already running, wait for that run to end and then run "
                   "(default: exit 3 at once).")
@pass_context
def sync_run(ctx: CliContext, job: str, as_json: bool, full: bool, wait: bool) -> None:
    """Run JOB once now. Exit 1 if the run failed, 3 if JOB is running, 4 if interrupted."""
    token = StopToken()
    progress = StageProgress(as_json=as_json)
    told: list[bool] = []

    def waiting() -> bool:
        if not told:
            click.echo(f"job {job!r} is running in another process; waiting for it to end",
                       err=True)
            told.append(True)
        return not token.wait(1.0)

    try:
        with stop_on_signals(token, what=f"job {job!r}"):
            report = definitions.run(ctx.factory, ctx.settings, job, full=full, stop=token,
                                     wait=waiting if wait else None, progress=progress)
    finally:
        progress.close()
    print_report(report, as_json)
    sys.exit(exit_code(report))


@click.group("runs")
def runs() -> None:
    """Past runs: status, reasons, stages, rejections."""


def _since(ctx: CliContext, value: str | None) -> datetime | None:
    """``--since``: an ISO date (midnight in the district) or date-time, or hours like ``24h``."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("h") and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(hours=int(text[:-1]))
    zone = ZoneInfo(ctx.settings.district.timezone)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"give a date (2026-11-30), a date and time "
                                 f"(2026-11-30T02:00) or hours (24h), not {value!r}",
                                 param_hint="--since") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{seconds:.1f}s"


@runs.command("list")
@click.option("--limit", default=20, show_default=True, help="How many runs, newest first.")
@click.option("--job", default=None, help="Only runs of this job.")
@click.option("--status", type=click.Choice(("running", *FINAL)), default=None,
              help="Only runs that ended this way (or are still running).")
@click.option("--since", default=None,
              help="Only runs started since a date (2026-11-30), a date-time, or hours (24h).")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@pass_context
def runs_list(ctx: CliContext, limit: int, job: str | None, status: str | None,
              since: str | None, as_json: bool) -> None:
    """Recent runs with duration, changes, rejections and the reason a run failed."""
    close_dead_runs(ctx.factory, ctx.district_id())
    with ctx.session() as session:
        found = run_history.list_runs(session, job=job, status=status, since=_since(ctx, since),
                                      limit=limit)
    if as_json:
        echo_json([r.as_dict() for r in found])
        return
    zone = ZoneInfo(ctx.settings.district.timezone)
    click.echo(table(
        ("run", "job", "status", "started", "took", "changes", "rejections", "reason"),
        [(r.id, r.job, r.status, r.started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
          _duration(r.duration_seconds), r.changes, r.rejections, r.reason[:70])
         for r in found]))
    if not found:
        click.echo("no runs match" if (job or status or since) else "no runs yet")


@runs.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@pass_context
def runs_show(ctx: CliContext, run_id: int, as_json: bool) -> None:
    """One run: each stage with counts and seconds, and why it failed."""
    close_dead_runs(ctx.factory, ctx.district_id())
    with ctx.session() as session:
        detail = run_history.run_detail(session, run_id)
    if as_json:
        echo_json(detail)
        return
    zone = ZoneInfo(ctx.settings.district.timezone)
    started = datetime.fromisoformat(detail["started_at"]).astimezone(zone)
    click.echo(f"run {detail['id']} of job {detail['job']!r}: {detail['status']}")
    click.echo(f"started {started:%Y-%m-%d %H:%M:%S %Z}, took "
               f"{_duration(detail['duration_seconds']) or 'still running'}, "
               f"{detail['changes']} change(s), {detail['rejections']} rejection(s), "
               f"config {detail['config_version']}")
    if detail["stages"]:
        click.echo(table(("stage", "seconds", "seen", "changed", "rejected"),
                         [(s["stage"], s["seconds"], s["seen"], s["changed"], s["rejected"])
                          for s in detail["stages"]]))
    for line in (detail["message"] or "").splitlines():
        click.echo(f"  {line}")
    if detail["rejections"]:
        click.echo(f"rejected records: connector runs rejections {run_id} [--csv]")


@runs.command("rejections")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the rejections as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the rejections as CSV for a spreadsheet.")
@pass_context
def runs_rejections(ctx: CliContext, run_id: int, as_json: bool, as_csv: bool) -> None:
    """Every record RUN_ID rejected: file, row, field and reason."""
    with ctx.session() as session:
        data = run_history.rejections(session, run_id)
    if as_json:
        echo_json(data)
    elif as_csv:
        click.echo(run_history.rejections_csv(data), nl=False)
    else:
        click.echo(table(("file", "row", "field", "reason"),
                         [(d["file"], d["row"], d["field"], d["reason"]) for d in data]))
        click.echo(f"{len(data)} rejected record(s)")
