"""Master Data triggers as stores really send them: kept, normalised, refused only without e-mail or cart.

Bodies are VTEX's CL trigger template (tests/factories.py ``cart_trigger``, the README's customer
trigger) with the values real stores put in them (VTEX's abandoned-cart guide; the cart mapper of the
production connector woowup/vtex-woowup-connector): whole cart URLs, float artifacts, pt-BR amounts,
dates without an offset, free-text phones, "true" strings and nulls. Master Data v1 triggers never
retry, so whatever can be kept must be.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from acsync_core.cart import parse_rclastcart
from ingest import create_app
from tests.factories import cart_trigger, customer_trigger, make_settings, store_table
from tests.fixtures.vtex import load
from tests.ingest.conftest import auth, queue_total, queued

CARTS = "/hooks/vtex/mystore/carts"
CUSTOMERS = "/hooks/vtex/mystore/customers"
COMPAT = "/api/io/activeCampaign/abandonedCart"


@pytest.fixture
def settings(redis_url):
    # mystore sells in Brazil; otherstore keeps the default time zone (UTC)
    return make_settings(
        redis_url, mystore=store_table("mystore", timezone="America/Sao_Paulo"), otherstore=store_table("otherstore")
    )


def post(client, path: str, body: dict[str, Any], store: str = "mystore"):
    return client.post(path, json=body, headers=auth(store))


def accepted_payload(
    client, redis_client, path: str, body: dict[str, Any], kind: str, store: str = "mystore"
) -> dict[str, Any]:
    """Post a trigger, check it was accepted (200, not a duplicate), return the enqueued payload."""
    response = post(client, path, body, store)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "accepted" and response.json["duplicate"] is False
    message = queued(redis_client, kind)[-1]
    assert message["id"] == response.json["event_id"]
    return message["event"]["payload"]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# ------------------------------------------------------------------------------------------ rclastsessiondate
@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("2026-11-27T12:00:00.1234567Z", "2026-11-27T12:00:00.123456+00:00"),  # VTEX's own: 7 digits and Z
        ("2026-11-27T12:00:00-03:00", "2026-11-27T12:00:00-03:00"),
        ("2026-11-27T15:00:00+00:00", "2026-11-27T15:00:00+00:00"),
        ("2026-11-27T12:00:00.1234567-03:00", "2026-11-27T12:00:00.123456-03:00"),
        ("2026-11-27T12:00:00", "2026-11-27T12:00:00-03:00"),  # no offset: the store's time zone
        ("2026-11-27T12:00:00.1234567", "2026-11-27T12:00:00.123456-03:00"),
        ("2026-11-27 12:00:00", "2026-11-27T12:00:00-03:00"),  # a space instead of the T
        ("2026-11-27 12:00:00.1234567", "2026-11-27T12:00:00.123456-03:00"),
        ("2026-11-27 12:00:00Z", "2026-11-27T12:00:00+00:00"),
        ("2026-11-27", "2026-11-27T00:00:00-03:00"),  # a date alone: midnight, store time
        ("  2026-11-27T12:00  ", "2026-11-27T12:00:00-03:00"),
    ],
)
def test_session_date_forms_are_kept_as_iso_8601_with_offset(client, redis_client, sent, kept):
    payload = accepted_payload(client, redis_client, CARTS, {**cart_trigger(), "rclastsessiondate": sent}, "cart")
    assert payload["rclastsessiondate"] == kept
    assert datetime.fromisoformat(payload["rclastsessiondate"]).utcoffset() is not None


def test_a_date_without_offset_is_read_in_each_stores_own_time_zone(redis_url, redis_client):
    settings = make_settings(
        redis_url, mystore=store_table("mystore", timezone="Europe/Lisbon"), otherstore=store_table("otherstore")
    )
    client = create_app(settings).test_client()
    winter = {**cart_trigger(email="w@example.com"), "rclastsessiondate": "2026-01-15 12:00:00"}
    summer = {**cart_trigger(email="s@example.com"), "rclastsessiondate": "2026-07-15 12:00:00"}
    utc = {**cart_trigger(email="u@example.com", account="otherstore"), "rclastsessiondate": "2026-07-15 12:00:00"}
    assert (
        accepted_payload(client, redis_client, CARTS, winter, "cart")["rclastsessiondate"]
        == "2026-01-15T12:00:00+00:00"
    )
    assert (
        accepted_payload(client, redis_client, CARTS, summer, "cart")["rclastsessiondate"]
        == "2026-07-15T12:00:00+01:00"
    )  # a real zone, with its summer time, not a fixed offset
    assert (
        accepted_payload(client, redis_client, "/hooks/vtex/otherstore/carts", utc, "cart", store="otherstore")[
            "rclastsessiondate"
        ]
        == "2026-07-15T12:00:00+00:00"
    )


@pytest.mark.parametrize(
    "sent",
    [
        "yesterday",
        "27/11/2026 12:00",
        "2026-13-01T00:00:00",
        "2026-11-27T25:00:00",
        "2026-11-27T12:00:00+25:00",
        1764244800,
        1764244800.5,
        True,
        ["2026-11-27"],
        {"date": "2026-11-27"},
        "2026-11-27T12:00:00" + "0" * 40,
    ],
)
def test_an_unparsable_session_date_is_dropped_and_the_cart_kept(client, redis_client, sent):
    before = sample("acsync_ingest_fields_dropped_total", kind="cart", field="rclastsessiondate")
    response = post(client, CARTS, {**cart_trigger(), "rclastsessiondate": sent})
    assert response.status_code == 200 and response.json["dropped"] == ["rclastsessiondate"]
    [message] = queued(redis_client, "cart")
    assert "rclastsessiondate" not in message["event"]["payload"]  # the worker uses the arrival time
    assert message["event"]["payload"]["rclastcart"] == cart_trigger()["rclastcart"]
    assert sample("acsync_ingest_fields_dropped_total", kind="cart", field="rclastsessiondate") == before + 1


def test_a_session_date_more_than_a_day_ahead_is_dropped(client, redis_client):
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert accepted_payload(
        client, redis_client, CARTS, {**cart_trigger(email="a@example.com"), "rclastsessiondate": soon}, "cart"
    )["rclastsessiondate"]
    response = post(client, CARTS, {**cart_trigger(email="b@example.com"), "rclastsessiondate": later})
    assert response.status_code == 200 and response.json["dropped"] == ["rclastsessiondate"]
    assert "rclastsessiondate" not in queued(redis_client, "cart")[-1]["event"]["payload"]


def test_the_other_master_data_dates_follow_the_same_rules(client, redis_client):
    body = {**cart_trigger(), "createdIn": "2026-11-20 08:00:00", "updatedIn": None, "lastInteractionIn": "ontem"}
    response = post(client, CARTS, body)
    assert response.status_code == 200 and response.json["dropped"] == ["lastInteractionIn"]
    payload = queued(redis_client, "cart")[-1]["event"]["payload"]
    assert payload["createdIn"] == "2026-11-20T08:00:00-03:00" and "updatedIn" not in payload
    customer = {**customer_trigger(), "updatedIn": "2026-11-27 09:30:00.1234567"}
    payload = accepted_payload(client, redis_client, CUSTOMERS, customer, "customer")
    assert payload["updatedIn"] == "2026-11-27T09:30:00.123456-03:00"


# ------------------------------------------------------------------------------------------ rclastcart
@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("add?sku=20&qty=1&seller=1&sku=4&qty=2&seller=1&sc=1", "add?sku=20&qty=1&seller=1&sku=4&qty=2&seller=1&sc=1"),
        ("https://www.mystore.com/checkout/cart/add?sku=20&qty=1&seller=1&sc=1", "add?sku=20&qty=1&seller=1&sc=1"),
        ("/checkout/cart/add?sku=20&qty=1&seller=1&sc=1", "add?sku=20&qty=1&seller=1&sc=1"),
        ("add?sku=20&qty=1&seller=1&sc=1&", "add?sku=20&qty=1&seller=1&sc=1"),
        (
            "add?sku=20&qty=1&seller=1&sc=1&sku=4&qty=2&seller=1&sc=1&",
            "add?sku=20&qty=1&seller=1&sku=4&qty=2&seller=1&sc=1",
        ),  # sc per item
        ("add?sku=20", "add?sku=20&qty=1&seller=1"),
    ],
)
def test_cart_forms_are_kept_in_the_relative_form(client, redis_client, sent, kept):
    assert accepted_payload(client, redis_client, CARTS, cart_trigger(cart=sent), "cart")["rclastcart"] == kept


def test_the_same_cart_written_two_ways_is_one_event(client, redis_client):
    first = post(client, CARTS, cart_trigger(cart="add?sku=20&qty=1&seller=1&sc=1"))
    again = post(
        client, CARTS, cart_trigger(cart="https://www.mystore.com/checkout/cart/add?sku=20&qty=1&seller=1&sc=1&")
    )
    assert first.status_code == again.status_code == 200
    assert again.json["duplicate"] is True and again.json["event_id"] == first.json["event_id"]
    assert queue_total(redis_client) == 1


@pytest.mark.parametrize("junk", ["remove?sku=1", "add?qty=2&sku=1", "https://www.mystore.com/account", "hello"])
def test_an_unreadable_cart_is_kept_as_sent_for_the_worker_to_dead_letter(client, redis_client, junk):
    # the worker's parse_rclastcart makes it a permanent error (unparsable_cart): the DLQ keeps it
    payload = accepted_payload(client, redis_client, CARTS, cart_trigger(cart=junk), "cart")
    assert payload["rclastcart"] == junk


# Master Data triggers as real stores sent them (tests/fixtures/vtex): the cart ingest keeps, what the
# worker's parser reads in it, the value and the session's instant (2026-07-02 20:09:17.523 UTC in all).
@pytest.mark.parametrize(
    ("name", "kept", "items", "value"),
    [
        (
            "cl-cart-trigger",
            "add?sku=2000123&qty=1&seller=1&sku=2000456&qty=2&seller=1&sc=1",
            [("2000123", 1), ("2000456", 2)],
            "131.71",
        ),
        ("cl-cart-trigger-full-url-ptbr-value", "add?sku=5000999&qty=4&seller=1&sc=1", [("5000999", 4)], "1234.56"),
        ("cl-cart-trigger-naive-date-float-value", "add?sku=2000789&qty=3&seller=1&sc=1", [("2000789", 3)], "59.70"),
        ("cl-cart-trigger-nulls-free-text-phone", "add?sku=2000456&qty=1&seller=1&sc=1", [("2000456", 1)], None),
    ],
)
def test_real_cart_triggers_are_kept_in_the_form_the_worker_parses(client, redis_client, name, kept, items, value):
    body = load(name)
    payload = accepted_payload(client, redis_client, CARTS, body, "cart")
    assert payload["rclastcart"] == kept and payload.get("rclastcartvalue") == value
    parsed = parse_rclastcart(payload["rclastcart"])
    assert [(item.sku, item.quantity, item.seller) for item in parsed.items] == [(sku, n, "1") for sku, n in items]
    assert parsed.sales_channel == "1"
    assert parse_rclastcart(body["rclastcart"]) == parsed  # as sent, before ingest's normalisation
    if body["rclastsessiondate"] is None:
        assert "rclastsessiondate" not in payload  # the worker uses the arrival time
    else:  # the naive one is São Paulo's time, mystore's zone
        assert datetime.fromisoformat(payload["rclastsessiondate"]) == datetime(2026, 7, 2, 20, 9, 17, 523000, UTC)


# ------------------------------------------------------------------------------------------ rclastcartvalue
@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("129.90", "129.90"),
        ("59.7", "59.70"),
        (59.7, "59.70"),
        (129, "129.00"),
        ("129", "129.00"),
        (59.699999999999996, "59.70"),
        ("59.699999999999996", "59.70"),  # JavaScript writers' float artifacts
        (0.30000000000000004, "0.30"),
        ("1.234,56", "1234.56"),
        ("59,70", "59.70"),
        ("1.234.567,89", "1234567.89"),
        ("R$ 1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        (" 59,7 ", "59.70"),
        ("0.125", "0.12"),
        ("0.135", "0.14"),
        ("0,005", "0.00"),
        ("2.675", "2.68"),  # half-even, to cents
        (0, "0.00"),
        ("0", "0.00"),
    ],
)
def test_cart_value_forms_are_kept_as_two_decimals(client, redis_client, sent, kept):
    payload = accepted_payload(client, redis_client, CARTS, {**cart_trigger(), "rclastcartvalue": sent}, "cart")
    assert payload["rclastcartvalue"] == kept


@pytest.mark.parametrize(
    "sent",
    [
        "12,3,4",
        "abc",
        "-5",
        "-5.00",
        "NaN",
        "Infinity",
        "1e400",
        "1,2.3",
        "1.23.4",
        "59.70 BRL",
        True,
        [59.7],
        {"value": 59.7},
        1e16,
        -0.5,
    ],
)
def test_an_unparsable_cart_value_is_dropped_and_the_cart_kept(client, redis_client, sent):
    response = post(client, CARTS, {**cart_trigger(), "rclastcartvalue": sent})
    assert response.status_code == 200 and response.json["dropped"] == ["rclastcartvalue"]
    assert "rclastcartvalue" not in queued(redis_client, "cart")[-1]["event"]["payload"]  # simulation prices


# ------------------------------------------------------------------------------------------ nulls
def test_null_master_data_fields_are_absent_not_errors(client, redis_client):
    nulls = {
        "rclastcartvalue": None,
        "rclastsession": None,
        "rclastsessiondate": None,
        "userId": None,
        "firstName": None,
        "lastName": None,
        "localeDefault": None,
        "id": None,
        "accountId": None,
        "dataEntityId": None,
        "createdIn": None,
        "updatedIn": None,
        "lastInteractionIn": None,
        "createdBy": None,
        "updatedBy": None,
        "lastInteractionBy": None,
    }
    response = post(client, CARTS, {**cart_trigger(), **nulls})
    assert response.status_code == 200 and "dropped" not in response.json
    payload = queued(redis_client, "cart")[-1]["event"]["payload"]
    assert payload == {"email": "ana@example.com", "rclastcart": cart_trigger()["rclastcart"], "accountName": "mystore"}
    customer = {
        **customer_trigger(),
        "firstName": None,
        "lastName": None,
        "phone": None,
        "homePhone": None,
        "userId": None,
        "isNewsletterOptIn": None,
        "id": None,
        "createdIn": None,
        "updatedIn": None,
    }
    payload = accepted_payload(client, redis_client, CUSTOMERS, customer, "customer")
    assert payload == {"email": "bo@example.com"}


# ------------------------------------------------------------------------------------------ phones
@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("+55 11 99999-0000", "+5511999990000"),
        ("(11) 99999-0000", "11999990000"),
        ("11.99999.0000", "11999990000"),
        ("+55 (11) 3333-4444", "+551133334444"),
        (" +55\u00a011 98888 7777 ", "+5511988887777"),
        (5511999990000, "5511999990000"),
        ("+1-202-555-0143", "+12025550143"),
        ("1" * 20, "1" * 20),
        ("119", "119"),
    ],
)
def test_phones_are_kept_as_digits_with_an_optional_plus(client, redis_client, sent, kept):
    payload = accepted_payload(client, redis_client, CUSTOMERS, {**customer_trigger(), "phone": sent}, "customer")
    assert payload["phone"] == kept


@pytest.mark.parametrize(
    "sent",
    [
        "11 99999-0000 ramal 12",
        "(11) 3333-4444 x12",
        "3333-4444 ext. 5",
        "+55 11 #1234",
        "tel: 11 99999-0000",
        "não tenho",
        "+55+11999990000",
        "55+11999990000",
        "12",
        "1" * 21,
        "11/99999-0000",
        "11 99999-0000;ext=2",
        5511999990000.0,
        True,
        ["11999990000"],
        "11\t99999\n0000",
    ],
)
def test_a_phone_that_is_not_one_is_dropped_and_the_customer_kept(client, redis_client, sent):
    response = post(client, CUSTOMERS, {**customer_trigger(), "phone": sent, "homePhone": "(11) 3333-4444"})
    assert response.status_code == 200 and response.json["dropped"] == ["phone"]
    payload = queued(redis_client, "customer")[-1]["event"]["payload"]
    assert "phone" not in payload and payload["homePhone"] == "1133334444" and payload["firstName"] == "Bo"


# ------------------------------------------------------------------------------------------ isNewsletterOptIn
@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("false", False),
        ("TRUE", True),
        ("False", False),
        ("tRuE", True),
        (" false ", False),
        (1, True),
        (0, False),
    ],
)
def test_newsletter_opt_in_is_a_boolean(client, redis_client, sent, kept):
    payload = accepted_payload(
        client, redis_client, CUSTOMERS, {**customer_trigger(), "isNewsletterOptIn": sent}, "customer"
    )
    assert payload["isNewsletterOptIn"] is kept


@pytest.mark.parametrize("sent", ["maybe", "truee", 2, -1, 0.5, ["true"], {"value": True}])
def test_an_unreadable_opt_in_is_dropped_and_the_customer_kept(client, redis_client, sent):
    response = post(client, CUSTOMERS, {**customer_trigger(), "isNewsletterOptIn": sent})
    assert response.status_code == 200 and response.json["dropped"] == ["isNewsletterOptIn"]
    assert "isNewsletterOptIn" not in queued(redis_client, "customer")[-1]["event"]["payload"]


def test_the_string_null_opt_in_is_absent(client, redis_client):
    response = post(client, CUSTOMERS, {**customer_trigger(), "isNewsletterOptIn": "null"})
    assert response.status_code == 200 and "dropped" not in response.json
    assert "isNewsletterOptIn" not in queued(redis_client, "customer")[-1]["event"]["payload"]


# ------------------------------------------------------------------------------------------ other optional fields
def test_other_invalid_optional_fields_are_dropped_with_the_event_kept(client, redis_client, caplog):
    caplog.set_level(logging.INFO, logger="acsync.ingest")
    body = {**customer_trigger(), "firstName": "Ana\r\nBcc: x@evil.com", "lastName": "S" * 1000, "userId": ["u"]}
    before = sample("acsync_ingest_fields_dropped_total", kind="customer", field="firstName")
    response = post(client, CUSTOMERS, body)
    assert response.status_code == 200 and response.json["dropped"] == ["firstName", "lastName", "userId"]
    payload = queued(redis_client, "customer")[-1]["event"]["payload"]
    assert {"firstName", "lastName", "userId"}.isdisjoint(payload) and payload["email"] == "bo@example.com"
    assert sample("acsync_ingest_fields_dropped_total", kind="customer", field="firstName") == before + 1
    [line] = [r for r in caplog.records if r.name == "acsync.ingest" and "dropped" in r.getMessage()]
    assert line.getMessage() == "event accepted; invalid fields dropped: firstName, lastName, userId"
    assert "evil" not in line.getMessage() and line.store == "mystore" and line.kind == "customer"


# ------------------------------------------------------------------------------------------ refusals
MISSING_EMAILS = [{}, {"email": ""}, {"email": "   "}, {"email": "{!email}"}, {"email": None}]


@pytest.mark.parametrize(
    ("path", "kind", "body", "reason"),
    [
        *[
            (CARTS, "cart", {**{k: v for k, v in cart_trigger().items() if k != "email"}, **e}, "missing_email")
            for e in MISSING_EMAILS
        ],
        *[
            (
                CUSTOMERS,
                "customer",
                {**{k: v for k, v in customer_trigger().items() if k != "email"}, **e},
                "missing_email",
            )
            for e in MISSING_EMAILS
        ],
        (COMPAT, "cart", {**cart_trigger(), "email": "{!email}"}, "missing_email"),
        (CARTS, "cart", cart_trigger(email="ana.silva@example"), "invalid_email"),
        (CUSTOMERS, "customer", customer_trigger(email="bo.souza at example.com"), "invalid_email"),
        (CARTS, "cart", {**cart_trigger(), "email": ["ana@example.com"]}, "invalid_email"),
        (CARTS, "cart", {k: v for k, v in cart_trigger().items() if k != "rclastcart"}, "missing_cart"),
        (CARTS, "cart", cart_trigger(cart=""), "missing_cart"),
        (CARTS, "cart", cart_trigger(cart="{!rclastcart}"), "missing_cart"),
        (CARTS, "cart", {**cart_trigger(), "rclastcart": None}, "missing_cart"),
        (CARTS, "cart", cart_trigger(cart="add?sc=1"), "missing_cart"),  # a cart without any item
        (CARTS, "cart", cart_trigger(cart="https://www.mystore.com/checkout/cart/"), "missing_cart"),
        (COMPAT, "cart", cart_trigger(cart="add?"), "missing_cart"),
        (CARTS, "cart", cart_trigger(cart="add?sku=1&" + "x" * 5000), "invalid_cart"),
        (CARTS, "cart", cart_trigger(cart="add?sku=1\r\nX-Injected: 1"), "invalid_cart"),
        # both missing: the e-mail is named first, both fields are listed
        (CARTS, "cart", {**cart_trigger(), "email": None, "rclastcart": None}, "missing_email"),
    ],
)
def test_only_a_missing_or_invalid_email_or_cart_refuses_a_trigger(
    client, redis_client, caplog, path, kind, body, reason
):
    caplog.set_level(logging.INFO, logger="acsync.ingest")
    endpoint = {CARTS: "cart_trigger", CUSTOMERS: "customer_trigger", COMPAT: "compat_abandoned_cart"}[path]
    before = sample("acsync_ingest_events_rejected_total", kind=endpoint, reason=reason)
    response = post(client, path, body)
    assert response.status_code == 400
    assert response.json["error"] == reason
    assert set(response.json["fields"]) <= {"email", "rclastcart"} and response.json["fields"]
    assert queue_total(redis_client) == 0
    assert sample("acsync_ingest_events_rejected_total", kind=endpoint, reason=reason) == before + 1
    [line] = [r for r in caplog.records if r.name == "acsync.ingest"]
    assert line.levelno == logging.INFO and line.getMessage() == f"{kind} trigger refused: {reason}"
    assert line.store == "mystore" and line.kind == kind
    text = line.getMessage() + repr(vars(line))
    assert "@" not in text and "example" not in text  # never the e-mail


def test_a_refused_trigger_names_both_missing_fields(client, redis_client):
    response = post(client, CARTS, {**cart_trigger(), "email": None, "rclastcart": ""})
    assert response.json["fields"] == {
        "email": ["Missing data for required field."],
        "rclastcart": ["Missing data for required field."],
    }


def test_a_realistic_messy_trigger_is_kept_whole(client, redis_client):
    """One body with every real-world quirk at once, as a JavaScript-written CL record produces it."""
    body = {
        **cart_trigger(),
        "rclastcart": "https://www.mystore.com/checkout/cart/add?sku=20&qty=1&seller=1&sc=1&sku=4&qty=2&seller=1&sc=1&",
        "rclastcartvalue": 59.699999999999996,
        "rclastsessiondate": "2026-11-27 12:00:00.1234567",
        "userId": None,
        "lastName": None,
        "createdIn": None,
    }
    response = post(client, CARTS, body)
    assert response.status_code == 200 and "dropped" not in response.json
    payload = queued(redis_client, "cart")[-1]["event"]["payload"]
    assert payload["rclastcart"] == "add?sku=20&qty=1&seller=1&sku=4&qty=2&seller=1&sc=1"
    assert payload["rclastcartvalue"] == "59.70"
    assert payload["rclastsessiondate"] == "2026-11-27T12:00:00.123456-03:00"
    assert {"userId", "lastName", "createdIn"}.isdisjoint(payload) and payload["firstName"] == "Ana"
