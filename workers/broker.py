"""Kombu's Redis Sentinel transport, repaired for a failover, as Celery's broker transport with Sentinel.

What goes wrong without it (kombu 5.7, reproduced by tests/workers/test_failover.py): when the primary
dies, the consumer closes its broker connection; kombu clears the transport's reference to that
connection before it closes the channel, and the channel's close, which gives the messages it held
back to their queues (``restore_unacked_once``), builds a fresh Sentinel pool from that reference:
``AttributeError: 'NoneType' object has no attribute 'hostname'``. Celery treats the AttributeError as
unrecoverable and the worker stops consuming for good.

The repair: a channel remembers the broker connection it was opened for and lends it back to the
transport while it builds connection parameters or a Sentinel pool, so the close can ask the Sentinels
for the new primary and restore its messages there, and the consumer reconnects like after any outage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from celery import bootsteps
from kombu.transport import redis as kombu_redis

from acsync_core import pending

T = TypeVar("T")


class SentinelChannel(kombu_redis.SentinelChannel):
    def __init__(self, connection: Any, *args: Any, **kwargs: Any) -> None:
        self._broker_connection = connection.client  # cleared on the transport by kombu's close
        # kombu's Channel.__init__ has no annotations (an error under disallow_untyped_calls only)
        super().__init__(connection, *args, **kwargs)  # type: ignore[no-untyped-call]

    def _with_broker_connection(self, build: Callable[..., T], *args: Any) -> T:
        transport = self.connection
        if transport.client is not None or self._broker_connection is None:
            return build(*args)
        transport.client = self._broker_connection
        try:
            return build(*args)
        finally:
            transport.client = None

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        return self._with_broker_connection(super()._connparams, asynchronous)

    def _sentinel_managed_pool(self, asynchronous: bool = False) -> Any:
        return self._with_broker_connection(super()._sentinel_managed_pool, asynchronous)


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel


TRANSPORT = f"{__name__}:SentinelTransport"


class RecoverOnReconnect(bootsteps.StartStopStep):
    """A consumer step: on every broker reconnect, this node's events from before it go back on their queues.

    Celery restarts the consumer's steps after a lost broker connection, and has cancelled the tasks it
    was running then (``worker_cancel_long_running_tasks_on_connection_loss``); their unacked messages
    would wait for the visibility timeout. The worker's maintenance thread pushes them again from the
    pending ledger (``pending.recover_node``) as soon as Redis answers.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.starts = 0

    def start(self, parent: Any) -> None:
        self.starts += 1
        sweeper = pending.running_sweeper()
        if self.starts > 1 and sweeper is not None:
            sweeper.request_own_recovery(time.time())
