"""Real VTEX payload shapes (tests/fixtures/vtex, sources in its README) through ingest, the workers and the
account writer, with the exact fields ActiveCampaign receives."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from acsync_core.errors import PermanentEventError
from ingest import create_app
from tests.factories import SECRETS, make_settings, store_table
from tests.fixtures.vtex import load
from tests.workers.conftest import Sandboxes, fast_stores, writer_for
from workers.dlq import DeadLetterQueue
from workers.mapping import ac_order_input, is_marketplace_order, is_masked, unmask_soft_alias
from workers.runtime import Runtime, set_runtime
from workers.tasks import run_event

# what AC gets for order-uneven-line-total, and for the same order without its value
UNEVEN = (
    [("4000777", 2, "3.33", "Canecas"), ("4000777", 1, "3.34", "Canecas"), ("4000888", 1, "15.90", "Cozinha")],
    "35.80",
    "9.90",
    "2.00",
    "brl",
    "COMPLETED",
    "bruno.exemplo@example.com",
)

# (fixture, expected line items as (sku, quantity, unit price, leaf category), finalAmount, shippingAmount,
#  discountsAmount, currency, normalizedStatus, the e-mail AC gets: "resolved" when only Master Data knows it)
ORDERS = [
    (
        "order-own-brl",
        [("2000123", 2, "71.91", "Camisetas"), ("2000456", 1, "29.90", "Acessórios")],
        "189.62",
        "15.90",
        "15.98",
        "brl",
        "COMPLETED",
        "resolved",
    ),
    (
        "order-legacy-2017",
        [("100130001", 1, "999.00", None), ("100130010", 1, "49.90", None)],
        "1117.04",
        "68.14",
        "0.00",
        "brl",
        "COMPLETED",
        "maria.souza@example.com",
    ),
    (
        "order-null-selling-price-gift",
        [
            ("3000111", 1, "89.90", "Hidratantes"),
            ("3000222", 2, "45.90", "Proteção Solar"),
            ("3000333", 1, "0.00", "Brindes"),
        ],
        "181.70",
        "0.00",
        "0.00",
        "brl",
        "COMPLETED",
        "resolved",
    ),
    # 3 mugs for 10.00 in all: two at 3.33 and one at 3.34, so the lines add up to the order
    ("order-uneven-line-total", *UNEVEN),
    # the same order without its value: the sum of its totals stands in
    ("order-value-missing-synthetic", *UNEVEN),
    (
        "order-cop",
        [("1902", 1, "44370.00", "Bandas"), ("6123", 1, "450.00", "Bebidas")],
        "54820.00",
        "10000.00",
        "7830.00",
        "cop",
        "COMPLETED",
        "elena.prueba@example.com",
    ),
    # CLP shows no decimals: VTEX's 27,915.50 is 27,916, and the half peso of the 3 x 4,241.50 line goes to
    # that line (largest remainder), split as 1 x 4,241 + 2 x 4,242, so lines + shipping = the total
    (
        "order-clp-synthetic",
        [
            ("5000101", 1, "11691", "Running"),
            ("5000202", 1, "4241", "Accesorios"),
            ("5000202", 2, "4242", "Accesorios"),
        ],
        "27916",
        "3500",
        "3544",
        "clp",
        "COMPLETED",
        "diego.ficticio@example.com",
    ),
]

# orders no OrderInput can be made of, and the reason their dead letter gives
UNSTORABLE = [
    ("order-value-and-totals-missing-synthetic", "bad_order_data"),
    ("order-amount-not-storable-synthetic", "amount_not_storable"),
]


def seed(boxes: Sandboxes, order: dict[str, Any]) -> str:
    """Seed the order in VTEX; a hard-aliased buyer gets a real address in Master Data."""
    boxes.seed_order(order)
    profile = order["clientProfileData"]
    real = f"buyer-{order['orderId'].lower()}@example.com"
    if is_masked(profile["email"]) and profile.get("userProfileId"):
        requests.post(
            boxes.vtex.url + "/__sandbox/customers", json={"userId": profile["userProfileId"], "email": real}, timeout=5
        ).raise_for_status()
    return real


def hook_for(order: dict[str, Any]) -> dict[str, Any]:
    hook = load("hook-order-status-change")
    hook.update(
        OrderId=order["orderId"],
        State=order["status"],
        CurrentChange=order["lastChange"],
        LastChange=order["lastChange"],
    )
    return hook


def through_the_stack(runtime: Runtime, boxes: Sandboxes, order: dict[str, Any]) -> dict[str, Any]:
    """POST the hook to ingest, run the queued task in-process, let the writer write; AC's GraphQL record."""
    ingest = create_app(runtime.settings).test_client()
    answer = ingest.post(
        "/hooks/vtex/mystore/orders", json=hook_for(order), headers={"X-Hook-Secret": SECRETS["mystore"]}
    )
    assert answer.status_code in (200, 202), answer.get_json()
    run_queued(runtime)
    writer_for(runtime).drain(include_future=True, timeout=20)
    return {o["storeOrderId"]: o for o in boxes.ac_state().get("cofe_orders", [])}


class _Request:
    retries = 0
    id = "test-task"


class _Task:
    request = _Request()


def run_queued(runtime: Runtime, queue: str = "acsync.orders") -> None:
    """Run every event queued on ``queue`` in this process, as a worker would."""
    import base64

    import orjson

    while True:
        raw = runtime.redis.rpop(queue)
        if raw is None:
            return
        envelope = orjson.loads(raw)
        if envelope["headers"].get("eta"):  # deferred (a young cart, a retry): not due in this test
            runtime.redis.rpush(queue, raw)
            return
        args, _kwargs, _embed = orjson.loads(base64.b64decode(envelope["body"]))
        run_event(_Task(), args[0])


@pytest.fixture
def stack(sandboxes, redis_url):
    runtime = Runtime.from_settings(make_settings(redis_url, **fast_stores(sandboxes)))
    set_runtime(runtime)
    yield runtime, sandboxes
    set_runtime(None)


@pytest.mark.parametrize(("name", "lines", "final", "shipping", "discounts", "currency", "status", "email"), ORDERS)
def test_real_orders_reach_activecampaign_with_these_fields(
    stack, name, lines, final, shipping, discounts, currency, status, email
):
    runtime, boxes = stack
    order = load(name)
    real = seed(boxes, order)
    cofe = through_the_stack(runtime, boxes, order)[order["orderId"]]
    got = [
        (li["productStorePrimaryId"], li["quantity"], li["priceAmount"], li.get("category")) for li in cofe["lineItems"]
    ]
    assert got == lines
    assert (cofe["finalAmount"], cofe["shippingAmount"], cofe["discountsAmount"]) == (final, shipping, discounts)
    assert (cofe["currency"], cofe["normalizedStatus"], cofe["orderNumber"]) == (currency, status, order["orderId"])
    assert cofe["email"] == (real if email == "resolved" else email)
    assert cofe["storeStatus"] == order["status"] and cofe["creationSource"] == "REAL_TIME"
    total = sum(Decimal(li["priceAmount"]) * li["quantity"] for li in cofe["lineItems"])
    assert total + Decimal(cofe["shippingAmount"]) + Decimal(cofe.get("taxAmount", "0")) == Decimal(final)


def test_a_marketplace_order_is_skipped_by_default_and_counted(stack):
    runtime, boxes = stack
    order = load("order-marketplace-fulfillment")
    seed(boxes, order)
    assert through_the_stack(runtime, boxes, order) == {}
    assert runtime.stats.totals().get("outcome:order:marketplace_skipped") == 1


@pytest.mark.parametrize(("name", "reason"), UNSTORABLE)
def test_orders_ac_cannot_take_go_to_the_dlq_with_a_clear_reason(stack, name, reason):
    runtime, boxes = stack
    order = load(name)
    seed(boxes, order)
    assert through_the_stack(runtime, boxes, order) == {}
    [entry] = DeadLetterQueue(runtime.redis).list()
    assert entry["reason"] == reason and entry["event"]["payload"]["OrderId"] == order["orderId"]


# ---------------------------------------------------------------------------- the mapping alone (make test-fast)
# The same fixtures and figures as above, from workers.mapping directly: no sandbox, no worker, no writer.
STORE = make_settings("redis://unused", mystore=store_table("mystore")).stores["mystore"]


@pytest.mark.parametrize(("name", "lines", "final", "shipping", "discounts", "currency", "status", "email"), ORDERS)
def test_real_orders_map_to_these_fields(name, lines, final, shipping, discounts, currency, status, email):
    order = load(name)
    fields = ac_order_input(order, STORE, historical=False)
    got = [
        (li["productStorePrimaryId"], li["quantity"], str(li["priceAmount"]), li.get("category"))
        for li in fields["lineItems"]
    ]
    assert got == lines
    amounts = (fields["finalAmount"], fields["shippingAmount"], fields["discountsAmount"])
    assert tuple(str(amount) for amount in amounts) == (final, shipping, discounts)
    assert (fields["currency"], fields["normalizedStatus"], fields["orderNumber"]) == (
        currency,
        status,
        order["orderId"],
    )
    assert fields["storeStatus"] == order["status"] and fields["creationSource"] == "REAL_TIME"
    total = sum(li["priceAmount"] * li["quantity"] for li in fields["lineItems"])
    assert total + fields["shippingAmount"] + fields["taxAmount"] == fields["finalAmount"]
    assert not is_marketplace_order(order)
    # the e-mail: a soft alias carries the address itself; a hard alias only Master Data resolves (the stack test)
    written = order["clientProfileData"]["email"]
    if email == "resolved":
        assert is_masked(written) and unmask_soft_alias(written) is None
    else:
        assert (unmask_soft_alias(written) or written) == email


def test_the_marketplace_fixture_is_a_marketplace_order():
    assert is_marketplace_order(load("order-marketplace-fulfillment"))


@pytest.mark.parametrize(("name", "reason"), UNSTORABLE)
def test_orders_ac_cannot_take_fail_the_mapping_with_their_reason(name, reason):
    with pytest.raises(PermanentEventError) as failure:
        ac_order_input(load(name), STORE, historical=False)
    assert failure.value.reason == reason
