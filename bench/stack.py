"""What bench/pipeline.py and bench/writers.py start alike: a private Redis, the sandboxes, a Celery worker and
an ActiveCampaign writer, as processes of one group that read the stores file the benchmark writes.

Imported by those scripts once they have put the repository on ``sys.path``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import redis
import requests

from acclient import ActiveCampaign, NoRateLimit
from acclient.sandbox import DEFAULT_TOKEN
from acsync.localredis import free_port, start_private_redis
from acsync.processes import ProcessGroup
from acsync_core.events import WORKER_QUEUES
from acsync_core.publish import TaskPublisher
from acsync_core.settings import render_stores_toml
from acsync_core.stats import Stats
from workers.outbox import waiting_writes
from workers.vtex.sandbox import DEFAULT_APP_KEY, DEFAULT_APP_TOKEN

ROOT = Path(__file__).resolve().parent.parent


class BenchStack:
    """A private Redis and a process group whose processes read ``workdir/stores.toml``; the sandboxes, the
    stores file, the worker and the writer come in that order (a store needs its AC connection first)."""

    def __init__(self, workdir: Path) -> None:
        self.redis_server = start_private_redis()
        self.client = redis.Redis.from_url(self.redis_server.url)
        self.stores_file = workdir / "stores.toml"
        env = {
            **os.environ,
            "REDIS_URL": self.redis_server.url,
            "ACSYNC_STORES": str(self.stores_file),
            "ACSYNC_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.group = ProcessGroup(log_dir=workdir / "logs", env=env)
        self.urls: dict[str, str] = {}
        self.publisher = TaskPublisher(self.client)
        self.stats = Stats(self.client)
        self.session = requests.Session()

    def start_sandboxes(self, ac: dict[str, list[str]], vtex_account: str) -> None:
        """AC sandboxes (name: options of ``acsync sandbox ac``) and the VTEX sandbox, started together;
        returns once every one answers. Their URLs are ``self.urls[name]`` and ``self.urls["vtex"]``."""
        commands = {name: ["acsync", "sandbox", "ac", *options] for name, options in ac.items()}
        commands["vtex"] = ["acsync", "sandbox", "vtex", "--account", vtex_account]
        for name, command in commands.items():
            port = free_port()
            self.urls[name] = f"http://127.0.0.1:{port}"
            self.group.python(name, [*command, "--port", str(port)])
        for name in ac:
            self.group.wait_http(name, self.urls[name] + "/__sandbox/state")
        self.group.wait_http("vtex", self.urls["vtex"] + "/__sandbox/requests")

    def store_table(self, store: str, ac: str, **activecampaign: Any) -> dict[str, Any]:
        """A store writing to the AC sandbox ``ac`` (its connection created there) and reading the VTEX one;
        ``activecampaign`` adds settings of its ActiveCampaign table (``requests_per_second``)."""
        connection = ActiveCampaign(
            api_url=self.urls[ac], api_token=DEFAULT_TOKEN, rate_limiter=NoRateLimit()
        ).connections.create(service="vtex", externalid=store, name=store, logo_url="https://l", link_url="https://k")
        return {
            "hook_secret": f"{store}-secret-0123456789",
            "store_url": f"https://www.{store}.com",
            "currency": "BRL",
            "abandoned_cart_min_age_minutes": 0,
            "activecampaign": {
                "api_url": self.urls[ac],
                "api_token": DEFAULT_TOKEN,
                "connection_id": int(connection["id"]),
                **activecampaign,
            },
            "vtex": {"app_key": DEFAULT_APP_KEY, "app_token": DEFAULT_APP_TOKEN, "api_url": self.urls["vtex"]},
        }

    def write_stores(self, tables: dict[str, dict[str, Any]]) -> None:
        self.stores_file.write_text(render_stores_toml(tables))

    def start_worker(self, concurrency: int) -> subprocess.Popen[bytes]:
        """A Celery worker on every worker queue, prefork with ``concurrency`` processes."""
        queues = ",".join(WORKER_QUEUES)
        command = ["celery", "-A", "workers", "worker", "-Q", queues, "-c", str(concurrency)]
        return self.group.python("worker", [*command, "--without-mingle", "--without-gossip", "-l", "WARNING"])

    def start_writer(self) -> subprocess.Popen[bytes]:
        """The ActiveCampaign writer process (``acsync writer``)."""
        return self.group.python("writer", ["acsync", "writer"])

    def busy(self) -> int:
        """Events not in ActiveCampaign yet: queued, held by a worker, or waiting in an outbox."""
        queued = sum(self.client.llen(q) for q in WORKER_QUEUES)
        return queued + self.client.hlen("unacked") + waiting_writes(self.client)

    def close(self) -> None:
        self.group.stop_all()
        self.redis_server.stop()
