"""Parsing VTEX's ``rclastcart``: the checkout cart URL relative to ``/checkout/cart/``.

Format: ``add?sku=20&qty=1&seller=1&sku=4&qty=2&seller=1&sc=1``. Each ``sku`` opens an item and the
``qty``/``seller`` after it belong to it; ``sc`` (trade policy) may appear anywhere and more than
once; a trailing ``&`` and empty pairs are tolerated. Anything else is a clear ``CartParseError``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from workers.errors import PermanentEventError

SKU_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_ITEMS = 100
MAX_QUANTITY = 10_000


class CartParseError(PermanentEventError):
    def __init__(self, detail: str) -> None:
        super().__init__("unparsable_cart", detail)


@dataclass(frozen=True)
class CartItem:
    sku: str
    quantity: int
    seller: str = "1"


@dataclass(frozen=True)
class ParsedCart:
    items: tuple[CartItem, ...]
    sales_channel: str | None


def parse_rclastcart(value: str) -> ParsedCart:
    text = value.strip()
    path, _, query = text.partition("?")
    if path.strip("/") != "add" or not query:
        raise CartParseError(f"expected 'add?sku=..&qty=..', got {text[:60]!r}")
    items: list[dict[str, str]] = []
    sales_channel: str | None = None
    for key, raw in parse_qsl(query, keep_blank_values=True):
        key, raw = key.strip().lower(), raw.strip()
        if key == "sc":
            sales_channel = raw or sales_channel
        elif key == "sku":
            if not SKU_ID.match(raw):
                raise CartParseError(f"bad sku id {raw[:40]!r}")
            items.append({"sku": raw})
        elif key in ("qty", "seller"):
            if not items:
                raise CartParseError(f"{key} before any sku")
            items[-1][key] = raw
        elif key:
            continue  # utm_* and other decorations are harmless
    if not items:
        raise CartParseError("no sku in the cart")
    if len(items) > MAX_ITEMS:
        raise CartParseError(f"{len(items)} items is more than {MAX_ITEMS}")
    parsed = []
    for item in items:
        quantity_text = item.get("qty", "1") or "1"
        if not quantity_text.isdigit() or not 1 <= int(quantity_text) <= MAX_QUANTITY:
            raise CartParseError(f"bad quantity {quantity_text[:20]!r} for sku {item['sku']}")
        parsed.append(CartItem(sku=item["sku"], quantity=int(quantity_text), seller=item.get("seller") or "1"))
    return ParsedCart(items=tuple(merge_duplicates(parsed)), sales_channel=sales_channel)


def merge_duplicates(items: list[CartItem]) -> list[CartItem]:
    merged: dict[tuple[str, str], CartItem] = {}
    for item in items:
        key = (item.sku, item.seller)
        if key in merged:
            merged[key] = CartItem(item.sku, merged[key].quantity + item.quantity, item.seller)
        else:
            merged[key] = item
    return list(merged.values())


def checkout_id(email: str, rclastcart: str) -> str:
    """The cart's stable external id: the same cart from the same person is the same AC cart."""
    return "cart-" + hashlib.sha256(f"{email.lower()}\x1f{rclastcart.strip()}".encode()).hexdigest()[:24]
