"""Who replayed, purged or revealed what, and when: a log line and a capped Redis list.

Every operator action writes one structured line (logger ``acsync.console.audit``: ``user``, ``action``,
``entry_id`` or ``filter``, ``count``, ``ip``) and one entry at the head of ``acsync:console:audit``
(the newest ``AUDIT_MAX`` are kept), which the audit page shows. The line is written even when Redis
cannot take the entry, so the log is the record of last resort.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis

from acsync_core.logs import log_context

AUDIT_KEY = "acsync:console:audit"
AUDIT_MAX = 10_000
ACTIONS = ("replay", "purge", "reveal")  # logins are logged by console.views.auth, not kept here

log = logging.getLogger("acsync.console.audit")


class AuditLog:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def record(
        self,
        user: str,
        action: str,
        *,
        entry_id: str | None = None,
        filter: dict[str, Any] | None = None,  # noqa: A002
        count: int | None = None,
        ip: str | None = None,
        **detail: Any,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {"at": time.time(), "user": user, "action": action}
        for name, value in (("entry_id", entry_id), ("filter", filter), ("count", count), ("ip", ip)):
            if value is not None:
                entry[name] = value
        entry.update({k: v for k, v in detail.items() if v is not None})
        what = f"entry {entry_id}" if entry_id else f"filter {json.dumps(filter, sort_keys=True)}" if filter else ""
        with log_context(**{k: v for k, v in entry.items() if k != "at"}):
            log.info(
                "console %s by %s%s%s",
                action,
                user,
                f" of {what}" if what else "",
                f": {count}" if count is not None else "",
                extra={"audit": entry},
            )
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.lpush(AUDIT_KEY, json.dumps(entry, sort_keys=True))
            pipe.ltrim(AUDIT_KEY, 0, AUDIT_MAX - 1)
            pipe.execute()
        except redis.RedisError:
            log.exception("the audit entry could not be written to Redis (the log line above is the record)")
        return entry

    def recent(self, limit: int = 200, *, actions: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        rows = [json.loads(raw) for raw in self.client.lrange(AUDIT_KEY, 0, AUDIT_MAX - 1 if actions else limit - 1)]
        if actions:
            rows = [r for r in rows if r.get("action") in actions][:limit]
        return rows

    def for_entry(self, entry_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The operator actions on one dead letter, newest first (a replay by filter names every entry)."""
        out = []
        for raw in self.client.lrange(AUDIT_KEY, 0, AUDIT_MAX - 1):
            row = json.loads(raw)
            if row.get("entry_id") == entry_id or entry_id in row.get("entries", ()):
                out.append(row)
                if len(out) >= limit:
                    break
        return out
