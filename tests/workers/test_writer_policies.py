"""The writer's policies in isolation: the adaptive limiter, the retry rule, batch bounds, contact routing."""

from __future__ import annotations

import pytest
import redis

from acclient import AuthenticationError, RateLimitError, ServerError, TransportError, ValidationError
from acclient.errors import BulkImportRateLimited
from acsync_core.errors import PermanentEventError, RetryLater
from workers.outbox import Claimed
from workers.ratelimit import MAX_SLOWDOWN, RedisRateLimiter
from workers.retries import RetrySettings, decide
from workers.writers.contacts import BULK_THRESHOLD, ImportBudget, import_row
from workers.writers.orders import BATCH_SIZE, TOKEN_BUDGET, take_batch


def limiter(redis_url: str, waits: list[float]) -> RedisRateLimiter:
    return RedisRateLimiter(
        redis.Redis.from_url(redis_url), "https://acct.api-us1.com", 4.0, max_wait=30, sleep=waits.append
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


def test_the_slowdown_widens_the_spacing_between_requests(redis_url):
    waits: list[float] = []
    budget = limiter(redis_url, waits)
    client = redis.Redis.from_url(redis_url)
    booked: list[int] = []

    def acquire() -> None:
        budget.acquire()
        booked.append(int(client.get(budget.key)))  # the next free slot the script stored (µs, Redis's clock)

    # The limiter's own bookings, exact integers, instead of gaps the test would time: the calls come
    # back to back (waits are recorded, not slept), well inside one 262.5 ms interval, so each slot is
    # booked right after the previous one.
    acquire()
    acquire()
    assert booked[1] - booked[0] == budget.interval_us == 262_500  # (1 + 5 %) / 4 per second, no burst
    budget.slow_down(4.0, 60)
    acquire()  # the third slot was booked at the normal spacing; from it on the spacing is 4x wider
    acquire()
    assert booked[2] - booked[1] == booked[3] - booked[2] == 4 * budget.interval_us
    assert len(waits) == 3  # every call after the first had to wait for its slot


RULES = RetrySettings(base=1.0, cap=60.0, max_attempts=3)


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
