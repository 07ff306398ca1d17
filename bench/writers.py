"""ActiveCampaign writers benchmark: real Redis, Celery workers and writer processes, sandboxes on loopback.

    .venv/bin/python bench/writers.py [--orders 3000 --carts 500 --small-orders 20 --backfill 20000]

Both AC sandboxes enforce ActiveCampaign's 5 requests/second per account; the stores keep the default
budget of 4 requests/second. Events are published the way ingest publishes them (``enqueue_once``),
so the figures are hook-to-ActiveCampaign.

(a) flash sale: a big store (its own AC account) gets ``--orders`` new-customer orders and ``--carts``
    abandoned carts at once; ``--small-delay`` seconds later a small store (another AC account) gets
    ``--small-orders`` orders. Reported: the big store's orders per second on one account, the small
    store's hook-to-AC p50/p99, 429s on both accounts.
(b) idle: orders one at a time, a little apart; hook-to-AC p50/p95.
(c) backfill: ``--backfill`` historical orders queued at once; orders per ActiveCampaign request.
(d) memory: the writer's and the workers' RSS while 1k and while 20k events wait (during (c)).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acsync_core.events import BACKFILL_QUEUE, Event, new_event_id
from bench.stack import BenchStack
from workers.vtex.sandbox import make_order

BIG, SMALL = "bigstore", "smallstore"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")


class Stack(BenchStack):
    def __init__(self, workdir: Path, concurrency: int) -> None:
        super().__init__(workdir)
        self.start_sandboxes({"ac_big": ["--rps", "5"], "ac_small": ["--rps", "5"]}, vtex_account=BIG)
        self.write_stores({BIG: self.store_table(BIG, "ac_big"), SMALL: self.store_table(SMALL, "ac_small")})
        time.sleep(1.1)  # the set-up requests leave the sandboxes' sliding second
        self.worker = self.start_worker(concurrency)
        self.writer = self.start_writer()

    # ------------------------------------------------------------------ helpers
    def seed(self, orders: list[dict[str, Any]]) -> None:
        for start in range(0, len(orders), 500):
            self.session.post(
                self.urls["vtex"] + "/__sandbox/orders/bulk", json=orders[start : start + 500], timeout=60
            ).raise_for_status()

    def publish(self, kind: str, store: str, payload: dict[str, Any], key: str) -> None:
        event = Event(kind=kind, store=store, payload=payload, dedupe_key=f"{store}:{key}")
        self.publisher.enqueue_once(event, dedupe_ttl_seconds=3600)

    def order_hook(self, store: str, order: dict[str, Any]) -> None:
        self.publish(
            "order",
            store,
            {
                "OrderId": order["orderId"],
                "State": order["status"],
                "LastChange": order["lastChange"],
                "CurrentChange": order["lastChange"],
            },
            order["orderId"],
        )

    def landed(self, kind: str, store: str) -> int:
        return self.stats.totals().get(f"events:{kind}@{store}", 0)

    def latencies(self, kind: str, store: str) -> list[float]:
        return [float(x) for x in self.client.lrange(f"acsync:stats:latency:{kind}@{store}", 0, -1)]

    def requests_log(self, ac: str) -> dict[str, Any]:
        return self.session.get(self.urls[ac] + "/__sandbox/requests", timeout=30).json()

    def rss_mb(self) -> dict[str, float]:
        out = {}
        for name, process in (("worker", self.worker), ("writer", self.writer)):
            try:
                parent = psutil.Process(process.pid)
                procs = [parent, *parent.children(recursive=True)]
                out[name] = sum(p.memory_info().rss for p in procs) / 2**20
            except psutil.Error:
                out[name] = float("nan")
        return out

    def wait(self, condition: Any, timeout: float, what: str) -> float:
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                raise SystemExit(f"timed out waiting for {what}")
            time.sleep(0.2)
        return time.monotonic() - started


def new_orders(store: str, count: int, order_id: str, email: str) -> list[dict[str, Any]]:
    """``count`` orders of ``store`` placed at T0 and changed a minute later; ``order_id`` and ``email`` are
    formats of their number ``n``."""
    return [
        make_order(
            order_id.format(n=n),
            email=email.format(n=n),
            account=store,
            created=T0,
            last_change=T0 + timedelta(minutes=1),
        )
        for n in range(count)
    ]


def flash_sale(stack: Stack, orders: int, carts: int, small_orders: int, small_delay: float) -> dict[str, Any]:
    big = new_orders(BIG, orders, "fs{n:05d}-01", "buyer{n}@example.com")
    small = new_orders(SMALL, small_orders, "sm{n:03d}-01", "small{n}@example.com")
    stack.seed(big + small)
    session_date = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    started = time.monotonic()
    cart_every = max(1, orders // max(1, carts))
    sent_carts = 0
    for n, order in enumerate(big):
        stack.order_hook(BIG, order)
        if n % cart_every == 0 and sent_carts < carts:
            email = f"cart{sent_carts}@example.com"
            stack.publish(
                "cart",
                BIG,
                {
                    "email": email,
                    "rclastcart": f"add?sku={20 + sent_carts % 40}&qty=1&seller=1",
                    "rclastsessiondate": session_date,
                    "firstName": "Cart",
                },
                email,
            )
            sent_carts += 1
    posted = time.monotonic() - started
    time.sleep(max(0.0, small_delay - (time.monotonic() - started)))
    for order in small:
        stack.order_hook(SMALL, order)
    stack.wait(lambda: stack.landed("order", SMALL) >= small_orders, 300, "the small store's orders")
    big_left_when_small_done = orders - stack.landed("order", BIG)
    stack.wait(lambda: stack.landed("order", BIG) >= orders, 1800, "the big store's orders")
    big_done = time.monotonic() - started
    stack.wait(lambda: stack.landed("cart", BIG) >= sent_carts, 1800, "the big store's carts")
    small_latency = stack.latencies("order", SMALL)
    big_log, small_log = stack.requests_log("ac_big"), stack.requests_log("ac_small")
    graphql = big_log["by_endpoint"].get("POST /api/3/ecom/graphql", 0)
    return {
        "big_orders": orders,
        "big_carts": sent_carts,
        "posted_in_s": round(posted, 1),
        "big_orders_per_second": round(orders / big_done, 1),
        "big_orders_per_graphql_request": round(orders / max(1, graphql), 1),
        "big_ac_requests": big_log["total"],
        "big_ac_requests_by_endpoint": big_log["by_endpoint"],
        "big_orders_waiting_when_small_store_done": big_left_when_small_done,
        "small_p50_s": round(percentile(small_latency, 50), 2),
        "small_p99_s": round(percentile(small_latency, 99), 2),
        "ac_429": sum(v for log in (big_log, small_log) for k, v in log["by_status"].items() if k.endswith(" 429")),
    }


def idle(stack: Stack, count: int, spacing: float) -> dict[str, Any]:
    orders = new_orders(SMALL, count, "id{n:03d}-01", "idle{n}@example.com")
    stack.seed(orders)
    before = len(stack.latencies("order", SMALL))
    landed_before = stack.landed("order", SMALL)
    for order in orders:
        stack.order_hook(SMALL, order)
        time.sleep(spacing)
    stack.wait(lambda: stack.landed("order", SMALL) >= landed_before + count, 120, "idle orders")
    samples = stack.latencies("order", SMALL)[: len(stack.latencies("order", SMALL)) - before]
    return {
        "orders": count,
        "spacing_s": spacing,
        "p50_s": round(percentile(samples, 50), 2),
        "p95_s": round(percentile(samples, 95), 2),
        "max_s": round(max(samples), 2),
    }


def backfill(stack: Stack, count: int) -> dict[str, Any]:
    orders = [
        make_order(
            f"hist{n:06d}-01",
            email=f"hist{n % 5000}@example.com",
            account=BIG,
            status="invoiced",
            created=T0 - timedelta(days=30),
            last_change=T0 - timedelta(days=29),
        )
        for n in range(count)
    ]
    stack.seed(orders)
    graphql_before = stack.requests_log("ac_big")["by_endpoint"].get("POST /api/3/ecom/graphql", 0)
    calls_before = stack.requests_log("ac_big")["total"]
    landed_before = stack.landed("order", BIG)
    started = time.monotonic()
    for order in orders:  # what `acsync backfill` queues
        stack.publisher.enqueue(
            Event(
                kind="order",
                store=BIG,
                payload={"OrderId": order["orderId"], "State": "invoiced", "backfill": True},
                dedupe_key=f"backfill:{order['orderId']}",
                event_id=new_event_id(),
            ),
            queue=BACKFILL_QUEUE,
        )
    memory: dict[str, list[dict[str, float]]] = {"high": [], "low": []}
    while stack.landed("order", BIG) < landed_before + count:
        waiting = stack.busy()
        if waiting >= 0.75 * count:
            memory["high"].append({"waiting": waiting, **stack.rss_mb()})
        elif 0 < waiting <= max(1000, count // 20):
            memory["low"].append({"waiting": waiting, **stack.rss_mb()})
        if time.monotonic() - started > 3600:
            raise SystemExit("backfill did not finish within an hour")
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    log = stack.requests_log("ac_big")
    graphql = log["by_endpoint"].get("POST /api/3/ecom/graphql", 0) - graphql_before

    def peak(rows: list[dict[str, float]], name: str) -> float:
        return round(max((r[name] for r in rows), default=float("nan")), 1)

    return {
        "orders": count,
        "seconds": round(elapsed, 1),
        "orders_per_second": round(count / elapsed, 1),
        "graphql_requests": graphql,
        "orders_per_graphql_request": round(count / max(1, graphql), 1),
        "ac_requests": log["total"] - calls_before,
        "memory_mb": {
            "while_waiting_high": {
                "samples": len(memory["high"]),
                "worker": peak(memory["high"], "worker"),
                "writer": peak(memory["high"], "writer"),
            },
            "while_waiting_low": {
                "samples": len(memory["low"]),
                "worker": peak(memory["low"], "worker"),
                "writer": peak(memory["low"], "writer"),
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--carts", type=int, default=500)
    parser.add_argument("--small-orders", type=int, default=20)
    parser.add_argument("--small-delay", type=float, default=30.0)
    parser.add_argument("--idle", type=int, default=30)
    parser.add_argument("--backfill", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp), args.concurrency)
        try:
            results = {"flash_sale": flash_sale(stack, args.orders, args.carts, args.small_orders, args.small_delay)}
            print("flash sale:", results["flash_sale"], flush=True)
            results["idle"] = idle(stack, args.idle, 0.7)
            print("idle:", results["idle"], flush=True)
            if args.backfill:
                results["backfill"] = backfill(stack, args.backfill)
                print("backfill:", results["backfill"], flush=True)
        finally:
            stack.close()


if __name__ == "__main__":
    main()
