"""Real Celery workers (prefork subprocesses, not eager mode) on a real Redis, both sandboxes on loopback."""

from __future__ import annotations

import base64
import bisect
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from acsync_core.events import WORKER_QUEUES
from acsync_core.settings import render_stores_toml
from acsync_core.stats import Stats
from ingest import create_app
from tests.factories import SECRETS, cart_trigger, customer_trigger, make_settings, order_hook
from tests.workers.conftest import Sandboxes, create_connection, make_order, stores_for
from workers.dlq import DeadLetterQueue
from workers.outbox import waiting_writes

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ",".join(WORKER_QUEUES)


class Workers:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []
        self.writers: list[subprocess.Popen[bytes]] = []

    def start(self, concurrency: int = 2, name: str = "w1", *, writer: bool = True) -> None:
        """A Celery worker, and (unless one runs already) an ActiveCampaign writer process beside it."""
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers",
            "worker",
            "-Q",
            QUEUES,
            "-c",
            str(concurrency),
            "--pool",
            "prefork",
            "-n",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "INFO",
        ]
        log = open(Path(self.env["ACSYNC_TEST_LOGDIR"]) / f"{name}.log", "wb")  # noqa: SIM115
        self.processes.append(subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        if writer and not self.writers:
            self.start_writer()

    def start_writer(self, name: str = "writer") -> None:
        cmd = [sys.executable, "-m", "acsync", "writer"]
        log = open(Path(self.env["ACSYNC_TEST_LOGDIR"]) / f"{name}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        self.writers.append(process)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def stack(sandboxes: Sandboxes, redis_url: str, tmp_path: Path) -> Iterator[tuple[Sandboxes, Workers, str]]:
    stores_file = tmp_path / "stores.toml"
    stores_file.write_text(render_stores_toml(stores_for(sandboxes)))
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "ACSYNC_STORES": str(stores_file),
        "ACSYNC_LOG_LEVEL": "INFO",
        "ACSYNC_RETRY_BASE_SECONDS": "0.2",
        "ACSYNC_RETRY_CAP_SECONDS": "1",
        "ACSYNC_MAX_ATTEMPTS": "12",
        "ACSYNC_TEST_LOGDIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    workers = Workers(env)
    yield sandboxes, workers, redis_url
    workers.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def settled(redis_url: str) -> bool:
    client = redis.Redis.from_url(redis_url)
    queued = sum(client.llen(q) for q in QUEUES.split(","))
    unacked = client.hlen("unacked")
    return queued == 0 and unacked == 0 and waiting_writes(client) == 0


def post(app_client, kind: str, body: dict) -> requests.Response:
    path = {"order": "orders", "cart": "carts", "customer": "customers"}[kind]
    return app_client.post(f"/hooks/vtex/mystore/{path}", json=body, headers={"X-Hook-Secret": SECRETS["mystore"]})


def test_hooks_flow_through_a_real_worker_exactly_once(stack):
    boxes, workers, redis_url = stack
    ingest = create_app(make_settings(redis_url, **stores_for(boxes))).test_client()
    for n in range(3):
        boxes.seed_order(make_order(f"v10{n}-01", email=f"buyer{n}@example.com"))
    workers.start()
    for n in range(3):
        assert post(ingest, "order", order_hook(order_id=f"v10{n}-01")).status_code == 200
        assert post(ingest, "order", order_hook(order_id=f"v10{n}-01")).json["duplicate"] is True  # a repeat
        # a re-delivery under another dedupe key (VTEX resends with a new LastChange): same AC result
        assert (
            post(ingest, "order", order_hook(order_id=f"v10{n}-01", last_change="2026-11-27T13:31:00Z")).status_code
            == 200
        )
    assert post(ingest, "customer", customer_trigger()).status_code == 200
    wait_until(lambda: len(boxes.orders()) == 3 and settled(redis_url), what="orders in ActiveCampaign")
    time.sleep(1)
    assert sorted(o["externalid"] for o in boxes.orders()) == ["v100-01", "v101-01", "v102-01"]
    state = boxes.ac_state()
    assert len(state["ecomCustomers"]) == 3
    assert sorted(c["email"] for c in state["contacts"]) == [
        "bo@example.com",
        "buyer0@example.com",
        "buyer1@example.com",
        "buyer2@example.com",
    ]
    totals = Stats(redis.Redis.from_url(redis_url)).totals()
    assert totals["events:order"] == 6 and totals["events:customer"] == 1


def test_retryable_faults_are_retried_until_they_succeed(stack):
    boxes, workers, redis_url = stack
    ingest = create_app(make_settings(redis_url, **stores_for(boxes))).test_client()
    boxes.ac_faults(error_rate=0.25, error_after_write_rate=0.1)
    boxes.vtex_faults(error_rate=0.2)
    for n in range(6):
        boxes.seed_order(make_order(f"v20{n}-01", email=f"r{n}@example.com"))
        post(ingest, "order", order_hook(order_id=f"v20{n}-01"))
    workers.start(concurrency=3)
    dlq = DeadLetterQueue(redis.Redis.from_url(redis_url))
    wait_until(
        lambda: (len(boxes.orders()) == 6 or dlq.size() > 0) and settled(redis_url), timeout=120, what="all orders"
    )
    assert [(e["reason"], e["attempts"]) for e in dlq.list()] == []
    time.sleep(1)
    assert sorted(o["externalid"] for o in boxes.orders()) == [f"v20{n}-01" for n in range(6)]
    assert len(boxes.ac_state()["ecomCustomers"]) == 6 and len(boxes.ac_state()["contacts"]) == 6
    totals = Stats(redis.Redis.from_url(redis_url)).totals()
    assert totals.get("retries:order", 0) > 0


def test_permanent_faults_land_in_the_dlq_with_their_reason_and_replay_works(stack):
    boxes, workers, redis_url = stack
    ingest = create_app(make_settings(redis_url, **stores_for(boxes))).test_client()
    post(ingest, "order", order_hook(order_id="v404-01"))  # VTEX does not know it
    junk = cart_trigger(cart="add?qty=1")
    post(ingest, "cart", junk)
    workers.start()
    dlq = DeadLetterQueue(redis.Redis.from_url(redis_url))
    wait_until(lambda: dlq.size() == 2, what="two dead letters")
    entries = {e["kind"]: e for e in dlq.list()}
    assert entries["order"]["reason"] == "order_not_found" and entries["cart"]["reason"] == "unparsable_cart"
    assert entries["order"]["attempts"][0]["retryable"] is False
    assert entries["order"]["event"]["payload"]["OrderId"] == "v404-01"
    # the order appears in VTEX later (replication lag): replay it from the DLQ
    boxes.seed_order(make_order("v404-01"))
    from acsync_core.publish import TaskPublisher

    dlq.replay(entries["order"]["entry_id"], TaskPublisher(redis.Redis.from_url(redis_url)))
    wait_until(lambda: len(boxes.orders()) == 1, what="the replayed order")
    assert dlq.size() == 1 and dlq.get(entries["order"]["entry_id"])["status"] == "replayed"


def test_global_limiter_keeps_two_writer_processes_under_the_limit(stack, tmp_path):
    boxes, workers, redis_url = stack
    # the sandbox enforces ActiveCampaign's real 5/s; the store's budget is 5/s too
    requests.post(boxes.ac.url + "/__sandbox/reset", timeout=5)
    assert create_connection(boxes.ac.url) == boxes.connection_id  # the reset sandbox's first connection again
    ingest = create_app(make_settings(redis_url, **stores_for(boxes))).test_client()
    boxes.ac.app.extensions["ac_sandbox"]["limiter"].rate = 5
    for n in range(8):  # new customers' carts: customer + cart (+ the names, as contacts), one by one
        post(ingest, "cart", cart_trigger(email=f"limit{n}@example.com", cart=f"add?sku={20 + n}&qty=1&seller=1"))
    workers.start(concurrency=2, name="a")
    workers.start_writer("writer-2")  # a second writer process: one writes, the other stands by
    wait_until(
        lambda: len([o for o in boxes.orders() if o.get("externalcheckoutid")]) == 8 and settled(redis_url),
        timeout=90,
        what="8 carts",
    )
    log = boxes.ac_requests()
    # Counted facts from the sandbox, no test-side timer. The sandbox enforces ActiveCampaign's limit
    # itself (5 per sliding second per account, its own clock) and counts what it refused: none.
    assert not any(key.endswith(" 429") for key in log["by_status"]), log["by_status"]
    assert log["by_status"]["POST /api/3/ecomOrders 201"] == 8
    # Its request log stamps each call on arrival (the server's clock, not ours); every call is in it.
    # The most calls that landed inside any one-second window is a count over the server's record:
    # a slow or loaded test machine can only spread the calls out, never make this count exceed 5.
    arrivals = sorted(e["at"] for e in log["recent"])
    assert len(arrivals) == log["total"] >= 16
    assert max_calls_in_a_second(arrivals) <= 5


def max_calls_in_a_second(arrivals: list[float]) -> int:
    """The largest number of sorted arrival stamps within one second of each other (a sliding second)."""
    return max(bisect.bisect_left(arrivals, first + 1.0, lo=index) - index for index, first in enumerate(arrivals))


def test_fast_publisher_builds_the_same_message_as_send_task(redis_url):
    import workers as workers_pkg
    from acsync_core.events import Event
    from acsync_core.publish import TaskPublisher

    client = redis.Redis.from_url(redis_url)
    app = workers_pkg.app
    event = Event(kind="order", store="mystore", payload={"OrderId": "v1-01", "State": "invoiced"}, dedupe_key="k")
    with app.connection_for_write(redis_url) as connection:
        app.send_task(
            event.task_name, args=(event.to_dict(),), queue=event.queue, task_id="celery-made", connection=connection
        )
    TaskPublisher(client, celery_app=app).enqueue(event, task_id="ours")
    celery_made, ours = (json.loads(m) for m in client.lrange(event.queue, 0, -1)[::-1])
    assert set(ours) == set(celery_made)
    assert set(ours["headers"]) == set(celery_made["headers"])
    assert set(ours["properties"]) == set(celery_made["properties"])
    for key in ("content-type", "content-encoding"):
        assert ours[key] == celery_made[key]
    assert ours["properties"]["body_encoding"] == celery_made["properties"]["body_encoding"] == "base64"
    assert ours["properties"]["delivery_mode"] == celery_made["properties"]["delivery_mode"]
    assert json.loads(base64.b64decode(ours["body"])) == json.loads(base64.b64decode(celery_made["body"]))
    assert ours["headers"]["task"] == celery_made["headers"]["task"] == event.task_name


def test_a_bad_stores_file_stops_the_worker_before_it_takes_a_message(stack, tmp_path):
    boxes, workers, redis_url = stack
    ingest = create_app(make_settings(redis_url, **stores_for(boxes))).test_client()
    assert post(ingest, "customer", customer_trigger()).status_code == 200
    bad = tmp_path / "bad.toml"
    bad.write_text(render_stores_toml({"mystore": {**stores_for(boxes)["mystore"], "currency": "brl"}}))
    workers.env["ACSYNC_STORES"] = str(bad)
    workers.start(name="bad", writer=False)
    assert workers.processes[-1].wait(timeout=60) != 0
    log = (tmp_path / "bad.log").read_text()
    assert "stores.mystore.currency" in log
    assert redis.Redis.from_url(redis_url).llen("acsync.customers") == 1  # still there, not lost


def test_worker_serves_prometheus_metrics_from_every_prefork_child(stack, tmp_path):
    from acsync.localredis import free_port

    boxes, workers, redis_url = stack
    port = free_port()
    (tmp_path / "metrics").mkdir()
    workers.env.update(
        ACSYNC_WORKER_METRICS_PORT=str(port),
        ACSYNC_WORKER_METRICS_ADDR="127.0.0.1",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    ingest = create_app(make_settings(redis_url, **stores_for(boxes))).test_client()
    workers.start(concurrency=2)
    wait_until(lambda: scrape(port) is not None, what="the worker's /metrics")
    before = scrape(port)
    for n in range(4):
        post(ingest, "customer", customer_trigger(email=f"m{n}@example.com"))
    wait_until(lambda: len(boxes.ac_state().get("contacts", [])) == 4 and settled(redis_url), what="contacts")
    # the writer process shares PROMETHEUS_MULTIPROC_DIR: its counters are served with the workers'.
    # Counters are compared with their values before the hooks, so nothing else that ran counts.
    after = scrape(port)

    def grew(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("acsync_worker_events_total", kind="customer", outcome="contact_synced") == 4
    assert grew("acsync_ac_calls_total", endpoint="POST /contact/sync", kind="writer", status="201") == 4
    assert grew("acsync_event_latency_seconds_count", kind="customer") == 4
    dead_before = sum(v for (name, _), v in before.items() if name == "acsync_worker_dead_letters_total")
    assert sum(v for (name, _), v in after.items() if name == "acsync_worker_dead_letters_total") == dead_before
    # gauges read from Redis at scrape time: the state now, reported even when 0
    assert after[("acsync_queue_depth", frozenset({"queue": "acsync.customers"}.items()))] == 0
    assert after[("acsync_dead_letters", frozenset())] == 0


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
    """Every sample a /metrics answer holds, by name and labels (None while nothing answers)."""
    try:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except requests.RequestException:
        return None
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
