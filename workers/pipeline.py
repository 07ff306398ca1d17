"""The pipeline: contact -> e-commerce customer -> order or abandoned cart, exactly once in effect.

Each function takes an event and a ``StoreContext`` (clients and the id memory of one store) and
returns an outcome name. Every write is keyed and its ActiveCampaign id remembered before the next
step, so a retry resumes where it stopped; a 422 duplicate means an earlier attempt wrote the record
and its answer was lost, so the record is looked up and adopted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis

from acclient import (
    SOURCE_REALTIME,
    SOURCE_SYNC,
    ActiveCampaign,
    DuplicateError,
    NotFoundError,
    OrderProduct,
    ValidationError,
)
from acclient.values import decimal_to_cents
from workers.cart import ParsedCart, checkout_id, parse_rclastcart
from workers.config import StoreConfig
from workers.errors import Defer, PermanentEventError, RetryLater
from workers.events import Event
from workers.idempotency import IdStore, email_key
from workers.mapping import absolute_url, clean_text, fingerprint, full_size_image, is_masked, order_fields
from workers.vtex import VTEXClient, VTEXError, VTEXNotFound

log = logging.getLogger("acsync.pipeline")

SKU_CACHE_TTL = 24 * 3600


@dataclass
class StoreContext:
    store: StoreConfig
    ac: ActiveCampaign
    vtex: VTEXClient
    ids: IdStore
    redis: redis.Redis
    now: Callable[[], float] = field(default=time.time)

    @property
    def connection(self) -> str:
        return str(self.store.activecampaign.connection_id)


def parse_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# ---------------------------------------------------------------------------- shared steps
def ensure_contact(ctx: StoreContext, email: str, *, first_name: str | None = None, last_name: str | None = None,
                   phone: str | None = None) -> str:
    cached = ctx.ids.get_id("contact", email_key(email))
    if cached:
        return cached
    contact = ctx.ac.contacts.sync(email, first_name=clean_text(first_name), last_name=clean_text(last_name),
                                   phone=clean_text(phone, 40))
    ctx.ids.set_id("contact", email_key(email), value=str(contact["id"]))
    return str(contact["id"])


def ensure_customer(ctx: StoreContext, email: str, *, accepts_marketing: bool | None = None) -> str:
    cached = ctx.ids.get_id("customer", ctx.connection, email_key(email))
    if cached:
        return cached
    externalid = email.strip().lower()  # stable across guest checkouts, carts and profiles
    try:
        customer = ctx.ac.ecom_customers.create(connection_id=ctx.connection, externalid=externalid, email=email,
                                                accepts_marketing=accepts_marketing)
    except DuplicateError:
        customer = ctx.ac.ecom_customers.find(connection_id=ctx.connection, externalid=externalid)
        if customer is None:
            raise RetryLater("duplicate customer not found yet") from None
    ctx.ids.set_id("customer", ctx.connection, email_key(email), value=str(customer["id"]))
    return str(customer["id"])


def resolve_email(order: dict[str, Any], ctx: StoreContext) -> str:
    """The buyer's real address: never send a Conversation Tracker alias to ActiveCampaign."""
    profile = order.get("clientProfileData") or {}
    email = (profile.get("email") or "").strip()
    if email and not is_masked(email):
        return email
    user_id = profile.get("userProfileId")
    if user_id:
        customer = ctx.vtex.find_customer(user_id)
        if customer and customer.get("email") and not is_masked(customer["email"]):
            return customer["email"].strip()
    for message in ctx.vtex.conversation(order["orderId"]):
        for party in [*(message.get("to") or []), message.get("from") or {}]:
            candidate = (party.get("email") or "").strip()
            if candidate and not is_masked(candidate) and "@" in candidate and \
                    party.get("role", "Customer") == "Customer":
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
    change = parse_time(order.get("lastChange"))
    if applied and change and change < applied:
        return "stale"
    if status == "canceled":
        return cancel_order(ctx, order_id, record, order)
    if status not in ctx.store.order_states:
        return "ignored_state"
    if record.get("status") == "canceled":
        return "stale"  # a canceled order is never brought back by a late event

    # historical orders go in with source 0 so that they do not fire "Makes a purchase" automations
    source = SOURCE_SYNC if event.payload.get("backfill") else SOURCE_REALTIME
    fields = order_fields(order, ctx.store, source=source)
    print_ = fingerprint(fields)
    state = {"last_change": order.get("lastChange", ""), "status": status, "fingerprint": print_}
    if record.get("ac_id") and record.get("fingerprint") == print_:
        ctx.ids.update_record("order", ctx.connection, order_id, values=state)
        return "unchanged"

    email = resolve_email(order, ctx)
    profile = order.get("clientProfileData") or {}
    ensure_contact(ctx, email, first_name=profile.get("firstName"), last_name=profile.get("lastName"),
                   phone=profile.get("phone"))
    customer_id = ensure_customer(ctx, email)
    fields.update(email=email, customer_id=customer_id)
    remember_order_time(ctx, email, parse_time(order.get("creationDate")) or ctx.now())

    if record.get("ac_id"):
        ctx.ac.ecom_orders.update(record["ac_id"], **without(fields, "externalid"))
        outcome, ac_id = "updated", record["ac_id"]
    else:
        ac_id, outcome = create_or_convert(ctx, email, order_id, fields)
    ctx.ids.update_record("order", ctx.connection, order_id, values={**state, "ac_id": ac_id})
    return outcome


def create_or_convert(ctx: StoreContext, email: str, order_id: str, fields: dict[str, Any]) -> tuple[str, str]:
    """Convert the customer's open abandoned cart into this order, or create the order."""
    open_cart = ctx.ids.get_id("opencart", ctx.connection, email_key(email))
    if open_cart:
        try:
            ctx.ac.ecom_orders.update(open_cart, **fields)  # adding externalid marks the cart recovered
            ctx.ids.forget("opencart", ctx.connection, email_key(email))
            return open_cart, "converted_cart"
        except NotFoundError:
            ctx.ids.forget("opencart", ctx.connection, email_key(email))  # deleted in AC: create instead
        except DuplicateError:
            ctx.ids.forget("opencart", ctx.connection, email_key(email))  # an earlier attempt converted it
            existing = ctx.ac.ecom_orders.find(connection_id=ctx.connection, externalid=order_id)
            if existing:
                return str(existing["id"]), "converted_cart"
    try:
        created = ctx.ac.ecom_orders.create_order(connection_id=ctx.connection, **fields)
        return str(created["id"]), "created"
    except DuplicateError:
        existing = ctx.ac.ecom_orders.find(connection_id=ctx.connection, externalid=order_id)
        if existing is None:
            raise RetryLater("duplicate order not found yet") from None
        ctx.ac.ecom_orders.update(existing["id"], **without(fields, "externalid"))
        return str(existing["id"]), "adopted"
    except ValidationError as exc:
        if any("customerid" in e.pointer for e in exc.errors):
            # the cached customer was deleted in ActiveCampaign: forget it and start over
            ctx.ids.forget("customer", ctx.connection, email_key(email))
            raise RetryLater("customer missing in ActiveCampaign", delay=1) from None
        raise


def cancel_order(ctx: StoreContext, order_id: str, record: dict[str, str], order: dict[str, Any]) -> str:
    state = {"status": "canceled", "last_change": order.get("lastChange", "")}
    outcome = "canceled_before_sync"
    if record.get("ac_id") and record.get("deleted") != "1":
        if ctx.store.on_cancel == "delete":
            with contextlib.suppress(NotFoundError):  # already gone is as good as deleted
                ctx.ac.ecom_orders.delete(record["ac_id"])
            state["deleted"] = "1"
            outcome = "deleted"
        else:
            outcome = "canceled_kept"
    ctx.ids.update_record("order", ctx.connection, order_id, values=state)
    return outcome


def remember_order_time(ctx: StoreContext, email: str, when: float) -> None:
    key = ("lastorder", ctx.connection, email_key(email))
    previous = ctx.ids.get_id(*key)
    if not previous or float(previous) < when:
        ctx.ids.set_id(*key, value=str(when))


def without(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in names}


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
    last_order = ctx.ids.get_id("lastorder", ctx.connection, email_key(email))
    if last_order and float(last_order) >= cart_time:
        return "cart_superseded_by_order"

    products, total = price_cart(ctx, parsed, payload)
    ensure_contact(ctx, email, first_name=payload.get("firstName"), last_name=payload.get("lastName"))
    customer_id = ensure_customer(ctx, email)
    recovery_url = f"{ctx.store.store_url}/checkout/cart/{payload['rclastcart'].strip()}"
    when = datetime.fromtimestamp(cart_time).astimezone()
    try:
        cart = ctx.ac.ecom_orders.create_abandoned_cart(
            connection_id=ctx.connection, customer_id=customer_id, externalcheckoutid=checkout, email=email,
            products=products, total_price=total, currency=ctx.store.currency, abandoned_date=when,
            external_created_date=when, order_url=recovery_url, source=SOURCE_REALTIME)
    except DuplicateError:
        cart = ctx.ac.ecom_orders.find(connection_id=ctx.connection, externalcheckoutid=checkout)
        if cart is None:
            raise RetryLater("duplicate cart not found yet") from None
    ctx.ids.update_record("cart", ctx.connection, checkout, values={"ac_id": str(cart["id"])})
    if not cart.get("externalid"):
        ctx.ids.set_id("opencart", ctx.connection, email_key(email), value=str(cart["id"]))
    return "cart_created"


def price_cart(ctx: StoreContext, parsed: ParsedCart, payload: dict[str, Any]) -> tuple[list[OrderProduct], int]:
    """Unit prices in cents from checkout simulation; else ``rclastcartvalue`` split by quantity."""
    prices: dict[int, int] = {}
    try:
        simulation = ctx.vtex.simulate([{"id": i.sku, "quantity": i.quantity, "seller": i.seller}
                                        for i in parsed.items], parsed.sales_channel)
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
        products.append(OrderProduct(externalid=item.sku, name=sku["name"], price=prices[index],
                                     quantity=item.quantity, category=sku.get("category"), sku=item.sku,
                                     image_url=sku.get("image_url"), product_url=sku.get("product_url")))
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
        details = {"name": f"SKU {sku_id}"}
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
    outcome = "contact_unchanged"
    contact_id = ctx.ids.get_id("contact", email_key(email))
    if not contact_id or ctx.ids.get_id("contactfp", email_key(email)) != digest:
        contact = ctx.ac.contacts.sync(email, first_name=clean_text(payload.get("firstName")),
                                       last_name=clean_text(payload.get("lastName")), phone=clean_text(phone, 40))
        contact_id = str(contact["id"])
        ctx.ids.set_id("contact", email_key(email), value=contact_id)
        ctx.ids.set_id("contactfp", email_key(email), value=digest)
        outcome = "contact_synced"
    list_id = ctx.store.activecampaign.list_id
    if list_id and opted_in and not ctx.ids.get_id("subscribed", str(list_id), email_key(email)):
        ctx.ac.contacts.update_list_status(list_id=list_id, contact_id=contact_id, status=1)
        ctx.ids.set_id("subscribed", str(list_id), email_key(email), value="1")
        outcome += "+subscribed"
    return outcome


HANDLERS: dict[str, Callable[[Event, StoreContext], str]] = {
    "order": process_order,
    "cart": process_cart,
    "customer": process_customer,
}
