"""Per-account outbox: what waits to be written to one ActiveCampaign account, coalesced by record.

Event tasks (which spend VTEX's budget) end by putting a *write* here; the account's writer
(``workers.writers``, which spends ActiveCampaign's budget) drains it. Nothing here calls ActiveCampaign.

Contract:

* A write is identified by ``(lane, key)``: ``("order", <VTEX order id>)``, ``("contact", <e-mail hash>)``,
  ... Putting a write whose key is already waiting replaces its payload (the latest state wins) and keeps
  its place in line, so several events of one order cost one ActiveCampaign write.
* Every put appends the event's summary (event id, kind, store, received time, and the whole event
  for dead-lettering) to the write's event list: the writer reports every event when the write lands.
* ``claim`` hands due writes to the writer and hides them for ``claim_seconds`` (a visibility timeout):
  a writer that dies mid-batch leaves them to come back on their own, or at once when the next writer
  takes over the account (``release_claims``). Writes are idempotent upserts or adopt their duplicate,
  so a write sent twice has one effect.
* ``complete`` removes a write only if no newer version arrived while it was in flight; otherwise the
  newer version becomes due at once. It returns the events the landed write covered.
* ``retry`` puts a claimed write back with a delay and counts an attempt; ``attempts`` reads the count.

Values are JSON; Decimal and GraphQL enum values survive the trip through ``encode``/``decode``.
All state lives in Redis under ``acsync:outbox:{<account hash>}:*`` (one hash tag per account).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import redis

LANES = ("order", "order_historical", "cart", "contact")
ACCOUNTS = "acsync:outbox:accounts"  # hash: account hash -> account key (the AC API URL)
MAX_EVENTS_PER_WRITE = 50  # the newest events of one record kept for reporting; older ones are counted only

_PUT = """
local version = redis.call('HINCRBY', KEYS[2], '__seq', 1)
local payload = ARGV[2]
if ARGV[8] == '1' then
  local current = redis.call('HGET', KEYS[1], ARGV[1])
  if current then
    local merged = cjson.decode(current)
    for name, value in pairs(cjson.decode(payload)) do merged[name] = value end
    payload = cjson.encode(merged)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], payload)
redis.call('HSET', KEYS[2], ARGV[1], version)
redis.call('RPUSH', KEYS[3], ARGV[3])
if redis.call('LLEN', KEYS[3]) > tonumber(ARGV[6]) then
  redis.call('LPOP', KEYS[3])
  redis.call('HINCRBY', KEYS[7], ARGV[1], 1)
end
redis.call('ZADD', KEYS[4], 'NX', ARGV[4], ARGV[1])
redis.call('LPUSH', KEYS[5], '1')
redis.call('LTRIM', KEYS[5], 0, 0)
redis.call('HSET', KEYS[6], ARGV[5], ARGV[7])
return version
"""
# KEYS: items, versions, events(key), due(lane), wake, accounts, overflow
# ARGV: key, payload, event summary, due time, account hash, max events, account key, merge (1: merge the
# top-level fields into the waiting payload instead of replacing it; flat payloads of strings and numbers only)

_CLAIM = """
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, key in ipairs(keys) do
  local payload = redis.call('HGET', KEYS[2], key)
  if payload then
    local version = redis.call('HGET', KEYS[3], key)
    local events = redis.call('LLEN', ARGV[4] .. key)
    redis.call('ZADD', KEYS[1], ARGV[2], key)
    redis.call('HSET', KEYS[4], key, version .. ':' .. events)
    table.insert(out, {key, payload, version, events})
  else
    redis.call('ZREM', KEYS[1], key)
  end
end
return out
"""
# KEYS: due(lane), items, versions, claimed; ARGV: now, hidden-until, limit, events key prefix

_COMPLETE = """
local key = ARGV[1]
local claimed_version = ARGV[2]
local count = tonumber(ARGV[3])
local events = {}
if count > 0 then
  events = redis.call('LPOP', KEYS[5], count) or {}
end
local overflow = tonumber(redis.call('HGET', KEYS[6], key) or '0')
redis.call('HDEL', KEYS[6], key)
redis.call('HDEL', KEYS[4], key)
redis.call('HDEL', KEYS[7], key)
if redis.call('HGET', KEYS[3], key) == claimed_version then
  redis.call('HDEL', KEYS[2], key)
  redis.call('HDEL', KEYS[3], key)
  redis.call('ZREM', KEYS[1], key)
  redis.call('DEL', KEYS[5])
else
  redis.call('ZADD', KEYS[1], ARGV[4], key)
end
table.insert(events, 1, tostring(overflow))
return events
"""
# KEYS: due(lane), items, versions, claimed, events(key), overflow, attempts
# ARGV: key, claimed version, events covered, now

_RETRY = """
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return redis.call('HINCRBY', KEYS[4], ARGV[1], tonumber(ARGV[3]))
end
return 0
"""
# KEYS: due(lane), claimed, versions, attempts; ARGV: key, due time, attempts to add (0 or 1)


def account_hash(account_key: str) -> str:
    return hashlib.sha256(account_key.encode()).hexdigest()[:12]


# ------------------------------------------------------------------------------------------- JSON codec
class Enum(str):
    """A GraphQL enum value (serialized bare, not as a string literal)."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": format(value, "f")}
    raise TypeError(f"cannot encode {type(value).__name__}")


def _tag_enums(value: Any) -> Any:
    if isinstance(value, Enum):
        return {"$enum": str(value)}
    if isinstance(value, dict):
        return {k: _tag_enums(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tag_enums(v) for v in value]
    return value


def _untag(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$decimal" in value:
            return Decimal(value["$decimal"])
        if len(value) == 1 and "$enum" in value:
            return Enum(value["$enum"])
        return {k: _untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untag(v) for v in value]
    return value


def encode(value: Any) -> bytes:
    """JSON with Decimal (exact text) and Enum tagged, so that money never passes through float."""
    return orjson.dumps(_tag_enums(value), default=_default)


def decode(raw: bytes | str) -> Any:
    return _untag(orjson.loads(raw))


# ------------------------------------------------------------------------------------------- the outbox
@dataclass(frozen=True)
class Claimed:
    """A write handed to the writer: payload as put, its version and how many events it covers."""

    lane: str
    key: str
    payload: dict[str, Any]
    version: str
    events: int

    @property
    def token(self) -> str:
        return f"{self.version}:{self.events}"


@dataclass(frozen=True)
class Completed:
    events: list[dict[str, Any]]
    overflow: int  # events of this write beyond MAX_EVENTS_PER_WRITE, counted but not kept


class Outbox:
    """One ActiveCampaign account's outbox (see the module docstring for the contract)."""

    def __init__(self, client: redis.Redis, account_key: str) -> None:
        self.client = client
        self.account_key = account_key
        self.account = account_hash(account_key)
        prefix = f"acsync:outbox:{{{self.account}}}:"
        self.prefix = prefix
        self.items = prefix + "items"
        self.versions = prefix + "versions"
        self.claimed = prefix + "claimed"
        self.attempts_key = prefix + "attempts"
        self.overflow = prefix + "overflow"
        self.wake = prefix + "wake"
        self.events_prefix = prefix + "events:"
        self._put = client.register_script(_PUT)
        self._claim = client.register_script(_CLAIM)
        self._complete = client.register_script(_COMPLETE)
        self._retry = client.register_script(_RETRY)

    def due_key(self, lane: str) -> str:
        if lane not in LANES:
            raise ValueError(f"unknown outbox lane {lane!r}")
        return self.prefix + "due:" + lane

    @staticmethod
    def item_key(lane: str, key: str) -> str:
        return f"{lane}|{key}"

    # -------------------------------------------------------------- producers (event tasks)
    def put(
        self,
        lane: str,
        key: str,
        payload: dict[str, Any],
        event: dict[str, Any],
        *,
        due: float | None = None,
        merge: bool = False,
        pipe: redis.client.Pipeline | None = None,
    ) -> Any:
        """Queue (or replace) the write ``(lane, key)``; ``event`` is the event dict it comes from.

        ``merge`` folds the payload's fields into a waiting one (contacts: names from a cart trigger must
        not erase a phone or a list subscription from a customer trigger still waiting).
        With ``pipe`` the script is added to that pipeline (so it commits with the caller's other writes).
        """
        item = self.item_key(lane, key)
        summary = {
            "event_id": event["event_id"],
            "kind": event["kind"],
            "store": event["store"],
            "received_at": event["received_at"],
            "event": event,
        }
        return self._put(
            keys=[
                self.items,
                self.versions,
                self.events_prefix + item,
                self.due_key(lane),
                self.wake,
                ACCOUNTS,
                self.overflow,
            ],
            args=[
                item,
                encode(payload),
                orjson.dumps(summary),
                time.time() if due is None else due,
                self.account,
                MAX_EVENTS_PER_WRITE,
                self.account_key,
                "1" if merge else "0",
            ],
            client=pipe if pipe is not None else self.client,
        )

    # -------------------------------------------------------------- the writer
    def claim(self, lane: str, limit: int, *, claim_seconds: float = 120.0, now: float | None = None) -> list[Claimed]:
        now = time.time() if now is None else now
        rows = self._claim(
            keys=[self.due_key(lane), self.items, self.versions, self.claimed],
            args=[now, now + claim_seconds, limit, self.events_prefix],
        )
        out = []
        for raw_key, payload, version, events in rows:
            item = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            out.append(
                Claimed(
                    lane=lane,
                    key=item.split("|", 1)[1],
                    payload=decode(payload),
                    version=version.decode() if isinstance(version, bytes) else str(version),
                    events=int(events),
                )
            )
        return out

    def complete(self, claimed: Claimed, *, now: float | None = None) -> Completed:
        item = self.item_key(claimed.lane, claimed.key)
        rows = self._complete(
            keys=[
                self.due_key(claimed.lane),
                self.items,
                self.versions,
                self.claimed,
                self.events_prefix + item,
                self.overflow,
                self.attempts_key,
            ],
            args=[item, claimed.version, claimed.events, time.time() if now is None else now],
        )
        overflow = int(rows[0])
        return Completed(events=[orjson.loads(r) for r in rows[1:]], overflow=overflow)

    def retry(self, claimed: Claimed, delay: float, *, count: bool = True, now: float | None = None) -> int:
        """Put a claimed write back, due in ``delay`` seconds; returns the attempts counted so far.

        ``count=False`` defers without using up an attempt (a budget was spent, nothing failed).
        """
        item = self.item_key(claimed.lane, claimed.key)
        due = (time.time() if now is None else now) + max(0.0, delay)
        return int(
            self._retry(
                keys=[self.due_key(claimed.lane), self.claimed, self.versions, self.attempts_key],
                args=[item, due, 1 if count else 0],
            )
        )

    def latest_event(self, claimed: Claimed) -> dict[str, Any] | None:
        """The summary of the newest event the write covers (None once it is gone)."""
        raw = self.client.lindex(self.events_prefix + self.item_key(claimed.lane, claimed.key), -1)
        return orjson.loads(raw) if raw else None

    def attempts(self, claimed: Claimed) -> int:
        return int(self.client.hget(self.attempts_key, self.item_key(claimed.lane, claimed.key)) or 0)

    def release_claims(self, *, now: float | None = None) -> int:
        """Make every claimed write due at once (a new writer took the account over)."""
        now = time.time() if now is None else now
        claimed = [k.decode() if isinstance(k, bytes) else k for k in self.client.hkeys(self.claimed)]
        pipe = self.client.pipeline()
        for item in claimed:
            pipe.zadd(self.due_key(item.split("|", 1)[0]), {item: now})
            pipe.hdel(self.claimed, item)
        pipe.execute()
        return len(claimed)

    def next_due(self, lanes: Iterable[str] = LANES) -> float | None:
        """When the earliest waiting write is due (None when the outbox is empty)."""
        best: float | None = None
        for lane in lanes:
            first = self.client.zrange(self.due_key(lane), 0, 0, withscores=True)
            if first:
                due = float(first[0][1])
                best = due if best is None else min(best, due)
        return best

    def wait_for_work(self, timeout: float) -> None:
        """Block until a producer puts a write or ``timeout`` passes (the idle writer's sleep)."""
        if timeout <= 0:
            return
        self.client.blpop([self.wake], timeout=max(0.01, timeout))

    # -------------------------------------------------------------- reading
    def depth(self) -> dict[str, int]:
        pipe = self.client.pipeline(transaction=False)
        for lane in LANES:
            pipe.zcard(self.due_key(lane))
        return dict(zip(LANES, (int(n) for n in pipe.execute()), strict=True))

    def in_flight(self) -> int:
        return int(self.client.hlen(self.claimed))


def known_accounts(client: redis.Redis) -> dict[str, str]:
    """Account hash -> account key of every account that ever had an outbox (for stats and metrics)."""
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in client.hgetall(ACCOUNTS).items()
    }


def total_depth(client: redis.Redis, accounts: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
    keys = accounts if accounts is not None else list(known_accounts(client).values())
    return {key: Outbox(client, key).depth() for key in keys}


def waiting_writes(client: redis.Redis) -> int:
    """Writes waiting or in flight in every account's outbox (0: every outbox is drained)."""
    total = 0
    for key in known_accounts(client).values():
        box = Outbox(client, key)
        total += sum(box.depth().values()) + box.in_flight()
    return total
