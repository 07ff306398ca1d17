"""Ingest as it runs in production: gunicorn with ingest/gunicorn_conf.py, real HTTP over loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from acsync.localredis import free_port
from acsync_core.events import Event
from ingest.spool import Spool
from tests.factories import SECRETS, order_hook
from tests.ingest.conftest import queued, running_ingest


@pytest.fixture
def gunicorn_ingest(redis_url: str, tmp_path: Path) -> Iterator[str]:
    with running_ingest(redis_url, tmp_path) as url:
        yield url


def test_hook_over_real_http_is_enqueued_once(gunicorn_ingest, redis_url):
    headers = {"X-Hook-Secret": SECRETS["mystore"]}
    first = requests.post(gunicorn_ingest + "/hooks/vtex/mystore/orders", json=order_hook(), headers=headers, timeout=5)
    again = requests.post(gunicorn_ingest + "/hooks/vtex/mystore/orders", json=order_hook(), headers=headers, timeout=5)
    assert first.status_code == 200 and again.status_code == 200  # VTEX: always 200 within 5 s
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert again.json()["event_id"] == first.json()["event_id"]
    [message] = queued(redis.Redis.from_url(redis_url), "order")
    assert message["event"]["event_id"] == first.json()["event_id"]
    assert requests.get(gunicorn_ingest + "/readyz", timeout=5).json()["status"] == "ready"
    metrics = requests.get(gunicorn_ingest + "/metrics", timeout=5).text  # summed over both workers
    assert 'acsync_ingest_events_accepted_total{kind="order",store="mystore"} 1.0' in metrics
    # the spool's size, the largest reading of the live workers (multiprocess mode "livemax"): nothing spooled
    assert "\nacsync_ingest_spool_events 0.0\n" in metrics


def test_metrics_show_what_waits_in_the_spool_while_redis_is_unreachable(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    for n in range(3):  # left by a Redis outage before this ingest started
        spool.append(Event(kind="order", store="mystore", payload=order_hook(order_id=f"s{n}-01"), dedupe_key=f"s{n}"))
    with running_ingest(f"redis://127.0.0.1:{free_port()}/0", tmp_path) as url:  # nothing listens there
        # a scrape starts its worker's flusher, whose next loop reads the spool and sets the gauge
        deadline = time.monotonic() + 20
        metrics = ""
        while "\nacsync_ingest_spool_events 3.0\n" not in metrics and time.monotonic() < deadline:
            metrics = requests.get(url + "/metrics", timeout=5).text
            time.sleep(0.2)
        assert "\nacsync_ingest_spool_events 3.0\n" in metrics, metrics
    assert spool.size() == 3  # nowhere to flush them


def test_chunked_oversized_body_is_413_over_real_http(gunicorn_ingest):
    host, port = gunicorn_ingest.removeprefix("http://").split(":")
    chunk = b"x" * 65536
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /hooks/vtex/mystore/carts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Hook-Secret: " + SECRETS["mystore"].encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        try:
            for _ in range(6):  # 384 KiB > 256 KiB
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        answer = sock.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413")


def test_each_worker_freezes_the_loaded_app_out_of_full_collections():
    import gc

    from ingest import gunicorn_conf

    assert gc.get_freeze_count() == 0
    try:
        gunicorn_conf.post_worker_init(object())
        assert gc.get_freeze_count() > 10_000  # the imported app, not a handful of objects
    finally:
        gc.unfreeze()
