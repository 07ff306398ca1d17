"""Pipeline benchmark: real Redis, real Celery workers, both sandboxes on loopback.

    .venv/bin/python bench/pipeline.py [--orders 150] [--concurrency 4]

Run 1 (rate limited): the AC sandbox enforces 5 requests/second. A warm-up gives 30 customers one
order each; then phase A replays orders from those returning customers only (AC calls per returning
order), and phase B a synthetic day: orders with 70 % returning customers, abandoned carts (some
recovered), customer updates, ~10 % duplicate hooks and late, out-of-order states. Reported: AC calls
per event and by endpoint (the writers batch several kinds' writes into one call, so calls are counted
where they land, not per kind), events/s achieved and the share of the account's 5 requests/second they used, 429s,
end-to-end latency p50/p99.

Run 2 (no rate limit, 50 ms sandbox latency): events per second per worker process.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acsync_core.events import Event
from bench.stack import BenchStack
from workers.vtex.sandbox import make_order

STORE = "benchstore"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Bench(BenchStack):
    def __init__(self, workdir: Path, rps: float | None, latency_ms: float, concurrency: int) -> None:
        super().__init__(workdir)
        self.start_sandboxes({"ac": ["--rps", str(rps or 0), "--latency-ms", str(latency_ms)]}, vtex_account=STORE)
        self.write_stores({STORE: self.store_table(STORE, "ac", requests_per_second=rps or 100)})
        self.start_worker(concurrency)
        self.start_writer()  # the ActiveCampaign side (bench/writers.py measures it)

    def seed(self, order: dict[str, Any]) -> None:
        self.session.post(self.urls["vtex"] + "/__sandbox/orders", json=order, timeout=5).raise_for_status()

    def post(self, kind: str, payload: dict[str, Any], dedupe: str) -> None:
        self.publisher.enqueue_once(
            Event(kind=kind, store=STORE, payload=payload, dedupe_key=dedupe), dedupe_ttl_seconds=3600
        )

    def order_event(self, order: dict[str, Any]) -> None:
        payload = {"OrderId": order["orderId"], "State": order["status"], "CurrentChange": order["lastChange"]}
        self.post("order", payload, f"{order['orderId']}|{order['status']}|{order['lastChange']}")

    def ac_log(self) -> dict[str, Any]:
        return self.session.get(self.urls["ac"] + "/__sandbox/requests", timeout=5).json()

    def drain(self, timeout: float = 900) -> float:
        deadline = time.monotonic() + timeout
        quiet = None
        while time.monotonic() < deadline:
            if self.busy() == 0:
                quiet = quiet or time.monotonic()
                if time.monotonic() - quiet > 1.0:
                    return quiet
            else:
                quiet = None
            time.sleep(0.1)
        raise RuntimeError("the queues did not drain")


def customer_email(n: int) -> str:
    return f"customer{n}@example.com"


def build_day(rng: random.Random, orders: int, returning: int) -> tuple[list[tuple[str, Any]], int]:
    """A synthetic day: (kind, spec) in arrival order, and how many distinct events it holds."""
    day: list[tuple[str, Any]] = []
    new_customer = 1000
    for n in range(orders):
        if rng.random() < 0.7:
            email = customer_email(rng.randrange(returning))
        else:
            email = customer_email(new_customer)
            new_customer += 1
        day.append(("order", (f"vday{n:04d}-01", email)))
        if rng.random() < 0.2:
            day.append(("invoice", f"vday{n:04d}-01"))  # a later state
    for n in range(orders // 5):
        day.append(("cart", (customer_email(2000 + n), f"add?sku={20 + n % 7}&qty={1 + n % 3}&seller=1&sc=1")))
    for n in range(orders // 5):
        day.append(("customer", customer_email(3000 + n)))
    rng.shuffle(day)
    distinct = len(day)
    for _ in range(len(day) // 10):  # ~10 % duplicates
        day.append(rng.choice(day[:distinct]))
    return day, distinct


def run_limited(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(42)
    bench = Bench(Path(tempfile.mkdtemp(prefix="acsync-bench-")), rps=5, latency_ms=0, concurrency=args.concurrency)
    try:
        returning = 30
        for n in range(returning):  # warm-up: every returning customer has ordered before
            order = make_order(f"vwarm{n:03d}-01", email=customer_email(n), created=T0, account=STORE)
            bench.seed(order)
            bench.order_event(order)
        bench.drain()

        calls_before = bench.ac_log()["total"]
        for n in range(args.returning_orders):  # phase A: only returning customers
            order = make_order(f"vret{n:04d}-01", email=customer_email(n % returning), created=T0, account=STORE)
            bench.seed(order)
            bench.order_event(order)
        bench.drain()
        returning_cost = (bench.ac_log()["total"] - calls_before) / args.returning_orders

        day, distinct = build_day(rng, args.orders, returning)
        seeded: dict[str, dict[str, Any]] = {}
        for kind, spec in day:
            if kind == "order" and spec[0] not in seeded:
                seeded[spec[0]] = make_order(spec[0], email=spec[1], created=T0 + timedelta(hours=1), account=STORE)
                bench.seed(seeded[spec[0]])
        totals_before = bench.stats.totals()
        log_before = bench.ac_log()
        started = time.monotonic()
        old_session = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
        for kind, spec in day:
            if kind == "order":
                bench.order_event(seeded[spec[0]])
            elif kind == "invoice":
                invoiced = {
                    **seeded[spec],
                    "status": "invoiced",
                    "lastChange": (T0 + timedelta(hours=3)).isoformat().replace("+00:00", ".5+00:00"),
                }
                bench.seed(invoiced)
                bench.order_event(invoiced)
                bench.order_event(seeded[spec])  # the older state again, late: must change nothing
            elif kind == "cart":
                email, cart = spec
                bench.post(
                    "cart",
                    {"email": email, "rclastcart": cart, "rclastsessiondate": old_session, "rclastcartvalue": "99.90"},
                    f"{email}|{cart}",
                )
            else:
                bench.post(
                    "customer",
                    {"email": spec, "firstName": "Cli", "lastName": "Ente", "updatedIn": T0.isoformat()},
                    f"{spec}",
                )
        finished = bench.drain()
        elapsed = finished - started
        totals = bench.stats.totals()
        log = bench.ac_log()
        delta = {k: v - totals_before.get(k, 0) for k, v in totals.items()}
        events = {kind: delta.get(f"events:{kind}", 0) for kind in ("order", "cart", "customer")}
        calls_by_endpoint = {
            endpoint: count - log_before["by_endpoint"].get(endpoint, 0)
            for endpoint, count in log["by_endpoint"].items()
            if count - log_before["by_endpoint"].get(endpoint, 0)
        }
        total_events = sum(events.values())
        total_calls = log["total"] - log_before["total"]
        calls_per_event = total_calls / total_events
        rate = total_events / elapsed
        too_many = sum(v for k, v in log["by_status"].items() if k.endswith(" 429"))
        return {
            "returning_order_calls": returning_cost,
            "events": events,
            "distinct_events_posted": distinct,
            "calls_per_event": calls_per_event,
            "calls_by_endpoint": calls_by_endpoint,
            "events_per_second": rate,
            "budget_share": total_calls / elapsed / 5.0,  # of the 5 requests/second the sandbox enforces
            "ac_calls_per_second": total_calls / elapsed,
            "ac_429s": too_many,
            "latency": {k: bench.stats.latency_percentiles(k) for k in ("order", "cart", "customer")},
            "dead_letters": bench.client.zcard("acsync:dlq:index"),
            "elapsed": elapsed,
        }
    finally:
        bench.close()


def run_unlimited(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(Path(tempfile.mkdtemp(prefix="acsync-bench-")), rps=None, latency_ms=50, concurrency=args.concurrency)
    try:
        orders = [
            make_order(f"vfree{n:04d}-01", email=customer_email(n % 40), created=T0, account=STORE)
            for n in range(args.unlimited_orders)
        ]
        for order in orders:
            bench.seed(order)
        started = time.monotonic()
        for order in orders:
            bench.order_event(order)
        elapsed = bench.drain() - started
        rate = len(orders) / elapsed
        outcomes = {k: v for k, v in bench.stats.totals().items() if k.startswith("outcome:")}
        return {
            "events_per_second": rate,
            "per_worker_process": rate / args.concurrency,
            "processes": args.concurrency,
            "elapsed": elapsed,
            "ac_calls": bench.ac_log()["total"],
            "outcomes": outcomes,
        }
    finally:
        bench.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=150, help="orders in the synthetic day")
    parser.add_argument("--returning-orders", type=int, default=40)
    parser.add_argument("--unlimited-orders", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4, help="prefork processes of the worker")
    args = parser.parse_args()
    limited = run_limited(args)
    print("# run 1: AC sandbox at 5 requests/second, prefork worker -c", args.concurrency)
    print(f"returning-customer order: {limited['returning_order_calls']:.3f} AC calls on average")
    print("events processed:", limited["events"], f"(distinct posted: {limited['distinct_events_posted']})")
    print(f"AC calls per event: {limited['calls_per_event']:.3f}; by endpoint: {limited['calls_by_endpoint']}")
    print(
        f"throughput: {limited['events_per_second']:.2f} events/s using "
        f"{limited['ac_calls_per_second']:.2f} AC calls/s ({limited['budget_share']:.2f} of the 5 per second allowed)"
    )
    print(f"429s received: {limited['ac_429s']}   dead letters: {limited['dead_letters']}")
    print("end-to-end latency (s):", {k: {p: round(x, 2) for p, x in v.items()} for k, v in limited["latency"].items()})
    unlimited = run_unlimited(args)
    print(f"# run 2: no rate limit, sandbox latency 50 ms, prefork worker -c {args.concurrency}")
    print(
        f"{unlimited['events_per_second']:.1f} order events/s = {unlimited['per_worker_process']:.1f} "
        f"per worker process ({unlimited['ac_calls']} AC calls in {unlimited['elapsed']:.1f}s; "
        f"outcomes {unlimited['outcomes']})"
    )


if __name__ == "__main__":
    main()
