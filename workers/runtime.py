"""Per-process wiring of the workers: settings, Redis, clients per store, DLQ, stats.

Built lazily in each worker process (after prefork), from the environment, once.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
from dataclasses import dataclass, field

import redis

import workers
from acclient import NO_RETRIES, ActiveCampaign
from workers import metrics
from workers.config import Settings, load_settings
from workers.dlq import DeadLetterQueue
from workers.errors import PermanentEventError
from workers.idempotency import IdStore
from workers.pipeline import StoreContext
from workers.publish import TaskPublisher
from workers.ratelimit import RedisRateLimiter
from workers.retries import RetrySettings
from workers.stats import Stats
from workers.vtex import VTEXClient

log = logging.getLogger("acsync.worker")

current_kind: contextvars.ContextVar[str] = contextvars.ContextVar("acsync_current_kind", default="other")
ID_SEGMENT = re.compile(r"/\d+(?=/|$)")


@dataclass
class Runtime:
    settings: Settings
    redis: redis.Redis
    publisher: TaskPublisher
    dlq: DeadLetterQueue
    stats: Stats
    retry: RetrySettings
    _contexts: dict[str, StoreContext] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5,
                                      health_check_interval=30)
        return cls(settings=settings, redis=client, publisher=TaskPublisher(workers.app, client),
                   dlq=DeadLetterQueue(client), stats=Stats(client), retry=RetrySettings.from_env())

    def context(self, store_name: str) -> StoreContext:
        with self._lock:
            if store_name not in self._contexts:
                store = self.settings.stores.get(store_name)
                if store is None:
                    raise PermanentEventError("unknown_store", f"{store_name} is not in the stores file")
                ac_settings = store.activecampaign
                limiter = RedisRateLimiter(self.redis, store.ac_account_key, ac_settings.requests_per_second,
                                           on_wait=metrics.LIMITER_WAIT.observe)
                ac = ActiveCampaign(api_url=ac_settings.api_url, api_token=ac_settings.api_token,
                                    rate_limiter=limiter, retry_policy=NO_RETRIES, read_timeout=20,
                                    observer=self._count_call)
                vtex = VTEXClient(api_url=store.vtex.api_url, app_key=store.vtex.app_key,
                                  app_token=store.vtex.app_token)
                self._contexts[store_name] = StoreContext(store=store, ac=ac, vtex=vtex,
                                                          ids=IdStore(self.redis, store.ac_account_key),
                                                          redis=self.redis)
            return self._contexts[store_name]

    def _count_call(self, method: str, path: str, status: int | None, _seconds: float) -> None:
        kind = current_kind.get()
        endpoint = f"{method} {ID_SEGMENT.sub('/{id}', path)}"
        metrics.AC_CALLS.labels(kind, endpoint, str(status or "error")).inc()
        try:
            self.stats.incr(f"ac_calls:{kind}", f"ac_status:{status or 'error'}")
        except redis.RedisError:
            log.warning("could not count an ActiveCampaign call in Redis")


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> Runtime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = Runtime.from_settings(load_settings())
        return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    """For tests that run the pipeline in-process."""
    global _runtime
    with _runtime_lock:
        _runtime = runtime
