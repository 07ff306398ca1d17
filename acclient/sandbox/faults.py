"""Sandbox configuration: accounts, the per-account rate limit, and injected faults."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox's well-known test token


@dataclass
class Faults:
    """What the sandbox does wrong on purpose. Every field can be changed at run time."""

    error_rate: float = 0.0  # share of API requests answered 500 before anything is written
    error_after_write_rate: float = 0.0  # share answered 500 *after* the write (the ambiguous case)
    latency_ms: float = 0.0  # added to every API request
    latency_spike_rate: float = 0.0  # share of requests that get latency_spike_ms more
    latency_spike_ms: float = 0.0
    force_429_count: int = 0  # the next N API requests get 429 regardless of the budget
    force_429_retry_after: int = 1

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {sorted(known)}")
            setattr(self, name, int(value) if name.startswith("force_429") else float(value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SandboxConfig:
    """How the sandbox behaves. The fields in ``RUNTIME_FIELDS`` can also be changed at run time
    (``POST /__sandbox/config``); a change applies to work scheduled after it."""

    accounts: dict[str, str] = field(default_factory=lambda: {DEFAULT_TOKEN: "sandbox"})  # token -> account
    requests_per_second: float | None = 5.0  # None disables the limit
    lists: tuple[int, ...] = (1, 2, 3)
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None
    graphql_copy_delay: float = 2.0  # seconds until a GraphQL order shows in v3 /ecomOrders
    graphql_max_tokens: int = 15_000  # grammar tokens a GraphQL document may have
    bulk_import_delay: float = 1.0  # seconds until a queued bulk import is processed
    bulk_import_single_per_minute: int = 20  # single-contact bulk imports per sliding minute (0: no limit)
    bulk_import_multi_per_minute: int = 100  # multi-contact bulk imports per sliding minute (0: no limit)

    RUNTIME_FIELDS: ClassVar[dict[str, type]] = {
        "graphql_copy_delay": float,
        "graphql_max_tokens": int,
        "bulk_import_delay": float,
        "bulk_import_single_per_minute": int,
        "bulk_import_multi_per_minute": int,
    }

    def update_runtime(self, values: dict[str, Any]) -> None:
        """Set run-time fields; all or none. Raises ValueError for unknown names or negative values,
        TypeError for values that are not numbers, and ValueError for ``graphql_max_tokens`` below 1."""
        parsed: dict[str, float | int] = {}
        for name, value in values.items():
            kind = self.RUNTIME_FIELDS.get(name)
            if kind is None:
                raise ValueError(f"unknown setting {name!r}; known: {sorted(self.RUNTIME_FIELDS)}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} must be a number, not {value!r}")
            if kind is int and value != int(value):
                raise ValueError(f"{name} must be a whole number, not {value!r}")
            number = kind(value)
            if number < 0 or (name == "graphql_max_tokens" and number < 1):
                raise ValueError(f"{name} is out of range: {value!r}")
            parsed[name] = number
        for name, number in parsed.items():
            setattr(self, name, number)

    def runtime_as_dict(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in self.RUNTIME_FIELDS}


class SlidingWindowLimiter:
    """At most ``rate`` requests in any sliding ``window`` (seconds) per account, no burst, like ActiveCampaign.

    ``rate`` and ``clock`` may be replaced at run time (tests freeze the clock to send calls "at once")."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic, window: float = 1.0) -> None:
        self.rate = rate
        self.clock = clock
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, account: str) -> tuple[bool, int, int]:
        """(allowed, remaining, retry_after_seconds); an allowed call is counted, a refused one is not."""
        if not self.rate:
            return True, 0, 0
        capacity = max(1, int(self.rate))
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(account, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= capacity:
                return False, 0, max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            return True, capacity - len(hits), 0


class FaultInjector:
    def __init__(self, faults: Faults, seed: int | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.faults = faults
        self._random = random.Random(seed)
        self._sleep = sleep
        self._lock = threading.Lock()

    def take_forced_429(self) -> int | None:
        with self._lock:
            if self.faults.force_429_count > 0:
                self.faults.force_429_count -= 1
                return self.faults.force_429_retry_after
        return None

    def delay(self) -> None:
        with self._lock:
            delay_ms = self.faults.latency_ms
            if self.faults.latency_spike_rate and self._random.random() < self.faults.latency_spike_rate:
                delay_ms += self.faults.latency_spike_ms
        if delay_ms > 0:
            self._sleep(delay_ms / 1000.0)

    def fail_before(self) -> bool:
        return self._roll(self.faults.error_rate)

    def fail_after(self) -> bool:
        return self._roll(self.faults.error_after_write_rate)

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate
