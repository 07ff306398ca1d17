"""The VTEX order hook this service expects, and what differs from it (for ops and the beat check)."""

from __future__ import annotations

import logging
import os
from typing import Any

import workers
from workers.config import StoreConfig
from workers.vtex import VTEXClient, VTEXError

log = logging.getLogger("acsync.hooks")

HOOK_SECRET_HEADER = "X-Hook-Secret"  # noqa: S105 - a header name
CHECK_INTERVAL_SECONDS = 3600


def wanted_hook(store: StoreConfig, public_url: str) -> dict[str, Any]:
    statuses = sorted({*store.order_states, "canceled"})
    return {"filter": {"type": "FromWorkflow", "status": statuses},
            "hook": {"url": public_url.rstrip("/") + f"/hooks/vtex/{store.name}/orders",
                     "headers": {HOOK_SECRET_HEADER: store.hook_secret}}}


def hook_problems(current: dict[str, Any] | None, wanted: dict[str, Any]) -> list[str]:
    if not current:
        return ["no order hook is configured (VTEX deletes hooks after 3 days without notifications)"]
    problems = []
    hook = current.get("hook") or {}
    if hook.get("url") != wanted["hook"]["url"]:
        problems.append(f"hook url is {hook.get('url')!r}, expected {wanted['hook']['url']!r}")
    if (hook.get("headers") or {}).get(HOOK_SECRET_HEADER) != wanted["hook"]["headers"][HOOK_SECRET_HEADER]:
        problems.append(f"the {HOOK_SECRET_HEADER} header is missing or differs from the stores file")
    missing = set(wanted["filter"]["status"]) - set((current.get("filter") or {}).get("status") or [])
    if missing:
        problems.append(f"the status filter lacks {sorted(missing)}")
    return problems


def vtex_for(store: StoreConfig) -> VTEXClient:
    return VTEXClient(api_url=store.vtex.api_url, app_key=store.vtex.app_key, app_token=store.vtex.app_token)


@workers.app.task(name="acsync.check_hooks", ignore_result=True)
def check_hooks() -> dict[str, list[str]]:
    """Celery beat, hourly: warn when a store's order hook is gone; re-create it when allowed.

    Re-creation needs ACSYNC_PUBLIC_URL and ACSYNC_HOOKS_AUTOREPAIR=1 (off by default: a wrong URL
    would silently steal another environment's hook).
    """
    from workers.runtime import get_runtime

    runtime = get_runtime()
    public_url = os.environ.get("ACSYNC_PUBLIC_URL")
    repair = os.environ.get("ACSYNC_HOOKS_AUTOREPAIR") == "1" and bool(public_url)
    found: dict[str, list[str]] = {}
    for store in runtime.settings.stores.values():
        vtex = vtex_for(store)
        try:
            current = vtex.get_hook_config()
        except VTEXError as exc:
            log.warning("could not read the order hook of %s: %s", store.name, exc)
            continue
        wanted = wanted_hook(store, public_url or "")
        problems = hook_problems(current, wanted) if public_url else ([] if current else hook_problems(None, wanted))
        if not problems:
            continue
        found[store.name] = problems
        runtime.stats.incr(f"hook_problems:{store.name}")
        log.warning("order hook of %s: %s", store.name, "; ".join(problems))
        if repair:
            vtex.set_hook_config(wanted)
            log.warning("order hook of %s re-created", store.name)
    return found
