"""The pipeline in-process against both sandboxes over loopback and a real Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from acsync_core.errors import Defer, PermanentEventError
from acsync_core.events import Event
from ingest.schemas import SCHEMA_FOR_KIND
from tests.factories import cart_trigger, customer_trigger, make_settings, order_hook
from tests.workers.conftest import fast_stores, handle, make_order, writer_for
from workers.flows.registry import HANDLERS
from workers.runtime import Runtime

T0 = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


def run(runtime, kind: str, payload: dict, **event_fields) -> str:
    """Process a hook body as ingest would hand it over (validated by its schema first), then let the
    account's writer write what the event handed over; the final outcome of the event."""
    data = SCHEMA_FOR_KIND[kind].load(payload)
    event = Event(kind=kind, store="mystore", payload=data, dedupe_key="k", **event_fields)
    return handle(runtime, event, writer_for(runtime))


def hook(order_id: str, state: str = "payment-approved", minutes: int = 5) -> dict:
    """The hook VTEX sends for the order make_order(last_change=T0 + minutes) describes."""
    return order_hook(
        order_id=order_id,
        state=state,
        last_change=(T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", ".1234567+00:00"),
    )


def ac_calls(boxes) -> int:
    return boxes.ac_requests()["total"]


def test_new_customer_order_is_one_graphql_call_that_creates_contact_customer_and_order(runtime, sandboxes):
    sandboxes.seed_order(
        make_order(
            "v100-01",
            items=[("20", 2, 4990), ("31", 1, 1500)],
            shipping=1200,
            discount=500,
            tax=0,
            email="Ana@Example.com",
        )
    )
    writer_for(runtime)  # reads the connection's existing customers once
    before = ac_calls(sandboxes)
    assert run(runtime, "order", hook("v100-01")) == "order_created"
    assert sandboxes.ac_requests()["by_endpoint"]["POST /api/3/ecom/graphql"] == 1
    assert ac_calls(sandboxes) - before == 1  # contact, customer and order in one upsertOrder
    state = sandboxes.ac_state()
    [contact] = state["contacts"]
    assert (contact["email"], contact["firstName"], contact["lastName"]) == ("Ana@Example.com", "Ana", "Silva")
    [customer] = state["ecomCustomers"]
    assert customer["externalid"] == "ana@example.com" and customer["connectionid"] == str(sandboxes.connection_id)
    [cofe] = state["cofe_orders"]  # what AC's e-commerce Custom Objects hold: money in currency units
    assert (cofe["finalAmount"], cofe["shippingAmount"], cofe["discountsAmount"]) == ("121.80", "12.00", "5.00")
    assert (cofe["creationSource"], cofe["normalizedStatus"], cofe["storeStatus"]) == (
        "REAL_TIME",
        "COMPLETED",
        "payment-approved",
    )
    assert (
        cofe["orderNumber"] == "v100-01" and cofe["currency"] == "brl" and cofe["storeCustomerId"] == "ana@example.com"
    )
    assert cofe["lineItems"][0] == {
        "storeLineItemId": "20-0",
        "productStorePrimaryId": "20",
        "name": "Product 20",
        "sku": "REF-20",
        "priceAmount": "49.90",
        "quantity": 2,
        "category": "Shirts",
        "productUrl": "https://www.mystore.com/product-20/p",
        "imageUrl": "https://mystore.vteximg.com.br/arquivos/ids/2000/product-20.jpg",
    }
    [order] = state["ecomOrders"]  # the v3 DeepData copy, in cents
    assert order["externalid"] == "v100-01" and order["source"] == "1" and order["state"] == "1"
    assert order["totalPrice"] == str(2 * 4990 + 1500 + 1200 - 500)
    assert (order["shippingAmount"], order["discountAmount"], order["taxAmount"]) == ("1200", "500", "0")
    assert order["shippingMethod"] == "Normal"
    assert order["orderUrl"] == "https://www.mystore.com/account#/orders/v100-01"
    assert order["externalCreatedDate"].startswith("2026-11-27T13:00:00")


def test_returning_customer_order_costs_one_call_and_redelivery_costs_none(runtime, sandboxes):
    sandboxes.seed_order(make_order("v200-01"))
    sandboxes.seed_order(make_order("v201-01"))
    run(runtime, "order", hook("v200-01"))
    before = ac_calls(sandboxes)
    assert run(runtime, "order", hook("v201-01")) == "order_created"
    assert ac_calls(sandboxes) - before == 1
    before = ac_calls(sandboxes)
    assert run(runtime, "order", hook("v201-01")) == "unchanged"  # re-delivery
    assert ac_calls(sandboxes) == before
    assert len(sandboxes.orders()) == 2 and len(sandboxes.ac_state()["ecomCustomers"]) == 1


def test_later_state_updates_only_when_the_order_changed_and_old_events_never_downgrade(runtime, sandboxes):
    sandboxes.seed_order(make_order("v300-01", status="payment-approved", last_change=T0 + timedelta(minutes=5)))
    run(runtime, "order", hook("v300-01"))
    # invoiced with the same content but another status: the status is part of the order in AC now
    sandboxes.seed_order(make_order("v300-01", status="invoiced", last_change=T0 + timedelta(minutes=30)))
    assert run(runtime, "order", hook("v300-01", "invoiced", 30)) == "order_updated"
    before = ac_calls(sandboxes)
    assert run(runtime, "order", hook("v300-01", "invoiced", 30)) == "unchanged"
    assert ac_calls(sandboxes) == before
    # an order edit changes the total: the same AC order is upserted again
    sandboxes.seed_order(make_order("v300-01", status="invoiced", shipping=0, last_change=T0 + timedelta(minutes=40)))
    assert run(runtime, "order", hook("v300-01", "invoiced", 40)) == "order_updated"
    [order] = sandboxes.orders()
    assert order["shippingAmount"] == "0" and order["totalPrice"] == "4990"
    # the old payment-approved hook arrives late: stale, without even asking VTEX
    assert run(runtime, "order", hook("v300-01", "payment-approved", 5)) == "stale"
    assert len(sandboxes.orders()) == 1 and len(sandboxes.ac_state()["cofe_orders"]) == 1


def test_states_before_payment_are_ignored(runtime, sandboxes):
    sandboxes.seed_order(make_order("v400-01", status="payment-pending"))
    writer_for(runtime)
    before = ac_calls(sandboxes)
    assert run(runtime, "order", hook("v400-01", "payment-pending")) == "ignored_state"
    assert ac_calls(sandboxes) == before


def test_canceled_order_is_marked_cancelled_and_never_resurrected(runtime, sandboxes):
    sandboxes.seed_order(make_order("v500-01", last_change=T0 + timedelta(minutes=5)))
    run(runtime, "order", hook("v500-01"))
    sandboxes.seed_order(make_order("v500-01", status="canceled", last_change=T0 + timedelta(minutes=20)))
    assert run(runtime, "order", hook("v500-01", "canceled", 20)) == "order_canceled"
    [cofe] = sandboxes.ac_state()["cofe_orders"]
    assert (cofe["normalizedStatus"], cofe["storeStatus"]) == ("CANCELLED", "canceled")
    assert run(runtime, "order", hook("v500-01", "payment-approved", 5)) == "stale"
    assert run(runtime, "order", hook("v500-01", "canceled", 20)) == "unchanged"
    assert sandboxes.ac_state()["cofe_orders"][0]["normalizedStatus"] == "CANCELLED"
    # an order canceled before it ever reached ActiveCampaign costs nothing
    sandboxes.seed_order(make_order("v501-01", status="canceled", last_change=T0 + timedelta(minutes=20)))
    assert run(runtime, "order", hook("v501-01", "canceled", 20)) == "canceled_before_sync"
    assert len(sandboxes.ac_state()["cofe_orders"]) == 1


def test_masked_email_is_resolved_through_master_data_then_conversation(runtime, sandboxes):
    alias = "ff2e6348a53a4d449af92be2a1011328@ct.vtex.com.br"
    sandboxes.seed_order(make_order("v600-01", email=alias, user_profile_id="u-real"))
    requests.post(
        sandboxes.vtex.url + "/__sandbox/customers", json={"userId": "u-real", "email": "real@example.com"}, timeout=5
    )
    run(runtime, "order", hook("v600-01"))
    other = "0a1b2c3d4e5f60718293a4b5c6d7e8f9@ct.vtex.com.br"
    sandboxes.seed_order(make_order("v601-01", email=other, user_profile_id="u-unknown"))
    requests.post(
        sandboxes.vtex.url + "/__sandbox/conversations/v601-01",
        timeout=5,
        json=[
            {
                "to": [{"email": "buyer@example.com", "emailAlias": other, "role": "Customer"}],
                "from": {"email": "noreply@mystore.com", "role": "Store"},
            }
        ],
    )
    run(runtime, "order", hook("v601-01"))
    emails = sorted(o["email"] for o in sandboxes.orders())
    assert emails == ["buyer@example.com", "real@example.com"]
    assert not any("ct.vtex.com.br" in c["email"] for c in sandboxes.ac_state()["contacts"])
    sandboxes.seed_order(make_order("v602-01", email=alias, user_profile_id="u-none"))
    with pytest.raises(PermanentEventError) as caught:
        run(runtime, "order", hook("v602-01"))
    assert caught.value.reason == "masked_email"


def test_a_soft_alias_is_unmasked_locally_without_asking_vtex(runtime, sandboxes):
    soft = "johndoe@vtex.com.br-207700027841b.ct.vtex.com.br"
    sandboxes.seed_order(make_order("v603-01", email=soft, user_profile_id="u-unknown"))
    before = requests.get(sandboxes.vtex.url + "/__sandbox/requests", timeout=5).json()
    assert run(runtime, "order", hook("v603-01")) == "order_created"
    after = requests.get(sandboxes.vtex.url + "/__sandbox/requests", timeout=5).json()
    assert [o["email"] for o in sandboxes.orders()] == ["johndoe@vtex.com.br"]
    asked = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert not any("conversation" in k or "dataentities" in k for k in asked), asked  # no Master Data, no conversation


def test_unknown_order_is_permanent(runtime, sandboxes):
    with pytest.raises(PermanentEventError) as caught:
        run(runtime, "order", hook("v999-01"))
    assert caught.value.reason == "order_not_found"


def old_cart(
    email: str = "ana@example.com",
    cart: str = "add?sku=20&qty=2&seller=1&sku=31&qty=1&seller=1&sc=1",
    minutes_ago: int = 90,
) -> dict:
    payload = cart_trigger(email=email, cart=cart)
    payload["rclastsessiondate"] = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    return payload


SESSION = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)  # a cart's last session, long past


def set_flow_clock(runtime: Runtime, at: datetime) -> None:
    """Set the clock the store's flows read (StoreContext.now) instead of waiting for real time to pass."""
    runtime.context("mystore").now = at.timestamp


def test_young_cart_is_deferred_until_old_enough(runtime, sandboxes):
    set_flow_clock(runtime, SESSION + timedelta(minutes=20))
    young = {**cart_trigger(), "rclastsessiondate": SESSION.isoformat()}
    with pytest.raises(Defer) as caught:
        run(runtime, "cart", young)
    assert caught.value.delay == 40 * 60  # what is left of the store's 60-minute minimum age
    assert sandboxes.orders() == []
    set_flow_clock(runtime, SESSION + timedelta(minutes=60))
    assert run(runtime, "cart", young) == "cart_created"  # old enough at exactly the minimum age


def test_abandoned_cart_is_priced_linked_and_created_once(runtime, sandboxes):
    requests.post(sandboxes.vtex.url + "/__sandbox/skus/20", json={"price": 4990}, timeout=5)
    assert run(runtime, "cart", old_cart()) == "cart_created"
    [cart] = sandboxes.orders()
    assert cart["state"] == "2" and "externalid" not in cart and cart["externalcheckoutid"].startswith("cart-")
    assert cart["orderUrl"] == (
        "https://www.mystore.com/checkout/cart/add?sku=20&qty=2&seller=1&sku=31&qty=1&seller=1&sc=1"
    )
    products = {p["externalid"]: p for p in cart["orderProducts"]}
    assert products["20"]["price"] == 4990 and products["20"]["quantity"] == 2
    assert (
        products["20"]["name"] == "Product 20"
        and products["20"]["productUrl"] == "https://www.mystore.com/product-20/p"
    )
    assert products["20"]["imageUrl"] == "https://mystore.vteximg.com.br/arquivos/ids/2000/product-20.jpg"
    assert cart["totalPrice"] == str(2 * 4990 + products["31"]["price"])
    before = ac_calls(sandboxes)
    assert run(runtime, "cart", old_cart()) == "cart_exists"  # the trigger fires again for the same cart
    assert ac_calls(sandboxes) == before


def test_cart_prices_fall_back_to_splitting_the_cart_value(runtime, sandboxes):
    sandboxes.vtex_faults()  # no faults: the simulation just does not know the SKUs
    payload = old_cart(cart="add?sku=ABC&qty=2&seller=1&sku=XYZ&qty=1&seller=1")
    payload["rclastcartvalue"] = "30.00"
    assert run(runtime, "cart", payload) == "cart_created"
    [cart] = sandboxes.orders()
    assert cart["totalPrice"] == "3000"
    assert {p["externalid"]: p["price"] for p in cart["orderProducts"]} == {"ABC": 1000, "XYZ": 1000}


def order_placed_now(runtime, sandboxes, order_id: str, email: str) -> str:
    """An order placed now, after every cart the test abandoned earlier, seeded in VTEX and hooked: its outcome."""
    now = datetime.now(UTC).replace(microsecond=0)
    sandboxes.seed_order(make_order(order_id, email=email, created=now, last_change=now + timedelta(minutes=5)))
    return run(runtime, "order", hook(order_id, minutes=int((now - T0).total_seconds() // 60) + 5))


def test_order_placed_after_the_cart_was_abandoned_recovers_it_and_an_older_one_does_not(runtime, sandboxes):
    assert run(runtime, "cart", old_cart(email="carla@example.com")) == "cart_created"  # abandoned 90 min ago
    # an order placed before the cart was abandoned (a late VTEX retry, a backfill) leaves the cart open
    sandboxes.seed_order(make_order("v699-01", email="carla@example.com"))
    assert run(runtime, "order", hook("v699-01")) == "order_created"
    assert "cartId" not in sandboxes.ac_state()["cofe_orders"][0]
    assert order_placed_now(runtime, sandboxes, "v700-01", "carla@example.com") == "order_converted_cart"
    cofe = {o["storeOrderId"]: o for o in sandboxes.ac_state()["cofe_orders"]}
    [cart] = [o for o in sandboxes.orders() if o.get("externalcheckoutid")]
    assert cofe["v700-01"]["cartId"] == cart["externalcheckoutid"]
    assert cart["state"] == "3" and cart["externalid"] == "v700-01"  # AC counts the cart as recovered
    # and a cart trigger that arrives after the order (checkouttag lag) creates nothing
    late = old_cart(email="carla@example.com", cart="add?sku=99&qty=1&seller=1", minutes_ago=400)
    assert run(runtime, "cart", late) == "cart_superseded_by_order"
    assert len([o for o in sandboxes.orders() if o.get("externalcheckoutid")]) == 1


@pytest.mark.parametrize(
    "junk",
    ["", "remove?sku=1", "add?qty=1", "add?sku=1&qty=abc", "add?sku=../../x", "add?sku=1&qty=0", "add?qty=2&sku=1"],
)
def test_junk_rclastcart_is_a_permanent_error(runtime, sandboxes, junk):
    data = {**SCHEMA_FOR_KIND["cart"].load(old_cart()), "rclastcart": junk}
    with pytest.raises(PermanentEventError) as caught:
        HANDLERS["cart"](Event(kind="cart", store="mystore", payload=data, dedupe_key="k"), runtime.context("mystore"))
    assert caught.value.reason == "unparsable_cart"


def test_customer_event_syncs_the_contact_once_and_subscribes_through_the_import(runtime, sandboxes, redis_url):
    with_list = Runtime.from_settings(make_settings(redis_url, **fast_stores(sandboxes)))
    object.__setattr__(with_list.settings.stores["mystore"].activecampaign, "list_id", 2)
    # the bulk import's subscribe never re-subscribes someone who unsubscribed (POST /contactLists would)
    assert run(with_list, "customer", customer_trigger()) == "contact_imported+subscribed"
    [contact] = sandboxes.ac_state()["contacts"]
    assert (contact["firstName"], contact["lastName"], contact["phone"]) == ("Bo", "Souza", "+5511999990000")
    assert sandboxes.ac_state()["contactLists"][0]["list"] == "2"
    before = ac_calls(sandboxes)
    assert run(with_list, "customer", customer_trigger(updated="2026-11-28T00:00:00Z")) == "contact_unchanged"
    assert ac_calls(sandboxes) == before
    changed = {**customer_trigger(), "lastName": "Souza Lima"}
    assert run(with_list, "customer", changed) == "contact_synced"  # one contact, no list: contact sync
    assert sandboxes.ac_state()["contacts"][0]["lastName"] == "Souza Lima"


def test_a_write_whose_answer_was_lost_is_sent_again_with_one_effect(runtime, sandboxes):
    sandboxes.seed_order(make_order("v800-01"))
    writer = writer_for(runtime)
    data = SCHEMA_FOR_KIND["order"].load(hook("v800-01"))
    event = Event(kind="order", store="mystore", payload=data, dedupe_key="k")
    assert handle(runtime, event) == "queued"
    sandboxes.ac_faults(error_after_write_rate=1.0)
    assert writer.step()  # AC wrote the order, then answered 500
    assert len(sandboxes.ac_state()["cofe_orders"]) == 1
    sandboxes.ac_faults(error_after_write_rate=0.0)
    settled = writer.drain(include_future=True, timeout=10)
    assert settled[event.event_id] == {"order": "order_created"}
    assert [o["storeOrderId"] for o in sandboxes.ac_state()["cofe_orders"]] == ["v800-01"]
    assert [o["externalid"] for o in sandboxes.orders()] == ["v800-01"]


def test_cart_age_uses_session_date_or_arrival_time(runtime, sandboxes):
    payload = old_cart()
    payload.pop("rclastsessiondate")
    now = SESSION + timedelta(days=1)
    set_flow_clock(runtime, now)
    with pytest.raises(Defer) as caught:
        run(runtime, "cart", payload, received_at=(now - timedelta(minutes=59)).timestamp())
    assert caught.value.delay == 60  # the arrival time counts: a minute short of the minimum age
    assert run(runtime, "cart", payload, received_at=(now - timedelta(hours=2)).timestamp()) == "cart_created"


def test_crlf_and_huge_strings_from_vtex_never_reach_activecampaign(runtime, sandboxes):
    order = make_order("v990-01", first_name="Ana\r\nBcc: evil@example.com", last_name="S" * 5000)
    order["items"][0]["name"] = "Shirt\r\nX-Injected: 1"
    order["shippingData"]["logisticsInfo"][0]["selectedSla"] = "Normal\n\n<script>"
    sandboxes.seed_order(order)
    assert run(runtime, "order", hook("v990-01")) == "order_created"
    [stored] = sandboxes.orders()
    [contact] = sandboxes.ac_state()["contacts"]
    texts = [contact["firstName"], contact["lastName"], stored["orderProducts"][0]["name"], stored["shippingMethod"]]
    assert all("\r" not in t and "\n" not in t for t in texts)
    assert contact["firstName"] == "Ana Bcc: evil@example.com" and len(contact["lastName"]) == 255


def test_one_open_cart_per_customer_a_newer_trigger_updates_it_an_older_one_is_ignored(runtime, sandboxes):
    first = old_cart(email="dani@example.com", cart="add?sku=20&qty=1&seller=1", minutes_ago=120)
    assert run(runtime, "cart", first) == "cart_created"
    [cart] = sandboxes.orders()
    newer = old_cart(email="dani@example.com", cart="add?sku=20&qty=1&seller=1&sku=31&qty=2&seller=1", minutes_ago=70)
    assert run(runtime, "cart", newer) == "cart_updated"
    [updated] = sandboxes.orders()  # still one cart: the same AC record, now with the newer contents
    assert updated["id"] == cart["id"] and updated["externalcheckoutid"] == cart["externalcheckoutid"]
    assert sorted((p["externalid"], p["quantity"]) for p in updated["orderProducts"]) == [("20", 1), ("31", 2)]
    assert updated["abandonedDate"] > cart["abandonedDate"]
    older = old_cart(email="dani@example.com", cart="add?sku=99&qty=1&seller=1", minutes_ago=180)
    assert run(runtime, "cart", older) == "cart_superseded"
    assert len(sandboxes.orders()) == 1
    # a later order recovers the one open cart
    assert order_placed_now(runtime, sandboxes, "v710-01", "dani@example.com") == "order_converted_cart"
    [recovered] = [o for o in sandboxes.orders() if o.get("externalcheckoutid")]
    assert recovered["id"] == cart["id"] and recovered["state"] == "3"
