"""REDIS_URL forms (one server or Sentinels), what each process builds from them, and the replica check
that stands behind ingest's 200 (Redis's WAIT), against a real primary, replica and three Sentinels."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from acsync.localredis import SentinelTopology, start_sentinel_topology
from acsync_core import redis_connection
from acsync_core.direct_redis import DirectConnection
from acsync_core.publish import NotReplicated, TaskPublisher
from acsync_core.redis_connection import Durability, RedisURLError
from acsync_core.settings import ConfigError, load_settings, render_stores_toml
from ingest import create_app
from tests.factories import SECRETS, make_settings, order_hook, spooled_rows, store_table


def test_sentinel_url_names_the_sentinels_the_master_and_the_database():
    target = redis_connection.parse_sentinel_url(
        "sentinel://app:s%40cret@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/3?sentinel_password=sp"
    )
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380))
    assert (target.master_name, target.db, target.username, target.password) == ("mymaster", 3, "app", "s@cret")
    assert target.sentinel_password == "sp"
    assert "s@cret" not in repr(target) and "sp'" not in repr(target)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sentinel://10.0.0.1:26379", "name the monitored primary"),
        ("sentinel://10.0.0.1:x/m", "is not a number"),
        ("sentinel://10.0.0.1/m/zero", "/<master name>[/<db number>]"),
        ("sentinel://10.0.0.1/m?master=n", "unknown option"),
        ("sentinel://:pw@,10.0.0.1/m", "every Sentinel needs a host"),
        ("http://localhost:6379", "must start with one of"),
    ],
)
def test_bad_urls_are_refused_with_what_is_wrong_and_without_the_password(url, message):
    with pytest.raises(RedisURLError, match=message.replace("[", r"\[").replace("]", r"\]")) as caught:
        redis_connection.validate_url(url)
    assert "pw" not in str(caught.value)


def test_a_bad_redis_url_stops_the_settings_with_a_clear_error(tmp_path: Path):
    stores = tmp_path / "stores.toml"
    stores.write_text(render_stores_toml({"mystore": store_table("mystore")}))
    with pytest.raises(ConfigError, match="REDIS_URL: sentinel://h:26379: name the monitored primary"):
        load_settings({"ACSYNC_STORES": str(stores), "REDIS_URL": "sentinel://h:26379"})
    with pytest.raises(ConfigError, match="ACSYNC_REDIS_MIN_REPLICAS"):
        load_settings({"ACSYNC_STORES": str(stores), "ACSYNC_REDIS_MIN_REPLICAS": "-1"})


def test_redact_hides_every_password():
    assert redis_connection.redact("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redis_connection.redact("sentinel://u:pw@a:1,b:2/m/0?sentinel_password=sp") == (
        "sentinel://u:***@a:1,b:2/m/0?sentinel_password=***"
    )
    assert redis_connection.redact("redis://h:6379/0") == "redis://h:6379/0"


def test_celery_gets_kombus_sentinel_urls_and_the_master_name():
    broker, options = redis_connection.celery_broker("sentinel://u:p%3Aw@a:1,b:2/mymaster/2?sentinel_password=sp")
    assert broker == "sentinel://u:p%3Aw@a:1/2;sentinel://u:p%3Aw@b:2/2"
    assert options == {"master_name": "mymaster", "sentinel_kwargs": {"password": "sp"}}
    assert redis_connection.celery_broker("redis://h:6379/1") == ("redis://h:6379/1", {})


def test_durability_defaults_to_one_replica_with_sentinel_and_none_without(tmp_path: Path):
    stores = tmp_path / "stores.toml"
    stores.write_text(render_stores_toml({"mystore": store_table("mystore")}))
    plain = load_settings({"ACSYNC_STORES": str(stores), "REDIS_URL": "redis://h:6379/0"})
    sentinel = load_settings({"ACSYNC_STORES": str(stores), "REDIS_URL": "sentinel://h/m"})
    override = load_settings(
        {
            "ACSYNC_STORES": str(stores),
            "REDIS_URL": "sentinel://h/m",
            "ACSYNC_REDIS_MIN_REPLICAS": "0",
            "ACSYNC_REDIS_WAIT_MS": "50",
        }
    )
    assert plain.durability == Durability(min_replicas=0, timeout_ms=200)
    assert sentinel.durability == Durability(min_replicas=1, timeout_ms=200)
    assert override.durability == Durability(min_replicas=0, timeout_ms=50)


@pytest.fixture(scope="module")
def topology() -> Iterator[SentinelTopology]:
    topology = start_sentinel_topology()
    yield topology
    topology.stop()


@pytest.fixture
def sentinel_client(topology: SentinelTopology) -> Iterator[redis.Redis]:
    for server in topology.servers():
        if server.process is None:
            server.start()
            server.wait_until_synced()
    client = redis_connection.connect(topology.url, socket_timeout=2)
    client.flushall()
    yield client
    client.close()


def test_every_client_and_the_direct_connection_reach_the_primary(topology, sentinel_client):
    direct = DirectConnection(sentinel_client)
    assert direct.execute("SET", "written-by", "direct") == b"OK"
    reply, replicas = direct.execute_durably(("SET", "durable", "1"), 1, 1000)
    primary = redis.Redis(port=topology.primary_port())
    # the direct connection learned the primary from the Sentinels (not its default, localhost:6379)
    assert primary.get("written-by") == b"direct" and primary.get("durable") == b"1"
    assert (reply, replicas) == (b"OK", 1)
    assert redis.Redis(port=topology.replica.port).get("durable") == b"1"  # WAIT said so; the replica agrees


def test_ingest_answers_200_only_for_what_a_replica_holds_else_it_also_spools(topology, sentinel_client, tmp_path):
    settings = dataclasses.replace(make_settings(topology.url), spool_path=str(tmp_path / "spool.db"))
    assert settings.durability.min_replicas == 1
    app = create_app(settings, spool_flush=False)
    client = app.test_client()
    headers = {"X-Hook-Secret": SECRETS["mystore"]}
    first = client.post("/hooks/vtex/mystore/orders", json=order_hook(order_id="v1-01"), headers=headers)
    assert first.status_code == 200 and "spooled" not in first.json
    assert spooled_rows(tmp_path / "spool.db") == 0

    topology.replica.stop()  # the replica is gone: the primary alone holds new writes
    second = client.post("/hooks/vtex/mystore/orders", json=order_hook(order_id="v2-01"), headers=headers)
    assert second.status_code == 200 and second.json["spooled"] is True
    assert sentinel_client.llen("acsync.orders") == 2  # in Redis too, and also in the local spool
    assert spooled_rows(tmp_path / "spool.db") == 1
    publisher: TaskPublisher = app.extensions["acsync"]["publisher"]
    spool = app.extensions["acsync"]["spool"]
    with pytest.raises(NotReplicated):  # the spool keeps its rows while no replica confirms
        spool.flush(publisher, dedupe_ttl_seconds=60)
    assert spooled_rows(tmp_path / "spool.db") == 1

    topology.replica.start()
    topology.replica.wait_until_synced()
    # the spooled row is the same event (same id) as the one in Redis: confirmed, forgotten, not pushed twice
    assert spool.flush(publisher, dedupe_ttl_seconds=60) == 1
    assert spooled_rows(tmp_path / "spool.db") == 0
    assert sentinel_client.llen("acsync.orders") == 2


def test_a_single_redis_needs_no_replica(redis_url):
    publisher = TaskPublisher(redis.Redis.from_url(redis_url))
    assert publisher.durability.min_replicas == 0
    publisher.confirm_durable()  # nothing to wait for: does not raise
