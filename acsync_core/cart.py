"""Parsing VTEX's ``rclastcart``: the checkout cart URL relative to ``/checkout/cart/``.

Format: ``add?sku=20&qty=1&seller=1&sku=4&qty=2&seller=1&sc=1``. Each ``sku`` opens an item and the
``qty``/``seller`` after it belong to it; ``sc`` (trade policy) may appear anywhere and more than
once (some stores write it per item; the last one counts); a trailing ``&`` and empty pairs are
tolerated. Stores also send the whole cart URL, ``https://host/checkout/cart/add?sku=...`` (a
production VTEX connector, woowup/vtex-woowup-connector, accepts that form too) or the path from
``/checkout/cart/``: both are read as the relative form. Anything else is a clear ``CartParseError``;
a cart without any item is an ``EmptyCartError``.

``normalize_rclastcart`` writes a parsed cart back in the one form the rest of the pipeline uses,
``add?sku=..&qty=..&seller=..[&sku=..&qty=..&seller=..][&sc=..]``: ingest stores that form, so the
recovery link (``store_url + /checkout/cart/ + rclastcart``) and the cart's identity do not depend on
how a store's trigger wrote it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from acsync_core.errors import PermanentEventError

SKU_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_ITEMS = 100
MAX_QUANTITY = 10_000
# The normalised form itself, with ids that need no quoting and quantities 1-9999: what most stores
# send. normalize_rclastcart returns it as it is unless a sku repeats (parsing would merge it).
_ITEM = r"sku=([A-Za-z0-9_-]{1,40})&qty=[1-9][0-9]{0,3}&seller=([A-Za-z0-9_-]{1,40})"
NORMALIZED = re.compile(rf"add\?{_ITEM}(?:&{_ITEM})*(?:&sc=[A-Za-z0-9_-]{{1,40}})?")
NORMALIZED_ITEM = re.compile(_ITEM)
# a full cart URL's scheme and host (group 1) and the /checkout/cart/ path (group 2), both optional
CART_URL_PREFIX = re.compile(r"(https?://[^/?#]+)?(/?checkout/cart(?:/|(?=\?)|$))?", re.IGNORECASE)


class CartParseError(PermanentEventError):
    def __init__(self, detail: str) -> None:
        super().__init__("unparsable_cart", detail)


class EmptyCartError(CartParseError):
    """A cart URL without any item (no ``sku``, ``qty`` or ``seller`` at all): nothing was left in it."""


@dataclass(frozen=True)
class CartItem:
    sku: str
    quantity: int
    seller: str = "1"


@dataclass(frozen=True)
class ParsedCart:
    items: tuple[CartItem, ...]
    sales_channel: str | None


def relative_cart(value: str) -> str:
    """``value`` without the scheme, host and ``/checkout/cart/`` of a full cart URL (or of its path)."""
    text = value.strip()
    match = CART_URL_PREFIX.match(text)  # always matches: both parts are optional
    if match is None:
        raise AssertionError(f"CART_URL_PREFIX did not match {text[:60]!r}: it should match any text")
    if match.group(1) and not match.group(2):
        raise CartParseError(f"a URL that is not a /checkout/cart/ URL: {text[:60]!r}")
    return text[match.end() :]


def parse_rclastcart(value: str) -> ParsedCart:
    text = relative_cart(value)
    path, _, query = text.partition("?")
    path, query = path.strip("/"), query.partition("#")[0]
    if path not in ("add", ""):
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
        raise EmptyCartError("no sku in the cart")
    if path != "add":
        raise CartParseError(f"expected 'add?sku=..&qty=..', got {text[:60]!r}")
    if len(items) > MAX_ITEMS:
        raise CartParseError(f"{len(items)} items is more than {MAX_ITEMS}")
    parsed = []
    for item in items:
        quantity_text = item.get("qty", "1") or "1"
        if not quantity_text.isdigit() or not 1 <= int(quantity_text) <= MAX_QUANTITY:
            raise CartParseError(f"bad quantity {quantity_text[:20]!r} for sku {item['sku']}")
        parsed.append(CartItem(sku=item["sku"], quantity=int(quantity_text), seller=item.get("seller") or "1"))
    merged = merge_duplicates(parsed)
    for cart_item in merged:  # a sku repeated adds up: the bound holds for the cart written back too
        if cart_item.quantity > MAX_QUANTITY:
            raise CartParseError(f"quantity {cart_item.quantity} for sku {cart_item.sku} is more than {MAX_QUANTITY}")
    return ParsedCart(items=tuple(merged), sales_channel=sales_channel)


def format_cart(cart: ParsedCart) -> str:
    """The relative form of a parsed cart: ``add?sku=..&qty=..&seller=..`` per item, then ``&sc=..`` once."""
    pairs = [f"sku={item.sku}&qty={item.quantity}&seller={quote(item.seller, safe='')}" for item in cart.items]
    if cart.sales_channel:
        pairs.append(f"sc={quote(cart.sales_channel, safe='')}")
    return "add?" + "&".join(pairs)


def normalize_rclastcart(value: str) -> str:
    """``value`` in the relative form the pipeline uses; raises ``CartParseError`` (or ``EmptyCartError``).

    Ingest runs this on every cart trigger: a value already in that form (the usual case) is matched
    by one regex and returned, the same string ``format_cart(parse_rclastcart(value))`` would give.
    """
    if NORMALIZED.fullmatch(value):
        items = value.count("&sku=") + 1
        if items == 1:
            return value
        if items <= MAX_ITEMS:
            pairs = NORMALIZED_ITEM.findall(value)
            if len(set(pairs)) == len(pairs):
                return value
    return format_cart(parse_rclastcart(value))


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
