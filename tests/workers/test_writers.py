"""The account writers against the AC sandbox over loopback and a real Redis: batches, bad records,
the token limit, 429s, a writer dying mid-batch, fairness between accounts, coalescing, legacy customers
and a late v3 copy."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from acclient.sandbox import BackgroundServer, SandboxConfig
from acclient.sandbox import create_app as create_ac_sandbox
from acsync_core.events import Event
from tests.factories import make_settings, store_table
from tests.workers.conftest import TEST_RETRIES, Sandboxes, ac_post, create_connection, handle, writer_for
from workers.dlq import DeadLetterQueue
from workers.mapping import ac_order_input
from workers.outbox import Outbox
from workers.runtime import Runtime
from workers.vtex.sandbox import make_order
from workers.writers.service import build_writer, stores_by_account

T0 = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


def order_event(order_id: str, *, n: int = 0) -> Event:
    return Event(
        kind="order",
        store="mystore",
        dedupe_key=f"{order_id}:{n}",
        payload={"OrderId": order_id, "State": "payment-approved"},
    )


def put_order(
    runtime: Runtime,
    order_id: str,
    *,
    email: str | None = None,
    connection: int | None = None,
    n: int = 0,
    items: int = 1,
) -> Event:
    """Queue an order write as an event task would (mapped from a VTEX order)."""
    store = runtime.settings.stores["mystore"]
    fields = ac_order_input(
        make_order(order_id, items=[(str(20 + i), 1, 1000 + i) for i in range(items)]), store, historical=False
    )
    fields["email"] = email or f"{order_id}@example.com"
    if connection is not None:
        fields["legacyConnectionId"] = connection
    event = order_event(order_id, n=n)
    Outbox(runtime.redis, store.ac_account_key).put(
        "order", order_id, {"order": fields, "placed_at": T0.timestamp(), "outcome": "created"}, event.to_dict()
    )
    return event


def cofe_orders(boxes: Sandboxes) -> list[dict]:
    return boxes.ac_state().get("cofe_orders", [])


def graphql_calls(boxes: Sandboxes) -> int:
    return boxes.ac_requests()["by_endpoint"].get("POST /api/3/ecom/graphql", 0)


def test_a_backlog_goes_in_batches_of_30_and_each_event_is_reported(runtime, sandboxes):
    writer = writer_for(runtime)
    events = [put_order(runtime, f"v{n:03d}-01") for n in range(65)]
    settled = writer.drain()
    assert {e.event_id for e in events} <= set(settled)
    assert all(settled[e.event_id] == {"order": "order_created"} for e in events)
    assert len(cofe_orders(sandboxes)) == 65 and graphql_calls(sandboxes) == 3  # 30 + 30 + 5


def test_one_bad_record_goes_to_the_dlq_alone_with_acs_reason_and_the_rest_land(runtime, sandboxes):
    writer = writer_for(runtime)
    good = [put_order(runtime, f"v1{n}-01") for n in range(4)]
    bad = put_order(runtime, "v666-01", connection=999)  # AC refuses an unknown connection
    settled = writer.drain()
    assert sorted(o["storeOrderId"] for o in cofe_orders(sandboxes)) == [f"v1{n}-01" for n in range(4)]
    assert all(settled[e.event_id] == {"order": "order_created"} for e in good)
    [entry] = DeadLetterQueue(runtime.redis).list()
    assert entry["event_id"] == bad.event_id and entry["reason"] == "ac_rejected"
    assert "999" in entry["error"] or "onnection" in entry["error"]


def test_the_token_limit_splits_the_batch_and_nothing_is_dropped_or_sent_twice(runtime, sandboxes):
    requests.post(
        sandboxes.ac.url + "/__sandbox/config", json={"graphql_max_tokens": 1500}, timeout=5
    ).raise_for_status()
    writer = writer_for(runtime)
    events = [put_order(runtime, f"v2{n:02d}-01", items=3) for n in range(12)]
    settled = writer.drain()
    assert all(settled[e.event_id] == {"order": "order_created"} for e in events)
    orders = [o["storeOrderId"] for o in cofe_orders(sandboxes)]
    assert sorted(orders) == sorted({f"v2{n:02d}-01" for n in range(12)}) and len(orders) == 12
    assert graphql_calls(sandboxes) > 1


def test_a_429_in_the_middle_of_a_backlog_is_waited_out_and_slows_the_account_down(runtime, sandboxes):
    writer = writer_for(runtime)
    first = [put_order(runtime, f"v3{n:02d}-01") for n in range(30)]
    assert writer.step()  # the first batch lands
    second = [put_order(runtime, f"v4{n:02d}-01") for n in range(30)]
    sandboxes.ac_faults(force_429_count=1, force_429_retry_after=1)
    settled = writer.drain(include_future=True, timeout=30)
    assert all(settled[e.event_id] == {"order": "order_created"} for e in second)
    assert len(cofe_orders(sandboxes)) == 60 and len(first) == 30
    assert "POST /api/3/ecom/graphql 429" in sandboxes.ac_requests()["by_status"]
    assert writer.ac.requestor.rate_limiter.slowdown() > 1.0  # another integration shares the account
    # the refused call is on record for the newest event of each write it carried
    [attempt] = DeadLetterQueue(runtime.redis).attempts(second[0].event_id)
    assert attempt["retryable"] is True and "429" in attempt["error"]


def test_a_writer_killed_mid_batch_is_replaced_and_the_batch_lands_once(runtime, sandboxes):
    dead = writer_for(runtime)
    events = [put_order(runtime, f"v5{n:02d}-01") for n in range(10)]
    assert dead.lease.take() == (True, True)
    claimed = dead.outbox.claim("order", 30, claim_seconds=600)  # ... and the process dies here
    assert len(claimed) == 10
    dead.client.delete(dead.lease.key)  # its lease runs out
    successor = writer_for(runtime)
    stop = threading.Event()
    thread = threading.Thread(target=successor.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while len(cofe_orders(sandboxes)) < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(timeout=10)
    assert sorted(o["storeOrderId"] for o in cofe_orders(sandboxes)) == sorted(f"v5{n:02d}-01" for n in range(10))
    assert sum(successor.outbox.depth().values()) == 0 and successor.outbox.in_flight() == 0
    assert {e.event_id for e in events} <= set(successor.settled)


def test_three_events_of_one_order_cost_one_write_of_its_latest_state(runtime, sandboxes):
    writer = writer_for(runtime)
    events = [put_order(runtime, "v600-01", n=n, items=n + 1) for n in range(3)]
    before = graphql_calls(sandboxes)
    settled = writer.drain()
    assert graphql_calls(sandboxes) - before == 1
    [order] = cofe_orders(sandboxes)
    assert len(order["lineItems"]) == 3  # the latest state
    assert all(settled[e.event_id] == {"order": "order_created"} for e in events)


def test_a_legacy_customer_of_the_connection_is_reused_never_duplicated(runtime, sandboxes):
    legacy = {"connectionid": str(sandboxes.connection_id), "externalid": "legacy-77", "email": "Old.Buyer@example.com"}
    ac_post(sandboxes.ac.url, "/api/3/ecomCustomers", {"ecomCustomer": legacy})
    writer = writer_for(runtime)  # reads the connection's customers
    put_order(runtime, "v700-01", email="old.buyer@example.com")
    writer.drain()
    [order] = cofe_orders(sandboxes)
    assert order["storeCustomerId"] == "legacy-77"
    assert [c["externalid"] for c in sandboxes.ac_state()["ecomCustomers"]] == ["legacy-77"]


@pytest.fixture
def slow_copy(sandboxes):
    requests.post(
        sandboxes.ac.url + "/__sandbox/config", json={"graphql_copy_delay": 30.0}, timeout=5
    ).raise_for_status()
    return sandboxes


def test_nothing_waits_for_the_v3_copy_of_a_graphql_order(runtime, slow_copy):
    sandboxes = slow_copy
    writer = writer_for(runtime)
    sandboxes.seed_order(make_order("v800-01", email="fresh@example.com"))
    order_hook = {"OrderId": "v800-01", "State": "payment-approved"}
    assert (
        handle(runtime, Event(kind="order", store="mystore", payload=order_hook, dedupe_key="o"), writer)
        == "order_created"
    )
    assert sandboxes.orders() == []  # no v3 copy yet
    cart = {
        "rclastcart": "add?sku=20&qty=1&seller=1",
        "email": "fresh@example.com",
        "firstName": "Fresh",
        "rclastsessiondate": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
    }
    # the cart of the same (new) customer, while AC has not copied the order to v3: the customer exists
    assert (
        handle(
            runtime,
            Event(kind="cart", store="mystore", payload=cart, dedupe_key="c", received_at=time.time() - 3 * 3600),
            writer,
        )
        == "cart_created"
    )
    [cart_row] = sandboxes.orders()
    assert cart_row["externalcheckoutid"] and len(sandboxes.ac_state()["ecomCustomers"]) == 1
    assert sandboxes.ac_requests()["by_endpoint"].get("GET /api/3/ecomOrders", 0) == 0


# ---------------------------------------------------------------------------- two accounts
@pytest.fixture
def two_accounts(redis_url) -> Iterator[tuple[Runtime, BackgroundServer, BackgroundServer]]:
    servers = []
    for _ in range(2):
        server = BackgroundServer(
            create_ac_sandbox(SandboxConfig(requests_per_second=5, seed=1, graphql_copy_delay=0.0))
        ).start()
        assert create_connection(server.url, store="s", name="S") == 1  # store_table's connection_id
        servers.append(server)
    time.sleep(1.1)  # the set-up requests leave the sandboxes' sliding second
    tables = {
        "bigstore": store_table("bigstore", ac_url=servers[0].url),
        "smallstore": store_table("smallstore", ac_url=servers[1].url),
    }
    settings = make_settings(redis_url, **tables)
    yield Runtime.from_settings(settings), servers[0], servers[1]
    for server in servers:
        server.stop()


def test_one_accounts_backlog_never_delays_another_account(two_accounts):
    runtime, big_ac, small_ac = two_accounts
    client = runtime.redis
    accounts = stores_by_account(runtime.settings)
    big_key = runtime.settings.stores["bigstore"].ac_account_key
    small_key = runtime.settings.stores["smallstore"].ac_account_key
    big = build_writer(runtime.settings, client, big_key, accounts[big_key], retry=TEST_RETRIES)
    small = build_writer(runtime.settings, client, small_key, accounts[small_key], retry=TEST_RETRIES)
    for writer in (big, small):
        writer.drain()  # customer indexes
    store_big, store_small = runtime.settings.stores["bigstore"], runtime.settings.stores["smallstore"]
    for n in range(600):  # 20 batches at 5 req/s: several seconds of the big account's budget
        fields = ac_order_input(make_order(f"b{n:04d}-01", account="bigstore"), store_big, historical=False)
        fields["email"] = f"b{n}@example.com"
        Outbox(client, big_key).put(
            "order", f"b{n:04d}-01", {"order": fields, "outcome": "created"}, order_event(f"b{n}").to_dict()
        )
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in (big, small)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the big account's writer is busy with its backlog
    for n in range(5):
        fields = ac_order_input(make_order(f"s{n}-01", account="smallstore"), store_small, historical=False)
        fields["email"] = f"s{n}@example.com"
        Outbox(client, small_key).put(
            "order", f"s{n}-01", {"order": fields, "outcome": "created"}, order_event(f"s{n}").to_dict()
        )
    deadline = time.monotonic() + 30
    while sum(Outbox(client, small_key).depth().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    big_left = sum(Outbox(client, big_key).depth().values())
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    small_state = requests.get(small_ac.url + "/__sandbox/state", timeout=5).json()["accounts"]["sandbox"]
    assert len(small_state["cofe_orders"]) == 5
    assert big_left > 0  # the small store's orders landed while the big store still had a backlog
    statuses = requests.get(big_ac.url + "/__sandbox/requests", timeout=5).json()["by_status"]
    assert not any(k.endswith(" 429") for k in statuses), statuses
