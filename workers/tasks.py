"""Celery tasks: one per event kind, each a thin wrapper around ``run_event``.

``run_event`` owns the retry policy. Retries are re-published messages (through the Redis schedule, with
the attempt number in Celery's ``retries`` header) rather than ``Task.retry``, so that deferrals
(a young cart, a booked rate limit) do not use up attempts while real failures do:

* success -> outcome counted, done;
* ``Defer`` / ``Throttled`` -> run again later, same attempt number;
* retryable error (429, 5xx, timeouts, connection errors) -> backoff with full jitter (at least
  Retry-After), attempt + 1, until ``max_attempts``;
* anything else (403, 404, 422 validation, bad data, a bug) -> dead-letter queue at once, with the
  reason and every attempt's error; Sentry gets it when configured.

Each of these is a step of the event's trail (``workers.trail``), written in a round trip the task makes
anyway: ``received`` (first run only) and ``started`` with the pending ledger's start mark, the handler's
steps and ``handed_off``/``skipped`` in the handoff's transaction, ``retry_scheduled`` with the retry's
counters, ``dead_lettered`` in the dead-letter queue's own write.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from celery import Task
from celery.exceptions import Reject
from celery.signals import worker_init, worker_process_init

import workers
from acsync_core import pending, redis_connection, schedule
from acsync_core.errors import Defer
from acsync_core.events import TASK_FOR_KIND, Event
from acsync_core.logs import configure_logging, log_context
from acsync_core.observability import init_sentry
from acsync_core.settings import ConfigError, load_settings
from workers import metrics
from workers.flows.registry import HANDLERS
from workers.ratelimit import Throttled
from workers.retries import decide, is_retryable
from workers.runtime import current_kind, get_runtime
from workers.runtime import install as install_runtime_settings
from workers.trail import Trail, link_id

log = logging.getLogger("acsync.worker")

# this worker's node id, set by its main process before the pool forks, so its prefork children have it
_node = ""
INFRASTRUCTURE_BACKOFF_SECONDS = 1.0  # do not spin on a requeued message while Redis is away


def _init_process(**_: Any) -> None:
    """Each pool process: its runtime (from the settings worker_init installed), logging and Sentry."""
    runtime = get_runtime()
    configure_logging(runtime.settings.log_level)
    init_sentry(runtime.settings.sentry_dsn, component="worker")


worker_process_init.connect(_init_process)


def describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"[:500]


def _check_configuration(**_: Any) -> None:
    """The worker's start-up, in its main process before the pool forks: the one load of the settings.

    A bad stores file or environment stops the worker here, before it takes a single message. The
    settings loaded are installed for every runtime of this process and its children
    (:func:`workers.runtime.install`) and start the pending ledger's sweeper and the metrics server.
    """
    try:
        settings = load_settings()
    except ConfigError as exc:
        log.critical("bad configuration: %s", exc)
        raise SystemExit(f"acsync worker: bad configuration: {exc}") from None
    install_runtime_settings(settings)
    # this worker's node id, inherited by its prefork children: the sweeper re-pushes what a node had
    # started once the node's heartbeat stops (a SIGKILLed or lost host), instead of waiting for kombu
    global _node
    _node = f"{socket.gethostname()}:{os.getpid()}"
    pending.Sweeper(
        redis_connection.connect(settings.redis_url, socket_connect_timeout=2, socket_timeout=5),
        node=_node,
        interval=settings.sweep_interval_seconds,
        grace=settings.sweep_grace_seconds,
    ).start()
    if settings.worker_metrics_port:
        metrics.start_worker_metrics_server(settings, settings.worker_metrics_port)


worker_init.connect(_check_configuration)


def run_event(task: Task, event_data: dict[str, Any]) -> str | None:
    """Process one event; if even recording the failure is impossible, requeue instead of acking."""
    try:
        return _process(task, event_data)
    except Exception as exc:  # configuration or Redis trouble: the event must not be acked and lost
        log.error("could not process or record the event (%s); requeueing it", describe(exc))
        time.sleep(INFRASTRUCTURE_BACKOFF_SECONDS)
        raise Reject(describe(exc), requeue=True) from exc


def _process(task: Task, event_data: dict[str, Any]) -> str | None:
    event = Event.from_dict(event_data)
    attempt = int(task.request.retries or 0)
    runtime = get_runtime()
    mark_started(runtime.redis, event, attempt, _node)
    token = current_kind.set(event.kind)
    ctx = None
    with log_context(
        event_id=event.event_id, store=event.store, kind=event.kind, task_id=task.request.id, attempt=attempt
    ):
        try:
            ctx = runtime.context(event.store).for_event()
            outcome = HANDLERS[event.kind](event, ctx)
            assert ctx.handoff is not None
            # the writes, their id memory, the ledger and the trail's steps, at once
            ctx.handoff.commit(runtime.redis, event, outcome)
        except (Defer, Throttled) as exc:
            delay = exc.delay if isinstance(exc, Defer) else exc.retry_in
            reason = exc.reason if isinstance(exc, Defer) else "rate_limited"
            republish(runtime, event, countdown=delay, retries=attempt)
            metrics.RETRIES.labels(event.kind, reason).inc()
            pipe = runtime.redis.pipeline(transaction=False)
            runtime.stats.incr(f"deferred:{event.kind}", pipe=pipe)
            trail = Trail(runtime.redis)
            _noted_steps(trail, event, ctx, pipe)
            trail.record(
                event.event_id,
                "retry_scheduled",
                pipe=pipe,
                reason=reason,
                due=time.time() + delay,
                attempt=attempt,
                deferred=True,
            )
            pipe.execute()
            log.info("event deferred for %.1fs: %s", delay, reason)
            return None
        except Exception as exc:
            fail(runtime, event, exc, attempt, ctx=ctx)
            return None
        finally:
            current_kind.reset(token)
        if ctx.handoff.writes:  # the account's writer reports the event when ActiveCampaign has it
            runtime.stats.incr(f"handed_off:{event.kind}")
            log.info(
                "event handed to the ActiveCampaign writer (%s)",
                ", ".join(f"{lane} {key}" for lane, key, _ in ctx.handoff.writes),
            )
            return outcome
        latency = max(0.0, time.time() - event.received_at)
        metrics.TASKS.labels(event.kind, outcome).inc()
        metrics.END_TO_END.labels(event.kind).observe(latency)
        runtime.stats.record_event(event.kind, outcome, latency, store=event.store)
        log.info("event processed: %s", outcome)
        return outcome


def mark_started(client: Any, event: Event, attempt: int, node: str) -> None:
    """The pending ledger's start mark and the trail's ``received`` (first run only: it seeds the trail)
    and ``started`` steps, with the order id (or cart checkout id) linked to the event: one round trip."""
    pipe = client.pipeline(transaction=True)
    pending.started(pipe, event.event_id, node)
    trail = Trail(client)
    trail.record(
        event.event_id, "received", at=event.received_at, pipe=pipe, kind=event.kind, store=event.store, attempt=attempt
    )
    trail.record(event.event_id, "started", pipe=pipe, attempt=attempt, store=event.store, worker=node or None)
    link = link_id(event.kind, event.payload)
    if link:
        trail.link_order(event.store, link, event.event_id, pipe=pipe)
    pipe.execute()


def _noted_steps(trail: Trail, event: Event, ctx: Any, pipe: Any) -> None:
    """The handler's trail steps (``fetched`` ...) of a run that ended before its handoff was committed."""
    handoff = getattr(ctx, "handoff", None)
    if handoff is not None:
        for step, at, detail in handoff.steps:
            trail.record(event.event_id, step, at=at, pipe=pipe, **detail)
        handoff.steps = []


def fail(runtime: Any, event: Event, exc: BaseException, attempt: int, *, ctx: Any = None) -> None:
    decision = decide(exc, attempt, runtime.retry)
    runtime.dlq.record_attempt(event.event_id, attempt, describe(exc), is_retryable(exc))
    trail = Trail(runtime.redis)
    if decision.action == "retry":
        republish(runtime, event, countdown=decision.delay, retries=attempt + 1)
        metrics.RETRIES.labels(event.kind, decision.reason).inc()
        pipe = runtime.redis.pipeline(transaction=False)
        runtime.stats.incr(f"retries:{event.kind}", pipe=pipe)
        _noted_steps(trail, event, ctx, pipe)
        trail.record(
            event.event_id,
            "retry_scheduled",
            pipe=pipe,
            reason=decision.reason,
            due=time.time() + decision.delay,
            attempt=attempt + 1,
        )
        pipe.execute()
        log.warning("attempt %d failed (%s); retrying in %.1fs", attempt + 1, describe(exc), decision.delay)
        return
    if getattr(getattr(ctx, "handoff", None), "steps", None):  # a failure after a step (a fetched order)
        pipe = runtime.redis.pipeline(transaction=False)
        _noted_steps(trail, event, ctx, pipe)
        pipe.execute()
    reason = decision.reason
    runtime.dlq.add(event, reason=reason, error=describe(exc))
    pending.finished(runtime.redis, event.event_id)
    metrics.DEAD.labels(event.kind, reason).inc()
    runtime.stats.incr(f"dead:{event.kind}")
    # a warning, not an error: the explicit capture below is the one Sentry event, with its tags
    log.warning("event sent to the dead-letter queue: %s (%s)", reason, describe(exc))
    _report_to_sentry(event, exc)


def _report_to_sentry(event: Event, exc: BaseException) -> None:
    try:
        import sentry_sdk
    except ImportError:  # pragma: no cover
        return
    if sentry_sdk.get_client().is_active():
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("event_id", event.event_id)
            scope.set_tag("store", event.store)
            scope.set_tag("kind", event.kind)
            sentry_sdk.capture_exception(exc)


def republish(runtime: Any, event: Event, *, countdown: float, retries: int) -> None:
    """Run the event again in ``countdown`` seconds: at once on its queue, or through the Redis schedule
    (``acsync_core.schedule``), never as a Celery countdown held in a worker's memory."""
    message = runtime.publisher.build_message(
        event.task_name,
        event.queue,
        (event.to_dict(),),
        retries=retries,
        argsrepr=f"<{event.kind} event {event.event_id} store={event.store}>",
    )
    if countdown <= 0:
        runtime.publisher.push(event.event_id, event.queue, message)
    else:
        schedule.defer(runtime.redis, event.event_id, event.queue, message, time.time() + countdown)


def _make_task(kind: str) -> Task:
    def process(self: Task, event_data: dict[str, Any]) -> str | None:
        return run_event(self, event_data)

    task: Task = workers.app.task(name=TASK_FOR_KIND[kind], bind=True, acks_late=True, ignore_result=True)(process)
    task.__doc__ = f"Process one VTEX {kind} event (see workers.flows.{kind}s.process_{kind})."
    return task


process_order_event = _make_task("order")
process_cart_event = _make_task("cart")
process_customer_event = _make_task("customer")
