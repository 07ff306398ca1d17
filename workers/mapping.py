"""From VTEX data to ActiveCampaign fields: orders, cart lines, URLs, images, money, e-mails.

Names say which side they are about: ``ac_*`` build what ActiveCampaign receives (``ac_order_input``,
``ac_line_items``, ``ac_order_fingerprint``), ``vtex_*`` read an amount out of VTEX's own data
(``vtex_order_total``, ``vtex_line_total``, both in VTEX cents).
"""

from __future__ import annotations

import hashlib
import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from acclient.values import AmountOutOfRange, cents_to_decimal, to_cents, to_iso8601
from acsync_core.errors import PermanentEventError
from acsync_core.settings import StoreConfig
from workers.outbox import Enum, encode

MASKED_EMAIL = re.compile(r"(@|\.)ct\.vtex\.com\.br$", re.IGNORECASE)
RESIZED_IMAGE = re.compile(r"(/arquivos/ids/\d+)-\d+-\d+(/)")
UNSAFE_TEXT = re.compile(r"[\x00-\x1f\x7f]+")


SOFT_ALIAS = re.compile(r"^(?P<real>[^@\s]+@[^@\s]+?)-\d+b\.ct\.vtex\.com\.br$", re.IGNORECASE)


def unmask_soft_alias(email: str | None) -> str | None:
    """The real address inside a soft Conversation Tracker alias (``ana@mail.com-12b.ct.vtex.com.br``)."""
    found = SOFT_ALIAS.match((email or "").strip())
    return found.group("real") if found and "." in found.group("real").split("@", 1)[1] else None


def is_masked(email: str | None) -> bool:
    """Conversation Tracker aliases (hard ``…@ct.vtex.com.br`` and soft ``…-123.ct.vtex.com.br``)."""
    return bool(email and MASKED_EMAIL.search(email.strip()))


def clean_text(value: Any, limit: int = 255) -> str | None:
    """One line, bounded: CR/LF and control characters never reach ActiveCampaign."""
    if value is None:
        return None
    text = UNSAFE_TEXT.sub(" ", str(value)).strip()
    return text[:limit] or None


def absolute_url(base: str, path: str | None) -> str | None:
    if not path:
        return None
    if path.startswith(("http://", "https://")):
        return path
    return base.rstrip("/") + "/" + path.lstrip("/")


def full_size_image(url: str | None) -> str | None:
    """VTEX order items carry a 55x55 thumbnail; drop the ``-55-55`` to get the original image."""
    if not url:
        return None
    return RESIZED_IMAGE.sub(r"\1\2", url.replace("http://", "https://", 1))


# ---------------------------------------------------------------------------- Ecommerce GraphQL orders
# VTEX order status -> AC's normalizedStatus. Paid states are COMPLETED (the purchase is made; VTEX goes
# on with fulfilment), states waiting for payment are WAITING (AC: "checked out, payment not completed"),
# canceled is CANCELLED; anything else VTEX may add is PENDING.
NORMALIZED_STATUS = {
    "order-created": "PENDING",
    "order-completed": "PENDING",
    "on-order-completed": "PENDING",
    "waiting-for-sellers-confirmation": "PENDING",
    "payment-pending": "WAITING",
    "waiting-for-authorization": "WAITING",
    "approve-payment": "WAITING",
    "payment-approved": "COMPLETED",
    "window-to-cancel": "COMPLETED",
    "ready-for-handling": "COMPLETED",
    "start-handling": "COMPLETED",
    "handling": "COMPLETED",
    "invoice": "COMPLETED",
    "invoiced": "COMPLETED",
    "canceled": "CANCELLED",
}


def normalized_status(status: str) -> str:
    return NORMALIZED_STATUS.get(status, "PENDING")


def money(cents: Any, *, field: str, decimals: int = 2) -> Decimal:
    """VTEX amounts -> AC's decimal currency units, exactly; amounts AC cannot store are refused.

    VTEX sends every amount as an integer number of hundredths of the currency unit, whatever the
    currency (``CurrencyDecimalDigits`` only says how many decimals it shows). For a currency shown
    without decimals (CLP, ``decimals=0``) a fraction of a unit is rounded half-even to whole units.
    """
    try:
        value = cents_to_decimal(to_cents(cents, field=field))
    except AmountOutOfRange as exc:
        raise PermanentEventError("amount_not_storable", f"{field}: {exc}") from None
    if decimals < 2:
        value = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    return value


def _ac_address(address: dict[str, Any] | None, profile: dict[str, Any]) -> dict[str, Any] | None:
    if not address:
        return None
    receiver = clean_text(address.get("receiverName")) or ""
    first, _, last = receiver.partition(" ")
    street = " ".join(p for p in (clean_text(address.get("street")), clean_text(address.get("number"))) if p)
    return {
        k: v
        for k, v in {
            "firstName": first or clean_text(profile.get("firstName")),
            "lastName": last or clean_text(profile.get("lastName")),
            "address1": street or None,
            "address2": clean_text(address.get("complement")),
            "city": clean_text(address.get("city")),
            "state": clean_text(address.get("state")),
            "postalCode": clean_text(address.get("postalCode")),
            "country": clean_text(address.get("country")),
        }.items()
        if v
    }


def leaf_category(item: dict[str, Any]) -> str | None:
    """VTEX lists ``additionalInfo.categories`` from the most specific category to the department."""
    categories = (item.get("additionalInfo") or {}).get("categories") or []
    return clean_text(categories[0].get("name")) if categories and isinstance(categories[0], dict) else None


def vtex_line_total(item: dict[str, Any]) -> int:
    """An item line's total in VTEX cents: ``priceDefinition.total`` when present (exact when a unit
    price does not divide evenly), else the unit selling price (``price`` when it is null) x quantity."""
    definition = item.get("priceDefinition") or {}
    if isinstance(definition.get("total"), int) and not isinstance(definition.get("total"), bool):
        return to_cents(definition["total"], field=f"item {item.get('id')} priceDefinition.total")
    price = item.get("sellingPrice")
    if price is None:
        price = item.get("price")
    if price is None:
        raise PermanentEventError("bad_order_data", f"item {item.get('id')} has no price")
    return to_cents(price, field=f"item {item.get('id')} price") * int(item.get("quantity") or 1)


def split_line(total: int, quantity: int) -> list[tuple[int, int]]:
    """(units, unit price in cents) pairs whose totals add up to ``total`` exactly.

    AC's line items carry a unit price and a quantity, so a line of 3 units for 10.00 goes as 2 units
    at 3.33 and 1 unit at 3.34 rather than 3 at 3.33 (one cent lost) or 3.333...
    """
    quantity = max(1, quantity)
    unit, rest = divmod(total, quantity)
    if rest == 0:
        return [(quantity, unit)]
    return [(quantity - rest, unit), (rest, unit + 1)]


def allocate(amounts: list[int], scale: int, target: int) -> list[int]:
    """Whole units of ``scale`` cents for each amount, adding up to ``target`` (largest remainder first).

    For a currency shown without decimals every amount is rounded to whole units, and rounding each one
    on its own could make the lines, shipping and tax miss the order's (rounded) total by a unit.
    """
    units = [amount // scale for amount in amounts]
    missing = target - sum(units)
    by_remainder = sorted(range(len(amounts)), key=lambda i: (-(amounts[i] % scale), i))
    for i in by_remainder[: max(0, missing)]:
        units[i] += 1
    for i in reversed(by_remainder):  # only if VTEX's own total is below its parts (should not happen)
        if missing >= 0:
            break
        if units[i] > 0:
            units[i] -= 1
            missing += 1
    return units


def ac_line_items(
    order: dict[str, Any], store: StoreConfig, *, decimals: int = 2, line_totals: list[int] | None = None
) -> list[dict[str, Any]]:
    """AC line items of a VTEX order; the product identity is the SKU id, as for carts.

    ``line_totals`` are the lines' totals in the currency's minor units (``decimals`` places); by default
    each line's total in VTEX cents.
    """
    items = []
    for index, item in enumerate(order.get("items") or []):
        quantity = int(item.get("quantity") or 1)
        parts = split_line(line_totals[index] if line_totals is not None else vtex_line_total(item), quantity)
        base_id = str(item.get("uniqueId") or f"{item['id']}-{index}")
        for part, (units, unit_price) in enumerate(parts):
            items.append(
                {
                    k: v
                    for k, v in {
                        "storeLineItemId": base_id if part == 0 else f"{base_id}-{part}",
                        "productStorePrimaryId": str(item["id"]),
                        "name": clean_text(item.get("name")) or f"SKU {item['id']}",
                        "sku": clean_text(item.get("refId") or item.get("id")),
                        "priceAmount": money(
                            unit_price * 10 ** (2 - decimals), field=f"item {item['id']} price", decimals=decimals
                        ),
                        "quantity": units,
                        "category": leaf_category(item),
                        "productUrl": absolute_url(store.store_url, item.get("detailUrl")),
                        "imageUrl": full_size_image(item.get("imageUrl")),
                    }.items()
                    if v is not None
                }
            )
    return items


def vtex_order_total(order: dict[str, Any]) -> int:
    """The order total in VTEX cents: ``value``, else the sum of ``totals``; never a silent 0."""
    value = order.get("value")
    if value is not None:
        return to_cents(value, field="value")
    totals = [t.get("value") for t in order.get("totals") or [] if isinstance(t, dict)]
    if not totals:
        raise PermanentEventError("bad_order_data", "the order has neither value nor totals")
    total = sum(int(v or 0) for v in totals)  # Items + Discounts (negative) + Shipping + Tax
    return to_cents(total, field="totals")


def is_marketplace_order(order: dict[str, Any]) -> bool:
    """An order the store fulfils for another marketplace: its buyer belongs to that marketplace."""
    return (
        order.get("origin") == "Fulfillment" or bool(order.get("affiliateId")) or bool(order.get("marketplaceOrderId"))
    )


def ac_order_input(order: dict[str, Any], store: StoreConfig, *, historical: bool) -> dict[str, Any]:
    """The ``OrderInput`` of AC's Ecommerce GraphQL API for a VTEX order (money in currency units).

    ``email``, ``storeCustomerId`` and ``cartId`` are filled in later: the e-mail after resolving a
    Conversation Tracker alias, the other two by the account's writer (which knows the customers and carts).
    docs/data-mapping.md is the table of every field.
    """
    try:
        profile = order.get("clientProfileData") or {}
        preferences = order.get("clientPreferencesData") or {}
        logistics = (order.get("shippingData") or {}).get("logisticsInfo") or []
        totals = {t.get("id"): t.get("value") or 0 for t in order.get("totals") or [] if isinstance(t, dict)}
        store_preferences = order.get("storePreferencesData") or {}
        currency = store_preferences.get("currencyCode") or store.currency
        decimals = (store_preferences.get("currencyFormatInfo") or {}).get("CurrencyDecimalDigits")
        decimals = decimals if isinstance(decimals, int) and 0 <= decimals <= 2 else 2
        status = order.get("status", "")
        value = vtex_order_total(order)
        shipping, tax = (
            to_cents(totals.get("Shipping", 0) or 0, field="Shipping"),
            to_cents(totals.get("Tax", 0) or 0, field="Tax"),
        )
        lines = [vtex_line_total(item) for item in order.get("items") or []]
        if decimals < 2:  # whole units that still add up to the rounded total
            scale = 10 ** (2 - decimals)
            target = int((Decimal(value) / scale).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
            *lines, shipping, tax = [u * scale for u in allocate([*lines, shipping, tax], scale, target)]
        fields: dict[str, Any] = {
            "legacyConnectionId": int(store.activecampaign.connection_id),
            "storeOrderId": order["orderId"],
            "orderNumber": order["orderId"],  # what the customer sees in VTEX ("sequence" is internal)
            "orderUrl": f"{store.store_url}/account#/orders/{order['orderId']}",
            "creationSource": Enum("HISTORICAL" if historical else "REAL_TIME"),
            "normalizedStatus": Enum(normalized_status(status)),
            "storeStatus": clean_text(status),
            "storeCreatedDate": to_iso8601(order["creationDate"]),
            "storeModifiedDate": to_iso8601(order.get("lastChange") or order["creationDate"]),
            "currency": str(currency).lower(),  # AC's own plugin sends it lower-cased
            "finalAmount": money(value, field="value", decimals=decimals),
            "shippingAmount": money(shipping, field="Shipping", decimals=decimals),
            "taxAmount": money(tax, field="Tax", decimals=decimals),
            "discountsAmount": money(abs(totals.get("Discounts", 0) or 0), field="Discounts", decimals=decimals),
            "shippingMethod": clean_text(logistics[0].get("selectedSla")) if logistics else None,
            "acceptsMarketing": bool(preferences.get("optinNewsLetter")) if "optinNewsLetter" in preferences else None,
            "customerData": {
                k: v
                for k, v in {
                    "firstName": clean_text(profile.get("firstName")),
                    "lastName": clean_text(profile.get("lastName")),
                    "phone": clean_text(profile.get("phone"), 40),
                    "company": clean_text(profile.get("corporateName")),
                }.items()
                if v
            },
            "shippingAddress": _ac_address((order.get("shippingData") or {}).get("address"), profile),
            "lineItems": ac_line_items(
                order, store, decimals=decimals, line_totals=[t // 10 ** (2 - decimals) for t in lines]
            ),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentEventError("bad_order_data", f"{exc.__class__.__name__}: {exc}") from None
    if not fields["lineItems"]:
        raise PermanentEventError("bad_order_data", "the order has no items")
    return {k: v for k, v in fields.items() if v not in (None, {})}


def ac_order_fingerprint(fields: dict[str, Any]) -> str:
    """What makes an order write necessary: its fields without the modification time."""
    relevant = {k: v for k, v in fields.items() if k != "storeModifiedDate"}
    return hashlib.sha256(encode(relevant)).hexdigest()[:32]
