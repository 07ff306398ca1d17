"""The event envelope that travels from ingest to the workers, and where each kind is queued.

One queue per kind, so that a flood of cart triggers cannot starve order hooks.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["order", "cart", "customer"]
KINDS: tuple[Kind, ...] = ("order", "cart", "customer")

QUEUE_FOR_KIND: dict[str, str] = {"order": "acsync.orders", "cart": "acsync.carts", "customer": "acsync.customers"}
BACKFILL_QUEUE = "acsync.backfill"  # historical orders: consumed after live ones, never in their way
WORKER_QUEUES = (*QUEUE_FOR_KIND.values(), BACKFILL_QUEUE)

TASK_FOR_KIND: dict[str, str] = {
    "order": "acsync.process_order_event",
    "cart": "acsync.process_cart_event",
    "customer": "acsync.process_customer_event",
}


def new_event_id() -> str:
    """32 random hex digits, like ``uuid4().hex`` without building a UUID object (ingest's hot path)."""
    return os.urandom(16).hex()


@dataclass(frozen=True)
class Event:
    """What a worker needs: the validated hook body plus who sent it and when."""

    kind: str
    store: str
    payload: dict[str, Any]
    dedupe_key: str
    event_id: str = field(default_factory=new_event_id)
    received_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        # not dataclasses.asdict: a recursive deep copy per hook is measurable on ingest's hot path (docs/benchmarks.md)
        return {
            "kind": self.kind,
            "store": self.store,
            "payload": self.payload,
            "dedupe_key": self.dedupe_key,
            "event_id": self.event_id,
            "received_at": self.received_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(
            kind=data["kind"],
            store=data["store"],
            payload=dict(data["payload"]),
            dedupe_key=data["dedupe_key"],
            event_id=data["event_id"],
            received_at=float(data["received_at"]),
        )

    @property
    def queue(self) -> str:
        return BACKFILL_QUEUE if self.payload.get("backfill") else QUEUE_FOR_KIND[self.kind]

    @property
    def task_name(self) -> str:
        return TASK_FOR_KIND[self.kind]
