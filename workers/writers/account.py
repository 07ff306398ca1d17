"""The writer of one ActiveCampaign account: drains that account's outbox, and only that one.

Each step does one unit of work so that no lane waits behind another: the customer index of a new
connection (a page), then live orders, carts and contacts in turn, and historical orders only when no
live write is due (history never delays live hooks). Every request goes through the account's shared
limiter; a writer only ever waits for its own account's budget, so one store's backlog never delays a
store on another account.

What happens to each write (``workers.writers.results``): landed -> removed from the outbox and every
event it covered reported (hook-to-ActiveCampaign latency); rejected by ActiveCampaign -> the DLQ, alone,
with AC's reason, while the rest of its batch lands; failed -> the retry rule (``workers.retries.decide``):
backoff, or the DLQ once attempts run out; deferred (a budget is spent) -> later, no attempt used.

The trail (``workers.trail``) gets ``written`` (ActiveCampaign's ids, the API) or ``skipped`` for every
event a landed write covered, and the store's last success (``Stats.mark_success``), in one pipelined
round trip with the events' counters; ``retry_scheduled`` for the newest event of a write that failed;
``dead_lettered`` comes with the dead-letter queue's own write.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import orjson
import redis

from acclient import ActiveCampaign
from acsync_core.events import Event
from acsync_core.logs import log_context
from acsync_core.settings import StoreConfig
from acsync_core.stats import Stats, account_host
from workers import metrics
from workers.dlq import DeadLetterQueue
from workers.idempotency import IdStore
from workers.outbox import Claimed, Outbox
from workers.ratelimit import Throttled
from workers.retries import RetrySettings, decide, is_retryable
from workers.trail import SKIP_REASONS, Trail
from workers.writers.carts import CartWriter
from workers.writers.contacts import ContactWriter, ImportBudget
from workers.writers.customers import CustomerIndex
from workers.writers.lease import Lease
from workers.writers.orders import BATCH_SIZE, OrderWriter, take_batch
from workers.writers.results import Deferred, Failed, Landed, Rejected, Result

log = logging.getLogger("acsync.writer")

LIVE_LANES = ("order", "cart", "contact")
# Turns of the live lanes, one step each when due (else the next lane that is). A step of orders carries up
# to 30 orders in one request while a cart costs one or two requests for one cart, so orders get three
# turns in five: in a flash sale the budget goes where it moves most records, and carts and contacts still
# get two requests in every five or six.
TURNS = ("order", "cart", "order", "contact", "order")
# the write that finishes an event of each kind (a cart trigger also writes the contact's names)
PRIMARY_LANES = {"order": ("order", "order_historical"), "cart": ("cart",), "customer": ("contact",)}
# a landed result that sent nothing: the writer found the cart already written, or superseded
WRITER_SKIPS = frozenset({"cart_exists", "cart_superseded", "cart_superseded_by_order"})
HEARTBEATS = "acsync:writer:heartbeats"  # hash: account key -> {"owner", "at"} of the account's writer
CARTS_PER_STEP = 1
CONTACTS_PER_STEP = 250


class AccountWriter:
    def __init__(
        self,
        *,
        account_key: str,
        client: redis.Redis,
        ac: ActiveCampaign,
        stores: Sequence[StoreConfig],
        dlq: DeadLetterQueue,
        stats: Stats,
        retry: RetrySettings,
        claim_seconds: float = 120.0,
        lease_seconds: float = 60.0,
    ) -> None:
        self.account_key = account_key
        self.client = client
        self.ac = ac
        self.stores = list(stores)
        self.label = "+".join(sorted(s.name for s in stores))
        self.outbox = Outbox(client, account_key)
        self.ids = IdStore(client, account_key)
        self.dlq = dlq
        self.stats = stats
        self.trail = Trail(client)
        self.retry_settings = retry
        self.claim_seconds = claim_seconds
        self.lease = Lease(client, self.outbox.account, ttl=lease_seconds)
        connections = sorted({str(s.activecampaign.connection_id) for s in stores})
        self.customers = {c: CustomerIndex(self.ids, ac, c) for c in connections}
        self.orders = OrderWriter(ac, self.ids, self.customers)
        self.carts = CartWriter(ac, self.ids, self.customers)
        self.contacts = ContactWriter(ac, self.ids, ImportBudget(client, self.outbox.account))
        self._turn = 0
        self._index_retry_at = 0.0
        # event id -> lane -> final outcome, since the last drain (tests, reports)
        self.settled: dict[str, dict[str, str]] = {}

    # ------------------------------------------------------------------ one unit of work
    def step(self, now: float | None = None) -> bool:
        """Do one unit of work; False when nothing was due."""
        now = time.time() if now is None else now
        if not all(index.loaded() for index in self.customers.values()):
            # orders and carts wait for the customer index (never two customers for one e-mail)
            if self._load_index(now):
                return True
            return self._run_lane("contact", now)
        for offset in range(len(TURNS)):
            lane = TURNS[(self._turn + offset) % len(TURNS)]
            if self._run_lane(lane, now):
                self._turn = (self._turn + offset + 1) % len(TURNS)
                return True
        return self._run_lane("order_historical", now)

    def _load_index(self, now: float) -> bool:
        """Read one page of a connection's customers; False while backing off after a failure."""
        if now < self._index_retry_at:
            return False
        index = next(i for i in self.customers.values() if not i.loaded())
        try:
            index.load_page()
        except Exception as exc:
            delay = 5.0 if is_retryable(exc) else 60.0
            log.warning(
                "could not read the customers of connection %s (%s); again in %.0fs", index.connection, exc, delay
            )
            self._index_retry_at = now + delay
        return True

    def _run_lane(self, lane: str, now: float) -> bool:
        limit = {
            "order": BATCH_SIZE,
            "order_historical": BATCH_SIZE,
            "cart": CARTS_PER_STEP,
            "contact": CONTACTS_PER_STEP,
        }[lane]
        claimed = self.outbox.claim(lane, limit, claim_seconds=self.claim_seconds, now=now)
        if not claimed:
            return False
        call = None  # the GraphQL operation, for the trail
        if lane in ("order", "order_historical"):
            batch, rest = take_batch(claimed)
            for item in rest:
                self.outbox.retry(item, 0.0, count=False)
            metrics.WRITER_BATCH.labels(lane).observe(len(batch))
            historical = lane == "order_historical"
            call = "bulkUpsertOrdersAsync" if historical else ("upsertOrder" if len(batch) == 1 else "bulkUpsertOrders")
            results = self.orders.write(batch, historical=historical)
        elif lane == "cart":
            results = self.carts.write(claimed)
        else:
            metrics.WRITER_BATCH.labels(lane).observe(len(claimed))
            results = self.contacts.write(claimed)
        retried: list[str] = []
        for result in results:
            error = self._settle(result, call)
            if error:
                retried.append(error)
        if retried:  # one line per call, not per record: a refused batch of 30 is one event for ops
            log.warning("%d %s write(s) failed and will be retried: %s", len(retried), lane, retried[0])
        return True

    # ------------------------------------------------------------------ outcomes
    def _trail_step(self, result: Landed, call: str | None) -> tuple[str, dict[str, Any]]:
        """The trail step of a landed write: ``written`` with ActiveCampaign's ids, or ``skipped``."""
        claimed = result.claimed
        detail: dict[str, Any] = {
            "lane": claimed.lane,
            "outcome": result.outcome,
            "record": Outbox.item_key(claimed.lane, claimed.key),
        }
        if result.outcome in WRITER_SKIPS:
            detail.update(why=SKIP_REASONS.get(result.outcome, result.outcome), ac_cart_id=result.ac_id)
            return "skipped", detail
        if claimed.lane.startswith("order"):
            detail.update(api="graphql", call=call, ac_order_id=result.ac_id)
        elif claimed.lane == "cart":
            detail.update(api="v3", ac_cart_id=result.ac_id)
            index = self.customers.get(str(claimed.payload.get("connection")))
            if index is not None and claimed.payload.get("email"):
                detail["ac_customer_id"] = index.lookup(str(claimed.payload["email"]))[0]
        else:
            synced = result.outcome == "contact_synced"
            detail.update(api="v3", call="contact/sync" if synced else "import/bulk_import", ac_contact_id=result.ac_id)
        return "written", detail

    def _settle(self, result: Result, call: str | None = None) -> str | None:
        """Act on one write's result; returns the error of a write put back for a retry."""
        claimed = result.claimed
        if isinstance(result, Landed):
            done = self.outbox.complete(claimed)
            now = time.time()
            step, detail = self._trail_step(result, call)
            covered = len(done.events) + done.overflow
            pipe = self.client.pipeline(transaction=False)  # the trail, counters and last success: one trip
            landed_stores: set[str] = set()
            for summary in done.events:
                self.trail.record(summary["event_id"], step, at=now, pipe=pipe, covered=covered, **detail)
                if step == "written":
                    landed_stores.add(summary["store"])
                latency = max(0.0, now - float(summary["received_at"]))
                kind = summary["kind"]
                if claimed.lane not in PRIMARY_LANES.get(kind, (claimed.lane,)):
                    continue  # a side write of the event (the names of a cart's contact)
                metrics.TASKS.labels(kind, result.outcome).inc()
                metrics.END_TO_END.labels(kind).observe(latency)
                self.stats.record_event(kind, result.outcome, latency, store=summary["store"], pipe=pipe)
                self.settled.setdefault(summary["event_id"], {})[claimed.lane] = result.outcome
                with log_context(event_id=summary["event_id"], store=summary["store"], kind=kind):
                    log.info(
                        "written to ActiveCampaign: %s (%s %s, %.2fs after the hook)",
                        result.outcome,
                        claimed.lane,
                        result.ac_id or "-",
                        latency,
                    )
            for store in sorted(landed_stores):
                self.stats.mark_success(store, at=now, pipe=pipe)
            if done.overflow:
                self.stats.incr(f"coalesced_uncounted:{claimed.lane}", amount=done.overflow, pipe=pipe)
            pipe.execute()
            metrics.WRITES.labels(account_host(self.account_key), claimed.lane, "landed").inc()
        elif isinstance(result, Deferred):
            self.outbox.retry(claimed, result.delay, count=False)
            metrics.WRITES.labels(account_host(self.account_key), claimed.lane, "deferred").inc()
        elif isinstance(result, Rejected):
            self._dead(claimed, result.reason, result.error)
        elif isinstance(result, Failed):
            if isinstance(result.error, Throttled):
                self.outbox.retry(claimed, result.error.retry_in, count=False)
                return None
            attempt = self.outbox.attempts(claimed)
            decision = decide(result.error, attempt, self.retry_settings)
            error = f"{result.error.__class__.__name__}: {result.error}"[:500]
            latest = self.outbox.latest_event(claimed)
            if latest:
                self.dlq.record_attempt(latest["event_id"], attempt, error, decision.action == "retry")
            if decision.action == "retry":
                self.outbox.retry(claimed, decision.delay)
                metrics.WRITES.labels(account_host(self.account_key), claimed.lane, "retried").inc()
                pipe = self.client.pipeline(transaction=False)
                self.stats.incr(f"retries:{claimed.lane}", pipe=pipe)
                if latest:
                    self.trail.record(
                        latest["event_id"],
                        "retry_scheduled",
                        pipe=pipe,
                        lane=claimed.lane,
                        reason=decision.reason,
                        due=time.time() + decision.delay,
                        attempt=attempt + 1,
                    )
                pipe.execute()
                log.debug(
                    "write %s %s failed (attempt %d: %s); again in %.1fs",
                    claimed.lane,
                    claimed.key,
                    attempt + 1,
                    error,
                    decision.delay,
                )
                return f"{error} (attempt {attempt + 1}, again in {decision.delay:.1f}s)"
            self._dead(claimed, decision.reason, error)
        return None

    def _dead(self, claimed: Claimed, reason: str, error: str) -> None:
        done = self.outbox.complete(claimed)
        # a replay must write again, not find its fingerprint and call itself unchanged
        if claimed.lane.startswith("order"):
            connection = str(claimed.payload["order"]["legacyConnectionId"])
            self.ids.update_record("order", connection, claimed.key, values={"fingerprint": ""})
        elif claimed.lane == "contact":
            self.ids.forget("contactfp", claimed.key)
            if claimed.payload.get("list_id"):
                self.ids.forget("subscribed", str(claimed.payload["list_id"]), claimed.key)
        for summary in done.events:
            event = Event.from_dict(summary["event"])
            self.dlq.add(event, reason=reason, error=error)
            self.settled.setdefault(event.event_id, {})[claimed.lane] = f"dead:{reason}"
            metrics.DEAD.labels(event.kind, reason).inc()
            self.stats.incr(f"dead:{event.kind}")
            with log_context(event_id=event.event_id, store=event.store, kind=event.kind):
                log.warning("event sent to the dead-letter queue: %s (%s)", reason, error)
        metrics.WRITES.labels(account_host(self.account_key), claimed.lane, "dead").inc()

    # ------------------------------------------------------------------ running
    def drain(self, *, timeout: float = 60.0, include_future: bool = False) -> dict[str, dict[str, str]]:
        """Run steps until nothing is due and return what settled (event id -> outcome); with
        ``include_future``, wait for writes due later too (retries), up to ``timeout``."""
        self.settled = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.step():
                continue
            upcoming = self.outbox.next_due()
            if not include_future or upcoming is None:
                return self.settled
            time.sleep(min(0.2, max(0.0, upcoming - time.time())))
        raise TimeoutError(f"outbox of {self.label} not drained in {timeout}s")

    def heartbeat(self) -> None:
        self.client.hset(
            HEARTBEATS,
            self.account_key,
            orjson.dumps({"owner": self.lease.token, "at": time.time(), "stores": self.label}),
        )

    def run(self, stop: threading.Event, *, idle_wait: float = 1.0) -> None:
        """Hold the account's lease and write until ``stop`` is set; stand by while another process holds it."""
        log.info("writer for %s started", self.label)
        after_outage = False  # a step broken by Redis may have left its claims: they are due again at once
        while not stop.is_set():
            try:
                held, newly = self.lease.take()
                if not held:
                    stop.wait(min(5.0, self.lease.ttl_ms / 4000))
                    continue
                if newly or after_outage:
                    released = self.outbox.release_claims()
                    after_outage = False
                    if released:
                        log.warning(
                            "%s %s: %d claimed writes are due again",
                            "took over" if newly else "Redis is back for",
                            self.label,
                            released,
                        )
                self.heartbeat()
                if not self.step():
                    upcoming = self.outbox.next_due()
                    wait = idle_wait if upcoming is None else min(idle_wait, max(0.0, upcoming - time.time()))
                    self.outbox.wait_for_work(wait)
            except redis.RedisError as exc:
                log.warning("writer for %s: Redis unavailable (%s)", self.label, exc.__class__.__name__)
                after_outage = True
                stop.wait(1.0)
            except Exception:
                log.exception("writer for %s: unexpected error", self.label)
                stop.wait(1.0)
        with contextlib.suppress(redis.RedisError):
            self.lease.release()
        log.info("writer for %s stopped", self.label)


def describe_heartbeats(client: redis.Redis) -> dict[str, dict[str, Any]]:
    return {(k.decode() if isinstance(k, bytes) else k): orjson.loads(v) for k, v in client.hgetall(HEARTBEATS).items()}
