"""Configuration shared by ingest and workers: the stores file and the process environment.

The stores file (TOML, ``ACSYNC_STORES``, default ``./stores.toml``) has one table per VTEX account.
Secrets may be written as ``env:NAME``. A bad file stops start-up with ``ConfigError`` naming the
store and the key, e.g. ``stores.mystore.activecampaign.api_token: environment variable
MYSTORE_AC_TOKEN is not set``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import EXCLUDE, RAISE, Schema, fields, post_load, validate
from marshmallow import ValidationError as SchemaError

from acsync_core import redis_connection
from acsync_core.redis_connection import Durability

DEFAULT_ORDER_STATES = (
    "payment-approved",
    "window-to-cancel",
    "ready-for-handling",
    "start-handling",
    "handling",
    "invoice",
    "invoiced",
)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the store and the key."""


@dataclass(frozen=True)
class ACSettings:
    api_url: str
    api_token: str = field(repr=False)
    connection_id: int
    # AC allows 5 per account, shared with the store's other integrations: leave them one a second
    requests_per_second: float = 4.0
    list_id: int | None = None  # subscribe opted-in customers to this list


@dataclass(frozen=True)
class VTEXSettings:
    app_key: str = field(repr=False)
    app_token: str = field(repr=False)
    api_url: str


@dataclass(frozen=True)
class StoreConfig:
    name: str
    hook_secret: str = field(repr=False)
    store_url: str
    currency: str
    abandoned_cart_min_age_minutes: int
    activecampaign: ACSettings
    vtex: VTEXSettings
    order_states: tuple[str, ...] = DEFAULT_ORDER_STATES
    on_cancel: str = "delete"  # or "keep": what a canceled VTEX order does to its AC order
    # IANA name: Master Data dates that carry no UTC offset (rclastsessiondate) are read in it
    timezone: str = "UTC"
    # "skip" or "sync": orders the store fulfils for another marketplace (origin "Fulfillment",
    # an affiliateId and a marketplaceOrderId; their buyer belongs to that marketplace)
    marketplace_orders: str = "skip"

    @property
    def ac_account_key(self) -> str:
        """Identifies one AC account (the rate-limit budget): several stores may share it."""
        return self.activecampaign.api_url.rstrip("/").lower()


@dataclass(frozen=True)
class Settings:
    stores: Mapping[str, StoreConfig]
    redis_url: str = "redis://localhost:6379/0"
    sentry_dsn: str | None = None
    log_level: str = "INFO"
    max_body_bytes: int = 256 * 1024
    dedupe_window_seconds: int = 24 * 3600
    stores_path: str = "stores.toml"
    spool_path: str | None = None  # SQLite file for hooks accepted while Redis is down (None: answer 503)
    # replicas that must hold an accepted hook before it is answered 200 (None: 1 with Sentinel, else 0)
    redis_min_replicas: int | None = None
    redis_wait_ms: int = 200  # how long ingest waits for them before it also spools the hook

    @property
    def durability(self) -> Durability:
        default = Durability.default_for(self.redis_url)
        replicas = default.min_replicas if self.redis_min_replicas is None else self.redis_min_replicas
        return Durability(min_replicas=replicas, timeout_ms=self.redis_wait_ms)


def _url(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.URL(schemes={"http", "https"}, require_tld=False), **kwargs)


class _ACSchema(Schema):
    class Meta:
        unknown = RAISE

    api_url = _url(required=True)
    api_token = fields.String(required=True, validate=validate.Length(min=1))
    connection_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    requests_per_second = fields.Float(load_default=4.0, validate=validate.Range(min=0.1, max=100))
    list_id = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1))

    @post_load
    def build(self, data: dict[str, Any], **_: Any) -> ACSettings:
        return ACSettings(**data)


class _VTEXSchema(Schema):
    class Meta:
        unknown = RAISE

    app_key = fields.String(required=True, validate=validate.Length(min=1))
    app_token = fields.String(required=True, validate=validate.Length(min=1))
    api_url = _url(load_default=None)


def _iana_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: an absolute or relative path, not a key
        raise SchemaError("must be an IANA time zone name such as America/Sao_Paulo or UTC") from None


class _StoreSchema(Schema):
    class Meta:
        unknown = RAISE

    hook_secret = fields.String(required=True, validate=validate.Length(min=16, error="must be at least 16 characters"))
    store_url = _url(required=True)
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code"))
    abandoned_cart_min_age_minutes = fields.Integer(load_default=60, strict=True, validate=validate.Range(min=0))
    order_states = fields.List(
        fields.String(validate=validate.Length(min=1)),
        load_default=list(DEFAULT_ORDER_STATES),
        validate=validate.Length(min=1),
    )
    on_cancel = fields.String(load_default="delete", validate=validate.OneOf(["delete", "keep"]))
    timezone = fields.String(load_default="UTC", validate=_iana_timezone)
    marketplace_orders = fields.String(load_default="skip", validate=validate.OneOf(["skip", "sync"]))
    activecampaign = fields.Nested(_ACSchema, required=True)
    vtex = fields.Nested(_VTEXSchema, required=True)


class _FileSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    stores = fields.Dict(
        keys=fields.String(
            validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]*$", error="store names are VTEX account names")
        ),
        values=fields.Nested(_StoreSchema),
        required=True,
    )


def _resolve_env(value: Any, path: str, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _resolve_env(v, f"{path}.{k}", env) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, f"{path}[{i}]", env) for i, v in enumerate(value)]
    if isinstance(value, str) and value.startswith("env:"):
        name = value[4:]
        if not env.get(name):
            raise ConfigError(f"{path}: environment variable {name} is not set")
        return env[name]
    return value


def _flatten(messages: Any, prefix: str) -> list[str]:
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            # marshmallow reports dict-value errors as {"store": {"value": {...}}}; drop the noise
            name = prefix if key == "value" else f"{prefix}.{key}" if prefix else str(key)
            out += _flatten(value, name)
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {' '.join(messages)}"]
    return [f"{prefix}: {messages}"]


def parse_stores(raw: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, StoreConfig]:
    resolved = _resolve_env(dict(raw), "", env)
    resolved = {k.lstrip("."): v for k, v in resolved.items()}
    try:
        loaded = _FileSchema().load(resolved)
    except SchemaError as exc:
        raise ConfigError("; ".join(sorted(_flatten(exc.messages, "")))) from None
    stores: dict[str, StoreConfig] = {}
    for name, data in loaded["stores"].items():
        vtex = data["vtex"]
        stores[name] = StoreConfig(
            name=name,
            hook_secret=data["hook_secret"],
            store_url=data["store_url"].rstrip("/"),
            currency=data["currency"],
            abandoned_cart_min_age_minutes=data["abandoned_cart_min_age_minutes"],
            activecampaign=data["activecampaign"],
            vtex=VTEXSettings(
                app_key=vtex["app_key"],
                app_token=vtex["app_token"],
                api_url=(vtex["api_url"] or f"https://{name}.vtexcommercestable.com.br").rstrip("/"),
            ),
            order_states=tuple(data["order_states"]),
            on_cancel=data["on_cancel"],
            timezone=data["timezone"],
            marketplace_orders=data["marketplace_orders"],
        )
    if not stores:
        raise ConfigError("stores: the file defines no [stores.<name>] table")
    return stores


def load_stores(path: str | Path, env: Mapping[str, str] | None = None) -> dict[str, StoreConfig]:
    env = os.environ if env is None else env
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: stores file not found (set ACSYNC_STORES)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_stores(raw, env)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    path = env.get("ACSYNC_STORES", "stores.toml")
    try:
        max_body = int(env.get("ACSYNC_MAX_BODY_BYTES", 256 * 1024))
        window = int(env.get("ACSYNC_DEDUPE_WINDOW_SECONDS", 24 * 3600))
        min_replicas = int(env["ACSYNC_REDIS_MIN_REPLICAS"]) if env.get("ACSYNC_REDIS_MIN_REPLICAS") else None
        wait_ms = int(env.get("ACSYNC_REDIS_WAIT_MS", 200))
    except ValueError as exc:
        raise ConfigError(f"environment: {exc}") from None
    if (min_replicas is not None and min_replicas < 0) or wait_ms < 1:
        raise ConfigError("environment: ACSYNC_REDIS_MIN_REPLICAS must be >= 0 and ACSYNC_REDIS_WAIT_MS >= 1")
    redis_url = env.get("REDIS_URL", "redis://localhost:6379/0")
    try:
        redis_connection.validate_url(redis_url)
    except redis_connection.RedisURLError as exc:
        raise ConfigError(f"REDIS_URL: {exc}") from None
    return Settings(
        stores=load_stores(path, env),
        redis_url=redis_url,
        sentry_dsn=env.get("SENTRY_DSN") or None,
        log_level=env.get("ACSYNC_LOG_LEVEL", env.get("LOG_LEVEL", "INFO")).upper(),
        max_body_bytes=max_body,
        dedupe_window_seconds=window,
        stores_path=str(path),
        spool_path=env.get("ACSYNC_SPOOL_PATH", "acsync-spool.db") or None,
        redis_min_replicas=min_replicas,
        redis_wait_ms=wait_ms,
    )


def render_stores_toml(stores: Mapping[str, Mapping[str, Any]]) -> str:
    """Write a stores file (the shape ``load_stores`` reads) from plain tables: demo runs and tests."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []
    for name, table in stores.items():
        lines.append(f"[stores.{name}]")
        nested = {k: v for k, v in table.items() if isinstance(v, Mapping)}
        lines += [f"{k} = {value(v)}" for k, v in table.items() if k not in nested]
        for section, items in nested.items():
            lines.append(f"\n[stores.{name}.{section}]")
            lines += [f"{k} = {value(v)}" for k, v in items.items() if v is not None]
        lines.append("")
    return "\n".join(lines)
