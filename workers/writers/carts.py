"""Abandoned carts through v3 ``ecomOrders``, as ActiveCampaign's own WooCommerce plugin does.

One open abandoned cart per customer per store: a newer trigger of the same customer (the cart changed
again in the same visit) updates the open cart's contents instead of adding a second one, so AC's
abandoned-cart automation fires once per abandonment; an older trigger changes nothing. The open cart
closes when an order placed after it converts it (``cartId``).

A cart needs the connection's e-commerce customer (reused or created: ``CustomerIndex``) and one
``POST /ecomOrders`` with ``externalcheckoutid`` and ``abandonedDate``; the contact's names travel
separately as a contact write (batched with other contacts). A cart whose customer ordered after it
was abandoned is not created. A 422 duplicate means an earlier attempt created it: it is adopted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from acclient import SOURCE_REALTIME, ActiveCampaign, DuplicateError, NotFoundError, OrderProduct, ValidationError
from acsync_core.errors import RetryLater
from workers.idempotency import IdStore
from workers.outbox import Claimed
from workers.records import forget_open_cart, last_order_time, open_cart, set_open_cart
from workers.writers.customers import CustomerIndex
from workers.writers.results import Failed, Landed, Result


class CartWriter:
    def __init__(self, ac: ActiveCampaign, ids: IdStore, customers: dict[str, CustomerIndex]) -> None:
        self.ac = ac
        self.ids = ids
        self.customers = customers

    def write(self, batch: Sequence[Claimed]) -> list[Result]:
        return [self.write_one(item) for item in batch]

    def write_one(self, item: Claimed) -> Result:
        cart = item.payload
        connection, email, checkout = str(cart["connection"]), cart["email"], cart["checkout"]
        abandoned_at = float(cart["abandoned_at"])
        try:
            ordered = last_order_time(self.ids, connection, email)
            if ordered is not None and ordered >= abandoned_at:
                return Landed(item, "cart_superseded_by_order")
            record = self.ids.get_record("cart", connection, checkout)
            if record.get("ac_id"):
                return Landed(item, "cart_exists", record["ac_id"])
            opened = open_cart(self.ids, connection, email)
            if opened and opened.get("ac_id") and opened.get("checkout"):
                if float(opened.get("abandoned_at") or 0) >= abandoned_at:
                    return Landed(item, "cart_superseded", opened["ac_id"])
                updated = self._replace(opened, cart)
                if updated is not None:
                    return Landed(item, "cart_updated", updated)
            return Landed(item, "cart_created", self._create(cart))
        except Exception as exc:  # classified by the account writer's retry decision
            return Failed(item, exc)

    def _replace(self, opened: dict[str, Any], cart: dict[str, Any]) -> str | None:
        """Update the customer's open cart with a newer trigger's contents (its AC identity, the
        externalcheckoutid, stays: the abandoned-cart automation fires once per abandonment). None when
        the open cart is gone from ActiveCampaign."""
        connection, email, abandoned_at = str(cart["connection"]), cart["email"], float(cart["abandoned_at"])
        when = datetime.fromtimestamp(abandoned_at).astimezone()
        try:
            self.ac.ecom_orders.update(
                opened["ac_id"],
                products=[OrderProduct(**p) for p in cart["products"]],
                total_price=int(cart["total"]),
                currency=cart["currency"],
                abandoned_date=when,
                external_updated_date=when,
                order_url=cart.get("order_url"),
            )
        except NotFoundError:
            forget_open_cart(self.ids, connection, email)
            return None
        self.ids.update_record("cart", connection, cart["checkout"], values={"ac_id": opened["ac_id"]})
        set_open_cart(
            self.ids, connection, email, ac_id=opened["ac_id"], checkout=opened["checkout"], abandoned_at=abandoned_at
        )
        return str(opened["ac_id"])

    def _create(self, cart: dict[str, Any]) -> str:
        connection, email, checkout = str(cart["connection"]), cart["email"], cart["checkout"]
        abandoned_at = float(cart["abandoned_at"])
        index = self.customers[connection]
        customer_id = index.customer_id(email)
        when = datetime.fromtimestamp(abandoned_at).astimezone()
        created: dict[str, Any] | None
        try:
            created = self.ac.ecom_orders.create_abandoned_cart(
                connection_id=connection,
                customer_id=customer_id,
                externalcheckoutid=checkout,
                email=email,
                products=[OrderProduct(**p) for p in cart["products"]],
                total_price=int(cart["total"]),
                currency=cart["currency"],
                abandoned_date=when,
                external_created_date=when,
                order_url=cart.get("order_url"),
                source=SOURCE_REALTIME,
            )
        except DuplicateError:
            created = self.ac.ecom_orders.find(connection_id=connection, externalcheckoutid=checkout)
        except ValidationError as exc:
            if any("customerid" in e.pointer for e in exc.errors):
                index.forget(email)  # the remembered customer was deleted in ActiveCampaign
                raise RetryLater("customer missing in ActiveCampaign", delay=1) from None
            raise
        if created is None:
            raise RetryLater("duplicate cart not found yet")
        ac_id = str(created["id"])
        self.ids.update_record("cart", connection, checkout, values={"ac_id": ac_id})
        if not created.get("externalid"):
            set_open_cart(self.ids, connection, email, ac_id=ac_id, checkout=checkout, abandoned_at=abandoned_at)
        return ac_id
