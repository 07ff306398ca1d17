"""From VTEX data to ActiveCampaign fields: orders, cart lines, URLs, images, money, e-mails."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from acclient import OrderProduct
from acclient.values import to_cents
from workers.config import StoreConfig
from workers.errors import PermanentEventError

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
