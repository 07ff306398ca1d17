"""Facts about a customer that event tasks and writers share, in the id memory (``IdStore``).

* the open abandoned cart of an e-mail in a connection: its AC id, externalcheckoutid and when it was
  abandoned (so an order converts it only if placed after that);
* when the e-mail last placed an order (so a cart abandoned before that order is never created).
"""

from __future__ import annotations

from typing import Any

import orjson

from workers.idempotency import IdStore, email_key


def open_cart(ids: IdStore, connection: str, email: str) -> dict[str, Any] | None:
    raw = ids.get_id("opencart", connection, email_key(email))
    if not raw:
        return None
    if not raw.startswith("{"):  # the AC id alone: the value's first form, still found in Redis
        return {"ac_id": raw, "checkout": None, "abandoned_at": None}
    cart: dict[str, Any] = orjson.loads(raw)  # written by set_open_cart
    return cart


def set_open_cart(ids: IdStore, connection: str, email: str, *, ac_id: str, checkout: str, abandoned_at: float) -> None:
    value = orjson.dumps({"ac_id": ac_id, "checkout": checkout, "abandoned_at": abandoned_at}).decode()
    ids.set_id("opencart", connection, email_key(email), value=value)


def forget_open_cart(ids: IdStore, connection: str, email: str) -> None:
    ids.forget("opencart", connection, email_key(email))


def remember_order_time(ids: IdStore, connection: str, email: str, when: float) -> None:
    key = ("lastorder", connection, email_key(email))
    previous = ids.get_id(*key)
    if not previous or float(previous) < when:
        ids.set_id(*key, value=str(when))


def last_order_time(ids: IdStore, connection: str, email: str) -> float | None:
    value = ids.get_id("lastorder", connection, email_key(email))
    return float(value) if value else None


def order_placed_at(payload: dict[str, Any]) -> float | None:
    value = payload.get("placed_at")
    return float(value) if value is not None else None
