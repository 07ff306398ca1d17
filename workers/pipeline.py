"""The VTEX side of an event: fetch, resolve, map, and hand the ActiveCampaign write to the outbox.

Each handler takes an event and a ``StoreContext`` and returns an outcome name. Handlers spend VTEX's
budget only (the order, the customer behind a masked e-mail, SKUs, cart prices); what ActiveCampaign
must receive goes through ``ctx.handoff`` to the account's outbox, where the account's writer
(``workers.writers``) coalesces and batches it. The handoff, the id-memory updates that describe it and
the end of the event in the pending ledger commit in one Redis transaction (``Handoff.commit``), so a
crash either loses nothing or leaves the event to run again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis

from acclient import OrderProduct
from acclient.values import decimal_to_cents
from acsync_core import pending
from acsync_core.cart import ParsedCart, checkout_id, parse_rclastcart
from acsync_core.errors import Defer, PermanentEventError
from acsync_core.events import Event
from acsync_core.settings import StoreConfig
from workers.idempotency import IdStore, email_key
from workers.mapping import (
    absolute_url,
    clean_text,
    full_size_image,
    graphql_fingerprint,
    graphql_order,
    is_marketplace_order,
    is_masked,
    unmask_soft_alias,
)
from workers.outbox import Outbox
from workers.records import last_order_time, open_cart, remember_order_time
from workers.trail import SKIP_REASONS, Trail
from workers.vtex import VTEXClient, VTEXError, VTEXNotFound
from workers.writers.orders import estimate_tokens

log = logging.getLogger("acsync.pipeline")

SKU_CACHE_TTL = 24 * 3600


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
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def resolve_email(order: dict[str, Any], ctx: StoreContext) -> str:
    """The buyer's real address: never send a Conversation Tracker alias to ActiveCampaign."""
    profile = order.get("clientProfileData") or {}
    email = (profile.get("email") or "").strip()
    if email and not is_masked(email):
        return email
    real = unmask_soft_alias(email)  # a soft alias carries the address itself: no VTEX call needed
    if real:
        return real
    user_id = profile.get("userProfileId")
    if user_id:
        customer = ctx.vtex.find_customer(user_id)
        if customer and customer.get("email") and not is_masked(customer["email"]):
            return customer["email"].strip()
    for message in ctx.vtex.conversation(order["orderId"]):
        for party in [*(message.get("to") or []), message.get("from") or {}]:
            candidate = (party.get("email") or "").strip()
            if (
                candidate
                and not is_masked(candidate)
                and "@" in candidate
                and party.get("role", "Customer") == "Customer"
            ):
                return candidate
    raise PermanentEventError("masked_email", "no real e-mail in the order, Master Data or its conversation")


# ---------------------------------------------------------------------------- orders
def process_order(event: Event, ctx: StoreContext) -> str:
    order_id = event.payload["OrderId"]
    record = ctx.ids.get_record("order", ctx.connection, order_id)
    applied = parse_time(record.get("last_change"))
    # CurrentChange is when this status change happened (LastChange is the one before it)
    hook_change = parse_time(event.payload.get("CurrentChange"))
    if applied and hook_change and hook_change < applied:
        return "stale"  # an older status change arrived late: never downgrade, and no VTEX call
    try:
        order = ctx.vtex.get_order(order_id)
    except VTEXNotFound:
        raise PermanentEventError("order_not_found", f"VTEX has no order {order_id}") from None
    status = order.get("status", "")
    ctx.trail("fetched", status=status)
    change = parse_time(order.get("lastChange"))
    if applied and change and change < applied:
        return "stale"
    if is_marketplace_order(order) and ctx.store.marketplace_orders == "skip":
        # the buyer is the marketplace's customer: no purchase automations for them, no masked e-mails in the DLQ
        return "marketplace_skipped"
    state = {"last_change": order.get("lastChange", ""), "status": status}
    if status == "canceled":
        if not record.get("fingerprint") and not record.get("ac_id"):
            ctx.update_record("order", ctx.connection, order_id, values=state)
            return "canceled_before_sync"
        if ctx.store.on_cancel == "keep":
            ctx.update_record("order", ctx.connection, order_id, values=state)
            return "canceled_kept"
    elif status not in ctx.store.order_states:
        return "ignored_state"
    elif record.get("status") == "canceled":
        return "stale"  # a canceled order is never brought back by a late event

    # historical orders go in as HISTORICAL so that they do not fire purchase automations
    historical = bool(event.payload.get("backfill"))
    fields = graphql_order(order, ctx.store, historical=historical)
    print_ = graphql_fingerprint(fields)
    if record.get("fingerprint") == print_:
        ctx.update_record("order", ctx.connection, order_id, values=state)
        return "unchanged"

    fields["email"] = resolve_email(order, ctx)
    placed = parse_time(order.get("creationDate")) or ctx.now()
    remember_order_time(ctx.ids, ctx.connection, fields["email"], placed)
    first = not record.get("fingerprint") and not record.get("ac_id")
    payload = {
        "order": fields,
        "placed_at": placed,
        "tokens": estimate_tokens(fields),
        "outcome": "created" if first else ("canceled" if status == "canceled" else "updated"),
    }
    ctx.put("order_historical" if historical else "order", order_id, payload)
    ctx.update_record("order", ctx.connection, order_id, values={**state, "fingerprint": print_})
    return "queued"


# ---------------------------------------------------------------------------- carts
def process_cart(event: Event, ctx: StoreContext) -> str:
    payload = event.payload
    email = payload["email"]
    parsed = parse_rclastcart(payload["rclastcart"])  # junk is a permanent error, before anything else
    cart_time = parse_time(payload.get("rclastsessiondate")) or event.received_at
    min_age = ctx.store.abandoned_cart_min_age_minutes * 60
    age = ctx.now() - cart_time
    if age < min_age:
        raise Defer("cart_too_young", min_age - age)
    checkout = checkout_id(email, payload["rclastcart"])
    if ctx.ids.get_record("cart", ctx.connection, checkout).get("ac_id"):
        return "cart_exists"
    ordered = last_order_time(ctx.ids, ctx.connection, email)
    if ordered is not None and ordered >= cart_time:
        return "cart_superseded_by_order"

    products, total = price_cart(ctx, parsed, payload)
    names = {"first_name": clean_text(payload.get("firstName")), "last_name": clean_text(payload.get("lastName"))}
    if any(names.values()):
        ctx.put("contact", email_key(email), {"email": email, **names})
    opened = open_cart(ctx.ids, ctx.connection, email)
    if opened and opened.get("abandoned_at") and float(opened["abandoned_at"]) >= cart_time:
        return "cart_superseded"  # an older trigger than the customer's open cart: that cart stays as it is
    # keyed by customer: one open abandoned cart per customer per store, the latest trigger wins
    ctx.put(
        "cart",
        f"{ctx.connection}:{email_key(email)}",
        {
            "connection": ctx.connection,
            "email": email,
            "checkout": checkout,
            "abandoned_at": cart_time,
            "products": [product.__dict__ for product in products],
            "total": total,
            "currency": ctx.store.currency,
            "order_url": f"{ctx.store.store_url}/checkout/cart/{payload['rclastcart'].strip()}",
        },
    )
    return "queued"


def price_cart(ctx: StoreContext, parsed: ParsedCart, payload: dict[str, Any]) -> tuple[list[OrderProduct], int]:
    """Unit prices in cents from checkout simulation; else ``rclastcartvalue`` split by quantity."""
    prices: dict[int, int] = {}
    try:
        simulation = ctx.vtex.simulate(
            [{"id": i.sku, "quantity": i.quantity, "seller": i.seller} for i in parsed.items], parsed.sales_channel
        )
        for line in simulation.get("items") or []:
            index = int(line.get("requestIndex", -1))
            price = line.get("sellingPrice", line.get("price"))
            if 0 <= index < len(parsed.items) and isinstance(price, int) and price >= 0:
                prices[index] = price
    except VTEXError as exc:
        if exc.retryable:
            raise
        log.warning("checkout simulation refused (%s); using rclastcartvalue", exc)
    if len(prices) < len(parsed.items):
        prices = split_cart_value(parsed, payload.get("rclastcartvalue"), known=prices)
    products = []
    for index, item in enumerate(parsed.items):
        sku = sku_details(ctx, item.sku)
        products.append(
            OrderProduct(
                externalid=item.sku,
                name=sku["name"],
                price=prices[index],
                quantity=item.quantity,
                category=sku.get("category"),
                sku=item.sku,
                image_url=sku.get("image_url"),
                product_url=sku.get("product_url"),
            )
        )
    return products, sum(p.price * p.quantity for p in products)


def split_cart_value(parsed: ParsedCart, value: str | None, *, known: dict[int, int]) -> dict[int, int]:
    """Spread what the known prices leave of the cart value over the other units (whole cents)."""
    total = decimal_to_cents(value) if value else 0
    remaining = max(0, total - sum(known[i] * parsed.items[i].quantity for i in known))
    missing = [i for i in range(len(parsed.items)) if i not in known]
    units = sum(parsed.items[i].quantity for i in missing) or 1
    unit_price = remaining // units
    return {**known, **{i: unit_price for i in missing}}


def sku_details(ctx: StoreContext, sku_id: str) -> dict[str, Any]:
    key = f"acsync:sku:{ctx.store.name}:{sku_id}"
    cached = ctx.redis.get(key)
    if cached:
        return json.loads(cached)
    try:
        sku = ctx.vtex.get_sku(sku_id)
    except VTEXNotFound:
        details: dict[str, str | None] = {"name": f"SKU {sku_id}"}
    else:
        images = sku.get("Images") or []
        categories = list((sku.get("ProductCategories") or {}).values())
        details = {
            "name": clean_text(sku.get("NameComplete") or sku.get("ProductName")) or f"SKU {sku_id}",
            "image_url": full_size_image(images[0].get("ImageUrl") if images else sku.get("ImageUrl")),
            "product_url": absolute_url(ctx.store.store_url, sku.get("DetailUrl")),
            "category": clean_text(categories[-1]) if categories else None,
        }
    ctx.redis.set(key, json.dumps(details), ex=SKU_CACHE_TTL)
    return details


# ---------------------------------------------------------------------------- customers
def process_customer(event: Event, ctx: StoreContext) -> str:
    payload = event.payload
    email = payload["email"]
    phone = payload.get("phone") or payload.get("homePhone")
    opted_in = payload.get("isNewsletterOptIn") is True
    summary = json.dumps([email.lower(), payload.get("firstName"), payload.get("lastName"), phone], sort_keys=True)
    digest = hashlib.sha256(summary.encode()).hexdigest()[:32]
    changed = ctx.ids.get_id("contactfp", email_key(email)) != digest
    list_id = ctx.store.activecampaign.list_id
    subscribe = bool(list_id and opted_in and not ctx.ids.get_id("subscribed", str(list_id), email_key(email)))
    if not changed and not subscribe:
        return "contact_unchanged"
    contact: dict[str, Any] = {
        "email": email,
        "first_name": clean_text(payload.get("firstName")),
        "last_name": clean_text(payload.get("lastName")),
        "phone": clean_text(phone, 40),
    }
    if subscribe:
        contact["list_id"] = list_id
        ctx.handoff_set_id("subscribed", str(list_id), email_key(email), value="1")
    ctx.put("contact", email_key(email), contact)
    ctx.handoff_set_id("contactfp", email_key(email), value=digest)
    return "queued"


HANDLERS: dict[str, Callable[[Event, StoreContext], str]] = {
    "order": process_order,
    "cart": process_cart,
    "customer": process_customer,
}
