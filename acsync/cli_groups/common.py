"""What the operator commands share: the settings, the --store option, output, exit codes, clients."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
import redis

from acclient import ActiveCampaign
from acsync_core import redis_connection
from acsync_core.settings import ConfigError, Settings, StoreConfig, load_settings
from workers.ratelimit import RedisRateLimiter

F = TypeVar("F", bound=Callable[..., Any])  # a click command function, before click.command wraps it


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {exc}") from None


def store_option(func: F) -> F:
    return click.option("--store", "store_name", required=True, help="The store (VTEX account) in the stores file.")(
        func
    )


def get_store(config: Settings, name: str) -> StoreConfig:
    if name not in config.stores:
        raise click.UsageError(f"store {name!r} is not in {config.stores_path} (known: {', '.join(config.stores)})")
    return config.stores[name]


def emit(data: Any, as_json: bool, human: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else human)


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def redis_client(config: Settings) -> redis.Redis:
    client = redis_connection.connect(config.redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        fail(f"Redis at {redis_connection.redact(config.redis_url)} is unreachable: {exc.__class__.__name__}")
    return client


def ac_client(store: StoreConfig, config: Settings) -> ActiveCampaign:
    """A client that takes its requests from the account's shared budget, like the workers do;
    with Redis unreachable (first-time setup) it falls back to acclient's in-process limiter."""
    limiter = None
    client = redis_connection.connect(config.redis_url, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
        limiter = RedisRateLimiter(client, store.ac_account_key, store.activecampaign.requests_per_second)
    except redis.RedisError:
        pass
    return ActiveCampaign(
        api_url=store.activecampaign.api_url, api_token=store.activecampaign.api_token, rate_limiter=limiter
    )
