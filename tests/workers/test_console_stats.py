"""Per-account and per-store figures for the operations console (acsync_core.stats, workers.ratelimit,
workers.hookconfig) against the AC and VTEX sandboxes over loopback and a real Redis."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import redis
import requests
from prometheus_client import REGISTRY

from acclient import NO_RETRIES, ActiveCampaign, NotFoundError, RateLimitError, ServerError
from acsync_core import stats as stats_module
from acsync_core.events import Event
from acsync_core.stats import MINUTE_PREFIX, Stats, account_host
from tests.factories import SECRETS, FrozenClock, order_hook
from tests.workers.conftest import make_order, writer_for
from workers.hookconfig import HEALTH, check_hooks, hook_health, vtex_for
from workers.metrics import AC_STATUS_CLASSES
from workers.ratelimit import RedisRateLimiter
from workers.tasks import run_event
from workers.trail import Trail

T0 = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


class _Request:
    retries = 0
    id = "test-task"


class _Task:
    request = _Request()


def order_event(order_id: str) -> Event:
    hook = order_hook(order_id=order_id, last_change=(T0 + timedelta(minutes=5)).isoformat())
    return Event(kind="order", store="mystore", payload=hook, dedupe_key=order_id)


def sandbox_counts(sandboxes) -> tuple[int, int]:
    """(every API request the AC sandbox answered, the 429s among them)."""
    log = sandboxes.ac_requests()
    return log["total"], sum(n for key, n in log["by_status"].items() if key.endswith(" 429"))


def our_counts(client: redis.Redis, host: str) -> tuple[int, int, int, int]:
    """(requests, 429s) in the totals, then summed over the last hour's minute buckets."""
    totals = Stats(client).totals()
    series = Stats(client)
    return (
        totals.get(f"ac_requests@{host}", 0),
        totals.get(f"ac_429@{host}", 0),
        sum(n for _, n in series.series(f"ac_requests@{host}", 60)),
        sum(n for _, n in series.series(f"ac_429@{host}", 60)),
    )


def prometheus_answers(host: str) -> dict[str, float]:
    """acsync_ac_requests_total of one account by status class, from this process's registry (counters
    live as long as the process: tests compare them before and after, never absolute)."""
    return {
        status: REGISTRY.get_sample_value("acsync_ac_requests_total", {"account": host, "status": status}) or 0.0
        for status in AC_STATUS_CLASSES
    }


def grown(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {key: after[key] - before[key] for key in after}


def test_ac_requests_and_429s_per_account_equal_the_sandboxs_request_log(runtime, sandboxes):
    store = runtime.settings.stores["mystore"]
    host = account_host(store.ac_account_key)
    assert host == store.ac_account_key.split("://", 1)[1]  # 127.0.0.1:<port>: the API host, no token
    before_sandbox = sandbox_counts(sandboxes)
    before_ours = our_counts(runtime.redis, host)
    before_prometheus = prometheus_answers(host)
    writer = writer_for(runtime)  # reads the connection's customers: one request
    for n in range(3):
        sandboxes.seed_order(make_order(f"v9{n}-01", email=f"b{n}@example.com", last_change=T0 + timedelta(minutes=5)))
        assert run_event(_Task(), order_event(f"v9{n}-01").to_dict()) == "queued"
    sandboxes.ac_faults(force_429_count=2, force_429_retry_after=1)
    settled = writer.drain(include_future=True, timeout=30)
    assert {v["order"] for v in settled.values()} == {"order_created"}
    after_sandbox = sandbox_counts(sandboxes)
    requests_made, throttled = after_sandbox[0] - before_sandbox[0], after_sandbox[1] - before_sandbox[1]
    # the index, the two refused calls and the upserts (how the retries regroup the three orders varies)
    assert throttled == 2 and requests_made >= 4
    after_ours = our_counts(runtime.redis, host)
    deltas = tuple(a - b for a, b in zip(after_ours, before_ours, strict=True))
    assert deltas == (requests_made, throttled, requests_made, throttled)
    # the Prometheus counter saw the same answers, under the account's host
    counted = grown(before_prometheus, prometheus_answers(host))
    assert sum(counted.values()) == requests_made and counted["429"] == throttled
    assert counted["2xx"] == requests_made - throttled


def test_prometheus_counts_each_ac_answer_by_account_host_and_status_class(ac_sandbox, ac_token, redis_url):
    account_key = ac_sandbox.url.rstrip("/").lower()  # as StoreConfig.ac_account_key makes it
    host = account_host(account_key)
    limiter = RedisRateLimiter(redis.Redis.from_url(redis_url), account_key, 20.0)
    ac = ActiveCampaign(api_url=ac_sandbox.url, api_token=ac_token, rate_limiter=limiter, retry_policy=NO_RETRIES)

    def faults(**values: float) -> None:
        requests.post(ac_sandbox.url + "/__sandbox/faults", json=values, timeout=5).raise_for_status()

    before = prometheus_answers(host)
    ac.requestor.request("GET", "/connections")  # 200
    counted = grown(before, prometheus_answers(host))
    assert counted == {"2xx": 1, "3xx": 0, "4xx": 0, "429": 0, "5xx": 0, "error": 0}
    with pytest.raises(NotFoundError):
        ac.requestor.request("GET", "/connections/999999")
    faults(force_429_count=1)
    with pytest.raises(RateLimitError):
        ac.requestor.request("GET", "/connections")
    faults(error_rate=1.0)
    with pytest.raises(ServerError):
        ac.requestor.request("GET", "/connections")
    counted = grown(before, prometheus_answers(host))
    assert counted == {"2xx": 1, "3xx": 0, "4xx": 1, "429": 1, "5xx": 1, "error": 0}
    # a failure without an HTTP status is "error" (acclient's requestor reports those to its observer,
    # not to the limiter: observe gets one only from a caller that has no answer to give)
    limiter.observe(None, {})
    assert grown(before, prometheus_answers(host))["error"] == 1
    # the account is named by its host in every sample of the family, never by a token or a URL
    accounts = {
        sample.labels["account"]
        for family in REGISTRY.collect()
        if family.name == "acsync_ac_requests"
        for sample in family.samples
    }
    assert host in accounts and not [a for a in accounts if ac_token in a or "://" in a]


def test_observe_counts_and_slows_down_in_one_round_trip(redis_url, monkeypatch):
    from redis.connection import AbstractConnection

    client = redis.Redis.from_url(redis_url)
    limiter = RedisRateLimiter(client, "https://acme.api-us1.com", 4.0)
    client.ping()
    limiter.observe(200, {})  # loads the script (EVALSHA, NOSCRIPT, SCRIPT LOAD): then one round trip per answer
    sent: list[int] = []
    original = AbstractConnection.send_packed_command

    here = threading.get_ident()  # daemon threads of earlier tests (spool flushers) send commands too

    def counting(self, command, check_health=True):
        if threading.get_ident() == here:
            sent.append(1)
        return original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    limiter.observe(200, {"RateLimit-Remaining": "3"})
    limiter.observe(429, {"Retry-After": "1"})
    limiter.observe(200, {"RateLimit-Remaining": "0"})
    assert len(sent) == 3  # one round trip per answer, the slowdowns included
    monkeypatch.undo()
    assert limiter.slowdown() == pytest.approx(2.5)
    totals = Stats(client).totals()
    assert (totals["ac_requests@acme.api-us1.com"], totals["ac_429@acme.api-us1.com"]) == (4, 1)
    assert not [k for k in totals if "token" in k or "https" in k]


def test_series_zero_fills_oldest_first_and_reads_ingests_hook_counter(redis_client, monkeypatch):
    minute = 29_400_000  # a fixed minute (epoch minutes), so that no minute can turn during the test
    monkeypatch.setattr(stats_module, "time", FrozenClock(minute * 60 + 42.5))
    redis_client.hincrby(MINUTE_PREFIX + str(minute - 3), "hooks:order@mystore", 2)
    redis_client.hincrby(MINUTE_PREFIX + str(minute), "hooks:order@mystore", 5)
    redis_client.hincrby(MINUTE_PREFIX + str(minute), "hooks:cart@mystore", 9)  # another field: not counted
    redis_client.hincrby(MINUTE_PREFIX + str(minute - 9), "hooks:order@mystore", 7)  # outside the window
    stats = Stats(redis_client)
    assert stats.series("hooks:order@mystore", 5) == [
        ((minute - 4) * 60, 0),
        ((minute - 3) * 60, 2),
        ((minute - 2) * 60, 0),
        ((minute - 1) * 60, 0),
        (minute * 60, 5),
    ]
    assert stats.series("never:counted", 3) == [((minute - 2) * 60, 0), ((minute - 1) * 60, 0), (minute * 60, 0)]
    assert len(stats.series("hooks:order@mystore")) == 60 and stats.series("x", 0) == []
    stats.incr("events:order@mystore", pipe=None)  # counted in the clock's minute
    assert stats.series("events:order@mystore", 2) == [((minute - 1) * 60, 0), (minute * 60, 1)]


def test_a_hook_ingest_accepts_shows_in_the_series(runtime):
    stats = runtime.stats
    before = sum(n for _, n in stats.series("hooks:order@mystore", 2))
    event = order_event("v77-01")
    assert runtime.publisher.enqueue_once(event, dedupe_ttl_seconds=60).duplicate is False
    assert runtime.publisher.enqueue_once(order_event("v77-01"), dedupe_ttl_seconds=60).duplicate is True
    assert sum(n for _, n in stats.series("hooks:order@mystore", 2)) - before == 1


def test_a_write_landing_marks_the_stores_last_success(runtime, sandboxes):
    writer = writer_for(runtime)
    sandboxes.seed_order(make_order("v88-01", last_change=T0 + timedelta(minutes=5)))
    assert "mystore" not in runtime.stats.last_success()
    event = order_event("v88-01")
    assert run_event(_Task(), event.to_dict()) == "queued"
    assert "mystore" not in runtime.stats.last_success()  # handed off, not yet in ActiveCampaign
    writer.drain()
    landed = runtime.stats.last_success()
    # the moment the last write landed, as the event's trail recorded it: the writer's one clock reading
    # for both, compared exactly, instead of a window the test would time around the drain
    written = [step["at"] for step in Trail(runtime.redis).steps(event.event_id) if step["step"] == "written"]
    assert written and set(landed) == {"mystore"} and landed["mystore"] == max(written)
    runtime.stats.mark_success("otherstore", at=1234.5)
    assert runtime.stats.last_success() == {"mystore": landed["mystore"], "otherstore": 1234.5}


def test_the_hourly_hook_check_stores_each_stores_health_without_secrets(runtime, sandboxes, monkeypatch):
    client = runtime.redis
    assert hook_health(client) == {}
    monkeypatch.setattr(runtime, "settings", replace(runtime.settings, public_url="https://acsync.example.com"))
    assert set(check_hooks()) == {"mystore"}  # the VTEX sandbox has no hook yet
    health = hook_health(client)
    assert set(health) == {"mystore"} and health["mystore"]["ok"] is False
    assert health["mystore"]["problems"] == [
        "no order hook is configured (VTEX deletes hooks after 3 days without notifications)"
    ]
    assert isinstance(health["mystore"]["checked_at"], float)

    # somebody else's hook, with a token in its query string and another secret
    foreign = {
        "filter": {"type": "FromWorkflow", "status": ["invoiced"]},
        "hook": {"url": "https://other.example.com/hook?token=s3cr3t-query", "headers": {"X-Hook-Secret": "theirs"}},
    }
    vtex_for(runtime.settings.stores["mystore"]).set_hook_config(foreign)
    check_hooks()
    problems = hook_health(client)["mystore"]["problems"]
    assert problems[0] == (
        "hook url is 'https://other.example.com/hook?…', expected 'https://acsync.example.com/hooks/vtex/mystore/orders'"
    )
    assert problems[1] == "the X-Hook-Secret header is missing or differs from the stores file"
    assert problems[2].startswith("the status filter lacks ")

    monkeypatch.setattr(runtime, "settings", replace(runtime.settings, hooks_autorepair=True))
    check_hooks()
    repaired = hook_health(client)["mystore"]
    assert repaired["ok"] is False and repaired["repaired"] is True
    assert check_hooks() == {}
    assert {k: v for k, v in hook_health(client)["mystore"].items() if k != "checked_at"} == {
        "ok": True,
        "problems": [],
    }
    stored = json.dumps({k.decode(): v.decode() for k, v in client.hgetall(HEALTH).items()})
    assert SECRETS["mystore"] not in stored and "s3cr3t" not in stored and "theirs" not in stored


def test_a_vtex_that_cannot_be_read_is_stored_as_a_problem(runtime, sandboxes, monkeypatch):
    monkeypatch.delenv("ACSYNC_PUBLIC_URL", raising=False)
    sandboxes.vtex_faults(error_rate=1.0)
    assert check_hooks() == {}
    assert hook_health(runtime.redis)["mystore"]["problems"] == [
        "could not read the order hook from VTEX: VTEXServerError (HTTP 500)"
    ]
