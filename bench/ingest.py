"""Ingest benchmark: gunicorn + real Redis on loopback, driven by wrk with a realistic hook mix.

    .venv/bin/python bench/ingest.py [--seconds 10] [--connections 32] [--rounds 2]

Runs the bare baseline (bench/bare_app.py: parse JSON, answer 200) and the real ingest under the
same gunicorn settings (ingest/gunicorn_conf.py), alternating them ``--rounds`` times so that machine
noise hits both, and prints throughput, p50/p99 and the ratios. wrk comes from Debian's ``wrk``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acsync.localredis import free_port, start_private_redis

SECRET = "bench-secret-0123456789abcdef"
STORES = f"""
[stores.benchstore]
hook_secret = "{SECRET}"
store_url = "https://www.benchstore.com"
currency = "BRL"
[stores.benchstore.activecampaign]
api_url = "http://127.0.0.1:9"
api_token = "x"
connection_id = 1
[stores.benchstore.vtex]
app_key = "k"
app_token = "t"
"""


def ingest_env(redis_url: str, workdir: Path, log_level: str) -> dict[str, str]:
    """The environment gunicorn serves an app with here: the private Redis, and the bench store's stores
    file, written to ``workdir``."""
    (workdir / "stores.toml").write_text(STORES)
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "ACSYNC_STORES": str(workdir / "stores.toml"),
        "ACSYNC_LOG_LEVEL": log_level,
        "PYTHONPATH": str(ROOT),
    }


def start_gunicorn(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:ingest.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(ROOT),
        app,
    ]
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return process
        except requests.RequestException:  # refused while booting, or slow first import
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn {app} did not start")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def cpu_snapshot(gunicorn: subprocess.Popen[bytes], redis_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the gunicorn workers, the Redis server, and waited-for children (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "gunicorn": sum(_cpu_seconds(pid) for pid in [gunicorn.pid, *_children(gunicorn.pid)]),
        "redis": _cpu_seconds(redis_pid),
        "wrk": usage.ru_utime + usage.ru_stime,
    }


def run_wrk(port: int, seconds: int, connections: int, threads: int) -> dict[str, float]:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(ROOT / "bench" / "hooks.lua"),
        f"http://127.0.0.1:{port}",
    ]
    out = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BENCH_SECRET": SECRET, "BENCH_RUN": uuid.uuid4().hex[:8]},
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker-class", default=None, help="overrides ACSYNC_INGEST_WORKER_CLASS")
    parser.add_argument("--workers", default=None, help="overrides ACSYNC_INGEST_WORKERS")
    parser.add_argument("--threads-per-worker", default=None, help="overrides ACSYNC_INGEST_THREADS")
    parser.add_argument("--log-level", default="INFO", help="ACSYNC_LOG_LEVEL; INFO, the default, logs every hook")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")

    server = start_private_redis()
    env = ingest_env(server.url, Path(tempfile.mkdtemp(prefix="acsync-bench-")), args.log_level)
    for key, value in (
        ("ACSYNC_INGEST_WORKER_CLASS", args.worker_class),
        ("ACSYNC_INGEST_WORKERS", args.workers),
        ("ACSYNC_INGEST_THREADS", args.threads_per_worker),
    ):
        if value:
            env[key] = value
    apps = {"bare": "bench.bare_app:app", "ingest": "ingest:create_app()"}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in apps}
    try:
        for _ in range(args.rounds):
            for name, target in apps.items():
                port = free_port()
                env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="acsync-bench-metrics-")
                process = start_gunicorn(target, port, env)
                try:
                    run_wrk(port, 2, args.connections, args.threads)  # warm-up
                    before = cpu_snapshot(process, server.process.pid)
                    result = run_wrk(port, args.seconds, args.connections, args.threads)
                    after = cpu_snapshot(process, server.process.pid)
                    # CPU per accepted request, in microseconds, by process: where the 2 cores go
                    result["cpu_us"] = {k: (after[k] - before[k]) / result["requests"] * 1e6 for k in after}
                    results[name].append(result)
                finally:
                    process.terminate()
                    process.wait(timeout=30)
        queued = sum(
            redis.Redis.from_url(server.url).llen(q) for q in ("acsync.orders", "acsync.carts", "acsync.customers")
        )
    finally:
        server.stop()

    def best(name: str, key: str) -> float:
        values = [r[key] for r in results[name]]
        return max(values) if key == "rps" else min(values)

    from ingest import gunicorn_conf  # the configuration's default worker class, when not overridden

    worker_class = env.get("ACSYNC_INGEST_WORKER_CLASS", gunicorn_conf.worker_class)
    settings = (
        f"gunicorn {worker_class} x{env.get('ACSYNC_INGEST_WORKERS', 'default')}"
        f" threads={env.get('ACSYNC_INGEST_THREADS', '1')}, wrk -t{args.threads} -c{args.connections} "
        f"-d{args.seconds}s, {args.rounds} alternating rounds, log level {args.log_level}"
    )
    print(f"# {settings}")
    for name in apps:
        for r in results[name]:
            print(
                f"{name:7s} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                f"errors {r['errors']}  statuses {r['statuses']}"
            )
            cpu = r["cpu_us"]
            print(
                f"        CPU per request: gunicorn {cpu['gunicorn']:5.0f} us  redis {cpu['redis']:4.0f} us  "
                f"wrk {cpu['wrk']:4.0f} us  total {sum(cpu.values()):5.0f} us"
            )
    ratio = best("ingest", "rps") / best("bare", "rps")
    p99_ratio = best("ingest", "p99_ms") / best("bare", "p99_ms")
    print(f"throughput ratio ingest/bare (best of rounds): {ratio:.2f}   p99 ratio: {p99_ratio:.2f}")
    # each round ran bare then ingest back to back: their ratios show how much the noise moved
    pairs = list(zip(results["bare"], results["ingest"], strict=True))
    rps_pairs = sorted(i["rps"] / b["rps"] for b, i in pairs)
    p99_pairs = sorted(i["p99_ms"] / b["p99_ms"] for b, i in pairs)
    print(
        f"per round: throughput ratio {' '.join(f'{r:.2f}' for r in rps_pairs)} (median "
        f"{statistics.median(rps_pairs):.2f}), p99 ratio {' '.join(f'{r:.2f}' for r in p99_pairs)} (median "
        f"{statistics.median(p99_pairs):.2f})"
    )
    print(f"messages left in the queues: {queued}")


if __name__ == "__main__":
    main()
