"""The VTEX order hook this service expects, and what differs from it (for ops and the beat check)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.typing import EncodableT, FieldT

import workers
from acsync_core.settings import StoreConfig
from workers.vtex import VTEXClient, VTEXError

log = logging.getLogger("acsync.hooks")

HOOK_SECRET_HEADER = "X-Hook-Secret"  # noqa: S105 - a header name
CHECK_INTERVAL_SECONDS = 3600
HEALTH = "acsync:hooks:health"  # hash: store -> {"checked_at", "ok", "problems"} of the last beat check


def safe_url(url: Any) -> str:
    """A hook URL fit for logs and the console: no user:password@, no query string or fragment (a
    hook URL of somebody else's may carry a token there)."""
    if not isinstance(url, str):
        return repr(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable url>"
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "…" if parts.query else "", ""))


def wanted_hook(store: StoreConfig, public_url: str) -> dict[str, Any]:
    statuses = sorted({*store.order_states, "canceled"})
    return {
        "filter": {"type": "FromWorkflow", "status": statuses},
        "hook": {
            "url": public_url.rstrip("/") + f"/hooks/vtex/{store.name}/orders",
            "headers": {HOOK_SECRET_HEADER: store.hook_secret},
        },
    }


def hook_problems(current: dict[str, Any] | None, wanted: dict[str, Any]) -> list[str]:
    if not current:
        return ["no order hook is configured (VTEX deletes hooks after 3 days without notifications)"]
    problems = []
    hook = current.get("hook") or {}
    if hook.get("url") != wanted["hook"]["url"]:
        problems.append(f"hook url is {safe_url(hook.get('url'))!r}, expected {safe_url(wanted['hook']['url'])!r}")
    if (hook.get("headers") or {}).get(HOOK_SECRET_HEADER) != wanted["hook"]["headers"][HOOK_SECRET_HEADER]:
        problems.append(f"the {HOOK_SECRET_HEADER} header is missing or differs from the stores file")
    missing = set(wanted["filter"]["status"]) - set((current.get("filter") or {}).get("status") or [])
    if missing:
        problems.append(f"the status filter lacks {sorted(missing)}")
    return problems


def vtex_for(store: StoreConfig) -> VTEXClient:
    return VTEXClient(api_url=store.vtex.api_url, app_key=store.vtex.app_key, app_token=store.vtex.app_token)


def without_secret(problems: list[str], secret: str) -> list[str]:
    """hook_problems' messages name no secret (the header's problem says only that it differs, URLs lose
    their query); should a hook URL carry the store's secret in its path, it is masked too."""
    return [p.replace(secret, "***") if secret else p for p in problems]


def record_health(
    client: redis.Redis,
    results: dict[str, list[str]],
    *,
    repaired: set[str] | frozenset[str] = frozenset(),
    at: float | None = None,
) -> None:
    """Store each store's check result in ``acsync:hooks:health`` in one round trip: ``{"checked_at",
    "ok", "problems"}`` (``ok``: no problem), plus ``"repaired": true`` when the check re-created the hook."""
    if not results:
        return
    checked_at = time.time() if at is None else at
    values: dict[FieldT, EncodableT] = {}  # hset's Mapping is invariant in its key: dict[str, str] is refused
    for store, problems in results.items():
        value: dict[str, Any] = {"checked_at": checked_at, "ok": not problems, "problems": list(problems)}
        if store in repaired:
            value["repaired"] = True
        values[store] = json.dumps(value)
    client.hset(HEALTH, mapping=values)


def hook_health(client: redis.Redis) -> dict[str, dict[str, Any]]:
    """Store -> the last beat check of its order hook: ``{"checked_at", "ok", "problems"}``."""
    return {(k.decode() if isinstance(k, bytes) else k): json.loads(v) for k, v in client.hgetall(HEALTH).items()}


@workers.app.task(name="acsync.check_hooks", ignore_result=True)
def check_hooks() -> dict[str, list[str]]:
    """Celery beat, hourly: warn when a store's order hook is gone; re-create it when allowed.

    Re-creation needs ACSYNC_PUBLIC_URL and ACSYNC_HOOKS_AUTOREPAIR=1 (off by default: a wrong URL
    would silently steal another environment's hook).
    """
    from workers.runtime import get_runtime

    runtime = get_runtime()
    public_url = runtime.settings.public_url
    repair = runtime.settings.hooks_autorepair and bool(public_url)
    found: dict[str, list[str]] = {}
    health: dict[str, list[str]] = {}  # what acsync:hooks:health keeps for the console
    repaired: set[str] = set()
    for store in runtime.settings.stores.values():
        vtex = vtex_for(store)
        try:
            current = vtex.get_hook_config()
        except VTEXError as exc:
            log.warning("could not read the order hook of %s: %s", store.name, exc)
            status = f" (HTTP {exc.status})" if exc.status else ""
            health[store.name] = [f"could not read the order hook from VTEX: {exc.__class__.__name__}{status}"]
            continue
        wanted = wanted_hook(store, public_url or "")
        problems = hook_problems(current, wanted) if public_url else ([] if current else hook_problems(None, wanted))
        problems = without_secret(problems, store.hook_secret)
        health[store.name] = problems
        if not problems:
            continue
        found[store.name] = problems
        runtime.stats.incr(f"hook_problems:{store.name}")
        log.warning("order hook of %s: %s", store.name, "; ".join(problems))
        if repair:
            vtex.set_hook_config(wanted)
            repaired.add(store.name)
            log.warning("order hook of %s re-created", store.name)
    record_health(runtime.redis, health, repaired=repaired)
    return found


def configure_hook(store: StoreConfig, public_url: str) -> dict[str, Any]:
    """Point the store's VTEX order hook at ingest (``acsync hooks configure``); returns the
    configuration sent, secret included. Raises VTEXError when VTEX refuses it."""
    wanted = wanted_hook(store, public_url)
    vtex_for(store).set_hook_config(wanted)
    return wanted


def masked_hook(config: dict[str, Any]) -> dict[str, Any]:
    """A hook configuration fit to print: the secret header's value replaced by ``***``."""
    return {**config, "hook": {**config["hook"], "headers": {HOOK_SECRET_HEADER: "***"}}}


def hook_status(store: StoreConfig, public_url: str) -> list[str]:
    """What differs between the store's VTEX order hook and the expected one (``acsync hooks status``);
    empty when it is as expected. Raises VTEXError when VTEX cannot be read."""
    return hook_problems(vtex_for(store).get_hook_config(), wanted_hook(store, public_url))
