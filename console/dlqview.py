"""The dead-letter queue as the console filters it and acts on it, on top of ``workers.dlq``'s public API.

Filters are those of ``acsync dlq`` (store, kind, age: ``workers.dlq_ops.make_filter``) plus the reason and
``as_of``: an action confirmed on a page acts only on entries that were already dead when the page
showed the count, so an entry that dies meanwhile is never replayed or purged unseen.

``DeadLetterQueue`` has ``purge(filters)`` but no purge of chosen entries (by id, or by reason), so
``purge`` here removes given entries with the same two writes (the entry and its index), in one Lua
script that skips any entry no longer dead (replayed meanwhile by someone else). ``replay`` is
``workers.dlq_ops.replay``, the loop ``acsync dlq replay`` runs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from acsync_core.events import KINDS
from workers.dlq import ENTRIES, INDEX, DeadLetterQueue, DLQFilter
from workers.dlq_ops import ReplayResult as ReplayResult  # the console's replay is acsync dlq replay's
from workers.dlq_ops import make_filter, parse_age
from workers.dlq_ops import replay as replay

STORE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_REASON_LENGTH = 200

_PURGE = """
local purged = {}
for _, id in ipairs(ARGV) do
  if redis.call('ZSCORE', KEYS[2], id) then
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    table.insert(purged, id)
  end
end
return purged
"""


class FilterError(ValueError):
    """A filter from the page cannot be used; the message says which field and why."""


@dataclass(frozen=True)
class DLQQuery:
    store: str | None = None
    kind: str | None = None
    reason: str | None = None
    older_than: str | None = None  # "30m", "2h", "1d": as acsync dlq --older-than
    newer_than: str | None = None
    as_of: float | None = None  # only entries dead at or before this time (the confirmation's count)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> DLQQuery:
        def get(name: str) -> str | None:
            value = (args.get(name) or "").strip()
            return value or None

        store, kind, reason = get("store"), get("kind"), get("reason")
        if store is not None and not STORE_RE.match(store):
            raise FilterError("store: a VTEX account name (lower-case letters, digits and -)")
        if kind is not None and kind not in KINDS:
            raise FilterError(f"kind: one of {', '.join(KINDS)}")
        if reason is not None and len(reason) > MAX_REASON_LENGTH:
            raise FilterError(f"reason: at most {MAX_REASON_LENGTH} characters")
        ages = {}
        for name in ("older_than", "newer_than"):
            try:
                parse_age(get(name))
            except ValueError:
                raise FilterError(f"{name.replace('_', ' ')}: a number and s, m, h or d, e.g. 30m or 2d") from None
            ages[name] = get(name)
        as_of = None
        if get("as_of") is not None:
            try:
                as_of = float(get("as_of") or "")
            except ValueError:
                raise FilterError("as_of: a time in seconds") from None
        return cls(store=store, kind=kind, reason=reason, as_of=as_of, **ages)

    def dlq_filter(self) -> DLQFilter:
        return make_filter(self.store, self.kind, self.older_than, self.newer_than)

    def matches(self, entry: Mapping[str, Any]) -> bool:
        """What ``DLQFilter`` does not check: the reason and ``as_of``."""
        if self.reason is not None and entry.get("reason") != self.reason:
            return False
        return self.as_of is None or float(entry["dead_at"]) <= self.as_of

    def args(self, *, with_as_of: bool = True) -> dict[str, str]:
        """The non-empty fields, for links and hidden form fields."""
        out = {k: str(v) for k, v in asdict(self).items() if v is not None}
        if not with_as_of:
            out.pop("as_of", None)
        return out

    def describe(self) -> dict[str, Any]:
        """The filter as the audit log records it."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @property
    def is_empty(self) -> bool:
        return not self.args(with_as_of=False)


@dataclass
class Listing:
    entries: list[dict[str, Any]]
    total: int  # entries matching the filter, of which ``entries`` are the first (newest)
    reasons: list[tuple[str, int]]  # every reason among the matching entries, most frequent first
    stores: list[str] = field(default_factory=list)


def find(dlq: DeadLetterQueue, query: DLQQuery) -> list[dict[str, Any]]:
    """Every dead entry matching ``query``, newest first."""
    return [e for e in dlq.list(query.dlq_filter(), limit=None) if query.matches(e)]


def listing(dlq: DeadLetterQueue, query: DLQQuery, limit: int = 100) -> Listing:
    matching = find(dlq, query)
    # the reasons offered are those of the other filters' entries, so choosing one never leaves an empty list
    others = matching if query.reason is None else find(dlq, DLQQuery(**{**asdict(query), "reason": None}))
    reasons = Counter(e["reason"] for e in others).most_common()
    stores = sorted({e["store"] for e in others})
    return Listing(entries=matching[:limit], total=len(matching), reasons=reasons, stores=stores)


def counts_by_store(dlq: DeadLetterQueue) -> dict[str, int]:
    return dict(Counter(e["store"] for e in dlq.list(None, limit=None)))


def purge(client: redis.Redis, entry_ids: Iterable[str], *, chunk: int = 500) -> list[str]:
    """Delete the given entries that are still dead; returns the ids deleted."""
    script = client.register_script(_PURGE)
    ids = list(entry_ids)
    purged: list[str] = []
    for start in range(0, len(ids), chunk):
        rows = script(keys=[ENTRIES, INDEX], args=ids[start : start + chunk])
        purged += [r.decode() if isinstance(r, bytes) else r for r in rows]
    return purged
