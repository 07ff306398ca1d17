"""``from acclient.ecommerce import ACConnection, ACCustomer, ACProduct, ACOrder`` (reference API)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from acclient.compat import (
    EXTERNAL_ID_RENAMES,
    ACClient,
    DeletableReferenceResource,
    ReferenceResource,
    Result,
    renamed,
)
from acclient.resources.connections import Connections
from acclient.resources.ecom_customers import EcomCustomers
from acclient.resources.ecom_orders import SOURCE_REALTIME, SOURCE_SYNC, EcomOrders, OrderProduct
from acclient.values import to_cents

# The reference's keywords of an order update, and the core's.
ORDER_RENAMES = {
    **EXTERNAL_ID_RENAMES,
    "external_checkout_id": "externalcheckoutid",
    "order_date": "external_created_date",
}


class ACConnection(DeletableReferenceResource[Connections]):
    def __init__(self, *, client: ACClient) -> None:
        super().__init__(client.api.connections)

    def create(self, *, service: str, external_id: str, name: str, logo_url: str, link_url: str) -> Result:
        return self._answer(
            lambda: self._resource.create(
                service=service, externalid=external_id, name=name, logo_url=logo_url, link_url=link_url
            )
        )

    def update(self, id: int, **fields: Any) -> Result:  # noqa: A002
        changes = renamed(fields, EXTERNAL_ID_RENAMES)
        return self._answer(lambda: self._resource.update(id, **changes))


class ACCustomer(ReferenceResource[EcomCustomers]):
    def __init__(self, *, client: ACClient, connection_id: int) -> None:
        super().__init__(client.api.ecom_customers)
        self.connection_id = connection_id

    def create(self, *, external_id: str, email: str, accepts_marketing: bool | None = None) -> Result:
        return self._answer(
            lambda: self._resource.create(
                connection_id=self.connection_id,
                externalid=str(external_id),
                email=email,
                accepts_marketing=accepts_marketing,
            )
        )

    def update(self, id: int, **fields: Any) -> Result:  # noqa: A002
        changes = renamed(fields, EXTERNAL_ID_RENAMES)
        return self._answer(lambda: self._resource.update(id, **changes))


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


class ACOrder(DeletableReferenceResource[EcomOrders]):
    SOURCE_SYNC = SOURCE_SYNC
    SOURCE_REALTIME_WEBHOOK = SOURCE_REALTIME
    STATE_ORDERED = 1
    STATE_ABANDONED = 2

    def __init__(self, *, client: ACClient, connection_id: int) -> None:
        super().__init__(client.api.ecom_orders)
        self.connection_id = connection_id

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
        return self._create(
            self._resource.create_order,
            products,
            total_price,
            externalid=str(external_id),
            customer_id=customer_id,
            email=email,
            currency=currency,
            external_created_date=order_date,
            source=source,
            order_number=order_number,
            order_url=order_url,
            shipping_method=shipping_method,
            **amounts,
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
        return self._create(
            self._resource.create_abandoned_cart,
            products,
            total_price,
            externalcheckoutid=str(external_checkout_id),
            customer_id=customer_id,
            email=email,
            currency=currency,
            abandoned_date=abandoned_date,
            external_created_date=external_created_date,
            external_updated_date=external_updated_date,
            source=source,
            order_number=order_number,
            order_url=order_url,
            shipping_method=shipping_method,
        )

    def _create(
        self,
        create: Callable[..., dict[str, Any]],
        products: Sequence[ACProduct],
        total_price: int | float,
        /,
        **fields: Any,
    ) -> Result:
        """Create an order or a cart of this connection: products and total price in the core's form."""
        return self._answer(
            lambda: create(
                connection_id=self.connection_id,
                products=[p.to_product() for p in products],
                total_price=to_cents(total_price, field="total_price"),
                **fields,
            )
        )

    def update(self, id: int, *, products: Sequence[ACProduct] | None = None, **fields: Any) -> Result:  # noqa: A002
        """PUT the given fields; pass ``external_id`` to convert an abandoned cart into an order."""
        changes = renamed(fields, ORDER_RENAMES)
        if products is not None:
            changes["products"] = [p.to_product() for p in products]
        return self._answer(lambda: self._resource.update(id, **changes))


__all__ = ["ACConnection", "ACCustomer", "ACOrder", "ACProduct"]
