"""The cart flow: an abandoned cart, priced (checkout simulation, else the cart's value) and handed to the outbox."""

from __future__ import annotations

import logging
from typing import Any

from acclient import OrderProduct
from acclient.values import decimal_to_cents
from acsync_core.cart import ParsedCart, checkout_id, parse_rclastcart
from acsync_core.errors import Defer
from acsync_core.events import Event
from workers.catalog import SkuCatalog
from workers.flows.context import StoreContext, parse_time
from workers.idempotency import email_key
from workers.mapping import clean_text
from workers.records import last_order_time, open_cart
from workers.vtex import VTEXError

log = logging.getLogger("acsync.pipeline")


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
    catalog = SkuCatalog(ctx.redis, ctx.vtex, ctx.store)
    products = []
    for index, item in enumerate(parsed.items):
        sku = catalog.details(item.sku)
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
