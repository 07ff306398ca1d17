"""The ingest's direct Redis connection: same answers and errors as redis-py's client, fewer layers."""

from __future__ import annotations

import threading

import pytest
import redis

from acsync.localredis import free_port, start_private_redis
from acsync_core import direct_redis
from acsync_core.direct_redis import DirectConnection, DirectScript
from acsync_core.events import Event
from acsync_core.publish import TaskPublisher


def test_commands_answer_like_the_pooled_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    direct = DirectConnection(client)
    assert direct.execute("SET", "k", "v") == b"OK"
    assert direct.execute("GET", "k") == b"v"
    assert direct.execute("LPUSH", "l", "a", "b") == 2
    assert direct.execute("GET", "missing") is None
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        direct.execute("GET", "l")


def test_settings_come_from_the_client_database_included(redis_url):
    client = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/3", decode_responses=True)
    DirectConnection(client).execute("SET", "where", "db3")
    assert client.get("where") == "db3"
    assert redis.Redis.from_url(redis_url).get("where") is None  # not in db 0


def test_a_script_missing_from_redis_is_loaded_by_eval(redis_url):
    client = redis.Redis.from_url(redis_url)
    script = DirectScript(DirectConnection(client), "return redis.call('INCR', KEYS[1]) + tonumber(ARGV[1])")
    client.script_flush()
    assert script(keys=["n"], args=[10]) == 11  # NOSCRIPT, then EVAL
    assert client.script_exists(script.sha) == [True]
    assert script(keys=["n"], args=[10]) == 12  # EVALSHA from now on


def test_each_thread_has_its_own_connection(redis_url):
    direct = DirectConnection(redis.Redis.from_url(redis_url))
    names: list[bytes] = []

    def work(n: int) -> None:
        direct.execute("CLIENT", "SETNAME", f"t{n}")
        for _ in range(50):
            direct.execute("INCR", "shared")
        names.append(direct.execute("CLIENT", "GETNAME"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(names) == [b"t0", b"t1", b"t2", b"t3"]
    assert redis.Redis.from_url(redis_url).get("shared") == b"200"


def test_a_forked_child_opens_its_own_connection(redis_url, monkeypatch):
    direct = DirectConnection(redis.Redis.from_url(redis_url))
    direct.execute("CLIENT", "SETNAME", "parent")
    real_pid = direct_redis.os.getpid()
    monkeypatch.setattr(direct_redis.os, "getpid", lambda: real_pid + 1)  # what a fork looks like to it
    assert direct.execute("CLIENT", "GETNAME") is None  # a new connection, not the parent's


def test_a_connection_broken_by_a_redis_restart_is_replaced_once():
    server = start_private_redis()
    try:
        direct = DirectConnection(redis.Redis.from_url(server.url, socket_timeout=2))
        assert direct.execute("SET", "a", "1") == b"OK"
        server.restart()  # the connection in hand is now dead
        assert direct.execute("SET", "b", "2") == b"OK"
    finally:
        server.stop()


def test_redis_down_fails_fast_with_redis_py_errors():
    dead = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    with pytest.raises(redis.ConnectionError):
        DirectConnection(dead).execute("PING")


def test_a_resent_enqueue_is_recognised_as_our_own(redis_url):
    """A reply lost to a broken connection makes the script run twice: the second is not a duplicate."""
    client = redis.Redis.from_url(redis_url)
    publisher = TaskPublisher(client)
    event = Event(kind="order", store="s", payload={"OrderId": "v1-01", "State": "invoiced"}, dedupe_key="k1")
    assert publisher.enqueue_once(event, dedupe_ttl_seconds=60).duplicate is False
    again = publisher.enqueue_once(event, dedupe_ttl_seconds=60)
    assert (again.event_id, again.duplicate) == (event.event_id, False)
    assert client.llen(event.queue) == 1  # and still one message
    other = Event(kind="order", store="s", payload=event.payload, dedupe_key="k1")
    result = publisher.enqueue_once(other, dedupe_ttl_seconds=60)
    assert (result.event_id, result.duplicate) == (event.event_id, True)
