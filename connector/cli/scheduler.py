"""``connector scheduler``: the district's jobs on their schedules, until SIGTERM or SIGINT."""

from __future__ import annotations

from datetime import datetime

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.signals import stop_on_signals
from connector.jobs.scheduler import Scheduler
from connector.sync.stop import StopToken


@click.command("scheduler")
@click.option("--standby-poll", type=click.FloatRange(min=0.05), default=15.0, show_default=True,
              help="Seconds between attempts to take over while another scheduler runs.")
@pass_context
def scheduler(ctx: CliContext, standby_poll: float) -> None:
    """Run the district's jobs on their schedules until stopped.

    Cron expressions are read in the district's time zone. A run missed while no
    scheduler was running runs once on start (within the job's catch_up_hours).
    On SIGTERM or SIGINT the run in progress stops after its current batch and is
    recorded as interrupted; the scheduler then exits 0. Only one scheduler runs a
    district's jobs: a second one waits on standby and takes over when the first stops.
    """
    from connector.sync.alerts import Alerts
    from connector.sync.retention import Daily

    token = StopToken()
    settings = ctx.settings
    alerts = Alerts(ctx.factory, settings)
    retention = Daily(ctx.factory, ctx.district_id(), settings)

    def housekeeping(now: datetime) -> None:
        alerts.housekeeping(now)
        retention(now)

    with stop_on_signals(token, what="the scheduler"):
        Scheduler(ctx.factory, settings, token, out=lambda line: click.echo(line),
                  housekeeping=housekeeping, standby_poll=standby_poll).serve()
    click.echo("scheduler stopped")
