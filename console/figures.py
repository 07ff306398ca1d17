"""The overview's figures, per store and per ActiveCampaign account, gathered from Redis without Flask.

Pipeline-wide and per-account facts come from ``workers.status.collect_stats`` (what ``acsync stats``
prints: queues, in flight, dead letters, each account's outbox, writer heartbeat, slowdown and booked
budget); the per-minute series from ``acsync_core.stats.Stats.series``, the last success per store from
``Stats.last_success``, latencies from ``Stats.latency_percentiles`` and the VTEX hook check from
``workers.hookconfig.hook_health``.

Celery's queues and the retry schedule are shared by every store (one queue per kind), so they are
shown for the pipeline, not per store: telling a store's messages apart would mean reading every
waiting message on every page view, which is what a peak can least afford. The outbox is per account.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from acsync_core import schedule
from acsync_core.events import KINDS
from acsync_core.settings import Settings
from acsync_core.stats import Stats, account_host
from workers.dlq import DeadLetterQueue
from workers.hookconfig import hook_health
from workers.status import collect_stats
from workers.writers.service import stores_by_account

MINUTES = 60


@dataclass(frozen=True)
class Series:
    """A per-minute series, oldest first; the last value is the minute under way."""

    values: tuple[int, ...]

    @classmethod
    def add(cls, series: Sequence[Sequence[tuple[int, int]]], minutes: int = MINUTES) -> Series:
        totals = [0] * minutes
        for one in series:
            for i, (_minute, value) in enumerate(one[-minutes:]):
                totals[i] += int(value)
        return cls(tuple(totals))

    @property
    def total(self) -> int:
        return sum(self.values)

    @property
    def last_minute(self) -> int:
        """The last complete minute."""
        return self.values[-2] if len(self.values) > 1 else (self.values[-1] if self.values else 0)

    @property
    def this_minute(self) -> int:
        """The minute under way, so far."""
        return self.values[-1] if self.values else 0

    @property
    def complete(self) -> tuple[int, ...]:
        """The complete minutes (what the charts draw: the minute under way would always dip)."""
        return self.values[:-1]

    @property
    def peak(self) -> int:
        return max(self.values, default=0)


@dataclass
class StoreFigures:
    name: str
    account: str  # the account's API host
    hooks: Series
    hooks_by_kind: dict[str, int]  # hooks accepted in the window, per kind
    events: Series  # events finished (written, skipped, unchanged...) per minute
    latency: dict[str, dict[str, float]]  # kind -> {"p50", "p99"} seconds, hook to ActiveCampaign
    last_success: float | None
    hook: dict[str, Any] | None  # {"checked_at", "ok", "problems"}; None: never checked
    dead_letters: int


@dataclass
class AccountFigures:
    host: str
    stores: list[str]
    budget_rps: float  # the smallest requests_per_second of its stores (what its writer spends)
    requests: Series
    throttled: Series  # 429 answers per minute
    outbox: dict[str, int]
    in_flight: int
    heartbeat_age: float | None
    slowdown: float
    booked_seconds: float

    @property
    def rps(self) -> float:
        """Requests per second over the last complete minute."""
        return self.requests.last_minute / 60

    @property
    def peak_rps(self) -> float:
        return self.requests.peak / 60

    @property
    def budget_per_minute(self) -> float:
        return self.budget_rps * 60

    @property
    def waiting(self) -> int:
        return sum(self.outbox.values())


@dataclass
class Overview:
    stores: list[StoreFigures]
    accounts: list[AccountFigures]
    queues: dict[str, int]
    schedule: int
    in_flight: int
    dead_letters: int
    minutes: int = MINUTES
    generated_at: float = field(default_factory=time.time)

    @property
    def queued(self) -> int:
        return sum(self.queues.values())


def gather(settings: Settings, client: redis.Redis, minutes: int = MINUTES) -> Overview:
    stats = Stats(client)
    facts = collect_stats(settings, client, minutes)
    health = hook_health(client)
    last_success = stats.last_success()
    dead_by_store: dict[str, int] = {}
    for entry in DeadLetterQueue(client).list(None, limit=None):
        dead_by_store[entry["store"]] = dead_by_store.get(entry["store"], 0) + 1

    stores = []
    for name, store in sorted(settings.stores.items()):
        hooks = {kind: stats.series(f"hooks:{kind}@{name}", minutes) for kind in KINDS}
        events = [stats.series(f"events:{kind}@{name}", minutes) for kind in KINDS]
        latency = {kind: stats.latency_percentiles(f"{kind}@{name}") for kind in KINDS}
        stores.append(
            StoreFigures(
                name=name,
                account=account_host(store.ac_account_key),
                hooks=Series.add(list(hooks.values()), minutes),
                hooks_by_kind={kind: sum(v for _, v in series) for kind, series in hooks.items()},
                events=Series.add(events, minutes),
                latency={kind: values for kind, values in latency.items() if values},
                last_success=last_success.get(name),
                hook=health.get(name),
                dead_letters=dead_by_store.get(name, 0),
            )
        )

    accounts = []
    for key, members in sorted(stores_by_account(settings).items(), key=lambda item: account_host(item[0])):
        host = account_host(key)
        writer = facts["writers"]["+".join(sorted(s.name for s in members))]
        accounts.append(
            AccountFigures(
                host=host,
                stores=sorted(s.name for s in members),
                budget_rps=min(s.activecampaign.requests_per_second for s in members),
                requests=Series.add([stats.series(f"ac_requests@{host}", minutes)], minutes),
                throttled=Series.add([stats.series(f"ac_429@{host}", minutes)], minutes),
                outbox=writer["outbox"],
                in_flight=writer["in_flight"],
                heartbeat_age=writer["heartbeat_age_seconds"],
                slowdown=writer["slowdown"],
                booked_seconds=facts["rate_limiter_booked_seconds"].get(key, 0.0),
            )
        )

    return Overview(
        stores=stores,
        accounts=accounts,
        queues=facts["queues"],
        schedule=schedule.size(client),
        in_flight=facts["in_flight"],
        dead_letters=facts["dead_letters"],
        minutes=minutes,
    )
