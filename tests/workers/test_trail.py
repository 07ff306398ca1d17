"""The event trail (workers.trail) through the real pipeline and writer: the AC sandbox over loopback and a
real Redis. Events run as a worker runs them (``run_event``), the account's writer writes them."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import redis

from acsync_core.cart import checkout_id
from acsync_core.events import Event
from ingest.schemas import SCHEMA_FOR_KIND
from tests.factories import cart_trigger, customer_trigger, make_settings, order_hook
from tests.workers.conftest import fast_stores, make_order, writer_for
from workers.dlq import DeadLetterQueue
from workers.runtime import Runtime, set_runtime
from workers.tasks import mark_started, run_event
from workers.trail import EMAIL_MASK, MAX_STEPS, Trail, scrub

T0 = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


class _Request:
    def __init__(self, retries: int = 0) -> None:
        self.retries = retries
        self.id = "test-task"


class _Task:
    def __init__(self, retries: int = 0) -> None:
        self.request = _Request(retries)


def event_for(kind: str, payload: dict[str, Any]) -> Event:
    """An event as ingest hands it over: the hook body validated by its schema."""
    return Event(kind=kind, store="mystore", payload=SCHEMA_FOR_KIND[kind].load(payload), dedupe_key="k")


def hook(order_id: str, state: str = "payment-approved", minutes: int = 5) -> dict[str, Any]:
    return order_hook(order_id=order_id, state=state, last_change=(T0 + timedelta(minutes=minutes)).isoformat())


def run_queued(runtime: Runtime, queue: str) -> int:
    """Run every message waiting on ``queue`` in this process, as a worker would; how many ran."""
    ran = 0
    while (raw := runtime.redis.rpop(queue)) is not None:
        envelope = orjson.loads(raw)
        args, _kwargs, _embed = orjson.loads(base64.b64decode(envelope["body"]))
        run_event(_Task(int(envelope["headers"].get("retries") or 0)), args[0])
        ran += 1
    return ran


def names(steps: list[dict[str, Any]]) -> list[str]:
    return [s["step"] for s in steps]


def without_at(step: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in step.items() if k != "at"}


def cofe_orders(sandboxes) -> list[dict[str, Any]]:
    return sandboxes.ac_state().get("cofe_orders", [])


def test_an_order_event_goes_received_started_fetched_handed_off_written_with_acs_real_order_id(runtime, sandboxes):
    sandboxes.seed_order(make_order("v100-01", last_change=T0 + timedelta(minutes=5)))
    writer = writer_for(runtime)
    event = event_for("order", hook("v100-01"))
    assert run_event(_Task(), event.to_dict()) == "queued"
    assert writer.drain()[event.event_id] == {"order": "order_created"}

    [cofe] = cofe_orders(sandboxes)
    steps = Trail(runtime.redis).steps(event.event_id)
    assert names(steps) == ["received", "started", "fetched", "handed_off", "written"]
    assert steps[0] == {"at": event.received_at, "step": "received", "kind": "order", "store": "mystore", "attempt": 0}
    assert [without_at(s) for s in steps[1:]] == [
        {"step": "started", "attempt": 0, "store": "mystore"},
        {"step": "fetched", "status": "payment-approved"},
        {"step": "handed_off", "lane": "order", "record": "order|v100-01"},
        {
            "step": "written",
            "lane": "order",
            "outcome": "order_created",
            "record": "order|v100-01",
            "api": "graphql",
            "call": "upsertOrder",
            "ac_order_id": cofe["id"],
            "covered": 1,
        },
    ]
    assert cofe["storeOrderId"] == "v100-01"
    assert all(a["at"] <= b["at"] for a, b in itertools.pairwise(steps))  # oldest first


def test_a_coalesced_write_records_written_for_both_events_it_covered(runtime, sandboxes):
    writer = writer_for(runtime)
    sandboxes.seed_order(make_order("v200-01", last_change=T0 + timedelta(minutes=5)))
    first = event_for("order", hook("v200-01"))
    assert run_event(_Task(), first.to_dict()) == "queued"
    sandboxes.seed_order(make_order("v200-01", status="invoiced", last_change=T0 + timedelta(minutes=30)))
    second = event_for("order", hook("v200-01", "invoiced", 30))
    assert run_event(_Task(), second.to_dict()) == "queued"  # replaces the waiting write: one record

    before = sandboxes.ac_requests()["by_endpoint"].get("POST /api/3/ecom/graphql", 0)
    settled = writer.drain()
    assert sandboxes.ac_requests()["by_endpoint"]["POST /api/3/ecom/graphql"] - before == 1
    assert settled[first.event_id] == settled[second.event_id] == {"order": "order_updated"}
    [cofe] = cofe_orders(sandboxes)
    trail = Trail(runtime.redis)
    for event in (first, second):
        steps = trail.steps(event.event_id)
        assert names(steps) == ["received", "started", "fetched", "handed_off", "written"]
        assert without_at(steps[-1]) == {
            "step": "written",
            "lane": "order",
            "outcome": "order_updated",
            "record": "order|v200-01",
            "api": "graphql",
            "call": "upsertOrder",
            "ac_order_id": cofe["id"],
            "covered": 2,
        }
    assert trail.steps(first.event_id)[2]["status"] == "payment-approved"
    assert trail.steps(second.event_id)[2]["status"] == "invoiced"

    # find() by the VTEX order id: both events, newest first; by event id: that one
    found = trail.find("v200-01")
    assert [(f["event_id"], f["store"]) for f in found] == [(second.event_id, "mystore"), (first.event_id, "mystore")]
    assert found[1]["steps"] == trail.steps(first.event_id)
    assert trail.find(first.event_id) == [
        {"event_id": first.event_id, "store": "mystore", "steps": trail.steps(first.event_id)}
    ]
    assert trail.find("v999-99") == [] and trail.find("") == []


def test_an_event_that_changes_nothing_is_skipped_with_its_reason(runtime, sandboxes):
    sandboxes.seed_order(make_order("v300-01", status="payment-pending"))
    event = event_for("order", hook("v300-01", "payment-pending"))
    assert run_event(_Task(), event.to_dict()) == "ignored_state"
    steps = Trail(runtime.redis).steps(event.event_id)
    assert names(steps) == ["received", "started", "fetched", "skipped"]
    assert without_at(steps[-1]) == {
        "step": "skipped",
        "outcome": "ignored_state",
        "why": "the order's state is not one the store syncs",
    }


def test_a_dead_lettered_event_has_dead_lettered_and_a_replay_adds_replayed_then_started(runtime, sandboxes):
    event = event_for("order", hook("v404-01"))  # VTEX has no such order: a permanent error
    assert run_event(_Task(), event.to_dict()) is None
    trail = Trail(runtime.redis)
    steps = trail.steps(event.event_id)
    assert names(steps) == ["received", "started", "dead_lettered"]
    assert without_at(steps[-1]) == {"step": "dead_lettered", "reason": "order_not_found"}

    dlq = DeadLetterQueue(runtime.redis)
    dlq.replay(event.event_id, runtime.publisher, by="ops.person@example.com")
    assert without_at(trail.steps(event.event_id)[-1]) == {
        "step": "replayed",
        "by": EMAIL_MASK,
        "reason": "order_not_found",
    }
    sandboxes.seed_order(make_order("v404-01", last_change=T0 + timedelta(minutes=5)))
    assert run_queued(runtime, "acsync.orders") == 1
    # the replay's run starts again: no second "received"
    assert names(trail.steps(event.event_id)) == [
        "received",
        "started",
        "dead_lettered",
        "replayed",
        "started",
        "fetched",
        "handed_off",
    ]
    assert [f["event_id"] for f in trail.find("v404-01")] == [event.event_id]


@pytest.fixture
def unknown_connection(sandboxes, redis_url) -> Iterator[Runtime]:
    """A store whose connection id ActiveCampaign does not know: AC refuses its orders."""
    stores = fast_stores(sandboxes)
    stores["mystore"]["activecampaign"]["connection_id"] = 999
    runtime = Runtime.from_settings(make_settings(redis_url, **stores))
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


def test_a_write_acs_refuses_dead_letters_the_event_it_covered(unknown_connection, sandboxes):
    runtime = unknown_connection
    writer = writer_for(runtime)
    sandboxes.seed_order(make_order("v500-01", last_change=T0 + timedelta(minutes=5)))
    event = event_for("order", hook("v500-01"))
    assert run_event(_Task(), event.to_dict()) == "queued"
    assert writer.drain()[event.event_id] == {"order": "dead:ac_rejected"}
    steps = Trail(runtime.redis).steps(event.event_id)
    assert names(steps) == ["received", "started", "fetched", "handed_off", "dead_lettered"]
    assert without_at(steps[-1]) == {"step": "dead_lettered", "reason": "ac_rejected"}


def test_a_retry_is_on_the_trail_with_its_reason_and_attempt(runtime, sandboxes):
    sandboxes.seed_order(make_order("v600-01", last_change=T0 + timedelta(minutes=5)))
    sandboxes.vtex_faults(error_rate=1.0)  # VTEX answers 500: a retryable failure
    event = event_for("order", hook("v600-01"))
    assert run_event(_Task(), event.to_dict()) is None
    steps = Trail(runtime.redis).steps(event.event_id)
    assert names(steps) == ["received", "started", "retry_scheduled"]
    retry = steps[-1]
    assert (retry["attempt"], retry["reason"]) == (1, "VTEXServerError_500") and retry["due"] >= retry["at"]


def test_a_cart_trail_has_acs_cart_and_customer_ids_and_is_found_by_its_checkout_id(runtime, sandboxes):
    writer = writer_for(runtime)
    trigger = cart_trigger(email="bia@example.com", cart="add?sku=20&qty=1&seller=1")
    event = event_for("cart", trigger)
    assert run_event(_Task(), event.to_dict()) == "queued"
    assert writer.drain(include_future=True, timeout=20)[event.event_id]["cart"] == "cart_created"

    state = sandboxes.ac_state()
    [cart] = state["ecomOrders"]
    [customer] = state["ecomCustomers"]
    [contact] = state["contacts"]
    trail = Trail(runtime.redis)
    steps = trail.steps(event.event_id)
    assert names(steps) == ["received", "started", "handed_off", "handed_off", "written", "written"]
    written = {s["lane"]: without_at(s) for s in steps if s["step"] == "written"}
    assert written["cart"]["ac_cart_id"] == cart["id"] and written["cart"]["ac_customer_id"] == customer["id"]
    assert written["cart"]["api"] == "v3" and written["cart"]["outcome"] == "cart_created"
    assert written["contact"]["ac_contact_id"] == contact["id"] and written["contact"]["call"] == "contact/sync"
    checkout = checkout_id("bia@example.com", event.payload["rclastcart"])
    assert cart["externalcheckoutid"] == checkout
    assert [f["event_id"] for f in trail.find(checkout)] == [event.event_id]


def all_trail_text(client: redis.Redis) -> list[str]:
    """Every key under acsync:trail: and every value in it, as text."""
    out = []
    for raw_key in client.scan_iter("acsync:trail:*", count=1000):
        key = raw_key.decode()
        out.append(key)
        kind = client.type(key).decode()
        if kind == "list":
            out += [v.decode() for v in client.lrange(key, 0, -1)]
        elif kind == "zset":
            out += [m.decode() for m in client.zrange(key, 0, -1)]
        elif kind == "set":
            out += [m.decode() for m in client.smembers(key)]
        else:
            raise AssertionError(f"unexpected {kind} at {key}")
    return out


def test_no_email_address_is_anywhere_in_the_trail(runtime, sandboxes):
    writer = writer_for(runtime)
    sandboxes.seed_order(make_order("v700-01", email="Carla.Buyer@example.com", last_change=T0 + timedelta(minutes=5)))
    events = [
        event_for("order", hook("v700-01")),
        event_for("cart", cart_trigger(email="dora@example.com", cart="add?sku=20&qty=1&seller=1")),
        event_for("customer", customer_trigger(email="eli@example.com")),
        event_for("order", hook("v404-02")),  # dead-lettered
    ]
    for event in events:
        run_event(_Task(), event.to_dict())
    writer.drain(include_future=True, timeout=20)
    trail = Trail(runtime.redis)
    trail.record(events[0].event_id, "replayed", by="ops@example.com", note=["see fay@example.com"])
    assert all(trail.steps(e.event_id) for e in events)
    text = all_trail_text(runtime.redis)
    assert len(text) > 20
    assert not [t for t in text if "@" in t]
    assert not [t for t in text if t.endswith(":seed")]  # the received step's seed never stays
    assert scrub({"a": "x <g@h.io>", "b": [1, "i@j"]}) == {"a": "x <[email]>", "b": [1, "[email]"]}


def test_the_worker_start_is_one_round_trip_and_received_is_recorded_once(runtime, monkeypatch):
    from redis.connection import AbstractConnection

    event = event_for("order", hook("v800-01"))
    sent: list[int] = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(1)
        return original(self, command, check_health)

    runtime.redis.ping()  # a connection in the pool: no connection set-up in the count
    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    mark_started(runtime.redis, event, 0, "host:1")
    assert len(sent) == 1  # the ledger's start mark, received, started and the order link: one round trip
    mark_started(runtime.redis, event, 1, "host:2")
    monkeypatch.undo()
    steps = Trail(runtime.redis).steps(event.event_id)
    assert [without_at(s) for s in steps] == [
        {"step": "received", "kind": "order", "store": "mystore", "attempt": 0},
        {"step": "started", "attempt": 0, "store": "mystore", "worker": "host:1"},
        {"step": "started", "attempt": 1, "store": "mystore", "worker": "host:2"},
    ]
    assert runtime.redis.hget("acsync:pending:started", event.event_id).decode().endswith("|host:2")


def test_the_trail_keeps_its_newest_steps_and_expires_in_a_week(redis_client):
    trail = Trail(redis_client)
    for n in range(MAX_STEPS + 5):
        trail.record("e1", "started", at=float(n), attempt=n)
    steps = trail.steps("e1")
    assert len(steps) == MAX_STEPS and steps[0]["attempt"] == 5 and steps[-1]["attempt"] == MAX_STEPS + 4
    assert 7 * 24 * 3600 - 5 <= redis_client.ttl("acsync:trail:e1") <= 7 * 24 * 3600
    for n in range(55):
        trail.link_order("s1", "o1", f"ev{n}")
    assert redis_client.zcard("acsync:trail:order:s1:o1") == 50
    assert redis_client.ttl("acsync:trail:order:s1:o1") > 0
