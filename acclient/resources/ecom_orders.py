"""E-commerce orders and abandoned carts (the same ``ecomOrder`` object in ActiveCampaign).

A cart has ``externalcheckoutid`` and ``abandonedDate`` but no ``externalid``; converting it into an
order is a PUT that adds ``externalid`` (AC then counts the cart as recovered). Money is integer
cents everywhere; dates are ISO 8601 with an offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from acclient.resources.base import Resource, compact
from acclient.values import to_cents, to_iso8601

SOURCE_SYNC = 0  # historical import: does not fire automations
SOURCE_REALTIME = 1  # fires "Makes a purchase" / "Abandons cart" automations


@dataclass(frozen=True)
class OrderProduct:
    externalid: str
    name: str
    price: int  # unit price in cents
    quantity: int
    category: str | None = None
    sku: str | None = None
    description: str | None = None
    image_url: str | None = None
    product_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        if not str(self.externalid):
            raise ValueError("every product needs an externalid")
        if not isinstance(self.quantity, int) or isinstance(self.quantity, bool) or self.quantity < 1:
            raise ValueError(f"product {self.externalid}: quantity must be a positive integer")
        return compact(
            {
                "externalid": str(self.externalid),
                "name": self.name,
                "price": to_cents(self.price, field=f"product {self.externalid} price"),
                "quantity": self.quantity,
                "category": self.category,
                "sku": self.sku,
                "description": self.description,
                "imageUrl": self.image_url,
                "productUrl": self.product_url,
            }
        )


_MONEY = {
    "total_price": "totalPrice",
    "shipping_amount": "shippingAmount",
    "tax_amount": "taxAmount",
    "discount_amount": "discountAmount",
}
_DATES = {
    "external_created_date": "externalCreatedDate",
    "external_updated_date": "externalUpdatedDate",
    "abandoned_date": "abandonedDate",
}
_PLAIN = {
    "externalid": "externalid",
    "externalcheckoutid": "externalcheckoutid",
    "email": "email",
    "currency": "currency",
    "order_number": "orderNumber",
    "order_url": "orderUrl",
    "shipping_method": "shippingMethod",
    "source": "source",
    "connection_id": "connectionid",
    "customer_id": "customerid",
    "order_discounts": "orderDiscounts",
}


def order_fields(**values: Any) -> dict[str, Any]:
    """Map snake_case arguments to AC's ecomOrder keys, converting money, dates and products."""
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name in _MONEY:
            fields[_MONEY[name]] = to_cents(value, field=name)
        elif name in _DATES:
            fields[_DATES[name]] = to_iso8601(value)
        elif name == "products":
            fields["orderProducts"] = [_product_json(p) for p in value]
        elif name in ("connection_id", "customer_id", "externalid", "externalcheckoutid"):
            fields[_PLAIN[name]] = str(value)
        elif name == "currency":
            fields["currency"] = str(value).upper()
        elif name in _PLAIN:
            fields[_PLAIN[name]] = value
        else:
            raise TypeError(f"unknown ecomOrder field {name!r}")
    return fields


def _product_json(product: OrderProduct | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(product, OrderProduct):
        return product.to_json()
    return OrderProduct(**product).to_json()


class EcomOrders(Resource):
    path = "/ecomOrders"
    item_key = "ecomOrder"
    list_key = "ecomOrders"

    def create_order(
        self,
        *,
        connection_id: int | str,
        customer_id: int | str,
        externalid: str,
        email: str,
        products: Iterable[OrderProduct | Mapping[str, Any]],
        total_price: int,
        currency: str,
        external_created_date: datetime | str,
        source: int = SOURCE_REALTIME,
        **optional: Any,
    ) -> dict[str, Any]:
        """Create an order. Optional: order_number, order_url, shipping_method, shipping_amount,
        tax_amount, discount_amount, external_updated_date, order_discounts."""
        return self._create(
            order_fields(
                connection_id=connection_id,
                customer_id=customer_id,
                externalid=externalid,
                email=email,
                products=list(products),
                total_price=total_price,
                currency=currency,
                external_created_date=external_created_date,
                source=source,
                **optional,
            )
        )

    def create_abandoned_cart(
        self,
        *,
        connection_id: int | str,
        customer_id: int | str,
        externalcheckoutid: str,
        email: str,
        products: Iterable[OrderProduct | Mapping[str, Any]],
        total_price: int,
        currency: str,
        abandoned_date: datetime | str,
        external_created_date: datetime | str,
        source: int = SOURCE_REALTIME,
        **optional: Any,
    ) -> dict[str, Any]:
        """Create an abandoned cart; ``order_url`` is the place for the cart-recovery link."""
        return self._create(
            order_fields(
                connection_id=connection_id,
                customer_id=customer_id,
                externalcheckoutid=externalcheckoutid,
                email=email,
                products=list(products),
                total_price=total_price,
                currency=currency,
                abandoned_date=abandoned_date,
                external_created_date=external_created_date,
                source=source,
                **optional,
            )
        )

    def update(self, order_id: int | str, **changes: Any) -> dict[str, Any]:
        """PUT only the given fields (same names as create). Adding ``externalid`` to a cart converts it."""
        return self._update(order_id, order_fields(**changes))

    def find(
        self,
        *,
        connection_id: int | str,
        externalid: str | None = None,
        externalcheckoutid: str | None = None,
    ) -> dict[str, Any] | None:
        if (externalid is None) == (externalcheckoutid is None):
            raise ValueError("find needs exactly one of externalid or externalcheckoutid")
        key, value = (
            ("externalid", externalid) if externalid is not None else ("externalcheckoutid", externalcheckoutid)
        )
        filters = {"connectionid": str(connection_id), key: str(value)}
        for order in self.iterate(filters=filters):
            if str(order.get("connectionid")) == str(connection_id) and str(order.get(key)) == str(value):
                return order
        return None
