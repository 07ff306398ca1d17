"""Observability shared by ingest and workers: Sentry, with e-mails, tokens and secrets scrubbed, and
prometheus-client's multiprocess mode (gunicorn's workers and Celery's prefork children each write metric
files to one directory, which ``/metrics`` sums).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, multiprocess

from acsync_core.logs import scrub

log = logging.getLogger("acsync")

SENSITIVE_KEYS = (
    "token",
    "secret",
    "password",
    "authorization",
    "api-token",
    "appkey",
    "app_key",
    "apptoken",
    "email",
    "cookie",
    "hook",
)


def _clean(value: Any, depth: int = 0) -> Any:
    if depth > 12:
        return "[truncated]"
    if isinstance(value, dict):
        return {
            k: ("[Filtered]" if any(s in str(k).lower() for s in SENSITIVE_KEYS) else _clean(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(v, depth + 1) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Remove e-mails, tokens and secrets from everything a Sentry event carries."""
    cleaned: dict[str, Any] = _clean(event)  # a dict stays a dict
    return cleaned


def init_sentry(dsn: str | None, *, component: str, transport: Any = None) -> bool:
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration

    options: dict[str, Any] = {
        "dsn": dsn,
        "before_send": before_send,
        "integrations": [FlaskIntegration(), CeleryIntegration()],
        "server_name": component,
        "max_request_body_size": "never",
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    sentry_sdk.set_tag("component", component)
    log.info("sentry enabled")
    return True


# prometheus-client's multiprocess functions carry no annotations: these are the same functions, declared
# with the signatures used here
_collect_files: Callable[[CollectorRegistry, str], object] = multiprocess.MultiProcessCollector
_forget_process: Callable[[int], None] = multiprocess.mark_process_dead


def multiprocess_registry(path: str) -> CollectorRegistry:
    """A registry that sums the metric files every process writes to ``path`` (PROMETHEUS_MULTIPROC_DIR)."""
    registry = CollectorRegistry()
    _collect_files(registry, path)  # the collector registers itself
    return registry


def mark_process_dead(pid: int) -> None:
    """Drop the live-only gauges of a process that exited (gunicorn's ``child_exit``)."""
    _forget_process(pid)
