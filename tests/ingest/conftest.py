from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from acsync import commands
from acsync.localredis import free_port
from acsync.processes import ProcessGroup
from acsync_core.events import QUEUE_FOR_KIND
from acsync_core.settings import render_stores_toml
from ingest import create_app
from tests.factories import SECRETS, make_settings, store_table


@pytest.fixture
def settings(redis_url):
    return make_settings(redis_url)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def auth(store: str = "mystore") -> dict[str, str]:
    return {"X-Hook-Secret": SECRETS[store]}


def queued(client_: redis.Redis, kind: str) -> list[dict[str, Any]]:
    """Decode the Celery messages waiting in a kind's queue: [{task, id, event}]."""
    out = []
    for raw in reversed(client_.lrange(QUEUE_FOR_KIND[kind], 0, -1)):
        envelope = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        out.append(
            {
                "task": envelope["headers"]["task"],
                "id": envelope["headers"]["id"],
                "event": args[0],
                "argsrepr": envelope["headers"]["argsrepr"],
            }
        )
    return out


def queue_total(client_: redis.Redis) -> int:
    return sum(client_.llen(q) for q in QUEUE_FOR_KIND.values())


@contextlib.contextmanager
def running_ingest(redis_url: str, tmp_path: Path, **env: str | None) -> Iterator[str]:
    """gunicorn ingest as the README starts it (two workers, mystore, the spool at tmp_path/spool.db) on a free
    port: its base URL. ``env`` adds variables, or removes those given as None."""
    (tmp_path / "stores.toml").write_text(render_stores_toml({"mystore": store_table("mystore")}))
    port = free_port()
    environment = {
        **os.environ,
        "REDIS_URL": redis_url,
        "ACSYNC_STORES": str(tmp_path / "stores.toml"),
        "ACSYNC_INGEST_BIND": f"127.0.0.1:{port}",
        "ACSYNC_INGEST_WORKERS": "2",
        "ACSYNC_SPOOL_PATH": str(tmp_path / "spool.db"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "ACSYNC_LOG_LEVEL": "WARNING",
    }
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    group = ProcessGroup(log_dir=tmp_path / "logs", env=environment)
    group.start("ingest", commands.INGEST)
    try:
        group.wait_http("ingest", f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        group.stop_all()
