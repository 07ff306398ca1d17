"""Deferred work in the Redis schedule and the recovery of dead workers' events, on a real Redis."""

from __future__ import annotations

import orjson
import redis

from acsync_core import pending, schedule


def message(n: int) -> bytes:
    return orjson.dumps({"properties": {"delivery_tag": f"tag-{n}"}, "body": f"m{n}"})


def test_deferred_messages_wait_in_redis_and_move_to_their_queue_when_due(redis_url):
    client = redis.Redis.from_url(redis_url)
    schedule.defer(client, "e1", "acsync.carts", message(1), due=1000.0)
    schedule.defer(client, "e2", "acsync.orders", message(2), due=2000.0)
    assert client.llen("acsync.carts") == 0 and schedule.size(client) == 2
    assert schedule.move_due(client, now=1500.0) == 1
    assert client.lrange("acsync.carts", 0, -1) == [message(1)] and client.llen("acsync.orders") == 0
    assert not schedule.is_scheduled(client, "e1") and schedule.is_scheduled(client, "e2")
    assert schedule.move_due(client, now=1500.0) == 0  # moved once, never twice
    assert schedule.move_due(client, now=2500.0) == 1 and schedule.size(client) == 0


def test_deferring_again_replaces_the_entry_and_the_ledger_knows_it_is_waiting(redis_url):
    client = redis.Redis.from_url(redis_url)
    schedule.defer(client, "e1", "acsync.carts", message(1), due=1000.0)
    schedule.defer(client, "e1", "acsync.carts", message(2), due=5000.0)
    assert schedule.size(client) == 1
    # long overdue by the ledger's clock, but deferred: the sweeper must not push it again
    assert pending.sweep(client, grace=10, now=4000.0) == 0
    assert client.llen("acsync.carts") == 0
    assert schedule.move_due(client, now=5000.0) == 1
    assert client.lrange("acsync.carts", 0, -1) == [message(2)]


def test_events_started_by_a_dead_worker_are_pushed_again_and_a_live_workers_are_not(redis_url):
    client = redis.Redis.from_url(redis_url)
    for n, node in ((1, "host:111"), (2, "host:222"), (3, "")):
        pipe = client.pipeline()
        pending.record(pipe, f"e{n}", "acsync.orders", message(n), 100.0)
        pipe.execute()
        pending.started(client, f"e{n}", node)
    pending.heartbeat(client, "host:111", now=1000.0)  # alive
    pending.heartbeat(client, "host:222", now=900.0)  # silent for 100 s: dead
    assert pending.recover_dead_workers(client, dead_after=45, now=1000.0) == 1
    [pushed] = client.lrange("acsync.orders", 0, -1)
    assert orjson.loads(pushed)["body"] == "m2" and orjson.loads(pushed)["properties"]["delivery_tag"] != "tag-2"
    assert not client.hexists(pending.STARTED, "e2")  # waiting again, on the ledger's watch
    assert client.hexists(pending.STARTED, "e1") and client.hexists(pending.STARTED, "e3")
    assert pending.recover_dead_workers(client, dead_after=45, now=1000.0) == 0
