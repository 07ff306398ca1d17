"""The Celery application: Redis broker, JSON, one queue per event kind, settings chosen for no loss.

Every setting below is explained in docs/architecture.md ("Celery settings"). In short:

* acks_late + reject_on_worker_lost: a message is acknowledged only after the task finished, and a
  worker killed mid-task (OOM, SIGKILL) puts it back; idempotent tasks make the redelivery harmless.
* prefetch multiplier 1: a worker holds one unacked message per process, so a crash strands little
  and long tasks do not hoard messages other workers could run.
* visibility_timeout 10 min: Redis redelivers an unacked message after this long, so it must exceed
  the longest a message stays unacked: the hard time limit (5 min) of the task holding it. Deferred
  work never waits as an unacked Celery countdown (whose ETA would have to fit under the visibility
  timeout, or the task runs twice: kombu#337): it waits in the Redis schedule (acsync_core.schedule). A dead
  worker's started events come back through the pending ledger within a minute or so (its heartbeat
  stops), not after the visibility timeout.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery
from kombu.entity import Exchange, Queue

from acsync_core import redis_connection
from acsync_core.events import WORKER_QUEUES
from acsync_core.settings import Settings, environment_settings
from workers import broker

MAX_COUNTDOWN_SECONDS = 15 * 60  # the longest retry backoff (deferred work waits in the Redis schedule)


def hard_time_limit(visibility_timeout: int) -> int:
    """Half the visibility timeout, at most 5 minutes: a running task is never redelivered under it."""
    return min(5 * 60, visibility_timeout // 2)


def direct_queue(name: str) -> Queue:
    """A queue on its own direct exchange, both named ``name``, bound by routing key ``name``."""
    # kombu's constructors carry no annotations: called through these names, what they return is typed
    queue: Callable[..., Queue] = Queue
    exchange: Callable[..., Exchange] = Exchange
    return queue(name, exchange(name, type="direct"), routing_key=name)


def make_celery(settings: Settings | None = None) -> Celery:
    """The workers' application; ``settings`` defaults to the environment's (``celery -A workers``).

    Only the environment's part of the settings configures Celery (the broker, the visibility timeout):
    the module's :data:`app` is built at import, before any worker signal, without the stores file. A
    worker's full settings are loaded once, by its ``worker_init`` handler (``workers.tasks``), and
    installed for its runtime (``workers.runtime``).
    """
    settings = settings or environment_settings()
    time_limit = hard_time_limit(settings.visibility_timeout)
    broker_url, sentinel_options = redis_connection.celery_broker(settings.redis_url)
    app = Celery("acsync", broker=broker_url, include=["workers.tasks", "workers.hookconfig"])
    if sentinel_options:
        app.conf.broker_transport = broker.TRANSPORT  # kombu's Sentinel transport, repaired for failover
    app.steps["consumer"].add(broker.RecoverOnReconnect)
    queues = [direct_queue(name) for name in (*WORKER_QUEUES, "acsync.maintenance")]
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,  # outcomes go to metrics, logs and the DLQ, not a result backend
        task_queues=queues,
        task_default_queue="acsync.maintenance",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,  # a failure is recorded in the DLQ before it is acked
        worker_prefetch_multiplier=1,
        task_time_limit=time_limit,
        task_soft_time_limit=int(time_limit * 0.8),  # raises in the task, which retries it
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            # sweep unacked messages of dead workers every 10 s instead of every ~100 s
            "unacked_restore_throttle": 1,
            # a primary that vanished without closing the connection (failover, host loss) must fail the
            # command in seconds so the worker reconnects (to the new primary, with Sentinel)
            "socket_timeout": 30,
            "socket_connect_timeout": 5,
            **sentinel_options,
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        # SIGTERM: finish running tasks, then give reserved/ETA messages back to Redis at once instead
        # of leaving them for the visibility-timeout sweep
        worker_soft_shutdown_timeout=10.0,
        worker_enable_soft_shutdown_on_idle=True,
        worker_send_task_events=True,
        task_send_sent_event=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,  # our JSON log handler writes to stderr itself
        enable_utc=True,
        # `celery -A workers beat`: hourly check that every store's VTEX order hook still exists
        beat_schedule={
            "check-vtex-order-hooks": {
                "task": "acsync.check_hooks",
                "schedule": 3600.0,
                "options": {"queue": "acsync.maintenance"},
            }
        },
    )
    return app


app = make_celery()
