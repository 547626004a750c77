"""The ``celery`` execution backend: the Celery app, the run task, and a worker's start.

Settings that make a lost worker lose nothing (see :mod:`connector.jobs.dispatch`):

- ``task_acks_late`` and ``task_reject_on_worker_lost``: a message is acknowledged
  when its task returns, so a worker that dies mid-run gives it back to the broker.
- ``worker_prefetch_multiplier = 1``: a busy worker holds no second run that an
  idle worker could be doing.
- JSON messages holding only (district key, job key, run id): no student data and
  no secret ever goes through the broker.

The broker comes from ``CONNECTOR_BROKER_URL`` (RabbitMQ, ``amqp://``; Redis,
``redis://``, works too). RabbitMQ closes a channel whose message stays
unacknowledged longer than its ``consumer_timeout`` (30 minutes by default): a
deployment whose runs take longer raises it (docs/scaling.md).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject
from celery.signals import worker_shutting_down

from connector.errors import ConfigurationError
from connector.jobs.dispatch import Deployment, StillRunning, execute
from connector.sync.stop import StopToken

log = logging.getLogger(__name__)

BROKER_ENV = "CONNECTOR_BROKER_URL"
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
#: The broker queue runs go through: two deployments sharing a broker name two queues.
QUEUE_ENV = "CONNECTOR_BROKER_QUEUE"
DEFAULT_QUEUE = "connector-runs"
TASK = "connector.run"
#: Seconds before a run that is alive elsewhere (or whose job is running) is tried again.
RETRY_SECONDS = 30.0


def broker_url(environ: Mapping[str, str] = os.environ) -> str:
    url = environ.get(BROKER_ENV, "").strip() or DEFAULT_BROKER
    if not url.startswith(("amqp://", "pyamqp://", "redis://", "rediss://")):
        raise ConfigurationError(f"{BROKER_ENV} must be an amqp:// (RabbitMQ) or redis:// URL")
    return url


def queue_name(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(QUEUE_ENV, "").strip() or DEFAULT_QUEUE


def make_app(broker: str, queue: str) -> Celery:
    app = Celery("connector", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_default_queue=queue,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # A Redis broker redelivers an unacknowledged message after this many seconds:
        # longer than any run, so a live run is never handed to a second worker.
        broker_transport_options={"visibility_timeout": 12 * 3600},
    )
    return app


class Sender:
    """Sends runs to the workers: what the scheduler holds with the celery backend."""

    def __init__(self, broker: str, queue: str) -> None:
        self.app = make_app(broker, queue)
        self.queue = queue

    def __call__(self, district: str, job: str, run_id: int) -> None:
        self.app.send_task(TASK, args=[district, job, run_id], queue=self.queue,
                           retry=True, retry_policy={"max_retries": 3, "interval_start": 0.5,
                                                     "interval_step": 1.0})


def serve(deployment: Deployment, broker: str, queue: str, *, concurrency: int = 1,
          name: str | None = None) -> None:
    """Run a worker until it is stopped: every district under the deployment's root.

    One run per process at a time (``solo``); ``concurrency`` above 1 forks that
    many processes, each with its own connections to the store.
    """
    app = make_app(broker, queue)
    stop = StopToken()
    state: dict[str, Any] = {}

    @worker_shutting_down.connect(weak=False)
    def _shutting_down(**_: Any) -> None:
        stop.request_from_signal("the worker is shutting down")

    @app.task(name=TASK, bind=True, max_retries=None, acks_late=True)
    def run(self: Task, district: str, job: str, run_id: int) -> dict[str, Any]:
        if stop.requested:  # shutting down: a run handed over now goes to another worker
            raise Reject("worker shutting down", requeue=True)
        if "factory" not in state:  # made in the process that runs tasks (after any fork)
            state["factory"] = deployment.factory()
        try:
            outcome = execute(state["factory"], deployment.config_dir, district, job, run_id,
                              stop=stop)
        except StillRunning as exc:
            log.info("run %s of %s/%s waits: %s", run_id, district, job, exc)
            raise self.retry(countdown=RETRY_SECONDS, exc=exc) from exc
        if outcome.get("interrupted") and stop.requested:
            # This worker is going away mid-run: the run goes back to the broker and
            # another worker resumes it.
            raise Reject("worker shutting down", requeue=True)
        return outcome

    hostname = name or f"connector-{os.getpid()}@{socket.gethostname()}"
    argv = ["worker", "--loglevel=INFO", "-Q", queue, "-n", hostname,
            f"--concurrency={concurrency}", "--pool=" + ("solo" if concurrency == 1 else "prefork"),
            "--without-gossip", "--without-mingle"]
    app.worker_main(argv)
