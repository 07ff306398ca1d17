"""The per-account outbox on a real Redis: coalescing, claims, versions, retries, take-over."""

from __future__ import annotations

from decimal import Decimal

import redis

from workers.outbox import Enum, Outbox, decode, encode, total_depth


def event(event_id: str, kind: str = "order", at: float = 1000.0) -> dict:
    return {
        "event_id": event_id,
        "kind": kind,
        "store": "mystore",
        "received_at": at,
        "payload": {},
        "dedupe_key": event_id,
    }


def outbox(redis_url: str, account: str = "https://acct.api-us1.com") -> Outbox:
    return Outbox(redis.Redis.from_url(redis_url), account)


def test_money_and_enums_survive_the_trip_exactly():
    value = {"finalAmount": Decimal("21474836.47"), "status": Enum("COMPLETED"), "items": [{"p": Decimal("0.10")}]}
    back = decode(encode(value))
    assert back == value and isinstance(back["status"], Enum) and str(back["items"][0]["p"]) == "0.10"


def test_several_events_of_one_record_become_one_write_of_the_latest_state(redis_url):
    box = outbox(redis_url)
    box.put("order", "v1-01", {"status": "a"}, event("e1"), due=10)
    box.put("order", "v2-01", {"status": "x"}, event("e2"), due=11)
    box.put("order", "v1-01", {"status": "b"}, event("e3"), due=12)
    assert box.depth()["order"] == 2
    claimed = box.claim("order", 10, now=100)
    assert [(c.key, c.payload["status"], c.events) for c in claimed] == [("v1-01", "b", 2), ("v2-01", "x", 1)]
    done = box.complete(claimed[0])
    assert [e["event_id"] for e in done.events] == ["e1", "e3"] and done.overflow == 0
    assert box.depth()["order"] == 1


def test_a_newer_version_arriving_in_flight_is_written_again_not_lost(redis_url):
    box = outbox(redis_url)
    box.put("order", "v1-01", {"status": "a"}, event("e1"), due=10)
    [first] = box.claim("order", 10, now=100)
    assert box.claim("order", 10, now=101) == []  # hidden while claimed
    box.put("order", "v1-01", {"status": "b"}, event("e2"))
    done = box.complete(first, now=102)
    assert [e["event_id"] for e in done.events] == ["e1"]  # the landed write covered e1 only
    [second] = box.claim("order", 10, now=103)
    assert second.payload == {"status": "b"} and second.events == 1
    assert [e["event_id"] for e in box.complete(second).events] == ["e2"]
    assert box.depth()["order"] == 0 and box.claim("order", 10, now=10_000) == []


def test_retry_hides_the_write_until_due_and_counts_attempts_unless_deferred(redis_url):
    box = outbox(redis_url)
    box.put("cart", "c1", {"n": 1}, event("e1", "cart"), due=10)
    [claimed] = box.claim("cart", 1, now=100)
    assert box.retry(claimed, 30, now=100) == 1
    assert box.claim("cart", 1, now=129) == []
    [again] = box.claim("cart", 1, now=131)
    assert box.attempts(again) == 1
    assert box.retry(again, 5, count=False, now=131) == 1  # deferred: no attempt used
    [third] = box.claim("cart", 1, now=137)
    box.complete(third)
    assert box.attempts(third) == 0  # the count goes with the write


def test_claims_of_a_dead_writer_come_back_after_the_claim_timeout_or_at_once_on_take_over(redis_url):
    box = outbox(redis_url)
    box.put("order", "v1-01", {"s": 1}, event("e1"), due=10)
    box.put("order", "v2-01", {"s": 2}, event("e2"), due=10)
    assert len(box.claim("order", 1, claim_seconds=60, now=100)) == 1
    assert [c.key for c in box.claim("order", 5, claim_seconds=60, now=161)] == ["v2-01", "v1-01"]
    assert box.in_flight() == 2
    assert box.release_claims(now=170) == 2
    assert {c.key for c in box.claim("order", 5, now=170)} == {"v1-01", "v2-01"}


def test_contact_writes_merge_fields_instead_of_erasing_them(redis_url):
    box = outbox(redis_url)
    box.put("contact", "h1", {"email": "a@x.com", "phone": "+55 11", "list_id": 3}, event("e1", "customer"), merge=True)
    box.put("contact", "h1", {"email": "a@x.com", "first_name": "Ana"}, event("e2", "cart"), merge=True)
    [claimed] = box.claim("contact", 10)
    assert claimed.payload == {"email": "a@x.com", "phone": "+55 11", "list_id": 3, "first_name": "Ana"}


def test_accounts_have_separate_outboxes_and_are_listed(redis_url):
    one, two = outbox(redis_url, "https://one.api-us1.com"), outbox(redis_url, "https://two.api-us1.com")
    one.put("order", "v1-01", {}, event("e1"))
    two.put("cart", "c1", {}, event("e2", "cart"))
    assert two.claim("order", 10) == [] and len(one.claim("order", 10)) == 1
    depth = total_depth(one.client)
    assert depth["https://one.api-us1.com"]["order"] == 1 and depth["https://two.api-us1.com"]["cart"] == 1


def test_a_write_with_very_many_events_keeps_the_newest_and_counts_the_rest(redis_url):
    box = outbox(redis_url)
    for n in range(60):
        box.put("order", "v1-01", {"n": n}, event(f"e{n}"))
    [claimed] = box.claim("order", 1)
    done = box.complete(claimed)
    assert len(done.events) == 50 and done.overflow == 10 and done.events[-1]["event_id"] == "e59"
