"""Sentry (through a capturing transport) and JSON logs: event ids on every line, no e-mails or secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest
import sentry_sdk
from prometheus_client import REGISTRY
from sentry_sdk.transport import Transport

from acsync_core.events import Event
from acsync_core.logs import JsonFormatter, log_context, scrub
from acsync_core.observability import before_send, init_sentry
from ingest import create_app
from tests.factories import SECRETS, cart_trigger, make_settings


class CapturingTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []

    def capture_envelope(self, envelope) -> None:  # type: ignore[override]
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)


@pytest.fixture
def sentry_events():
    transport = CapturingTransport()
    init_sentry("http://public@127.0.0.1:9/1", component="test", transport=transport)
    yield transport.events
    sentry_sdk.get_client().close()
    # back to a disabled client, without the integrations a bare init() would enable: the Celery one
    # would go on adding trace headers to every send_task of the tests that run after these
    sentry_sdk.init(default_integrations=False, auto_enabling_integrations=False)


def test_scrub_masks_emails_and_secret_values():
    text = scrub('user ana.silva@example.com failed; Api-Token: abc123 {"hook_secret": "s3cr3t"} app_key=K')
    assert "ana.silva@example.com" not in text and "a***@example.com" in text
    assert "abc123" not in text and "s3cr3t" not in text and "=K" not in text


def test_before_send_filters_sensitive_keys_and_strings():
    event = {
        "extra": {"email": "x@y.com", "note": "mail bo@example.com", "Api-Token": "t0k"},
        "request": {"headers": {"X-Hook-Secret": "zzz", "Accept": "json"}},
    }
    cleaned = before_send(event)
    assert cleaned["extra"]["email"] == "[Filtered]" and cleaned["extra"]["Api-Token"] == "[Filtered]"
    assert cleaned["extra"]["note"] == "mail b***@example.com"
    assert cleaned["request"]["headers"] == {"X-Hook-Secret": "[Filtered]", "Accept": "json"}


def test_worker_dead_letter_reaches_sentry_with_event_id_and_no_email(sentry_events, runtime):
    from acsync_core.errors import PermanentEventError
    from workers.tasks import fail

    def dead_letters() -> float:  # the process-wide counter: compared before and after, never absolute
        labels = {"kind": "cart", "reason": "unparsable_cart"}
        return REGISTRY.get_sample_value("acsync_worker_dead_letters_total", labels) or 0.0

    event = Event(kind="cart", store="mystore", payload={"email": "ana@example.com"}, dedupe_key="k")
    before = dead_letters()
    fail(runtime, event, PermanentEventError("unparsable_cart", "cart of ana@example.com is junk"), 0)
    assert dead_letters() == before + 1
    sentry_sdk.flush()
    [captured] = sentry_events
    assert captured["tags"]["event_id"] == event.event_id and captured["tags"]["store"] == "mystore"
    assert "ana@example.com" not in json.dumps(captured)


def test_ingest_unexpected_error_reaches_sentry_without_the_secret(sentry_events, redis_url, monkeypatch):
    app = create_app(make_settings(redis_url))
    monkeypatch.setattr("ingest.hooks.dedupe_key", lambda *a: 1 / 0)
    response = app.test_client().post(
        "/hooks/vtex/mystore/carts", json=cart_trigger(), headers={"X-Hook-Secret": SECRETS["mystore"]}
    )
    assert response.status_code == 500 and response.json == {"error": "internal_error"}
    sentry_sdk.flush()
    assert sentry_events, "the unexpected error was reported"
    dumped = json.dumps(sentry_events)
    assert SECRETS["mystore"] not in dumped and "ana@example.com" not in dumped


def test_every_ingest_log_line_about_an_event_carries_its_id(redis_url):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("acsync")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        client = create_app(make_settings(redis_url)).test_client()
        response = client.post(
            "/hooks/vtex/mystore/carts", json=cart_trigger(), headers={"X-Hook-Secret": SECRETS["mystore"]}
        )
        with log_context(event_id="e-1", store="mystore"):
            logging.getLogger("acsync.test").info("sync failed for ana@example.com with token=abc")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    accepted = next(line for line in lines if line["msg"] == "event accepted")
    assert accepted["event_id"] == response.json["event_id"] and accepted["store"] == "mystore"
    last = lines[-1]
    assert last["event_id"] == "e-1" and "ana@example.com" not in last["msg"] and "abc" not in last["msg"]


# --- Prometheus: every account label is the ActiveCampaign account's API host ----------------------------


def outbox_event(event_id: str) -> dict:
    return {
        "event_id": event_id,
        "kind": "order",
        "store": "mystore",
        "received_at": 1000.0,
        "payload": {},
        "dedupe_key": event_id,
    }


def test_the_queue_collector_names_outboxes_and_heartbeats_by_the_account_host(redis_url, monkeypatch):
    import time

    import orjson
    import redis

    from workers.metrics import QueueCollector
    from workers.outbox import Outbox, account_hash
    from workers.writers.account import HEARTBEATS

    client = redis.Redis.from_url(redis_url)
    acme, other = "https://acme.api-us1.com", "https://other.api-us1.com"
    old_spelling = "https://acme.api-us1.com/api/3"  # the same account: its writes add up under one host
    Outbox(client, acme).put("order", "v1-01", {"status": "a"}, outbox_event("e1"))
    Outbox(client, acme).put("cart", "c1", {"cart": 1}, outbox_event("e2"))
    Outbox(client, old_spelling).put("order", "v2-01", {"status": "a"}, outbox_event("e3"))
    Outbox(client, other).put("order", "v3-01", {"status": "a"}, outbox_event("e4"))
    client.hset(HEARTBEATS, acme, orjson.dumps({"owner": "w1", "at": 1_700_000_000.0, "stores": "mystore"}))
    client.hset(HEARTBEATS, old_spelling, orjson.dumps({"owner": "gone", "at": 1000.0, "stores": "mystore"}))

    # the scrape's clock: QueueCollector reads time.time() and takes no clock, so it is set for the scrape
    with monkeypatch.context() as scrape:
        scrape.setattr(time, "time", lambda: 1_700_000_012.5)
        families = list(QueueCollector(client).collect())
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in families
        for sample in family.samples
    }
    depth = {
        (dict(labels)["account"], dict(labels)["lane"]): value
        for (name, labels), value in samples.items()
        if name == "acsync_outbox_depth"
    }
    assert {account for account, _ in depth} == {"acme.api-us1.com", "other.api-us1.com"}
    assert depth["acme.api-us1.com", "order"] == 2 and depth["acme.api-us1.com", "cart"] == 1
    assert depth["other.api-us1.com", "order"] == 1 and depth["other.api-us1.com", "contact"] == 0
    beats = {
        dict(labels)["account"]: value
        for (name, labels), value in samples.items()
        if name == "acsync_writer_heartbeat_age_seconds"
    }
    # one sample per host: the live writer's heartbeat (12.5 s old), not the one an old spelling left in Redis
    assert beats == {"acme.api-us1.com": 12.5}
    labels = {value for _, labelset in samples for _, value in labelset}
    assert not labels & {account_hash(acme), account_hash(other), account_hash(old_spelling), acme, other}


def test_writer_writes_are_counted_under_the_account_host(runtime, sandboxes):
    from datetime import UTC, datetime

    from acsync_core.stats import account_host
    from tests.factories import order_hook
    from tests.workers.conftest import make_order, writer_for
    from workers.tasks import run_event

    class Task:  # what run_event reads of a Celery task
        class request:
            retries = 0
            id = "test-task"

    host = account_host(runtime.settings.stores["mystore"].ac_account_key)

    def landed(account: str) -> float:  # the process-wide counter: compared before and after
        labels = {"account": account, "lane": "order", "result": "landed"}
        return REGISTRY.get_sample_value("acsync_writer_writes_total", labels) or 0.0

    writer = writer_for(runtime)
    changed = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
    sandboxes.seed_order(make_order("v61-01", last_change=changed))
    hook = order_hook(order_id="v61-01", last_change=changed.isoformat())
    event = Event(kind="order", store="mystore", payload=hook, dedupe_key="v61-01")
    before, before_by_store = landed(host), landed("mystore")
    assert run_event(Task(), event.to_dict()) == "queued"
    writer.drain()
    assert landed(host) == before + 1 and landed("mystore") == before_by_store  # the host, not the store names
