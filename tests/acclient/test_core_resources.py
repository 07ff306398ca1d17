"""The modern core against the sandbox over real HTTP on loopback: every resource method."""

from __future__ import annotations

import pytest

from acclient import (
    ActiveCampaign,
    AuthenticationError,
    DuplicateError,
    NotFoundError,
    OrderProduct,
    ValidationError,
)
from tests.acclient.helpers import client_for, make_connection, request_log, state

SHIRT = OrderProduct(
    externalid="sku-1",
    name="Shirt",
    price=4990,
    quantity=2,
    category="Tops",
    image_url="https://cdn.example.com/shirt.jpg",
    product_url="https://example.com/shirt/p",
)


@pytest.fixture
def ac(ac_sandbox) -> ActiveCampaign:
    return client_for(ac_sandbox)


# ------------------------------------------------------------------ contacts
def test_contact_sync_creates_then_updates_only_given_fields(ac, ac_sandbox):
    created = ac.contacts.sync("ana@example.com", first_name="Ana", last_name="Silva", phone="+55 11 9999")
    updated = ac.contacts.sync("ANA@example.com", phone="+55 11 8888")
    assert updated["id"] == created["id"]
    [row] = state(ac_sandbox)["contacts"]
    assert (row["firstName"], row["lastName"], row["phone"]) == ("Ana", "Silva", "+55 11 8888")


def test_contact_retrieve_and_find_by_email(ac):
    contact = ac.contacts.sync("bo@example.com", first_name="Bo")
    assert ac.contacts.retrieve(contact["id"])["email"] == "bo@example.com"
    assert ac.contacts.find_by_email("BO@example.com")["id"] == contact["id"]
    assert ac.contacts.find_by_email("nobody@example.com") is None
    with pytest.raises(NotFoundError) as caught:
        ac.contacts.retrieve(999)
    assert caught.value.status == 404 and not caught.value.retryable


def test_contact_list_status_subscribe_and_unsubscribe(ac, ac_sandbox):
    contact = ac.contacts.sync("cy@example.com")
    ac.contacts.update_list_status(list_id=1, contact_id=contact["id"], status=1)
    assert state(ac_sandbox)["contactLists"][0]["status"] == 1
    ac.contacts.update_list_status(list_id=1, contact_id=contact["id"], status=2)
    [membership] = state(ac_sandbox)["contactLists"]
    assert membership["status"] == 2
    with pytest.raises(ValueError):
        ac.contacts.update_list_status(list_id=1, contact_id=contact["id"], status=3)
    with pytest.raises(ValidationError):
        ac.contacts.update_list_status(list_id=99, contact_id=contact["id"], status=1)


def test_invalid_email_is_a_validation_error_with_ac_details(ac):
    with pytest.raises(ValidationError) as caught:
        ac.requestor.request("POST", "/contact/sync", body={"contact": {"email": "not-an-email"}})
    error = caught.value
    assert error.status == 422 and not error.retryable and not isinstance(error, DuplicateError)
    assert error.errors[0].code == "email_invalid"
    assert error.errors[0].pointer == "/data/attributes/email"
    with pytest.raises(ValueError):
        ac.contacts.sync("")


def test_wrong_token_is_an_authentication_error(ac_sandbox):
    ac = client_for(ac_sandbox, api_token="wrong")
    with pytest.raises(AuthenticationError) as caught:
        ac.contacts.sync("dee@example.com")
    assert caught.value.status == 403 and not caught.value.retryable
    assert "wrong" not in repr(ac.requestor)


# ------------------------------------------------------------------ connections
def test_connection_create_list_retrieve_update_delete(ac):
    connection = make_connection(ac)
    assert ac.connections.retrieve(connection["id"])["externalid"] == "mystore"
    assert ac.connections.list().total == 1
    assert ac.connections.find(service="vtex", externalid="mystore")["id"] == connection["id"]
    assert ac.connections.find(service="vtex", externalid="other") is None
    assert (
        ac.connections.update(connection["id"], name="Renamed", link_url="https://new.example.com")["name"] == "Renamed"
    )
    ac.connections.delete(connection["id"])
    with pytest.raises(NotFoundError):
        ac.connections.retrieve(connection["id"])


def test_duplicate_connection_is_a_duplicate_error(ac):
    make_connection(ac)
    with pytest.raises(DuplicateError) as caught:
        make_connection(ac)
    assert caught.value.errors[0].code == "duplicate" and caught.value.status == 422


def test_connection_missing_fields_lists_every_missing_field(ac):
    with pytest.raises(ValidationError) as caught:
        ac.requestor.request("POST", "/connections", body={"connection": {"service": "vtex"}})
    pointers = {e.pointer for e in caught.value.errors}
    assert pointers == {f"/data/attributes/{n}" for n in ("externalid", "name", "logoUrl", "linkUrl")}


# ------------------------------------------------------------------ e-commerce customers
def test_customer_create_list_find_update(ac):
    connection = make_connection(ac)
    customer = ac.ecom_customers.create(
        connection_id=connection["id"], externalid="ana@example.com", email="ana@example.com", accepts_marketing=True
    )
    assert customer["acceptsMarketing"] == "1"
    # The list by e-mail alone includes AC's aggregate row (connectionid "0"); find must skip it.
    page = ac.ecom_customers.list(filters={"email": "ana@example.com"})
    assert {c["connectionid"] for c in page.items} == {"0", connection["id"]}
    found = ac.ecom_customers.find(connection_id=connection["id"], email="ANA@example.com")
    assert found["id"] == customer["id"]
    assert ac.ecom_customers.find(connection_id=connection["id"], externalid="ana@example.com")["id"] == customer["id"]
    assert ac.ecom_customers.find(connection_id=connection["id"], email="zed@example.com") is None
    updated = ac.ecom_customers.update(customer["id"], accepts_marketing=False)
    assert updated["acceptsMarketing"] == "0"
    assert ac.ecom_customers.retrieve(customer["id"])["email"] == "ana@example.com"


def test_duplicate_customer_per_connection(ac):
    connection = make_connection(ac)
    ac.ecom_customers.create(connection_id=connection["id"], externalid="c1", email="a@example.com")
    with pytest.raises(DuplicateError):
        ac.ecom_customers.create(connection_id=connection["id"], externalid="c1", email="a@example.com")
    other = make_connection(ac, externalid="other-store")
    ac.ecom_customers.create(connection_id=other["id"], externalid="c1", email="a@example.com")


# ------------------------------------------------------------------ orders and carts
@pytest.fixture
def customer(ac):
    connection = make_connection(ac)
    return ac.ecom_customers.create(
        connection_id=connection["id"], externalid="ana@example.com", email="ana@example.com"
    )


def test_create_order_sends_cents_dates_and_products(ac, ac_sandbox, customer):
    order = ac.ecom_orders.create_order(
        connection_id=customer["connectionid"],
        customer_id=customer["id"],
        externalid="v1001-01",
        email="ana@example.com",
        products=[SHIRT],
        total_price=10980,
        currency="brl",
        external_created_date="2026-11-27T10:30:00.1234567-03:00",
        shipping_amount=1000,
        discount_amount=0,
        tax_amount=0,
        order_number="1001",
        order_url="https://example.com/account/orders/v1001-01",
        shipping_method="Normal",
    )
    assert order["state"] == "1"
    [row] = state(ac_sandbox)["ecomOrders"]
    assert row["totalPrice"] == "10980" and row["currency"] == "BRL" and row["shippingAmount"] == "1000"
    assert row["externalCreatedDate"] == "2026-11-27T10:30:00-03:00"
    assert row["orderProducts"] == [
        {
            "externalid": "sku-1",
            "name": "Shirt",
            "price": 4990,
            "quantity": 2,
            "category": "Tops",
            "imageUrl": "https://cdn.example.com/shirt.jpg",
            "productUrl": "https://example.com/shirt/p",
        }
    ]
    assert ac.ecom_orders.retrieve(order["id"])["externalid"] == "v1001-01"
    assert ac.ecom_orders.find(connection_id=customer["connectionid"], externalid="v1001-01")["id"] == order["id"]


def test_fractional_cents_raise_before_any_request(ac, ac_sandbox, customer):
    before = request_log(ac_sandbox)["total"]
    with pytest.raises(ValueError):
        ac.ecom_orders.create_order(
            connection_id=customer["connectionid"],
            customer_id=customer["id"],
            externalid="x",
            email="ana@example.com",
            products=[SHIRT],
            total_price=109.8,
            currency="BRL",
            external_created_date="2026-11-27T10:30:00Z",
        )
    assert request_log(ac_sandbox)["total"] == before


def test_duplicate_order_externalid(ac, customer):
    args = dict(
        connection_id=customer["connectionid"],
        customer_id=customer["id"],
        externalid="v1",
        email="a@b.co",
        products=[SHIRT],
        total_price=9980,
        currency="BRL",
        external_created_date="2026-11-27T10:30:00Z",
    )
    ac.ecom_orders.create_order(**args)
    with pytest.raises(DuplicateError):
        ac.ecom_orders.create_order(**args)


def test_abandoned_cart_then_conversion_then_delete(ac, ac_sandbox, customer):
    cart = ac.ecom_orders.create_abandoned_cart(
        connection_id=customer["connectionid"],
        customer_id=customer["id"],
        externalcheckoutid="cart-abc",
        email="ana@example.com",
        products=[SHIRT],
        total_price=9980,
        currency="BRL",
        abandoned_date="2026-11-27T09:00:00+00:00",
        external_created_date="2026-11-27T08:00:00+00:00",
        order_url="https://example.com/checkout/cart/add?sku=1&qty=2&seller=1&sc=1",
    )
    assert cart["state"] == "2" and "externalid" not in cart
    found = ac.ecom_orders.find(connection_id=customer["connectionid"], externalcheckoutid="cart-abc")
    assert found["id"] == cart["id"]
    converted = ac.ecom_orders.update(
        cart["id"], externalid="v2002-01", external_created_date="2026-11-27T10:00:00+00:00"
    )
    assert converted["state"] == "3" and converted["externalid"] == "v2002-01"
    with pytest.raises(ValueError):
        ac.ecom_orders.find(connection_id=customer["connectionid"])
    ac.ecom_orders.delete(cart["id"])
    assert state(ac_sandbox)["ecomOrders"] == []


def test_order_missing_required_fields_is_validation_error(ac, customer):
    body = {
        "ecomOrder": {
            "connectionid": customer["connectionid"],
            "customerid": customer["id"],
            "externalid": "v9",
            "email": "a@b.co",
            "currency": "BRL",
            "totalPrice": 100,
            "source": 1,
            "orderProducts": [{"name": "no id", "price": 1.5, "quantity": 0}],
        }
    }
    with pytest.raises(ValidationError) as caught:
        ac.requestor.request("POST", "/ecomOrders", body=body)
    pointers = {e.pointer for e in caught.value.errors}
    assert "/data/attributes/externalCreatedDate" in pointers
    assert "/data/attributes/orderProducts/0/externalid" in pointers
    assert "/data/attributes/orderProducts/0/price" in pointers
    assert "/data/attributes/orderProducts/0/quantity" in pointers


# ------------------------------------------------------------------ lists: pagination, filters, ordering
def test_pagination_filters_and_ordering(ac, ac_sandbox):
    for n in range(45):
        ac.connections.create(
            service="svc-even" if n % 2 == 0 else "svc-odd",
            externalid=f"store-{n:02d}",
            name=f"Store {n}",
            logo_url="https://e.co/l.png",
            link_url="https://e.co",
        )
    last_page = ac.connections.list(limit=20, offset=40)
    assert (len(last_page.items), last_page.total, last_page.has_more) == (5, 45, False)
    assert ac.connections.list().limit == 20 and len(ac.connections.list().items) == 20

    before = request_log(ac_sandbox)["by_endpoint"].get("GET /api/3/connections", 0)
    everything = list(ac.connections.iterate(page_size=10))
    pages = request_log(ac_sandbox)["by_endpoint"]["GET /api/3/connections"] - before
    assert len(everything) == 45 and len({c["id"] for c in everything}) == 45 and pages == 5

    odd = list(ac.connections.iterate(page_size=7, filters={"service": "svc-odd"}))
    assert len(odd) == 22 and all(c["service"] == "svc-odd" for c in odd)

    newest_first = ac.connections.list(limit=3, ordering={"id": "DESC"})
    assert [int(c["id"]) for c in newest_first.items] == [45, 44, 43]
    by_name = ac.connections.list(limit=100, ordering={"externalid": "ASC"})
    assert [c["externalid"] for c in by_name.items] == sorted(c["externalid"] for c in by_name.items)

    with pytest.raises(ValueError):
        ac.connections.list(limit=101)
    with pytest.raises(ValueError):
        ac.connections.list(ordering={"id": "sideways"})
