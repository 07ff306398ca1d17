"""CPU per Redis round trip: redis-py's ``execute_command`` against ``acsync_core.direct_redis``.

    .venv/bin/python bench/redis_call.py [--calls 20000]

Runs both on the same private Redis in one process, alternating, and prints the lowest CPU time of this
process per call (``time.process_time``: the client's cost, which is what ingest pays per hook) and
the ratio. Measured for PING and for the ingest's enqueue script with a realistic message.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acsync.localredis import start_private_redis
from acsync_core import stats
from acsync_core.direct_redis import DirectConnection, DirectScript
from acsync_core.publish import _ENQUEUE_ONCE

MESSAGE = b"x" * 1500  # the size of an order hook's Celery message


def cpu_per_call(fn: Callable[[int], object], calls: int) -> float:
    started = time.process_time()
    for n in range(calls):
        fn(n)
    return (time.process_time() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = start_private_redis()
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=1.0)
        direct = DirectConnection(client)
        pooled_script = client.register_script(_ENQUEUE_ONCE)
        direct_script = DirectScript(direct, _ENQUEUE_ONCE)

        def enqueue_args(n: int, who: str) -> tuple[list[str], list[object]]:
            """The keys and arguments TaskPublisher.enqueue_once gives the script (its order hooks' count too)."""
            now = time.time()
            return (
                [f"dedupe:{who}:{n}", "q", "pending", "messages", "started", stats.minute_key(now)],
                [f"id{n}", 60, MESSAGE, now, "q", stats.hooks_field("order", "benchstore"), stats.MINUTE_TTL],
            )

        cases: dict[str, dict[str, Callable[[int], object]]] = {
            "PING": {"redis-py": lambda n: client.ping(), "direct": lambda n: direct.execute("PING")},
            "enqueue script": {
                "redis-py": lambda n: pooled_script(*enqueue_args(n, "pool")),
                "direct": lambda n: direct_script(*enqueue_args(n, "direct")),
            },
        }
        for case, ways in cases.items():
            best = {way: float("inf") for way in ways}
            for _ in range(args.rounds):  # alternate, so that machine noise hits both
                for way, fn in ways.items():
                    best[way] = min(best[way], cpu_per_call(fn, args.calls))
            client.flushall()
            print(
                f"{case:15s} redis-py {best['redis-py']:6.1f} us  direct {best['direct']:6.1f} us  "
                f"ratio direct/redis-py {best['direct'] / best['redis-py']:.2f}"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
