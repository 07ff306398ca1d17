"""An event's trail: what happened to it, step by step, from the hook to ActiveCampaign's ids.

Each event has a list ``acsync:trail:<event_id>`` of JSON steps ``{"at": <epoch seconds>, "step": <name>,
...detail}``, oldest first, capped at the newest ``MAX_STEPS`` and kept ``TRAIL_TTL`` after its last step.
The VTEX order id of an order event (and the checkout id of a cart event, the ``externalcheckoutid``
ActiveCampaign shows) is linked to the events that carried it in ``acsync:trail:order:<store>:<id>``
(a sorted set event id -> first time seen, the newest ``MAX_EVENTS_PER_ORDER``), and the stores that
have links are listed in ``acsync:trail:stores``, so ``find`` takes an event id or an order id of any
store. A customer's e-mail is never a link and never a value: every string of a step's detail that
looks like an e-mail address is replaced with ``[email]`` before it is stored (the console shows trails).

Writers of steps pass the pipeline or transaction they already execute (``pipe=``): a step is three
plain commands (RPUSH, LTRIM, EXPIRE; no Lua script, which would cost redis-py a SCRIPT EXISTS round
trip per pipeline), so it rides an existing round trip.

Steps (``STEPS``): ``received`` (recorded once, as the first step of a trail, when a worker first starts
the event: kind, store, attempt; ``at`` is the time ingest accepted the hook), ``started`` (attempt,
worker), ``fetched`` (the VTEX order's status), ``retry_scheduled`` (reason, due, attempt), ``handed_off``
(outbox lane and record key), ``written`` (lane, outcome, api ``graphql`` or ``v3``, ActiveCampaign ids
``ac_order_id`` / ``ac_cart_id`` / ``ac_customer_id`` / ``ac_contact_id``, how many events the write
covered), ``skipped`` (outcome and why), ``dead_lettered`` (reason), ``replayed`` (by whom, when known).
"""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
import redis

PREFIX = "acsync:trail:"
ORDER_PREFIX = "acsync:trail:order:"
STORES = "acsync:trail:stores"  # set: stores with order links (find looks an order id up in each)
TRAIL_TTL = 7 * 24 * 3600  # refreshed by every step
MAX_STEPS = 100
MAX_EVENTS_PER_ORDER = 50

STEPS = (
    "received",
    "started",
    "fetched",
    "retry_scheduled",
    "handed_off",
    "written",
    "skipped",
    "dead_lettered",
    "replayed",
)

# why an event (or a write) changed nothing in ActiveCampaign, by outcome
SKIP_REASONS = {
    "stale": "an older status change than the one already applied",
    "unchanged": "the order is as it was last written",
    "ignored_state": "the order's state is not one the store syncs",
    "marketplace_skipped": "an order fulfilled for a marketplace (marketplace_orders = skip)",
    "canceled_before_sync": "canceled before it ever reached ActiveCampaign",
    "canceled_kept": "canceled, and the store keeps canceled orders as they are (on_cancel = keep)",
    "cart_exists": "ActiveCampaign already has this cart (a duplicate)",
    "cart_superseded_by_order": "the customer placed an order after the cart was abandoned",
    "cart_superseded": "older than the customer's open abandoned cart",
    "contact_unchanged": "the contact is as it was last written",
}

_EMAIL = re.compile(r"[^\s@<>()\[\]\"',;:]+@[^\s@<>()\[\]\"',;:]+")
EMAIL_MASK = "[email]"


def scrub(value: Any) -> Any:
    """The value with anything that looks like an e-mail address masked (strings, lists, dicts)."""
    if isinstance(value, str):
        return _EMAIL.sub(EMAIL_MASK, value) if "@" in value else value
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Trail:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    # ------------------------------------------------------------------ writing
    def record(
        self,
        event_id: str,
        step: str,
        *,
        at: float | None = None,
        pipe: redis.client.Pipeline | None = None,
        **detail: Any,
    ) -> None:
        """Append a step to the event's trail; with ``pipe`` the commands join that pipeline (the caller
        executes it). A ``received`` step is only written as the first step of a trail: the trail is
        seeded with it only if it does not exist yet (RENAMENX), so a re-run, a redelivery or a replay
        does not add a second one."""
        values = {name: value for name, value in detail.items() if value is not None}
        entry = {"at": time.time() if at is None else float(at), "step": step, **scrub(values)}
        raw = orjson.dumps(entry)
        key = PREFIX + event_id
        target = self.client.pipeline(transaction=True) if pipe is None else pipe
        if step == "received":
            seed = key + ":seed"
            target.rpush(seed, raw)
            target.renamenx(seed, key)  # 0 when the trail exists: the seed is dropped below
            target.delete(seed)
        else:
            target.rpush(key, raw)
        target.ltrim(key, -MAX_STEPS, -1)
        target.expire(key, TRAIL_TTL)
        if pipe is None:
            target.execute()

    def link_order(
        self, store: str, order_id: str, event_id: str, *, pipe: redis.client.Pipeline | None = None
    ) -> None:
        """Remember that ``event_id`` carried this VTEX order id (or cart checkout id) of ``store``."""
        key = f"{ORDER_PREFIX}{store}:{order_id}"
        target = self.client.pipeline(transaction=False) if pipe is None else pipe
        target.zadd(key, {event_id: time.time()}, nx=True)
        target.zremrangebyrank(key, 0, -(MAX_EVENTS_PER_ORDER + 1))
        target.expire(key, TRAIL_TTL)
        target.sadd(STORES, store)
        if pipe is None:
            target.execute()

    # ------------------------------------------------------------------ reading
    def steps(self, event_id: str) -> list[dict[str, Any]]:
        """The event's steps, oldest first ([] when it has no trail)."""
        return [orjson.loads(raw) for raw in self.client.lrange(PREFIX + event_id, 0, -1)]

    def find(self, needle: str) -> list[dict[str, Any]]:
        """The trails of an event id, or of every event that carried this VTEX order id (or cart checkout
        id) in any store: ``[{"event_id", "store", "steps"}]``, newest event first."""
        needle = needle.strip()
        if not needle:
            return []
        pipe = self.client.pipeline(transaction=False)
        pipe.type(PREFIX + needle)
        pipe.smembers(STORES)
        kind, stores = pipe.execute()
        found: dict[str, tuple[float, str | None]] = {}  # event id -> (sort time, store)
        if _text(kind) == "list":
            found[needle] = (0.0, None)
        names = sorted(_text(s) for s in stores)
        if names:
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.zrange(f"{ORDER_PREFIX}{name}:{needle}", 0, -1, withscores=True)
            for name, rows in zip(names, pipe.execute(), strict=True):
                for member, score in rows:
                    found.setdefault(_text(member), (float(score), name))
        if not found:
            return []
        ids = list(found)
        pipe = self.client.pipeline(transaction=False)
        for event_id in ids:
            pipe.lrange(PREFIX + event_id, 0, -1)
        out = []
        for event_id, rows in zip(ids, pipe.execute(), strict=True):
            steps = [orjson.loads(raw) for raw in rows]
            if not steps:
                continue  # linked, but its trail has expired
            linked_at, store = found[event_id]
            store = store or next((s["store"] for s in steps if s.get("store")), None)
            out.append({"event_id": event_id, "store": store, "steps": steps, "_at": steps[0].get("at", linked_at)})
        out.sort(key=lambda item: item["_at"], reverse=True)
        for item in out:
            del item["_at"]
        return out


def link_id(kind: str, payload: dict[str, Any]) -> str | None:
    """What an event is found by besides its id: the VTEX order id, or a cart's checkout id (never an
    e-mail: the checkout id is a hash of the e-mail and the cart)."""
    if kind == "order":
        return str(payload.get("OrderId") or "") or None
    if kind == "cart" and payload.get("email") and payload.get("rclastcart"):
        from acsync_core.cart import checkout_id

        return checkout_id(str(payload["email"]), str(payload["rclastcart"]))
    return None
