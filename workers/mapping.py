"""From VTEX data to ActiveCampaign fields: orders, cart lines, URLs, images, money, e-mails."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from acclient import OrderProduct
from acclient.values import cents_to_decimal, to_cents, to_iso8601
from workers.config import StoreConfig
from workers.errors import PermanentEventError
from workers.outbox import Enum, encode

MASKED_EMAIL = re.compile(r"(@|\.)ct\.vtex\.com\.br$", re.IGNORECASE)
RESIZED_IMAGE = re.compile(r"(/arquivos/ids/\d+)-\d+-\d+(/)")
UNSAFE_TEXT = re.compile(r"[\x00-\x1f\x7f]+")


def is_masked(email: str | None) -> bool:
    """Conversation Tracker aliases (hard ``…@ct.vtex.com.br`` and soft ``…-123.ct.vtex.com.br``)."""
    return bool(email) and bool(MASKED_EMAIL.search(email.strip()))


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


def order_products(order: dict[str, Any], store: StoreConfig) -> list[OrderProduct]:
    products = []
    for item in order.get("items") or []:
        categories = (item.get("additionalInfo") or {}).get("categories") or []
        category = clean_text(categories[-1].get("name")) if categories else None
        products.append(OrderProduct(
            externalid=str(item.get("productId") or item["id"]),
            name=clean_text(item.get("name")) or f"SKU {item['id']}",
            price=to_cents(item.get("sellingPrice", item.get("price", 0)), field=f"item {item['id']} price"),
            quantity=int(item.get("quantity") or 1),
            category=category,
            sku=clean_text(item.get("refId") or item.get("id")),
            image_url=full_size_image(item.get("imageUrl")),
            product_url=absolute_url(store.store_url, item.get("detailUrl")),
        ))
    return products


def order_totals(order: dict[str, Any]) -> dict[str, int]:
    totals = {t.get("id"): t.get("value") or 0 for t in order.get("totals") or []}
    return {
        "shipping_amount": to_cents(totals.get("Shipping", 0), field="Shipping"),
        "tax_amount": to_cents(totals.get("Tax", 0), field="Tax"),
        "discount_amount": to_cents(abs(totals.get("Discounts", 0)), field="Discounts"),
    }


def order_fields(order: dict[str, Any], store: StoreConfig, *, source: int) -> dict[str, Any]:
    """The AC ecomOrder fields of a VTEX order (all money in cents, as VTEX's OMS gives it)."""
    try:
        currency = (order.get("storePreferencesData") or {}).get("currencyCode") or store.currency
        logistics = (order.get("shippingData") or {}).get("logisticsInfo") or []
        shipping_method = clean_text(logistics[0].get("selectedSla")) if logistics else None
        fields: dict[str, Any] = {
            "externalid": order["orderId"],
            "products": order_products(order, store),
            "total_price": to_cents(order.get("value", 0), field="value"),
            "currency": currency,
            "external_created_date": order["creationDate"],
            "external_updated_date": order.get("lastChange") or order["creationDate"],
            "order_number": clean_text(order.get("sequence") or order["orderId"]),
            "order_url": f"{store.store_url}/account#/orders/{order['orderId']}",
            "shipping_method": shipping_method,
            "source": source,
            **order_totals(order),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentEventError("bad_order_data", f"{exc.__class__.__name__}: {exc}") from None
    if not fields["products"]:
        raise PermanentEventError("bad_order_data", "the order has no items")
    return fields


def fingerprint(fields: dict[str, Any]) -> str:
    """What makes an AC write necessary: the fields without the update timestamp."""
    relevant = {k: v for k, v in fields.items() if k != "external_updated_date"}
    text = json.dumps(relevant, sort_keys=True, default=lambda o: o.__dict__)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


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


def money(cents: Any, *, field: str) -> Decimal:
    """VTEX integer cents -> AC's decimal currency units, exactly; amounts AC cannot store are refused."""
    try:
        return cents_to_decimal(to_cents(cents, field=field))
    except ValueError as exc:  # AmountOutOfRange is a ValueError
        raise PermanentEventError("amount_not_storable", str(exc)) from None


def _address(address: dict[str, Any] | None, profile: dict[str, Any]) -> dict[str, Any] | None:
    if not address:
        return None
    receiver = clean_text(address.get("receiverName")) or ""
    first, _, last = receiver.partition(" ")
    street = " ".join(p for p in (clean_text(address.get("street")), clean_text(address.get("number"))) if p)
    return {k: v for k, v in {
        "firstName": first or clean_text(profile.get("firstName")),
        "lastName": last or clean_text(profile.get("lastName")),
        "address1": street or None,
        "address2": clean_text(address.get("complement")),
        "city": clean_text(address.get("city")),
        "state": clean_text(address.get("state")),
        "postalCode": clean_text(address.get("postalCode")),
        "country": clean_text(address.get("country")),
    }.items() if v}


def graphql_line_items(order: dict[str, Any], store: StoreConfig) -> list[dict[str, Any]]:
    items = []
    for index, item in enumerate(order.get("items") or []):
        categories = (item.get("additionalInfo") or {}).get("categories") or []
        price = item.get("sellingPrice")
        if price is None:
            price = item.get("price", 0)
        items.append({k: v for k, v in {
            "storeLineItemId": str(item.get("uniqueId") or f"{item['id']}-{index}"),
            "productStorePrimaryId": str(item.get("productId") or item["id"]),
            "name": clean_text(item.get("name")) or f"SKU {item['id']}",
            "sku": clean_text(item.get("refId") or item.get("id")),
            "priceAmount": money(price, field=f"item {item['id']} price"),
            "quantity": int(item.get("quantity") or 1),
            "category": clean_text(categories[-1].get("name")) if categories else None,
            "productUrl": absolute_url(store.store_url, item.get("detailUrl")),
            "imageUrl": full_size_image(item.get("imageUrl")),
        }.items() if v is not None})
    return items


def graphql_order(order: dict[str, Any], store: StoreConfig, *, historical: bool) -> dict[str, Any]:
    """The ``OrderInput`` of AC's Ecommerce GraphQL API for a VTEX order (money in currency units).

    ``email``, ``storeCustomerId`` and ``cartId`` are filled in later: the e-mail after resolving a
    Conversation Tracker alias, the other two by the account's writer (which knows the customers and carts).
    """
    try:
        profile = order.get("clientProfileData") or {}
        preferences = order.get("clientPreferencesData") or {}
        logistics = (order.get("shippingData") or {}).get("logisticsInfo") or []
        totals = {t.get("id"): t.get("value") or 0 for t in order.get("totals") or []}
        currency = (order.get("storePreferencesData") or {}).get("currencyCode") or store.currency
        status = order.get("status", "")
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
            "finalAmount": money(order.get("value", 0), field="value"),
            "shippingAmount": money(totals.get("Shipping", 0), field="Shipping"),
            "taxAmount": money(totals.get("Tax", 0), field="Tax"),
            "discountsAmount": money(abs(totals.get("Discounts", 0) or 0), field="Discounts"),
            "shippingMethod": clean_text(logistics[0].get("selectedSla")) if logistics else None,
            "acceptsMarketing": bool(preferences.get("optinNewsLetter")) if "optinNewsLetter" in preferences else None,
            "customerData": {k: v for k, v in {
                "firstName": clean_text(profile.get("firstName")),
                "lastName": clean_text(profile.get("lastName")),
                "phone": clean_text(profile.get("phone"), 40),
                "company": clean_text(profile.get("corporateName")),
            }.items() if v},
            "shippingAddress": _address((order.get("shippingData") or {}).get("address"), profile),
            "lineItems": graphql_line_items(order, store),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentEventError("bad_order_data", f"{exc.__class__.__name__}: {exc}") from None
    if not fields["lineItems"]:
        raise PermanentEventError("bad_order_data", "the order has no items")
    return {k: v for k, v in fields.items() if v not in (None, {})}


def graphql_fingerprint(fields: dict[str, Any]) -> str:
    """What makes an order write necessary: its fields without the modification time."""
    relevant = {k: v for k, v in fields.items() if k != "storeModifiedDate"}
    return hashlib.sha256(encode(relevant)).hexdigest()[:32]
