from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import redis

from acsync_core.events import QUEUE_FOR_KIND
from ingest import create_app
from tests.factories import SECRETS, make_settings


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
