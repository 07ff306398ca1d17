"""What every flow takes: the store's ``StoreContext`` and the per-event ``Handoff`` to the outbox.

A handler spends VTEX's budget only; what ActiveCampaign must receive goes through ``ctx.handoff`` to the
account's outbox, where the account's writer (``workers.writers``) coalesces and batches it. The handoff,
the id-memory updates that describe it and the end of the event in the pending ledger commit in one Redis
transaction (``Handoff.commit``), so a crash either loses nothing or leaves the event to run again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis

from acsync_core import pending
from acsync_core.events import Event
from acsync_core.settings import StoreConfig
from workers.idempotency import IdStore
from workers.outbox import Outbox
from workers.trail import SKIP_REASONS, Trail
from workers.vtex import VTEXClient


class Handoff:
    """The writes one event hands to the outbox, and the id-memory changes that go with them."""

    def __init__(self, outbox: Outbox, ids: IdStore) -> None:
        self.outbox = outbox
        self.ids = ids
        self.writes: list[tuple[str, str, dict[str, Any]]] = []
        self.records: list[tuple[tuple[str, ...], dict[str, Any]]] = []
        self.id_values: list[tuple[tuple[str, ...], str]] = []
        self.steps: list[tuple[str, float, dict[str, Any]]] = []  # trail steps, written with the commit

    def put(self, lane: str, key: str, payload: dict[str, Any]) -> None:
        if lane == "contact":  # merged into a waiting contact write: an absent field must not erase one
            payload = {k: v for k, v in payload.items() if v is not None}
        self.writes.append((lane, key, payload))

    def update_record(self, *parts: str, values: dict[str, Any]) -> None:
        self.records.append((parts, values))

    def set_id(self, *parts: str, value: str) -> None:
        self.id_values.append((parts, value))

    def trail(self, step: str, **detail: Any) -> None:
        """A step of the event's trail (workers.trail), stamped now and written by ``commit``."""
        self.steps.append((step, time.time(), detail))

    def commit(self, client: redis.Redis, event: Event, outcome: str | None = None) -> None:
        """Queue the writes, apply the id changes and end the event in the ledger, atomically.

        The event's trail steps ride the same transaction: the steps noted so far, ``handed_off`` per
        write, or ``skipped`` (with ``outcome``, when given) for an event that writes nothing."""
        pipe = client.pipeline(transaction=True)
        trail = Trail(client)
        for step, at, detail in self.steps:
            trail.record(event.event_id, step, at=at, pipe=pipe, **detail)
        self.steps = []
        for lane, key, payload in self.writes:
            self.outbox.put(lane, key, payload, event.to_dict(), merge=lane == "contact", pipe=pipe)
            trail.record(event.event_id, "handed_off", pipe=pipe, lane=lane, record=Outbox.item_key(lane, key))
        if not self.writes and outcome is not None:
            trail.record(event.event_id, "skipped", pipe=pipe, outcome=outcome, why=SKIP_REASONS.get(outcome, outcome))
        for parts, values in self.records:
            self.ids.update_record(*parts, values=values, pipe=pipe)
        for parts, value in self.id_values:
            self.ids.set_id(*parts, value=value, pipe=pipe)
        pending.finish(pipe, event.event_id)
        pipe.execute()


@dataclass
class StoreContext:
    store: StoreConfig
    vtex: VTEXClient
    ids: IdStore
    redis: redis.Redis
    outbox: Outbox
    now: Callable[[], float] = field(default=time.time)
    handoff: Handoff | None = None

    @property
    def connection(self) -> str:
        return str(self.store.activecampaign.connection_id)

    def for_event(self) -> StoreContext:
        """A copy with an empty handoff, for one event."""
        return StoreContext(
            store=self.store,
            vtex=self.vtex,
            ids=self.ids,
            redis=self.redis,
            outbox=self.outbox,
            now=self.now,
            handoff=Handoff(self.outbox, self.ids),
        )

    def put(self, lane: str, key: str, payload: dict[str, Any]) -> None:
        if self.handoff is None:
            raise RuntimeError("StoreContext.for_event() first")
        self.handoff.put(lane, key, payload)

    def trail(self, step: str, **detail: Any) -> None:
        """Note a trail step of the event (written with the handoff; dropped without one)."""
        if self.handoff is not None:
            self.handoff.trail(step, **detail)

    def handoff_set_id(self, *parts: str, value: str) -> None:
        if self.handoff is None:
            raise RuntimeError("StoreContext.for_event() first")
        self.handoff.set_id(*parts, value=value)

    def update_record(self, *parts: str, values: dict[str, Any]) -> None:
        """Change an id-memory record together with the handoff (or at once, without one)."""
        if self.handoff is None:
            self.ids.update_record(*parts, values=values)
        else:
            self.handoff.update_record(*parts, values=values)


def parse_time(value: str | None) -> float | None:
    """An ISO 8601 time from VTEX or a hook (``Z`` or an offset) as a Unix time; None if absent or invalid."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
