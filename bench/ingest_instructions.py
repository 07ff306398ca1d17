"""Instructions per hook request, counted by valgrind: a measure that machine noise does not move.

    apt-get install valgrind
    .venv/bin/python bench/ingest_instructions.py [--requests 300] [--kind orders]

bench/ingest.py measures what users see (req/s, latency under gunicorn), but on a shared 2-core VM
its absolute numbers drift by ±30 % within minutes. This counts the CPU instructions the Python
process executes per request instead (``valgrind --tool=callgrind``; user space only, so the
kernel's share of a Redis round trip is not in it), which repeats to within a fraction of a percent.
Each app handles the same mix of order, cart and customer hooks through its WSGI callable in one
process, against a private Redis; start-up is cancelled out by subtracting a run with no requests.
``--kind`` serves only one kind of hook (``orders``, ``carts`` or ``customers``) instead of the mix.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-0123456789abcdef"
KINDS = ("orders", "carts", "customers")


def hook_bodies(n: int) -> list[tuple[str, bytes]]:
    """The order, cart and customer hooks of bench/hooks.lua, unique per ``n``."""
    tag = f"{uuid.uuid4().hex[:8]}-{n}"
    order = {
        "Domain": "Marketplace",
        "OrderId": f"v{tag}-01",
        "State": "payment-approved",
        "LastState": "payment-pending",
        "LastChange": "2026-11-27T13:30:00.1234567Z",
        "CurrentChange": "2026-11-27T13:30:01.1234567Z",
        "Origin": {"Account": "benchstore", "Key": "vtexappkey-x"},
    }
    cart = {
        "rclastcart": f"add?sku={n}&qty=1&seller=1&sc=1",
        "rclastcartvalue": "129.90",
        "rclastsession": "s",
        "rclastsessiondate": "2026-11-27T12:00:00.1234567Z",
        "email": f"c{tag}@example.com",
        "userId": "u",
        "firstName": "Ana",
        "lastName": "Silva",
        "localeDefault": "pt-BR",
        "id": "cl",
        "accountId": "a",
        "accountName": "benchstore",
        "dataEntityId": "CL",
        "createdBy": "x",
        "createdIn": "",
        "updatedBy": "x",
        "updatedIn": "2026-11-27T12:01:00Z",
        "lastInteractionBy": "x",
        "lastInteractionIn": "",
    }
    customer = {
        "email": f"p{tag}@example.com",
        "firstName": "Bo",
        "lastName": "Souza",
        "phone": "+55 11 99999-0000",
        "userId": f"u{tag}",
        "isNewsletterOptIn": "true",
        "id": "cl",
        "updatedIn": "2026-11-27T12:00:00Z",
    }
    return [
        (f"/hooks/vtex/benchstore/{kind}", json.dumps(body).encode())
        for kind, body in (("orders", order), ("carts", cart), ("customers", customer))
    ]


def wsgi_environ(path: str, body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_HOOK_SECRET": SECRET,
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "REMOTE_ADDR": "127.0.0.1",
    }


def child(app_name: str, rounds: int, kinds: tuple[str, ...]) -> None:
    """Build the app, warm it up, then serve ``rounds`` x len(kinds) requests (what valgrind's difference keeps)."""
    if app_name == "ingest":
        import ingest

        app = ingest.create_app()
    else:
        from bench.bare_app import app
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        statuses.append(status)

    def serve(requests: list[tuple[str, bytes]]) -> None:
        for path, body in requests:
            for _chunk in app(wsgi_environ(path, body), start_response):
                pass

    def bodies(n: int) -> list[tuple[str, bytes]]:
        return [(path, body) for path, body in hook_bodies(n) if path.rsplit("/", 1)[1] in kinds]

    serve([r for n in range(10) for r in bodies(n)])
    workload = [r for n in range(300) for r in bodies(1000 + n)]  # built in both runs: cancels out
    serve(workload[: rounds * len(kinds)])
    if any(not s.startswith("200") for s in statuses):  # VTEX's contract: 200 for every accepted hook
        raise SystemExit(f"unexpected answers: {sorted(set(statuses))}")


def instructions(app_name: str, rounds: int, kind: str, env: dict[str, str]) -> int:
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        app_name,
        "--requests",
        str(rounds * 3),
        "--kind",
        kind,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    match = re.search(r"Collected : (\d+)", out.stderr)
    if not match:
        raise RuntimeError(out.stderr[-2000:])
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="per app, a multiple of 3 (at most 900)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--kind",
        choices=("mix", *KINDS),
        default="mix",
        help="serve only this kind of hook (default: orders, carts and customers in turn)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rounds = min(args.requests // 3, 300)
    kinds = KINDS if args.kind == "mix" else (args.kind,)
    if args.child:
        child(args.child, rounds, kinds)
        return
    if not shutil.which("valgrind"):
        sys.exit("valgrind not found: apt-get install valgrind")

    from acsync.localredis import start_private_redis
    from bench.ingest import STORES

    server = start_private_redis()
    workdir = Path(tempfile.mkdtemp(prefix="acsync-bench-"))
    (workdir / "stores.toml").write_text(STORES)
    (workdir / "metrics").mkdir()
    env = {
        **os.environ,
        "REDIS_URL": server.url,
        "ACSYNC_STORES": str(workdir / "stores.toml"),
        "ACSYNC_LOG_LEVEL": args.log_level,
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
        "PYTHONPATH": str(ROOT),
        "PYTHONHASHSEED": "0",
    }  # hash seed: repeatable counts
    try:
        per_request = {}
        for app_name in ("bare", "ingest"):
            base = instructions(app_name, 0, args.kind, env)
            loaded = instructions(app_name, rounds, args.kind, env)
            per_request[app_name] = (loaded - base) / (rounds * len(kinds))
    finally:
        server.stop()
    served = "orders, carts, customers in turn" if args.kind == "mix" else args.kind
    print(f"# {rounds * len(kinds)} requests per app ({served}), log level {args.log_level}")
    for app_name, count in per_request.items():
        print(f"{app_name:7s} {count:12,.0f} instructions per request")
    print(f"ingest / bare: {per_request['ingest'] / per_request['bare']:.2f}")


if __name__ == "__main__":
    main()
