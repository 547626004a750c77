"""``connector scheduler``: the district's jobs on their schedules, until SIGTERM or SIGINT."""

from __future__ import annotations

from datetime import datetime

import click

from connector.cli.context import CliContext, pass_context
from connector.cli.signals import stop_on_signals
from connector.jobs.dispatch import BACKENDS, CELERY, INLINE
from connector.jobs.scheduler import Scheduler
from connector.sync.stop import StopToken


@click.command("scheduler")
@click.option("--standby-poll", type=click.FloatRange(min=0.05), default=15.0, show_default=True,
              help="Seconds between attempts to take over while another scheduler runs.")
@click.option("--backend", type=click.Choice(BACKENDS), envvar="CONNECTOR_EXECUTION",
              default=INLINE, show_default=True,
              help="inline: this process runs the jobs. celery: it sends them to the "
                   "workers (`connector worker`) over the broker in CONNECTOR_BROKER_URL.")
@pass_context
def scheduler(ctx: CliContext, standby_poll: float, backend: str) -> None:
    """Run the district's jobs on their schedules until stopped.

    Cron expressions are read in the district's time zone. A run missed while no
    scheduler was running runs once on start (within the job's catch_up_hours).
    On SIGTERM or SIGINT the run in progress stops after its current batch and is
    recorded as interrupted; the scheduler then exits 0. Only one scheduler runs a
    district's jobs: a second one waits on standby and takes over when the first stops.

    With --backend celery the scheduler only queues runs (scheduled and asked for)
    and sends them to the workers; transcript batches from the registrar's desk
    are still rendered here.
    """
    from connector.sync.alerts import Alerts
    from connector.sync.retention import Daily

    send = None
    if backend == CELERY:
        from connector.jobs.workers import Sender, broker_url, queue_name

        send = Sender(broker_url(), queue_name())
    token = StopToken()
    settings = ctx.settings
    alerts = Alerts(ctx.factory, settings)
    retention = Daily(ctx.factory, ctx.district_id(), settings)

    def housekeeping(now: datetime) -> None:
        alerts.housekeeping(now)
        retention(now)

    with stop_on_signals(token, what="the scheduler"):
        Scheduler(ctx.factory, settings, token, out=lambda line: click.echo(line),
                  housekeeping=housekeeping, standby_poll=standby_poll, send=send).serve()
    click.echo("scheduler stopped")


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs at once: one process each (about one per core).")
@click.option("--name", default=None, help="The worker's name (default connector-<pid>@host).")
@pass_context
def worker(ctx: CliContext, concurrency: int, name: str | None) -> None:
    """Run the jobs the schedulers send (celery backend) until stopped.

    A worker serves every district under the configuration folder, from the broker
    in CONNECTOR_BROKER_URL (default RabbitMQ on 127.0.0.1). A run whose worker is
    lost, even to kill -9, goes back to the broker and another worker finishes it
    as the same run. SIGTERM stops the run in hand after its batch and hands it back.
    """
    from connector.jobs.dispatch import Deployment
    from connector.jobs.workers import broker_url, queue_name, serve

    ctx.factory  # noqa: B018 -- migrate the store once, before any worker process forks
    ctx.close()
    serve(Deployment(ctx.config_dir, ctx.database_url), broker_url(), queue_name(),
          concurrency=concurrency, name=name)
