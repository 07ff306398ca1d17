"""Slow clients: normal hooks while 100 connections trickle bytes to ingest, new configuration vs old.

    .venv/bin/python bench/slow_clients.py [--slow 100] [--seconds 20] [--rate 50]

Starts ingest as the README does (gunicorn -c python:ingest.gunicorn_conf 'ingest:create_app()', via
bench/ingest.py's start_gunicorn) against a private Redis, opens ``--slow`` connections that trickle
bytes (70 % send complete headers and then a POST body a byte every ~1 s that never completes, 30 %
send their headers a byte every ~1 s), and meanwhile sends normal hooks (``--rate`` a second, each on
its own connection, as VTEX sends them) for ``--seconds``. A trickler that the server cuts off is
replaced at once, so that ``--slow`` keep trickling for the whole run. Each hook waits at most 5 s for
its answer (VTEX's limit). Prints, per configuration, the p50/p99/max answer time of the normal hooks
(a hook never answered counts as slower than any answered one), how many were answered 200 within
1 s, and how the tricklers ended. The configurations: the current one (ingest/gunicorn_conf.py's
defaults) and the old one (sync workers, 2 x cores: ACSYNC_INGEST_WORKER_CLASS=sync).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acsync.localredis import free_port, start_private_redis
from bench.ingest import SECRET, ingest_env, start_gunicorn

HOOK_TIMEOUT = 5.0  # VTEX: answer within 5,000 ms
CONFIGS = {"new": {}, "old (sync x 2*cores)": {"ACSYNC_INGEST_WORKER_CLASS": "sync"}}


def order_hook(run: str, n: int) -> bytes:
    if n % 20 == 0:
        n -= 1  # a repeat: answered 200 as a duplicate
    body = (
        f'{{"Domain":"Marketplace","OrderId":"v{run}-{n}-01","State":"payment-approved",'
        f'"LastState":"payment-pending","LastChange":"2026-11-27T13:30:00.1234567Z",'
        f'"CurrentChange":"2026-11-27T13:30:01.1234567Z","Origin":{{"Account":"benchstore","Key":"k"}}}}'
    ).encode()
    return (
        b"POST /hooks/vtex/benchstore/orders HTTP/1.1\r\nHost: ingest\r\nContent-Type: application/json\r\n"
        b"X-Hook-Secret: " + SECRET.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


@dataclass
class Tally:
    hooks: list[tuple[float, int | None]] = field(default_factory=list)  # (seconds, status or None)
    cut_after: list[float] = field(default_factory=list)  # seconds from connect to the server closing a trickler
    cut_408: int = 0
    connects: int = 0


async def trickler(host: str, port: int, headers_only: bool, stop: asyncio.Event, tally: Tally) -> None:
    """One slow client, replaced whenever the server closes it, until ``stop``."""
    while not stop.is_set():
        request = order_hook("slow", random.randrange(1 << 30))
        head, _, _body = request.partition(b"\r\n\r\n")
        # the body trickler sends its headers whole (announcing the body), then the body a byte at a time
        first, rest = (b"", head + b"\r\n\r\n") if headers_only else (head + b"\r\n\r\n", _body)
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        tally.connects += 1
        started = time.monotonic()
        answered = asyncio.ensure_future(reader.read(64))
        try:
            if first:
                writer.write(first)
            for i in range(len(rest) - 1):  # never the last byte: the request never completes
                writer.write(rest[i : i + 1])
                await writer.drain()
                done, _ = await asyncio.wait([answered], timeout=random.uniform(0.8, 1.2))
                if done or stop.is_set():
                    break
        except OSError:
            pass
        if answered.done() and not stop.is_set():
            tally.cut_after.append(time.monotonic() - started)
            with_answer = answered.exception() is None and answered.result()
            tally.cut_408 += bool(with_answer and with_answer.startswith(b"HTTP/1.1 408"))
        answered.cancel()
        writer.close()


async def send_hook(host: str, port: int, request: bytes, tally: Tally) -> None:
    started = time.monotonic()
    status = None
    writer = None
    try:
        async with asyncio.timeout(HOOK_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            answer = await reader.read()  # the server closes after its answer
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else None
    except (TimeoutError, OSError, ValueError, IndexError):
        pass
    finally:
        if writer is not None:
            writer.close()
    tally.hooks.append((time.monotonic() - started if status is not None else math.inf, status))


async def run_load(port: int, slow: int, seconds: float, rate: float) -> Tally:
    tally = Tally()
    stop = asyncio.Event()
    host = "127.0.0.1"
    tricklers = [asyncio.ensure_future(trickler(host, port, i % 10 < 3, stop, tally)) for i in range(slow)]
    await asyncio.sleep(2.0)  # every trickler connected and holding its connection
    run = os.urandom(4).hex()
    hooks = []
    start = time.monotonic()
    for n in range(int(seconds * rate)):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        hooks.append(asyncio.ensure_future(send_hook(host, port, order_hook(run, n), tally)))
    await asyncio.gather(*hooks)
    stop.set()
    await asyncio.gather(*tricklers, return_exceptions=True)
    return tally


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def fmt(seconds: float) -> str:
    return f">{HOOK_TIMEOUT:.0f} s (none)" if math.isinf(seconds) else f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=100, help="trickling connections")
    parser.add_argument("--seconds", type=float, default=20, help="how long normal hooks are sent")
    parser.add_argument("--rate", type=float, default=50, help="normal hooks a second")
    parser.add_argument("--only", choices=["new", "old"], default=None)
    args = parser.parse_args()

    server = start_private_redis()
    workdir = Path(tempfile.mkdtemp(prefix="acsync-bench-slow-"))
    base_env = {**ingest_env(server.url, workdir, "INFO"), "ACSYNC_SPOOL_PATH": str(workdir / "spool.db")}
    for key in ("ACSYNC_INGEST_WORKER_CLASS", "ACSYNC_INGEST_THREADS"):
        base_env.pop(key, None)
    results: dict[str, Tally] = {}
    try:
        for name, extra in CONFIGS.items():
            if args.only and not name.startswith(args.only):
                continue
            env = {**base_env, **extra, "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="acsync-bench-metrics-")}
            port = free_port()
            process = start_gunicorn("ingest:create_app()", port, env)
            try:
                results[name] = asyncio.run(run_load(port, args.slow, args.seconds, args.rate))
            finally:
                process.terminate()
                process.wait(timeout=30)
    finally:
        server.stop()

    print(
        f"# {args.slow} trickling connections (70 % body, 30 % headers, a byte every ~1 s), {args.rate:.0f} normal "
        f"hooks/s for {args.seconds:.0f} s, each waiting at most {HOOK_TIMEOUT:.0f} s"
    )
    for name, tally in results.items():
        times = [t for t, _ in tally.hooks]
        ok_1s = sum(1 for t, s in tally.hooks if s == 200 and t <= 1.0)
        answered = [t for t in times if not math.isinf(t)]
        cuts = tally.cut_after
        print(
            f"{name:22s} hooks {len(times)}: answered 200 within 1 s {ok_1s} ({ok_1s / len(times):.1%}), "
            f"answered at all {len(answered)}; p50 {fmt(percentile(times, 50))}  p99 {fmt(percentile(times, 99))}  "
            f"max {fmt(max(times))}"
        )
        print(
            f"{'':22s} tricklers: {tally.connects} connections, {len(cuts)} cut off by the server "
            f"({tally.cut_408} with a 408)"
            + (f", after {min(cuts):.1f}-{max(cuts):.1f} s (median {statistics.median(cuts):.1f} s)" if cuts else "")
        )
    if len(results) == 2:
        new, old = results.values()
        new_ok, old_ok = (sum(1 for t, s in x.hooks if s == 200 and t <= 1.0) / len(x.hooks) for x in (new, old))
        print(f"answered 200 within 1 s: new {new_ok:.1%} vs old {old_ok:.1%}")


if __name__ == "__main__":
    main()
