"""``from acclient.ecommerce import ACConnection, ACCustomer, ACProduct, ACOrder`` (reference API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from acclient.compat import ACClient, Result, call, keyed, list_args, page_body
from acclient.resources.base import DEFAULT_LIMIT
from acclient.resources.ecom_orders import SOURCE_REALTIME, SOURCE_SYNC, OrderProduct
from acclient.values import to_cents


class ACConnection:
    def __init__(self, *, client: ACClient) -> None:
        self._connections = client.api.connections

    def create(self, *, service: str, external_id: str, name: str, logo_url: str, link_url: str) -> Result:
        return call(
            lambda: self._connections.create(
                service=service, externalid=external_id, name=name, logo_url=logo_url, link_url=link_url
            ),
            keyed("connection"),
        )

    def list(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        ordering: Mapping[str, str] | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Result:
        return call(
            lambda: self._connections.list(**list_args(limit, offset, ordering, filters)), page_body("connections")
        )

    def retrieve(self, id: int) -> Result:  # noqa: A002
        return call(lambda: self._connections.retrieve(id), keyed("connection"))

    def update(self, id: int, **fields: Any) -> Result:  # noqa: A002
        fields = {("externalid" if k == "external_id" else k): v for k, v in fields.items()}
        return call(lambda: self._connections.update(id, **fields), keyed("connection"))

    def delete(self, id: int) -> Result:  # noqa: A002
        return call(lambda: self._connections.delete(id), lambda _: {})


class ACCustomer:
    def __init__(self, *, client: ACClient, connection_id: int) -> None:
        self.connection_id = connection_id
        self._customers = client.api.ecom_customers

    def create(self, *, external_id: str, email: str, accepts_marketing: bool | None = None) -> Result:
        return call(
            lambda: self._customers.create(
                connection_id=self.connection_id,
                externalid=str(external_id),
                email=email,
                accepts_marketing=accepts_marketing,
            ),
            keyed("ecomCustomer"),
        )

    def list(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        ordering: Mapping[str, str] | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Result:
        return call(
            lambda: self._customers.list(**list_args(limit, offset, ordering, filters)), page_body("ecomCustomers")
        )

    def retrieve(self, id: int) -> Result:  # noqa: A002
        return call(lambda: self._customers.retrieve(id), keyed("ecomCustomer"))

    def update(self, id: int, **fields: Any) -> Result:  # noqa: A002
        fields = {("externalid" if k == "external_id" else k): v for k, v in fields.items()}
        return call(lambda: self._customers.update(id, **fields), keyed("ecomCustomer"))


class ACProduct:
    """A product line. ``price`` is the unit price in cents ($456.78 => 45678), as the reference says.

    AC requires an ``externalid`` on every product; when ``external_id`` is omitted (the reference
    makes it optional) the product name stands in for it so that the request is still accepted.
    """

    def __init__(
        self,
        *,
        name: str,
        price: int | float,
        quantity: int,
        external_id: str | None = None,
        category: str | None = None,
        description: str | None = None,
        product_url: str | None = None,
        image_url: str | None = None,
        sku: str | None = None,
    ) -> None:
        self.name = name
        self.price = to_cents(price, field=f"price of {name!r}")
        self.quantity = quantity
        self.external_id = external_id
        self.category = category
        self.description = description
        self.product_url = product_url
        self.image_url = image_url
        self.sku = sku

    def to_product(self) -> OrderProduct:
        return OrderProduct(
            externalid=str(self.external_id if self.external_id is not None else self.name),
            name=self.name,
            price=self.price,
            quantity=self.quantity,
            category=self.category,
            sku=self.sku,
            description=self.description,
            image_url=self.image_url,
            product_url=self.product_url,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.to_product().to_json()


class ACOrder:
    SOURCE_SYNC = SOURCE_SYNC
    SOURCE_REALTIME_WEBHOOK = SOURCE_REALTIME
    STATE_ORDERED = 1
    STATE_ABANDONED = 2

    def __init__(self, *, client: ACClient, connection_id: int) -> None:
        self.connection_id = connection_id
        self._orders = client.api.ecom_orders

    def create(
        self,
        *,
        external_id: str | int,
        customer_id: int,
        email: str,
        products: Sequence[ACProduct],
        currency: str,
        total_price: int | float,
        order_date: datetime,
        order_number: str | None = None,
        order_url: str | None = None,
        shipping_method: str | None = None,
        source: int = SOURCE_REALTIME,
        **amounts: Any,
    ) -> Result:
        """Create an order; ``amounts`` may carry shipping_amount, tax_amount, discount_amount (cents)."""
        return call(
            lambda: self._orders.create_order(
                connection_id=self.connection_id,
                customer_id=customer_id,
                externalid=str(external_id),
                email=email,
                products=[p.to_product() for p in products],
                total_price=to_cents(total_price, field="total_price"),
                currency=currency,
                external_created_date=order_date,
                source=source,
                order_number=order_number,
                order_url=order_url,
                shipping_method=shipping_method,
                **amounts,
            ),
            keyed("ecomOrder"),
        )

    def abandon_cart(
        self,
        *,
        external_checkout_id: str | int,
        customer_id: int,
        email: str,
        products: Sequence[ACProduct],
        currency: str,
        total_price: int | float,
        abandoned_date: datetime,
        external_created_date: datetime,
        order_number: str | None = None,
        order_url: str | None = None,
        external_updated_date: datetime | None = None,
        shipping_method: str | None = None,
        source: int = SOURCE_REALTIME,
    ) -> Result:
        return call(
            lambda: self._orders.create_abandoned_cart(
                connection_id=self.connection_id,
                customer_id=customer_id,
                externalcheckoutid=str(external_checkout_id),
                email=email,
                products=[p.to_product() for p in products],
                total_price=to_cents(total_price, field="total_price"),
                currency=currency,
                abandoned_date=abandoned_date,
                external_created_date=external_created_date,
                order_number=order_number,
                order_url=order_url,
                external_updated_date=external_updated_date,
                shipping_method=shipping_method,
                source=source,
            ),
            keyed("ecomOrder"),
        )

    def retrieve(self, id: int) -> Result:  # noqa: A002
        return call(lambda: self._orders.retrieve(id), keyed("ecomOrder"))

    def update(self, id: int, *, products: Sequence[ACProduct] | None = None, **fields: Any) -> Result:  # noqa: A002
        """PUT the given fields; pass ``external_id`` to convert an abandoned cart into an order."""
        renames = {
            "external_id": "externalid",
            "external_checkout_id": "externalcheckoutid",
            "order_date": "external_created_date",
        }
        changes = {renames.get(k, k): v for k, v in fields.items()}
        if products is not None:
            changes["products"] = [p.to_product() for p in products]
        return call(lambda: self._orders.update(id, **changes), keyed("ecomOrder"))

    def delete(self, id: int) -> Result:  # noqa: A002
        return call(lambda: self._orders.delete(id), lambda _: {})

    def list(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        ordering: Mapping[str, str] | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Result:
        return call(lambda: self._orders.list(**list_args(limit, offset, ordering, filters)), page_body("ecomOrders"))


__all__ = ["ACConnection", "ACCustomer", "ACOrder", "ACProduct"]
