"""The pending ledger re-pushes messages lost between Redis and a worker, and only those."""

from __future__ import annotations

import json
import time

import redis

from acsync_core import pending
from acsync_core.events import Event
from acsync_core.publish import TaskPublisher


def accepted(client: redis.Redis, order_id: str) -> Event:
    event = Event(
        kind="order", store="mystore", payload={"OrderId": order_id, "State": "invoiced"}, dedupe_key=order_id
    )
    TaskPublisher(client).enqueue_once(event, dedupe_ttl_seconds=60)
    return event


def test_a_message_popped_and_lost_is_pushed_again(redis_client: redis.Redis):
    client = redis.Redis(port=redis_client.connection_pool.connection_kwargs["port"])
    lost = accepted(client, "v1-01")
    waiting = accepted(client, "v2-01")
    client.rpop("acsync.orders")  # BRPOP took the oldest message, then the worker died before kombu kept a copy
    assert client.llen("acsync.orders") == 1
    assert pending.sweep(client, grace=60) == 0  # not overdue yet
    assert pending.sweep(client, grace=0, now=time.time() + 1) == 1
    messages = [json.loads(m) for m in client.lrange("acsync.orders", 0, -1)]
    assert len(messages) == 2
    assert {m["headers"]["id"] for m in messages} == {lost.event_id, waiting.event_id}
    assert pending.sweep(client, grace=0, now=time.time() + 1) == 0  # both are waiting in the queue now


def test_started_and_finished_events_are_left_alone(redis_client: redis.Redis):
    client = redis.Redis(port=redis_client.connection_pool.connection_kwargs["port"])
    running = accepted(client, "v3-01")
    done = accepted(client, "v4-01")
    client.delete("acsync.orders")  # both were taken by workers
    pending.started(client, running.event_id)  # kombu's unacked copy protects it from here
    pending.finished(client, done.event_id)
    assert pending.sweep(client, grace=0, now=time.time() + 1) == 0
    assert client.zcard(pending.PENDING) == 1 and client.llen("acsync.orders") == 0


def test_a_retry_counts_from_its_eta(redis_client: redis.Redis):
    client = redis.Redis(port=redis_client.connection_pool.connection_kwargs["port"])
    event = accepted(client, "v5-01")
    client.delete("acsync.orders")
    publisher = TaskPublisher(client)
    message = publisher.build_message(event.task_name, event.queue, (event.to_dict(),), countdown=600)
    client.delete("acsync.orders")
    publisher.push(event.event_id, event.queue, message, expected_start=time.time() + 600)
    client.delete("acsync.orders")  # a worker holds the ETA message until it is due
    assert pending.sweep(client, grace=60) == 0
    assert pending.sweep(client, grace=60, now=time.time() + 700) == 1
