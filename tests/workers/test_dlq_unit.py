"""Dead-letter queue and stats bookkeeping, as fast unit tests on fakeredis (no Lua involved).

The behaviour against a real Redis and real workers is in test_celery_integration.py and test_ops_commands.py.
"""

from __future__ import annotations

import fakeredis
import pytest
import redis

from acsync_core.events import Event
from acsync_core.stats import Stats
from tests.factories import FrozenClock
from workers import dlq
from workers.dlq import DeadLetterQueue, DLQFilter


@pytest.fixture
def client():
    return fakeredis.FakeRedis()


def event(store: str = "s1", kind: str = "order") -> Event:
    return Event(kind=kind, store=store, payload={"OrderId": "v1-01"}, dedupe_key="k")


class Publisher:
    """Records what it is asked to enqueue; with ``fail`` its push breaks like a lost Redis connection."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[Event] = []
        self.fail = fail

    def enqueue(self, e: Event, *, pipe=None) -> str:
        if self.fail:
            raise redis.ConnectionError("Connection reset by peer")
        self.sent.append(e)
        if pipe is not None:
            pipe.lpush(e.queue, e.event_id)
        return "task"


def test_entry_keeps_every_attempt_and_history_survives_a_replay(client):
    queue = DeadLetterQueue(client)
    dead = event()
    queue.record_attempt(dead.event_id, 0, "ServerError: 500", True)
    queue.record_attempt(dead.event_id, 1, "ServerError: 502", True)
    entry = queue.add(dead, reason="retries_exhausted:ServerError_502", error="ServerError: 502")
    assert [a["attempt"] for a in entry["attempts"]] == [0, 1] and queue.size() == 1
    publisher = Publisher()
    queue.replay(dead.event_id, publisher)  # type: ignore[arg-type]
    assert publisher.sent[0].event_id == dead.event_id and queue.size() == 0
    assert client.llen(dead.queue) == 1  # the push joined the replay's transaction
    with pytest.raises(KeyError):
        queue.replay(dead.event_id, publisher)  # type: ignore[arg-type]
    queue.record_attempt(dead.event_id, 0, "NotFoundError: 404", False)
    again = queue.add(dead, reason="NotFoundError_404", error="NotFoundError: 404")
    assert len(again["attempts"]) == 3 and len(again["replays"]) == 1
    assert again["first_failed_at"] == entry["first_failed_at"]


def test_filters_by_store_kind_and_age(client, monkeypatch):
    clock = FrozenClock(1_000_000.0)
    monkeypatch.setattr(dlq, "time", clock)  # the queue reads time.time() and takes no clock
    queue = DeadLetterQueue(client)
    for store, kind in (("s1", "order"), ("s1", "cart"), ("s2", "order")):
        queue.add(event(store, kind), reason="r", error="e")
    entries = queue.list()
    assert len(entries) == 3 and {e["dead_at"] for e in entries} == {1_000_000.0}
    assert {e["kind"] for e in queue.list(DLQFilter(store="s1"))} == {"order", "cart"}
    assert len(queue.list(DLQFilter(kind="order"))) == 2
    clock.now += 30  # dead for 30 s
    assert queue.list(DLQFilter(older_than=60)) == [] and len(queue.list(DLQFilter(newer_than=60))) == 3
    clock.now += 60  # for 90 s
    assert len(queue.list(DLQFilter(older_than=60))) == 3 and queue.list(DLQFilter(newer_than=60)) == []
    now = clock.now
    assert DLQFilter(older_than=60).matches({**entries[0], "dead_at": now - 120}, now)
    assert not DLQFilter(newer_than=60).matches({**entries[0], "dead_at": now - 120}, now)
    assert queue.purge(DLQFilter(store="s2")) == 1 and queue.size() == 2


def test_stats_totals_minutes_and_latency_percentiles(client):
    stats = Stats(client)
    for n in range(100):
        stats.record_event("order", "created", latency=n / 10)
    stats.incr("ac_calls:order", amount=3)
    assert stats.totals()["events:order"] == 100 and stats.totals()["ac_calls:order"] == 3
    assert stats.last_minutes(5)["outcome:order:created"] == 100
    percentiles = stats.latency_percentiles("order")
    assert percentiles["p50"] == pytest.approx(5.0) and percentiles["p99"] == pytest.approx(9.9)
    assert stats.latency_percentiles("cart") == {}


def test_a_replay_whose_push_fails_leaves_the_entry_dead_and_listed(client):
    queue = DeadLetterQueue(client)
    dead = event()
    queue.add(dead, reason="order_not_found", error="PermanentEventError: order_not_found")
    with pytest.raises(redis.ConnectionError):
        queue.replay(dead.event_id, Publisher(fail=True))  # type: ignore[arg-type]
    entry = queue.get(dead.event_id)
    assert entry is not None and entry["status"] == "dead" and entry["replays"] == []
    assert [e["entry_id"] for e in queue.list()] == [dead.event_id] and queue.size() == 1
    assert client.llen(dead.queue) == 0
    publisher = Publisher()
    queue.replay(dead.event_id, publisher)  # type: ignore[arg-type]  # Redis is back: the replay goes through
    assert [e.event_id for e in publisher.sent] == [dead.event_id] and queue.list() == []
    assert len(queue.get(dead.event_id)["replays"]) == 1
