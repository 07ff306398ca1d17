"""The sandbox's bulk contact import over real HTTP on loopback, driven with plain requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from acclient.sandbox import DEFAULT_TOKEN, BackgroundServer, SandboxConfig
from tests.acclient.sandbox_http import api, configure, freeze_rate_limit_clock, running, state, wait_for


@pytest.fixture
def sandbox() -> Iterator[BackgroundServer]:
    """No 5 req/s limit, and imports that stay queued for the test unless it lowers the delay first."""
    with running(SandboxConfig(requests_per_second=None, bulk_import_delay=60.0)) as server:
        yield server


def contacts(count: int, **fields: Any) -> list[dict[str, Any]]:
    return [{"email": f"c{n}@example.com", **fields} for n in range(count)]


def bulk_import(
    server: BackgroundServer, people: list[dict[str, Any]], *, token: str = DEFAULT_TOKEN, **options: Any
) -> requests.Response:
    """POST an import of ``people``; ``options`` go into the body (exclude_automations, callback)."""
    return api(server, "POST", "/import/bulk_import", token=token, json={"contacts": people, **options})


def info(server: BackgroundServer, batch_id: str, *, token: str = DEFAULT_TOKEN) -> requests.Response:
    return api(server, "GET", "/import/info", token=token, params={"batchId": batch_id})


def completed(server: BackgroundServer, batch_id: str) -> dict[str, Any]:
    return wait_for(lambda: (body := info(server, batch_id).json())["status"] == "completed" and body)


def test_an_import_is_queued_and_processed_after_the_delay(sandbox):
    response = bulk_import(
        sandbox,
        [
            {
                "email": "ana@example.com",
                "first_name": "Ana",
                "last_name": "Silva",
                "phone": "+55 11 9999",
                "customer_acct_name": "ACME",
            },
            *contacts(2),
        ],
        exclude_automations=True,
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["queued_contacts"], body["message"]) == (1, 3, "Contact import queued")
    assert info(sandbox, body["batchId"]).json() == {"status": "queued", "success": [], "failure": []}
    assert state(sandbox)["contacts"] == []

    configure(sandbox, bulk_import_delay=0.3)
    later = bulk_import(sandbox, [{"email": "bo@example.com", "first_name": "Bo"}]).json()
    done = completed(sandbox, later["batchId"])
    [bo] = state(sandbox)["contacts"]
    assert (bo["email"], bo["firstName"]) == ("bo@example.com", "Bo")
    assert done == {"status": "completed", "success": [bo["id"]], "failure": []}
    assert info(sandbox, body["batchId"]).json()["status"] == "queued"  # its 60 s have not passed


def test_processing_maps_fields_and_never_blanks_stored_values(sandbox):
    api(
        sandbox,
        "POST",
        "/contact/sync",
        json={"contact": {"email": "ana@example.com", "firstName": "Ana", "phone": "123"}},
    )
    configure(sandbox, bulk_import_delay=0.0)
    batch = bulk_import(
        sandbox,
        [
            {
                "email": "ANA@example.com",
                "first_name": "",
                "last_name": "Silva",
                "customer_acct_name": "ACME",
                "tags": ["vip", "vtex"],
                "fields": [{"id": 7, "value": "gold"}],
            }
        ],
    ).json()["batchId"]
    done = completed(sandbox, batch)
    [ana] = state(sandbox)["contacts"]
    assert (ana["firstName"], ana["lastName"], ana["phone"], ana["orgname"]) == ("Ana", "Silva", "123", "ACME")
    assert (ana["tags"], ana["fieldValues"]) == (["vip", "vtex"], {"7": "gold"})
    assert done["success"] == [ana["id"]]


def test_subscribe_never_resubscribes_a_contact_who_unsubscribed(sandbox):
    contact = api(sandbox, "POST", "/contact/sync", json={"contact": {"email": "ana@example.com"}}).json()["contact"]
    api(sandbox, "POST", "/contactLists", json={"contactList": {"list": 1, "contact": contact["id"], "status": 2}})
    configure(sandbox, bulk_import_delay=0.3)
    batch = bulk_import(
        sandbox,
        [{"email": "ana@example.com", "subscribe": [{"listid": 1}, {"listid": 2}], "unsubscribe": [{"listid": 3}]}],
    ).json()["batchId"]
    completed(sandbox, batch)
    statuses = {row["list"]: row["status"] for row in state(sandbox)["contactLists"]}
    assert statuses == {"1": 2, "2": 1, "3": 2}


def test_250_contacts_pass_and_251_are_refused_whole(sandbox):
    refused = bulk_import(sandbox, contacts(251))
    assert refused.status_code == 400 and refused.json()["success"] == 0
    assert state(sandbox)["bulk_imports"] == []
    accepted = bulk_import(sandbox, contacts(250))
    assert accepted.status_code == 200 and accepted.json()["queued_contacts"] == 250


def body_of_size(size: int) -> bytes:
    """A valid two-contact import whose JSON body is exactly ``size`` bytes."""
    template = {"contacts": [{"email": "a@example.com", "first_name": ""}, {"email": "b@example.com"}]}
    padding = size - len(json.dumps(template).encode())
    template["contacts"][0]["first_name"] = "x" * padding
    raw = json.dumps(template).encode()
    assert len(raw) == size
    return raw


def test_bodies_over_400000_bytes_are_refused(sandbox):
    headers = {"Content-Type": "application/json"}
    too_big = api(sandbox, "POST", "/import/bulk_import", data=body_of_size(400_001), headers=headers)
    assert too_big.status_code == 400 and too_big.json()["success"] == 0
    at_limit = api(sandbox, "POST", "/import/bulk_import", data=body_of_size(400_000), headers=headers)
    assert at_limit.status_code == 200, at_limit.text


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"email": "not-an-email"}, "Field 'email' incorrect format"),
        ({"first_name": "No e-mail"}, "Field 'email' is required"),
        ({"email": "x@example.com", "subscribe": [{"listid": 99}]}, "List 99 does not exist"),
        ({"email": "x@example.com", "tags": "vip"}, "Field 'tags' must be a list of strings"),
    ],
)
def test_one_invalid_contact_rejects_the_whole_batch(sandbox, bad, reason):
    configure(sandbox, bulk_import_delay=0.0)
    people = contacts(4)
    people[2] = bad
    response = bulk_import(sandbox, people)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] == 0 and body["message"].startswith("JSON payload did not pass validation")
    assert body["failureReasons"] == [{"contact": 2, "failureReason": reason}]
    held = state(sandbox)
    assert (held["bulk_imports"], held["contacts"]) == ([], [])


def test_per_minute_limits_answer_400_rate_limit_exceeded(sandbox):
    configure(sandbox, bulk_import_multi_per_minute=3, bulk_import_single_per_minute=2)
    assert [bulk_import(sandbox, contacts(2)).status_code for _ in range(3)] == [200] * 3
    over = bulk_import(sandbox, contacts(2))
    assert over.status_code == 400
    body = over.json()
    assert (body["success"], body["message"]) == (0, "Rate limit exceeded.")
    assert body["failureReasons"][0].startswith("Up to 3 imports may be requested per minute")
    assert [bulk_import(sandbox, contacts(1)).status_code for _ in range(3)] == [200, 200, 400]
    assert len(state(sandbox)["bulk_imports"]) == 5


def test_default_per_minute_limits_are_20_single_and_100_multi(sandbox):
    settings = configure(sandbox)
    assert (settings["bulk_import_single_per_minute"], settings["bulk_import_multi_per_minute"]) == (20, 100)
    assert [bulk_import(sandbox, contacts(1)).status_code for _ in range(21)][-2:] == [200, 400]


def test_imports_also_count_against_the_five_per_second():
    with running(SandboxConfig(requests_per_second=5)) as server:
        freeze_rate_limit_clock(server)
        answers = [bulk_import(server, contacts(2)).status_code for _ in range(5)]
        refused = bulk_import(server, contacts(2))
        assert answers == [200] * 5
        assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_batches_belong_to_their_account():
    with running(SandboxConfig(requests_per_second=None, accounts={"t-a": "a", "t-b": "b"})) as server:
        batch = bulk_import(server, contacts(2), token="t-a").json()["batchId"]
        assert info(server, batch, token="t-a").status_code == 200
        assert info(server, batch, token="t-b").status_code == 404
        assert info(server, "no-such-batch", token="t-a").status_code == 404
        assert api(server, "GET", "/import/info", token="t-a").status_code == 400
        assert bulk_import(server, contacts(2), token="wrong").status_code == 403
