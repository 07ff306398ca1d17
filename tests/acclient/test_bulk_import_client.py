"""``ac.bulk_import`` and ``chunk_contacts``: AC's per-request limits, the request sent, and error mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from acclient import (
    ActiveCampaign,
    BulkImportRateLimited,
    RateLimitError,
    ValidationError,
)
from acclient.bulk_import import MAX_BODY_BYTES, MAX_CONTACTS, chunk_contacts, import_body
from acclient.requestor import encode_json
from tests.acclient.helpers import CountingLimiter, offline_client

BASE = "https://acme.api-us1.com"
IMPORT = BASE + "/api/3/import/bulk_import"
INFO = BASE + "/api/3/import/info"
QUEUED = {"success": 1, "queued_contacts": 2, "batchId": "0641fbdd-2f3c-4b8e-9b4e-5a1f2c3d4e5f"}


@pytest.fixture
def limiter() -> CountingLimiter:
    return CountingLimiter()


@pytest.fixture
def ac(limiter: CountingLimiter) -> ActiveCampaign:
    return offline_client(limiter)


def contacts(count: int, **fields: Any) -> list[dict[str, Any]]:
    return [{"email": f"c{n}@example.com", **fields} for n in range(count)]


def body_size(batch: list[dict[str, Any]], **options: Any) -> int:
    return len(encode_json(import_body(batch, **options)))


@responses.activate
def test_import_sends_contacts_and_options_and_returns_acs_answer(ac, limiter):
    responses.add(responses.POST, IMPORT, json=QUEUED)
    people = [
        {"email": "ana@example.com", "first_name": "Ana", "last_name": None, "tags": ["vip"]},
        {"email": "bo@example.com", "subscribe": [{"listid": 3}], "fields": [{"id": 2, "value": "São Paulo"}]},
    ]
    callback = {"url": "https://hooks.example.com/import", "requestType": "POST"}
    assert ac.bulk_import.import_contacts(people, exclude_automations=True, callback=callback) == QUEUED
    [call] = responses.calls
    assert call.request.headers["Api-Token"] == "tok"
    assert json.loads(call.request.body) == {
        "contacts": [
            {"email": "ana@example.com", "first_name": "Ana", "tags": ["vip"]},
            {"email": "bo@example.com", "subscribe": [{"listid": 3}], "fields": [{"id": 2, "value": "São Paulo"}]},
        ],
        "exclude_automations": True,
        "callback": callback,
    }
    assert limiter.calls == 1


@responses.activate
def test_status_asks_for_the_batch(ac):
    info = {"status": "completed", "success": ["12", "13"], "failure": ["bad@"]}
    responses.add(responses.GET, INFO, json=info)
    assert ac.bulk_import.status("b-1") == info
    assert responses.calls[0].request.url == INFO + "?batchId=b-1"
    with pytest.raises(ValueError):
        ac.bulk_import.status(" ")


@pytest.mark.parametrize(
    ("people", "words"),
    [
        (contacts(MAX_CONTACTS + 1), "251 contacts"),
        ([], "at least one"),
        ([{"email": "a@example.com"}, {"first_name": "No Email"}], "contact 1"),
        ([{"email": ""}], "contact 0"),
        ([{"email": "not-an-address"}], "contact 0"),
    ],
)
@responses.activate
def test_caller_bugs_are_refused_without_a_request(ac, limiter, people, words):
    responses.add(responses.POST, IMPORT, json=QUEUED)
    with pytest.raises(ValueError, match=words):
        ac.bulk_import.import_contacts(people)
    assert len(responses.calls) == 0 and limiter.calls == 0


def padded_to(total: int) -> list[dict[str, Any]]:
    """Two contacts whose import body is exactly ``total`` bytes."""
    people = [{"email": "a@example.com", "first_name": ""}, {"email": "b@example.com"}]
    people[0]["first_name"] = "x" * (total - body_size(people))
    assert body_size(people) == total
    return people


@responses.activate
def test_body_size_bound_is_strictly_under_400000_bytes(ac):
    responses.add(responses.POST, IMPORT, json=QUEUED)
    assert ac.bulk_import.import_contacts(padded_to(MAX_BODY_BYTES - 1)) == QUEUED
    with pytest.raises(ValueError, match="400000 bytes"):
        ac.bulk_import.import_contacts(padded_to(MAX_BODY_BYTES))
    assert len(responses.calls) == 1


@responses.activate
def test_250_contacts_are_accepted(ac):
    responses.add(responses.POST, IMPORT, json=QUEUED)
    ac.bulk_import.import_contacts(contacts(MAX_CONTACTS))
    assert len(json.loads(responses.calls[0].request.body)["contacts"]) == MAX_CONTACTS


def test_chunk_contacts_respects_the_count_bound_in_order():
    people = contacts(601)
    batches = list(chunk_contacts(people))
    assert [len(b) for b in batches] == [250, 250, 101]
    assert [c["email"] for b in batches for c in b] == [c["email"] for c in people]


def test_chunk_contacts_respects_the_byte_bound_greedily():
    people = [{"email": f"c{n}@example.com", "first_name": "é" * (9_000 + 137 * n)} for n in range(40)]
    options = {"exclude_automations": True, "callback": {"url": "https://hooks.example.com/x"}}
    batches = list(chunk_contacts(people, **options))
    assert len(batches) > 1
    assert [c["email"] for b in batches for c in b] == [c["email"] for c in people]
    for n, batch in enumerate(batches):
        assert body_size(batch, **options) < MAX_BODY_BYTES
        if n + 1 < len(batches):  # full: the next contact would have crossed the bound
            assert body_size([*batch, batches[n + 1][0]], **options) >= MAX_BODY_BYTES


def test_chunk_contacts_tighter_bounds_and_refusals():
    assert [len(b) for b in chunk_contacts(contacts(7), max_contacts=3)] == [3, 3, 1]
    small = contacts(4)  # equal sizes: a body of three is exactly body_size(small[:3]) bytes, commas included
    assert [len(b) for b in chunk_contacts(small, max_bytes=body_size(small[:3]))] == [2, 2]
    assert [len(b) for b in chunk_contacts(small, max_bytes=body_size(small[:3]) + 1)] == [3, 1]
    with pytest.raises(ValueError, match="contact 1"):
        list(chunk_contacts([{"email": "a@example.com"}, {"email": "b@example.com", "notes": "x" * MAX_BODY_BYTES}]))
    with pytest.raises(ValueError, match="contact 2"):
        list(chunk_contacts([{"email": "a@example.com"}, {"email": "b@example.com"}, {"phone": "1"}]))
    with pytest.raises(ValueError):
        list(chunk_contacts(small, max_contacts=MAX_CONTACTS + 1))
    assert list(chunk_contacts([])) == []


@pytest.mark.parametrize(("headers", "wait"), [({}, 60), ({"Retry-After": "15"}, 15)])
@responses.activate
def test_import_rate_limit_400_is_a_retryable_rate_limit_error(ac, headers, wait):
    refusal = {
        "success": 0,
        "message": "Rate limit exceeded.",
        "failureReasons": ["Up to 100 imports may be requested per minute. Please try again later."],
    }
    responses.add(responses.POST, IMPORT, status=400, json=refusal, headers=headers)
    with pytest.raises(BulkImportRateLimited) as caught:
        ac.bulk_import.import_contacts(contacts(2))
    error = caught.value
    assert isinstance(error, RateLimitError) and error.retryable and error.retry_after == wait
    assert error.status == 400 and "Up to 100 imports" in error.message


@responses.activate
def test_import_validation_400_is_a_validation_error_naming_the_contacts(ac):
    refusal = {
        "success": 0,
        "message": "JSON payload did not pass validation. Please check the failureReasons.",
        "failureReasons": [
            {"contact": 1, "failureReason": "Field 'email' incorrect format"},
            {"contact": 3, "failureReason": "Field 'phone' too long"},
        ],
    }
    responses.add(responses.POST, IMPORT, status=400, json=refusal)
    with pytest.raises(ValidationError) as caught:
        ac.bulk_import.import_contacts(contacts(4))
    error = caught.value
    assert not isinstance(error, RateLimitError) and not error.retryable
    assert [(d.title, d.pointer) for d in error.errors] == [
        ("contact 1: Field 'email' incorrect format", "/contacts/1"),
        ("contact 3: Field 'phone' too long", "/contacts/3"),
    ]
    assert "did not pass validation" in error.message and "contact 3: Field 'phone' too long" in error.message


@responses.activate
def test_429_on_import_stays_a_plain_rate_limit_error(ac):
    responses.add(
        responses.POST, IMPORT, status=429, json={"message": "Too Many Requests"}, headers={"Retry-After": "2"}
    )
    with pytest.raises(RateLimitError) as caught:
        ac.bulk_import.import_contacts(contacts(2))
    assert type(caught.value) is RateLimitError and caught.value.retry_after == 2
