"""Every acsync operator command against the sandboxes and a real Redis (click's runner, in-process)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import requests
from click.testing import CliRunner
from redis.backoff import NoBackoff
from redis.retry import Retry

from acsync.cli import main
from acsync_core.events import BACKFILL_QUEUE, Event
from acsync_core.settings import render_stores_toml
from tests.workers.conftest import Sandboxes, make_order, stores_for
from workers.dlq import DeadLetterQueue


@pytest.fixture
def cli(sandboxes: Sandboxes, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    stores = tmp_path / "stores.toml"
    stores.write_text(render_stores_toml(stores_for(sandboxes)))
    monkeypatch.setenv("ACSYNC_STORES", str(stores))
    monkeypatch.setenv("REDIS_URL", redis_url)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # noqa: A002
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def test_connections_create_is_idempotent_and_list_shows_it(cli, sandboxes, redis_url):
    requests.post(sandboxes.ac.url + "/__sandbox/reset", timeout=5)
    first = cli("connections", "create", "--store", "mystore", "--json")
    assert first.exit_code == 0, first.output
    created = json.loads(first.output)
    assert created["created"] is True
    again = json.loads(cli("connections", "create", "--store", "mystore", "--json").output)
    assert again == {**again, "created": False, "id": created["id"]}
    human = cli("connections", "create", "--store", "mystore")
    assert f"connection_id = {created['id']}" in human.output
    listed = json.loads(cli("connections", "list", "--store", "mystore", "--json").output)
    assert [c["externalid"] for c in listed] == ["mystore"]
    # the commands draw from the account's shared budget in Redis, like the workers
    assert redis.Redis.from_url(redis_url).keys("acsync:ratelimit:*")
    assert cli("connections", "list", "--store", "nostore").exit_code == 2


def test_hooks_configure_and_status(cli, sandboxes, monkeypatch):
    missing = cli("hooks", "status", "--store", "mystore", "--url", "https://acsync.example.com", "--json")
    assert missing.exit_code == 1 and "no order hook" in missing.output
    configured = cli("hooks", "configure", "--store", "mystore", "--url", "https://acsync.example.com")
    assert configured.exit_code == 0 and "mystore-secret" not in configured.output
    stored = requests.get(
        sandboxes.vtex.url + "/api/orders/hook/config",
        timeout=5,
        headers={"X-VTEX-API-AppKey": "vtexappkey-test", "X-VTEX-API-AppToken": "vtex-app-token"},
    )
    hook = stored.json()
    assert hook["hook"]["url"] == "https://acsync.example.com/hooks/vtex/mystore/orders"
    assert hook["hook"]["headers"]["X-Hook-Secret"] == "mystore-secret-0123456789"
    assert "payment-approved" in hook["filter"]["status"] and "canceled" in hook["filter"]["status"]
    assert cli("hooks", "status", "--store", "mystore", "--url", "https://acsync.example.com").exit_code == 0
    moved = cli("hooks", "status", "--store", "mystore", "--url", "https://other.example.com")
    assert moved.exit_code == 1 and "hook url" in moved.output
    # without --url the settings' ACSYNC_PUBLIC_URL is the expected one; without either, a usage error
    no_url = cli("hooks", "status", "--store", "mystore")
    assert no_url.exit_code == 2 and "give --url or set ACSYNC_PUBLIC_URL" in no_url.output
    monkeypatch.setenv("ACSYNC_PUBLIC_URL", "https://acsync.example.com")
    assert cli("hooks", "status", "--store", "mystore").exit_code == 0
    monkeypatch.setenv("ACSYNC_PUBLIC_URL", "https://acsync.example.com")
    assert cli("hooks", "status", "--store", "mystore").exit_code == 0


def test_beat_check_warns_and_repairs_a_deleted_hook(runtime, sandboxes, monkeypatch):
    from workers.hookconfig import check_hooks

    # the check reads the runtime's settings (ACSYNC_PUBLIC_URL, ACSYNC_HOOKS_AUTOREPAIR), not the environment
    monkeypatch.setattr(runtime, "settings", replace(runtime.settings, public_url="https://acsync.example.com"))
    assert "mystore" in check_hooks()
    monkeypatch.setattr(runtime, "settings", replace(runtime.settings, hooks_autorepair=True))
    check_hooks()
    assert check_hooks() == {}


def dead_event(redis_url: str, store: str = "mystore", kind: str = "order") -> str:
    event = Event(kind=kind, store=store, payload={"OrderId": "v1-01", "State": "invoiced"}, dedupe_key="k")
    queue = DeadLetterQueue(redis.Redis.from_url(redis_url))
    queue.record_attempt(event.event_id, 0, "ServerError: [500]", True)
    queue.add(event, reason="order_not_found", error="PermanentEventError: order_not_found")
    return event.event_id


def test_dlq_list_show_replay_purge(cli, redis_url):
    first = dead_event(redis_url)
    second = dead_event(redis_url, kind="cart")
    dead_event(redis_url, store="otherstore")
    listed = json.loads(cli("dlq", "list", "--json").output)
    assert len(listed) == 3 and "event" not in listed[0]
    assert [e["entry_id"] for e in json.loads(cli("dlq", "list", "--kind", "cart", "--json").output)] == [second]
    assert len(json.loads(cli("dlq", "list", "--store", "otherstore", "--json").output)) == 1
    assert json.loads(cli("dlq", "list", "--older-than", "1h", "--json").output) == []
    assert cli("dlq", "list", "--older-than", "soon").exit_code == 2
    shown = cli("dlq", "show", first)
    assert "order_not_found" in shown.output and "#1" in shown.output and "retryable" in shown.output
    assert cli("dlq", "show", "nope").exit_code == 1

    replay = json.loads(cli("dlq", "replay", first, "--json").output)
    assert replay == {"replayed": [first], "missing": []}
    client = redis.Redis.from_url(redis_url)
    assert client.llen("acsync.orders") == 1
    assert cli("dlq", "replay", first).exit_code == 1  # no longer dead
    assert cli("dlq", "replay").exit_code == 2
    assert cli("dlq", "purge", "--store", "otherstore", "--yes").output.strip() == "purged 1 entries"
    assert cli("dlq", "purge", input="n\n").exit_code == 1
    assert [e["entry_id"] for e in json.loads(cli("dlq", "list", "--json").output)] == [second]


def test_a_replay_that_redis_refuses_leaves_the_entries_dead_and_listed(cli, redis_url):
    first = dead_event(redis_url)
    second = dead_event(redis_url, kind="cart")
    client = redis.Redis.from_url(redis_url)
    assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    client.config_set("maxmemory", 1)  # Redis refuses every write as it is queued (OOM): the push fails
    try:
        refused = cli("dlq", "replay", "--all", "--json")
    finally:
        client.config_set("maxmemory", 0)
    assert refused.exit_code == 1
    answer = json.loads(refused.output)
    assert answer["replayed"] == [] and sorted(answer["failed"]) == sorted([first, second])
    assert answer["error"].startswith("OutOfMemoryError")
    listed = json.loads(cli("dlq", "list", "--json").output)
    assert sorted(e["entry_id"] for e in listed) == sorted([first, second])
    assert {e["status"] for e in listed} == {"dead"} and all(e["replays"] == [] for e in listed)
    assert client.llen("acsync.orders") == client.llen("acsync.carts") == 0
    again = cli("dlq", "replay", "--all")  # Redis takes writes again: the same command now works
    assert again.exit_code == 0 and again.output.strip() == "replayed 2"
    assert client.llen("acsync.orders") == client.llen("acsync.carts") == 1
    assert json.loads(cli("dlq", "list", "--json").output) == []


def test_stats_reports_queues_dead_letters_and_limiter(cli, redis_url, runtime):
    client = redis.Redis.from_url(redis_url)
    client.lpush("acsync.carts", b"x", b"y")
    dead_event(redis_url)
    runtime.stats.incr("events:order", "ac_calls:order")
    runtime.stats.record_event("cart", "cart_created", latency=2.5)
    from workers.ratelimit import RedisRateLimiter

    # one request per 100 s: two acquires book two whole slots (the waits are recorded, not slept)
    limiter = RedisRateLimiter(client, "acct", rate=0.01, margin=0, max_wait=1000, sleep=lambda _seconds: None)
    limiter.acquire()
    limiter.acquire()  # the second slot is 100 s ahead; the next free one 200 s ahead
    data = json.loads(cli("stats", "--json").output)
    # A count of booked slots, not a timing: the seconds the test takes to get here only shave a
    # little off the second 100 s slot (it would take 100 s to change the count).
    assert math.ceil(data["rate_limiter_booked_seconds"]["acct"] / 100) == 2
    assert data["latency_seconds"]["cart"] == {"p50": 2.5, "p99": 2.5} and data["latency_seconds"]["order"] == {}
    assert data["queues"]["acsync.carts"] == 2 and data["queues"]["acsync.orders"] == 0
    assert data["dead_letters"] == 1 and data["in_flight"] == 0
    assert data["last_5_minutes"]["events:order"] == 1
    human = cli("stats").output
    assert "acsync.carts 2" in human and "dead letters: 1" in human and "cart p50 2.50s" in human


def test_backfill_queues_history_on_its_own_queue_and_resumes(cli, sandboxes, redis_url):
    base = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    for n in range(5):
        sandboxes.seed_order(make_order(f"v90{n}-01", created=base + timedelta(days=n), status="invoiced"))
    sandboxes.seed_order(make_order("v800-01", created=base - timedelta(days=30)))  # before --since

    def backfill(*options: str) -> dict:
        done = cli("backfill", "--store", "mystore", "--since", "2026-10-01", "--per-page", "2", *options, "--json")
        assert done.exit_code == 0, done.output
        return json.loads(done.stdout)

    first = backfill()
    assert first == {**first, "queued": 5, "queue": BACKFILL_QUEUE, "windows": 1}
    client = redis.Redis.from_url(redis_url)
    assert client.llen(BACKFILL_QUEUE) == 5 and client.llen("acsync.orders") == 0
    assert backfill("--until", "2026-11-30")["queued"] == 5  # another window: its own progress
    resumed = backfill("--until", "2026-11-30")
    assert resumed["queued"] == 0 and resumed["windows"] == 0
    assert backfill("--until", "2026-11-30", "--restart")["queued"] == 5


def test_backfilled_orders_go_in_as_historical_through_the_async_bulk_upsert(runtime, sandboxes):
    from tests.workers.conftest import handle, writer_for

    writer = writer_for(runtime)
    events = []
    for n in range(3):
        sandboxes.seed_order(make_order(f"v95{n}-01", status="invoiced"))
        event = Event(
            kind="order",
            store="mystore",
            payload={"OrderId": f"v95{n}-01", "State": "invoiced", "backfill": True},
            dedupe_key=f"b{n}",
        )
        assert event.queue == BACKFILL_QUEUE
        assert handle(runtime, event) == "queued"
        events.append(event)
    settled = writer.drain()
    assert {e.event_id: settled[e.event_id] for e in events} == {
        e.event_id: {"order_historical": "order_created"} for e in events
    }
    log = sandboxes.ac_requests()
    assert log["by_endpoint"]["POST /api/3/ecom/graphql"] == 1  # the three in one bulkUpsertOrdersAsync
    assert {o["creationSource"] for o in sandboxes.ac_state()["cofe_orders"]} == {"HISTORICAL"}
    assert {o["source"] for o in sandboxes.orders()} == {"0"}  # no "Makes a purchase" automations


def test_bad_stores_file_is_a_usage_error_naming_store_and_key(tmp_path, monkeypatch):
    bad = tmp_path / "stores.toml"
    bad.write_text('[stores.mystore]\nhook_secret = "env:NOPE_SECRET"\n')
    monkeypatch.setenv("ACSYNC_STORES", str(bad))
    result = CliRunner().invoke(main, ["stats"])
    assert result.exit_code == 2
    assert "stores.mystore.hook_secret: environment variable NOPE_SECRET is not set" in result.output


def test_the_dlq_operations_behind_the_commands_are_plain_functions(redis_url):
    from acsync_core.publish import TaskPublisher
    from workers import dlq_ops

    assert dlq_ops.parse_age("30m") == 1800 and dlq_ops.parse_age(None) is None
    with pytest.raises(ValueError, match="30m or 2d"):
        dlq_ops.make_filter(None, None, "soon", None)
    first = dead_event(redis_url)
    other = dead_event(redis_url, store="otherstore")
    client = redis.Redis.from_url(redis_url)
    queue = DeadLetterQueue(client)
    assert dlq_ops.matching_ids(queue, dlq_ops.make_filter("otherstore", None, None, None)) == [other]
    result = dlq_ops.replay(queue, TaskPublisher(client), [first, first])
    assert result.replayed == [first] and result.missing == [first] and not result.failed and not result.detail
    # nothing listens there; redis-py's own retries and backoff only add seconds before the same error
    broken = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    failed = dlq_ops.replay(DeadLetterQueue(broken), TaskPublisher(broken), [other])
    assert failed.failed == [other] and failed.error == "ConnectionError"
    assert failed.detail.startswith("ConnectionError: ")
