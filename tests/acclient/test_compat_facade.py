"""The ``active_campaign``-compatible facade: every method against the sandbox, and the seed examples."""

from __future__ import annotations

import datetime

import pytest

from acclient import ACClient, ACContact, IntervalRateLimiter
from acclient.ecommerce import ACConnection, ACCustomer, ACOrder, ACProduct
from acclient.sandbox import BackgroundServer, SandboxConfig, create_app
from tests.acclient.helpers import state


@pytest.fixture
def sandbox():
    """AC's real budget (5/s), so the seed examples run with the facade's default limiter."""
    config = SandboxConfig(accounts={"sampleapitoken": "rev365"}, requests_per_second=5)
    with BackgroundServer(create_app(config)) as server:
        yield server


@pytest.fixture
def fast_sandbox():
    config = SandboxConfig(accounts={"sampleapitoken": "rev365"}, requests_per_second=50)
    with BackgroundServer(create_app(config)) as server:
        yield server


def test_seed_reference_examples_run_unchanged(sandbox):
    # The reference's examples, verbatim except: api_url points at the sandbox (account='rev365' would
    # build https://rev365.api-us1.com), and two typos in the reference are fixed (`[products]` names an
    # undefined variable; a comma is missing after abandoned_date). Amounts are cents, as it documents.
    client = ACClient(account="rev365", api_token="sampleapitoken", api_url=sandbox.url)
    contact = ACContact(client=client)
    success, response = contact.create_or_update(
        email="jlorencelim@gmail.com",
        first_name="Lorence",
        last_name="Lim",
    )
    assert success and response["contact"]["email"] == "jlorencelim@gmail.com"
    success, response = contact.retrieve(1)
    assert success and response["contact"]["firstName"] == "Lorence"
    success, response = contact.update_list_status(
        list=1,
        contact=1,
        status=ACContact.STATUS_SUBSCRIBE,  # or use ACContact.STATUS_UNSUBSCRIBE
    )
    assert success and response["contactList"]["status"] == 1

    connection = ACConnection(client=client)
    success, response = connection.create(
        service="REV365",
        external_id="sidecommerce",
        name="SIDE-Commerce",
        logo_url="https://www.sidecommerce.com/logo.png",
        link_url="https://www.sidecommerce.com/",
    )
    assert success and response["connection"]["id"] == "1"
    success, response = connection.list()
    assert success and [c["service"] for c in response["connections"]] == ["REV365"]
    success, response = connection.list(limit=20, offset=0)
    assert success and response["meta"]["total"] == "1"
    success, response = connection.list(ordering={"service": "ASC"})
    assert success
    success, response = connection.list(filters={"service": "REV365"})
    assert success and len(response["connections"]) == 1

    customer = ACCustomer(client=client, connection_id=1)
    success, response = customer.create(
        external_id="1",
        email="jlorencelim@gmail.com",
    )
    assert success and response["ecomCustomer"]["connectionid"] == "1"
    success, response = customer.list()
    assert success and len(response["ecomCustomers"]) == 1

    product = ACProduct(name="Shirt", price=10.00, quantity=1)
    order = ACOrder(client=client, connection_id=1)
    success, response = order.create(
        external_id=1,
        customer_id=1,
        email="jlorencelim@gmail.com",
        products=[product],
        currency="USD",
        total_price=10.00,
        order_date=datetime.datetime.now(),
    )
    assert success, response
    success, response = order.abandon_cart(
        external_checkout_id=1,
        customer_id=1,
        email="jlorencelim@gmail.com",
        products=[product],
        currency="USD",
        total_price=10.00,
        abandoned_date=datetime.datetime.now(),
        external_created_date=datetime.datetime.now(),
    )
    assert success, response

    orders = state(sandbox, "rev365")["ecomOrders"]
    assert [(o["externalid" if o["state"] == "1" else "externalcheckoutid"], o["state"]) for o in orders] == [
        ("1", "1"),
        ("1", "2"),
    ]
    for stored in orders:
        # 10.00 is ten cents (the reference's unit), not "1000" as the reference's str().replace() made it.
        assert stored["totalPrice"] == "10" and stored["source"] == "1"
        assert stored["orderProducts"] == [{"externalid": "Shirt", "name": "Shirt", "price": 10, "quantity": 1}]
        assert "T" in stored["externalCreatedDate"] and stored["externalCreatedDate"][-6] in "+-"


def test_failures_come_back_as_false_and_the_error_body(sandbox):
    client = ACClient(account="rev365", api_token="sampleapitoken", api_url=sandbox.url)
    connection = ACConnection(client=client)
    args = dict(service="S", external_id="e", name="n", logo_url="https://l", link_url="https://k")
    assert connection.create(**args)[0]
    success, response = connection.create(**args)
    assert not success and response["errors"][0]["code"] == "duplicate"
    success, response = ACContact(client=client).retrieve(42)
    assert not success and "No Result" in response["message"]
    bad = ACClient(account="rev365", api_token="nope", api_url=sandbox.url)
    success, response = ACContact(client=bad).create_or_update(email="a@b.co")
    assert not success and response["message"]


def test_every_facade_method(fast_sandbox):
    client = ACClient(
        account="rev365", api_token="sampleapitoken", api_url=fast_sandbox.url, rate_limiter=IntervalRateLimiter(50)
    )
    contacts = ACContact(client=client)
    assert contacts.create_or_update(email="ana@example.com", first_name="Ana", phone="123")[0]
    # Only given fields are sent: a later call without names must not blank them.
    assert contacts.create_or_update(email="ana@example.com", phone="456", org_id=3, deleted=False)[0]
    ok, body = contacts.list(filters={"email": "ana@example.com"})
    assert ok and body["contacts"][0]["firstName"] == "Ana" and body["contacts"][0]["phone"] == "456"
    assert (
        contacts.update_list_status(list=1, contact=1, status=ACContact.STATUS_UNSUBSCRIBE)[1]["contactList"]["status"]
        == 2
    )

    connections = ACConnection(client=client)
    ok, body = connections.create(
        service="vtex", external_id="store", name="Store", logo_url="https://l", link_url="https://k"
    )
    connection_id = body["connection"]["id"]
    assert connections.retrieve(connection_id)[1]["connection"]["name"] == "Store"
    assert connections.update(connection_id, name="Shop")[1]["connection"]["name"] == "Shop"

    customers = ACCustomer(client=client, connection_id=int(connection_id))
    ok, body = customers.create(external_id="c-1", email="ana@example.com", accepts_marketing=True)
    customer_id = body["ecomCustomer"]["id"]
    assert customers.retrieve(customer_id)[1]["ecomCustomer"]["acceptsMarketing"] == "1"
    assert customers.update(customer_id, email="ana2@example.com")[1]["ecomCustomer"]["email"] == "ana2@example.com"
    assert customers.list(limit=5)[1]["meta"]["total"] == "1"

    orders = ACOrder(client=client, connection_id=int(connection_id))
    product = ACProduct(
        name="Mug",
        price=1250,
        quantity=2,
        external_id="sku-9",
        category="Kitchen",
        description="A mug",
        product_url="https://s/mug/p",
        image_url="https://s/mug.jpg",
        sku="M9",
    )
    assert product.to_dict() == {
        "externalid": "sku-9",
        "name": "Mug",
        "price": 1250,
        "quantity": 2,
        "category": "Kitchen",
        "sku": "M9",
        "description": "A mug",
        "imageUrl": "https://s/mug.jpg",
        "productUrl": "https://s/mug/p",
    }
    when = datetime.datetime(2026, 11, 27, 9, 0, tzinfo=datetime.UTC)
    ok, body = orders.abandon_cart(
        external_checkout_id="cart-1",
        customer_id=int(customer_id),
        email="ana@example.com",
        products=[product],
        currency="BRL",
        total_price=2500,
        abandoned_date=when,
        external_created_date=when,
        order_url="https://s/checkout/cart/add?sku=9&qty=2&seller=1",
    )
    assert ok, body
    cart_id = body["ecomOrder"]["id"]
    ok, body = orders.update(cart_id, external_id="v1-01", order_date=when, products=[product])
    assert ok and body["ecomOrder"]["state"] == "3"
    assert orders.retrieve(cart_id)[1]["ecomOrder"]["externalid"] == "v1-01"
    ok, body = orders.create(
        external_id="v2-01",
        customer_id=int(customer_id),
        email="ana@example.com",
        products=[product],
        currency="BRL",
        total_price=3500,
        order_date=when,
        order_number="2",
        order_url="https://s/o/2",
        shipping_method="Normal",
        source=ACOrder.SOURCE_SYNC,
        shipping_amount=1000,
    )
    assert ok and body["ecomOrder"]["source"] == "0" and body["ecomOrder"]["shippingAmount"] == "1000"
    assert orders.list(filters={"externalid": "v2-01"})[1]["meta"]["total"] == "1"
    assert orders.delete(cart_id) == (True, {})
    assert connections.delete(connection_id) == (True, {})

    with pytest.raises(ValueError):
        ACProduct(name="Bad", price=10.5, quantity=1)
