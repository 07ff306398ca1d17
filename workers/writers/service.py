"""``acsync writer``: one thread per ActiveCampaign account, each draining its account's outbox.

Run one or more writer processes (two for failover): each account's lease makes one of them its
writer and the others stand by. Accounts come from the stores file (several stores may share one).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections import defaultdict
from typing import Any

import redis

from acclient import NO_RETRIES, ActiveCampaign
from acsync_core import redis_connection
from acsync_core.settings import Settings, StoreConfig
from acsync_core.stats import Stats
from workers import metrics
from workers.dlq import DeadLetterQueue
from workers.ratelimit import RedisRateLimiter
from workers.retries import RetrySettings
from workers.writers.account import AccountWriter

log = logging.getLogger("acsync.writer")

WRITER_MAX_WAIT = 10.0  # a writer waits for its own account's budget, up to this long per request


def stores_by_account(settings: Settings) -> dict[str, list[StoreConfig]]:
    accounts: dict[str, list[StoreConfig]] = defaultdict(list)
    for store in settings.stores.values():
        accounts[store.ac_account_key].append(store)
    return dict(accounts)


def build_writer(
    settings: Settings,
    client: redis.Redis,
    account_key: str,
    stores: list[StoreConfig],
    retry: RetrySettings | None = None,
    **options: Any,
) -> AccountWriter:
    first = stores[0].activecampaign
    rate = min(s.activecampaign.requests_per_second for s in stores)
    limiter = RedisRateLimiter(
        client, account_key, rate, max_wait=WRITER_MAX_WAIT, on_wait=metrics.LIMITER_WAIT.observe
    )
    stats = Stats(client)

    def count_call(method: str, path: str, status: int | None, _seconds: float) -> None:
        metrics.AC_CALLS.labels("writer", f"{method} {path.split('?')[0]}", str(status or "error")).inc()
        with contextlib.suppress(redis.RedisError):
            stats.incr("ac_calls:writer", f"ac_status:{status or 'error'}")

    ac = ActiveCampaign(
        api_url=first.api_url,
        api_token=first.api_token,
        rate_limiter=limiter,
        retry_policy=NO_RETRIES,
        read_timeout=30,
        observer=count_call,
    )
    return AccountWriter(
        account_key=account_key,
        client=client,
        ac=ac,
        stores=stores,
        dlq=DeadLetterQueue(client),
        stats=stats,
        retry=retry or RetrySettings.from_settings(settings),
        **options,
    )


class WriterService:
    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self.client = client or redis_connection.connect(
            settings.redis_url, socket_connect_timeout=2, socket_timeout=15, health_check_interval=30
        )
        self.stop_event = threading.Event()
        self.writers = [
            build_writer(settings, self.client, key, stores) for key, stores in stores_by_account(settings).items()
        ]
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for writer in self.writers:
            thread = threading.Thread(
                target=writer.run, args=(self.stop_event,), name=f"writer-{writer.label}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=timeout)

    def serve_forever(self) -> None:
        """Run until SIGTERM or SIGINT; a running step finishes, then the leases are released."""

        def handle(signum: int, _frame: Any) -> None:
            log.info("writer stopping (signal %d)", signum)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
        self.start()
        log.info("writers running for %d account(s)", len(self.writers))
        while not self.stop_event.wait(1.0):
            pass
        self.stop()
