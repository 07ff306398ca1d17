"""Configuration shared by every process (ingest, workers, writer, console): the stores file and the
process environment.

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
    """Every setting of every process: the stores file and the environment (:data:`ENVIRONMENT`).

    Built in one place, :func:`load_settings` (or :func:`environment_settings` where no stores file is
    needed), and passed down; nothing else reads the environment.
    """

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
    visibility_timeout: int = 600
    retry_base_seconds: float = 2.0
    retry_cap_seconds: float = 900.0
    max_attempts: int = 10
    sweep_interval_seconds: float = 15.0
    sweep_grace_seconds: float = 300.0
    worker_metrics_port: int | None = None
    worker_metrics_addr: str = "0.0.0.0"  # noqa: S104 - metrics are scraped from other hosts
    writer_metrics_port: int | None = None
    metrics_dir: str | None = None
    public_url: str | None = None
    hooks_autorepair: bool = False
    ingest_bind: str = "127.0.0.1:8080"
    ingest_workers: int = 0  # 0: two per core
    ingest_worker_class: str = "ingest.worker.BufferingWorker"
    ingest_threads: int = 1
    ingest_max_connections: int = 1000
    ingest_read_deadline: float = 10.0
    console_bind: str = "127.0.0.1:8090"
    console_workers: int = 2
    console_threads: int = 4
    # the console's key and logins: optional here (ingest and workers run without them), required by
    # console.settings.console_settings; never in a repr
    console_secret_key: str | None = field(default=None, repr=False)
    console_users: str | None = field(default=None, repr=False)  # name:role:hash;... (console.settings)
    console_insecure_cookies: bool | None = False  # empty (None) is the default, Secure cookies
    console_session_hours: float = 8.0
    console_proxy_hops: int = 0

    @property
    def durability(self) -> Durability:
        default = Durability.default_for(self.redis_url)
        replicas = default.min_replicas if self.redis_min_replicas is None else self.redis_min_replicas
        return Durability(min_replicas=replicas, timeout_ms=self.redis_wait_ms)


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: the Settings field it fills, how it is read, its default, what it does."""

    name: str
    field: str
    kind: str  # "str", "int", "float", "flag" ("1" or "0"); a trailing "?" means empty is None
    default: Any
    doc: str
    minimum: float | None = None  # numbers only, like maximum: the least value allowed
    maximum: float | None = None  # the greatest value allowed
    exclusive_minimum: bool = False  # True: the value must be more than the minimum, not equal to it


ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar("ACSYNC_STORES", "stores_path", "str", "stores.toml", 'the stores file (README, "Configuration")'),
    EnvVar(
        "REDIS_URL",
        "redis_url",
        "str",
        "redis://localhost:6379/0",
        "`redis://host:6379/0`, or Sentinels: `sentinel://[:password@]h1:26379,h2:26379/<master>/<db>`"
        "[`?sentinel_password=`] (docs/reliability.md)",
    ),
    EnvVar(
        "ACSYNC_REDIS_MIN_REPLICAS",
        "redis_min_replicas",
        "int?",
        None,
        "replicas that must confirm a hook before its 200, else it is also spooled; empty: 1 with Sentinel, else 0",
        minimum=0,
    ),
    EnvVar("ACSYNC_REDIS_WAIT_MS", "redis_wait_ms", "int", 200, "how long ingest waits for those replicas", minimum=1),
    EnvVar("SENTRY_DSN", "sentry_dsn", "str?", None, "Sentry project (e-mails and tokens are scrubbed)"),
    EnvVar("ACSYNC_LOG_LEVEL", "log_level", "str", "INFO", "DEBUG, INFO, WARNING or ERROR"),
    EnvVar(
        "ACSYNC_MAX_BODY_BYTES", "max_body_bytes", "int", 256 * 1024, "largest hook body (413 past it)", minimum=1024
    ),
    EnvVar(
        "ACSYNC_DEDUPE_WINDOW_SECONDS",
        "dedupe_window_seconds",
        "int",
        24 * 3600,
        "how long a hook's dedupe key is kept",
        minimum=60,
    ),
    EnvVar(
        "ACSYNC_SPOOL_PATH",
        "spool_path",
        "str?",
        "acsync-spool.db",
        "SQLite file for hooks accepted while Redis is down; empty: answer 503 instead",
    ),
    EnvVar("ACSYNC_INGEST_BIND", "ingest_bind", "str", "127.0.0.1:8080", "ingest's address (gunicorn)"),
    EnvVar("ACSYNC_INGEST_WORKERS", "ingest_workers", "int", 0, "ingest processes; 0: two per core", minimum=0),
    EnvVar(
        "ACSYNC_INGEST_WORKER_CLASS",
        "ingest_worker_class",
        "str",
        "ingest.worker.BufferingWorker",
        "gunicorn worker class (`sync` and `gthread` also work)",
    ),
    EnvVar("ACSYNC_INGEST_THREADS", "ingest_threads", "int", 1, "threads per ingest process (gthread)", minimum=1),
    EnvVar(
        "ACSYNC_INGEST_MAX_CONNECTIONS",
        "ingest_max_connections",
        "int",
        1000,
        "open connections per ingest process, slow ones included",
        minimum=1,
    ),
    EnvVar(
        "ACSYNC_INGEST_READ_DEADLINE",
        "ingest_read_deadline",
        "float",
        10.0,
        "seconds from accept for a whole request, else 408 and closed",
        minimum=0.1,
    ),
    EnvVar(
        "ACSYNC_CONSOLE_BIND",
        "console_bind",
        "str",
        "127.0.0.1:8090",
        "the console's address (gunicorn; the console's set-up: docs/operations.md, The console)",
    ),
    EnvVar("ACSYNC_CONSOLE_WORKERS", "console_workers", "int", 2, "console processes", minimum=1),
    EnvVar("ACSYNC_CONSOLE_THREADS", "console_threads", "int", 4, "threads per console process", minimum=1),
    EnvVar(
        "ACSYNC_CONSOLE_SECRET_KEY",
        "console_secret_key",
        "str?",
        None,
        "the console's session and CSRF key, 32 or more random characters (required by the console)",
    ),
    EnvVar(
        "ACSYNC_CONSOLE_USERS",
        "console_users",
        "str?",
        None,
        "the console's logins, `name:role:hash;...` (required by the console; `acsync console hash-password`)",
    ),
    EnvVar(
        "ACSYNC_CONSOLE_INSECURE_COOKIES",
        "console_insecure_cookies",
        "flag?",
        False,
        "1: the console's cookies are not `Secure`, for plain http on your own machine only",
    ),
    EnvVar(
        "ACSYNC_CONSOLE_SESSION_HOURS",
        "console_session_hours",
        "float",
        8.0,
        "how long a console login lasts (more than 0, at most 168)",
        minimum=0.0,
        maximum=24 * 7,
        exclusive_minimum=True,
    ),
    EnvVar(
        "ACSYNC_CONSOLE_PROXY_HOPS",
        "console_proxy_hops",
        "int",
        0,
        "reverse proxies in front of the console whose `X-Forwarded-For`/`-Proto` it trusts (0 to 5)",
        minimum=0,
        maximum=5,
    ),
    EnvVar(
        "ACSYNC_RETRY_BASE_SECONDS",
        "retry_base_seconds",
        "float",
        2.0,
        "first retry backoff (full jitter)",
        minimum=0.0,
    ),
    EnvVar(
        "ACSYNC_RETRY_CAP_SECONDS",
        "retry_cap_seconds",
        "float",
        900.0,
        "longest retry backoff (at most 900)",
        minimum=0.0,
    ),
    EnvVar("ACSYNC_MAX_ATTEMPTS", "max_attempts", "int", 10, "attempts before an event is dead-lettered", minimum=1),
    EnvVar(
        "ACSYNC_VISIBILITY_TIMEOUT",
        "visibility_timeout",
        "int",
        600,
        "seconds before Redis redelivers an unacknowledged message (twice the task's hard time limit)",
        minimum=10,
    ),
    EnvVar(
        "ACSYNC_SWEEP_INTERVAL_SECONDS",
        "sweep_interval_seconds",
        "float",
        15.0,
        "how often the pending ledger's sweeper runs",
        minimum=1.0,
    ),
    EnvVar(
        "ACSYNC_SWEEP_GRACE_SECONDS",
        "sweep_grace_seconds",
        "float",
        300.0,
        "how long an event may be due and not started before the sweeper pushes it again",
        minimum=1.0,
    ),
    EnvVar("ACSYNC_WORKER_METRICS_PORT", "worker_metrics_port", "int?", None, "a worker's /metrics port", minimum=1),
    EnvVar("ACSYNC_WORKER_METRICS_ADDR", "worker_metrics_addr", "str", "0.0.0.0", "the address it listens on"),  # noqa: S104
    EnvVar("ACSYNC_WRITER_METRICS_PORT", "writer_metrics_port", "int?", None, "a writer's /metrics port", minimum=1),
    EnvVar(
        "PROMETHEUS_MULTIPROC_DIR",
        "metrics_dir",
        "str?",
        None,
        "prometheus-client's multiprocess directory (set before a worker starts; ingest makes its own)",
    ),
    EnvVar("ACSYNC_PUBLIC_URL", "public_url", "str?", None, "ingest's public URL, for the VTEX order hook"),
    EnvVar(
        "ACSYNC_HOOKS_AUTOREPAIR",
        "hooks_autorepair",
        "flag",
        False,
        "1: beat re-creates a missing or wrong VTEX order hook (needs ACSYNC_PUBLIC_URL)",
    ),
)


def _read(var: EnvVar, raw: str | None) -> Any:
    optional = var.kind.endswith("?")
    kind = var.kind.rstrip("?")
    if raw is None or (optional and raw.strip() == ""):
        return None if optional and raw is not None else var.default
    raw = raw.strip()
    if kind == "str":
        return raw
    if kind == "flag":
        if raw not in ("0", "1"):
            raise ConfigError(f"{var.name}: {raw!r} is not 0 or 1")
        return raw == "1"
    try:
        value = int(raw) if kind == "int" else float(raw)
    except ValueError:
        raise ConfigError(f"{var.name}: {raw!r} is not {'an integer' if kind == 'int' else 'a number'}") from None
    if var.minimum is not None and var.exclusive_minimum and value <= var.minimum:
        raise ConfigError(f"{var.name}: {raw} is not above the minimum, {var.minimum:g}")
    if var.minimum is not None and value < var.minimum:
        raise ConfigError(f"{var.name}: {raw} is below the minimum, {var.minimum:g}")
    if var.maximum is not None and value > var.maximum:
        raise ConfigError(f"{var.name}: {raw} is above the maximum, {var.maximum:g}")
    return value


def read_environment(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Settings fields the environment gives (every :data:`ENVIRONMENT` variable), validated."""
    env = os.environ if env is None else env
    values = {var.field: _read(var, env.get(var.name)) for var in ENVIRONMENT}
    if "ACSYNC_LOG_LEVEL" not in env and env.get("LOG_LEVEL"):  # the older name
        values["log_level"] = env["LOG_LEVEL"].strip()
    values["log_level"] = values["log_level"].upper()
    if values["log_level"] not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"ACSYNC_LOG_LEVEL: {values['log_level']!r} is not a log level")
    try:
        redis_connection.validate_url(values["redis_url"])
    except redis_connection.RedisURLError as exc:
        raise ConfigError(f"REDIS_URL: {exc}") from None
    return values


def environment_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment alone, without the stores file (gunicorn's configuration, the Celery
    application at import): the stores come with :func:`load_settings`."""
    return Settings(stores={}, **read_environment(env))


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
    """All settings: the environment (:data:`ENVIRONMENT`) and the stores file it names."""
    env = os.environ if env is None else env
    values = read_environment(env)
    return Settings(stores=load_stores(values["stores_path"], env), **values)


def environment_table() -> str:
    """The Markdown table of :data:`ENVIRONMENT` (docs/operations.md, kept true by a test)."""
    rows = ["| variable | default | what it sets |", "|---|---|---|"]
    for var in ENVIRONMENT:
        default = "(none)" if var.default in (None, "") else f"`{var.default}`"
        if isinstance(var.default, bool):
            default = f"`{int(var.default)}`"
        rows.append(f"| `{var.name}` | {default} | {var.doc} |")
    return "\n".join(rows)


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
