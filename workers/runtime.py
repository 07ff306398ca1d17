"""Per-process wiring of the workers: settings, Redis, clients per store, DLQ, stats.

The contract with the worker's start-up (``workers.tasks``): its ``worker_init`` handler, in the main
process before the pool forks, loads the settings once (:func:`acsync_core.settings.load_settings`) and
passes them to :func:`install`; every process that runs tasks (each prefork child, or the main process
itself with the solo or threads pool) then builds its own :class:`Runtime`, with its own Redis
connections, from that one object on its first :func:`get_runtime`. Only a process where no
``worker_init`` ran (a task called in-process) loads the settings itself, once, on that first call.
Tests install a whole runtime with :func:`set_runtime`.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from dataclasses import dataclass, field

import redis

from acsync_core import redis_connection
from acsync_core.errors import PermanentEventError
from acsync_core.publish import TaskPublisher
from acsync_core.settings import Settings, load_settings
from acsync_core.stats import Stats
from workers.dlq import DeadLetterQueue
from workers.flows.context import StoreContext
from workers.idempotency import IdStore
from workers.outbox import Outbox
from workers.retries import RetrySettings
from workers.vtex import VTEXClient

log = logging.getLogger("acsync.worker")

current_kind: contextvars.ContextVar[str] = contextvars.ContextVar("acsync_current_kind", default="other")


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
        client = redis_connection.connect(
            settings.redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
        )
        return cls(
            settings=settings,
            redis=client,
            publisher=TaskPublisher(client),
            dlq=DeadLetterQueue(client),
            stats=Stats(client),
            retry=RetrySettings.from_settings(settings),
        )

    def context(self, store_name: str) -> StoreContext:
        with self._lock:
            if store_name not in self._contexts:
                store = self.settings.stores.get(store_name)
                if store is None:
                    raise PermanentEventError("unknown_store", f"{store_name} is not in the stores file")
                vtex = VTEXClient(
                    api_url=store.vtex.api_url, app_key=store.vtex.app_key, app_token=store.vtex.app_token
                )
                self._contexts[store_name] = StoreContext(
                    store=store,
                    vtex=vtex,
                    ids=IdStore(self.redis, store.ac_account_key),
                    redis=self.redis,
                    outbox=Outbox(self.redis, store.ac_account_key),
                )
            return self._contexts[store_name]


_settings: Settings | None = None  # what worker_init loaded, inherited by the prefork children
_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def install(settings: Settings) -> None:
    """The settings this process's runtime (and its prefork children's) is built from; call it before
    the first :func:`get_runtime`, as worker_init does."""
    global _settings
    with _runtime_lock:
        _settings = settings


def get_runtime() -> Runtime:
    """This process's runtime, built on first use from the installed settings (else loaded here)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = Runtime.from_settings(_settings if _settings is not None else load_settings())
        return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    """For tests that run the pipeline in-process."""
    global _runtime
    with _runtime_lock:
        _runtime = runtime
