"""The writer's policies in isolation: the adaptive limiter, the retry rule, batch bounds, contact routing."""

from __future__ import annotations

import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded

from acclient import AuthenticationError, DuplicateError, RateLimitError, ServerError, TransportError, ValidationError
from acclient.errors import BulkImportRateLimited
from acsync_core.errors import PermanentEventError, RetryLater
from workers import retries
from workers.celery_app import MAX_COUNTDOWN_SECONDS
from workers.outbox import Claimed
from workers.ratelimit import MAX_SLOWDOWN, RedisRateLimiter, Throttled
from workers.retries import RetrySettings, decide
from workers.vtex.client import VTEXAuthError, VTEXNotFound, VTEXRateLimited, VTEXServerError
from workers.writers.contacts import BULK_THRESHOLD, ImportBudget, import_row
from workers.writers.orders import BATCH_SIZE, TOKEN_BUDGET, take_batch


class Clock:
    """The limiter's injected clock: seconds since the epoch, moved only by the test."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter(
    redis_url: str, waits: list[float], rate: float = 4.0, max_wait: float = 30, clock: Clock | None = None
) -> RedisRateLimiter:
    return RedisRateLimiter(
        redis.Redis.from_url(redis_url),
        "https://acct.api-us1.com",
        rate,
        max_wait=max_wait,
        sleep=waits.append,
        clock=clock or Clock(),
    )


def test_a_429_halves_the_rate_until_the_cap_and_low_remaining_slows_it_by_a_quarter(redis_url):
    waits: list[float] = []
    budget = limiter(redis_url, waits)
    assert budget.slowdown() == 1.0
    budget.observe(200, {"RateLimit-Remaining": "3"})
    assert budget.slowdown() == 1.0  # room left: nobody else is using the account
    budget.observe(200, {"RateLimit-Remaining": "0"})
    assert budget.slowdown() == pytest.approx(1.25)
    budget.observe(429, {})
    assert budget.slowdown() == pytest.approx(2.5)
    for _ in range(5):
        budget.observe(429, {})
    assert budget.slowdown() == MAX_SLOWDOWN


def test_the_spacing_is_the_rate_with_its_margin_and_no_burst(redis_url):
    assert limiter(redis_url, []).interval_us == 262_500  # (1 + 5 %) / 4 per second
    assert limiter(redis_url, [], rate=5.0).interval_us == 210_000


def test_back_to_back_requests_wait_one_interval_each_and_an_idle_account_gives_no_burst(redis_url):
    waits: list[float] = []
    clock = Clock()
    budget = limiter(redis_url, waits, clock=clock)  # 262.5 ms apart
    budget.acquire()
    budget.acquire()
    budget.acquire()
    assert waits == [0.2625, 0.525]  # recorded, not slept: the clock did not move
    clock.now += 0.3  # the third slot (at 0.525 s) is still ahead
    budget.acquire()
    assert waits[-1] == pytest.approx(0.4875)  # the fourth slot, 0.7875 s after the first, is 0.4875 s away
    clock.now += 60  # a minute idle: the next request goes at once, and the one after it waits again
    budget.acquire()
    budget.acquire()
    assert waits[-1] == pytest.approx(0.2625) and len(waits) == 4


def test_the_slowdown_widens_the_spacing_between_requests(redis_url):
    waits: list[float] = []
    budget = limiter(redis_url, waits)
    budget.acquire()
    budget.acquire()
    budget.slow_down(4.0, 60)
    budget.acquire()  # booked behind the second slot at the normal spacing; from it on 4x wider
    budget.acquire()
    assert waits == pytest.approx([0.2625, 0.525, 0.525 + 4 * 0.2625])


def test_a_slot_further_ahead_than_max_wait_is_refused_and_not_booked(redis_url):
    waits: list[float] = []
    clock = Clock()
    budget = limiter(redis_url, waits, rate=1.05, max_wait=2.0, clock=clock)  # one request a second
    client = redis.Redis.from_url(redis_url)
    for _ in range(3):
        budget.acquire()  # sent at once, then booked 1 s and 2 s ahead
    assert waits == [1.0, 2.0]
    booked = client.get(budget.key)
    with pytest.raises(Throttled) as refused:
        budget.acquire()  # the fourth slot is 3 s away, further than the 2 s a worker may sleep
    assert refused.value.retry_in == pytest.approx(3.0)
    assert client.get(budget.key) == booked and waits == [1.0, 2.0]  # nothing reserved, nothing slept
    clock.now += 1.5
    budget.acquire()  # 1.5 s later the slot is 1.5 s away: within max_wait, booked
    assert waits[-1] == pytest.approx(1.5)


def test_without_an_injected_clock_the_slots_are_booked_on_redis_time(redis_url):
    client = redis.Redis.from_url(redis_url)
    budget = RedisRateLimiter(client, "https://acct.api-us1.com", 0.04, max_wait=1000, sleep=lambda _s: None)
    seconds, micros = client.time()
    budget.acquire()
    # the slot after the first request: Redis's now (read just before) plus one interval, within the test's run
    ahead = int(client.get(budget.key)) - (seconds * 1_000_000 + micros)
    assert budget.interval_us <= ahead < budget.interval_us + 60_000_000


RULES = RetrySettings(base=1.0, cap=60.0, max_attempts=3)
RULES_5 = RetrySettings(base=1.0, cap=60.0, max_attempts=5)


@pytest.mark.parametrize(
    ("error", "attempt", "action", "reason"),
    [
        (ServerError("boom", status=500), 0, "retry", "ServerError_500"),
        (ServerError("boom", status=500), 2, "dead", "retries_exhausted:ServerError_500"),
        (TransportError("reset", request_sent=True), 0, "retry", "TransportError"),
        (RateLimitError("slow down", status=429, retry_after=30), 0, "retry", "RateLimitError_429"),
        (
            BulkImportRateLimited("Rate limit exceeded.", status=400, retry_after=60),
            1,
            "retry",
            "BulkImportRateLimited_400",
        ),
        (RetryLater("duplicate not found yet"), 0, "retry", "RetryLater"),
        (redis.ConnectionError("gone"), 0, "retry", "ConnectionError"),
        (ValidationError("bad", status=422), 0, "dead", "ValidationError_422"),
        (AuthenticationError("token", status=403), 0, "dead", "AuthenticationError_403"),
        (PermanentEventError("amount_not_storable", "too big"), 0, "dead", "amount_not_storable"),
        (KeyError("a bug"), 0, "dead", "KeyError"),
        (DuplicateError("exists", status=422), 0, "dead", "DuplicateError_422"),  # adopted, never retried
        (Throttled(3.0), 0, "retry", "Throttled"),
        (SoftTimeLimitExceeded(), 0, "retry", "SoftTimeLimitExceeded"),
        (VTEXServerError("boom", status=503), 1, "retry", "VTEXServerError_503"),
        (VTEXRateLimited("slow down", retry_after=5.0), 0, "retry", "VTEXRateLimited_429"),
        (VTEXNotFound("no such order", status=404), 0, "dead", "VTEXNotFound_404"),
        (VTEXAuthError("app key", status=401), 0, "dead", "VTEXAuthError_401"),
    ],
)
def test_the_retry_rule(error, attempt, action, reason):
    decision = decide(error, attempt, RULES)
    assert (decision.action, decision.reason) == (action, reason)
    if action == "retry":
        assert 0 <= decision.delay <= RULES.cap
        if isinstance(error, RateLimitError):
            assert decision.delay >= error.retry_after  # never sooner than AC asked
    else:
        assert decision.delay == 0


def test_the_backoff_doubles_from_the_base_up_to_the_cap_with_full_jitter(monkeypatch):
    error = ServerError("boom", status=500)
    rules = RetrySettings(base=1.0, cap=60.0, max_attempts=10)
    monkeypatch.setattr(retries.random, "uniform", lambda low, high: high)  # the jitter's upper end
    assert [decide(error, n, rules).delay for n in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    monkeypatch.setattr(retries.random, "uniform", lambda low, high: low)  # its lower end: full jitter starts at 0
    assert [decide(error, n, rules).delay for n in range(9)] == [0] * 9
    assert decide(error, 8, rules).action == "retry" and decide(error, 9, rules).action == "dead"  # 10 attempts


def test_a_wait_the_other_side_asks_for_wins_over_a_shorter_backoff_up_to_the_countdown_limit(monkeypatch):
    monkeypatch.setattr(retries.random, "uniform", lambda low, high: high)
    # Retry-After and the limiter's own wait are honoured even beyond the backoff's cap (60 s here) ...
    assert decide(RateLimitError("429", status=429, retry_after=120.0), 0, RULES).delay == 120.0
    assert decide(VTEXRateLimited("429", retry_after=90.0), 0, RULES).delay == 90.0
    assert decide(Throttled(75.5), 0, RULES).delay == 75.5
    assert decide(RetryLater("not yet", delay=45.0), 0, RULES).delay == 45.0
    # ... a shorter one leaves the backoff (4 s at the third attempt) in charge ...
    assert decide(RateLimitError("429", status=429, retry_after=0.5), 2, RULES_5).delay == 4.0
    assert decide(RetryLater("not yet"), 2, RULES_5).delay == 4.0
    # ... and nothing waits longer than a deferred retry may (the Redis schedule's countdown limit)
    assert decide(RateLimitError("429", status=429, retry_after=10.0**6), 0, RULES).delay == MAX_COUNTDOWN_SECONDS


def claimed(key: str, tokens: int) -> Claimed:
    return Claimed(lane="order", key=key, payload={"order": {}, "tokens": tokens}, version="1", events=1)


def test_batches_stop_at_30_orders_or_the_token_budget():
    small = [claimed(f"o{n}", 100) for n in range(40)]
    batch, rest = take_batch(small)
    assert len(batch) == BATCH_SIZE and len(rest) == 10
    big = [claimed(f"b{n}", 5000) for n in range(5)]
    batch, rest = take_batch(big)
    assert sum(c.payload["tokens"] for c in batch) <= TOKEN_BUDGET and len(batch) == 2 and len(rest) == 3
    huge = [claimed("h", TOKEN_BUDGET * 2), claimed("i", 10)]
    batch, rest = take_batch(huge)
    assert [c.key for c in batch] == ["h"]  # alone; the client splits or reports it


def test_import_rows_and_budget(redis_url):
    assert import_row({"email": "a@x.com", "first_name": "Ana", "phone": None, "list_id": 3}) == {
        "email": "a@x.com",
        "first_name": "Ana",
        "subscribe": [{"listid": 3}],
    }
    assert BULK_THRESHOLD == 10
    budget = ImportBudget(redis.Redis.from_url(redis_url), "abc")
    assert all(budget.wait(single=True, now=1000.0 + n) == 0 for n in range(20))
    assert budget.wait(single=True, now=1030.0) == pytest.approx(30.0)  # the first call leaves the minute at 1060
    assert budget.wait(single=False, now=1030.0) == 0  # the multi-contact budget is separate
