"""Nothing lost at the edge: hooks accepted while Redis is down are spooled and flushed later."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import redis
from click.testing import CliRunner

from acsync.cli import main
from acsync.localredis import free_port, start_private_redis
from acsync_core.events import Event
from acsync_core.settings import Settings
from ingest import create_app
from ingest.spool import Spool
from tests.factories import SECRETS, cart_trigger, make_settings, order_hook
from tests.ingest.conftest import queued


def with_spool(settings: Settings, path: Path) -> Settings:
    object.__setattr__(settings, "spool_path", str(path))
    return settings


def dead_redis() -> redis.Redis:
    from ingest.app import redis_client_for

    return redis_client_for(f"redis://127.0.0.1:{free_port()}/0")  # ingest's own client settings


def test_redis_down_spools_then_cli_flush_enqueues_once(redis_url, redis_client, tmp_path, monkeypatch):
    settings = with_spool(make_settings(redis_url), tmp_path / "spool.db")
    client = create_app(settings, redis_client=dead_redis(), spool_flush=False).test_client()
    headers = {"X-Hook-Secret": SECRETS["mystore"]}
    first = client.post("/hooks/vtex/mystore/orders", json=order_hook(), headers=headers)
    assert first.status_code == 200 and first.json["spooled"] is True and first.json["duplicate"] is False
    again = client.post("/hooks/vtex/mystore/orders", json=order_hook(), headers=headers)  # VTEX retries
    assert again.status_code == 200  # no dedupe possible without Redis: the flush drops the repeat
    assert again.json["duplicate"] is False and again.json["event_id"] != first.json["event_id"]
    client.post("/hooks/vtex/mystore/carts", json=cart_trigger(), headers=headers)
    assert Spool(tmp_path / "spool.db").size() == 3 and redis_client.llen("acsync.orders") == 0

    stores = tmp_path / "stores.toml"
    from acsync_core.settings import render_stores_toml
    from tests.factories import store_table

    stores.write_text(render_stores_toml({"mystore": store_table("mystore")}))
    monkeypatch.setenv("ACSYNC_STORES", str(stores))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("ACSYNC_SPOOL_PATH", str(tmp_path / "spool.db"))
    runner = CliRunner()
    assert "3 events spooled" in runner.invoke(main, ["spool", "status"]).output
    result = runner.invoke(main, ["spool", "flush"])
    assert result.exit_code == 0 and "enqueued 2 spooled events (1 were duplicates)" in result.output
    [order] = queued(redis_client, "order")
    assert order["event"]["event_id"] == first.json["event_id"]
    assert len(queued(redis_client, "cart")) == 1 and Spool(tmp_path / "spool.db").size() == 0


def test_spool_failure_is_the_only_503(redis_url, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    settings = with_spool(make_settings(redis_url), blocker / "spool.db")
    client = create_app(settings, redis_client=dead_redis(), spool_flush=False).test_client()
    response = client.post(
        "/hooks/vtex/mystore/orders", json=order_hook(), headers={"X-Hook-Secret": SECRETS["mystore"]}
    )
    assert response.status_code == 503 and response.headers["Retry-After"]


def test_flusher_moves_spooled_events_when_redis_comes_back(tmp_path):
    server = start_private_redis()
    try:
        settings = with_spool(make_settings(server.url), tmp_path / "spool.db")
        app = create_app(settings)
        app.extensions["acsync"]["flusher"].interval = 0.2
        client = app.test_client()
        server.stop()
        response = client.post(
            "/hooks/vtex/mystore/orders",
            json=order_hook(order_id="v77-01"),
            headers={"X-Hook-Secret": SECRETS["mystore"]},
        )
        assert response.json["spooled"] is True
        server.start()
        live = redis.Redis.from_url(server.url)
        deadline = time.monotonic() + 15
        while live.llen("acsync.orders") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        [message] = queued(live, "order")
        assert message["event"]["payload"]["OrderId"] == "v77-01"
        assert Spool(tmp_path / "spool.db").size() == 0
    finally:
        server.stop()


def test_the_flusher_reports_the_spool_size_until_a_flush_empties_it(redis_url, redis_client, tmp_path, monkeypatch):
    from ingest import metrics

    settings = with_spool(make_settings(redis_url), tmp_path / "spool.db")
    app = create_app(settings)
    spool, flusher = app.extensions["acsync"]["spool"], app.extensions["acsync"]["flusher"]
    for n in range(3):
        spool.append(Event(kind="order", store="mystore", payload=order_hook(order_id=f"g{n}-01"), dedupe_key=f"g{n}"))
    # acsync_ingest_spool_events is one gauge per process, and flushers that earlier tests started go on
    # setting it (to 0: their spools are empty): this flusher's readings are told apart by its thread
    readings: list[tuple[int, float]] = []
    gauge = metrics.SPOOL_EVENTS

    class Recording:
        def set(self, value: float) -> None:
            readings.append((threading.get_ident(), value))
            gauge.set(value)

    monkeypatch.setattr(metrics, "SPOOL_EVENTS", Recording())
    flusher.interval = 0.05
    others = set(threading.enumerate())
    flusher.ensure_running()
    [thread] = [t for t in threading.enumerate() if t not in others and t.name == "acsync-spool-flusher"]

    def ours() -> list[float]:
        return [value for ident, value in readings if ident == thread.ident]

    deadline = time.monotonic() + 15
    while 0 not in ours() and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = ours()
    # the size before the flush (read each loop, the same read that decides to flush), then 0 after it
    assert seen[0] == 3 and 0 in seen and set(seen[: seen.index(0)]) == {3}
    assert len(queued(redis_client, "order")) == 3 and spool.size() == 0
    while len(ours()) < len(seen) + 2 and time.monotonic() < deadline:  # an empty spool still reports 0
        time.sleep(0.05)
    assert set(ours()[seen.index(0) :]) == {0}
    body = app.test_client().get("/metrics").get_data(as_text=True)
    assert "# TYPE acsync_ingest_spool_events gauge" in body
