"""Every status code of the hook endpoints, against a real private Redis."""

from __future__ import annotations

import io
import json

import pytest

from acsync_core.publish import DEDUPE_PREFIX
from ingest import create_app
from tests.factories import cart_trigger, customer_trigger, make_settings, order_hook
from tests.ingest.conftest import auth, queue_total, queued


def test_vtex_ping_answers_200_without_auth(client, redis_client):
    response = client.post("/hooks/vtex/mystore/orders", json={"hookConfig": "ping"})
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert queue_total(redis_client) == 0


@pytest.mark.parametrize(
    ("path", "body", "kind"),
    [
        ("/hooks/vtex/mystore/orders", order_hook(), "order"),
        ("/hooks/vtex/mystore/carts", cart_trigger(), "cart"),
        ("/hooks/vtex/mystore/customers", customer_trigger(), "customer"),
    ],
)
def test_accepted_hook_enqueues_exactly_one_task_with_the_payload(client, redis_client, path, body, kind):
    response = client.post(path, json=body, headers=auth())
    assert response.status_code == 200  # VTEX's Feed v3 guide: always 200 within 5,000 ms
    assert response.json["status"] == "accepted" and response.json["duplicate"] is False
    assert "spooled" not in response.json and "dropped" not in response.json
    [message] = queued(redis_client, kind)
    assert queue_total(redis_client) == 1
    event = message["event"]
    assert message["task"] == f"acsync.process_{kind}_event" and message["id"] == response.json["event_id"]
    assert event["event_id"] == response.json["event_id"] and event["store"] == "mystore" and event["kind"] == kind
    assert "@" not in message["argsrepr"]  # no e-mail in what Flower shows
    if kind == "order":
        assert event["payload"]["OrderId"] == body["OrderId"] and event["payload"]["State"] == "payment-approved"
        assert event["payload"]["LastChange"] == "2026-11-27T13:30:00.1234567Z"
    if kind == "cart":
        assert event["payload"]["rclastcartvalue"] == "129.90" and event["payload"]["email"] == "ana@example.com"
        assert "createdBy" not in event["payload"] and "createdIn" not in event["payload"]  # placeholder, blank
    if kind == "customer":
        assert event["payload"]["isNewsletterOptIn"] is True


def test_repeat_is_a_duplicate_with_the_first_event_id(client, redis_client):
    first = client.post("/hooks/vtex/mystore/orders", json=order_hook(), headers=auth())
    again = client.post("/hooks/vtex/mystore/orders", json=order_hook(), headers=auth())
    assert first.status_code == again.status_code == 200
    assert first.json == {"status": "accepted", "event_id": first.json["event_id"], "duplicate": False}
    assert again.json == {"status": "duplicate", "event_id": first.json["event_id"], "duplicate": True}
    later_state = client.post("/hooks/vtex/mystore/orders", json=order_hook(state="invoiced"), headers=auth())
    assert later_state.status_code == 200 and later_state.json["duplicate"] is False
    assert queue_total(redis_client) == 2
    # the same cart with another e-mail case is the same cart
    cart = client.post("/hooks/vtex/mystore/carts", json=cart_trigger(), headers=auth())
    assert cart.status_code == 200 and cart.json["duplicate"] is False
    repeat = client.post("/hooks/vtex/mystore/carts", json=cart_trigger(email="ANA@example.com"), headers=auth())
    assert repeat.status_code == 200 and repeat.json["duplicate"] is True
    assert queue_total(redis_client) == 3
    assert not any("@" in key for key in redis_client.keys(DEDUPE_PREFIX + "*"))


def test_dedupe_window_expires(redis_url, redis_client):
    settings = make_settings(redis_url)
    object.__setattr__(settings, "dedupe_window_seconds", 1)
    client = create_app(settings).test_client()
    client.post("/hooks/vtex/mystore/orders", json=order_hook(), headers=auth())
    ttls = [redis_client.ttl(k) for k in redis_client.keys(DEDUPE_PREFIX + "*")]
    assert ttls and all(0 < ttl <= 1 for ttl in ttls)


def test_failed_enqueue_leaves_no_dedupe_key_so_the_retry_is_accepted(client, redis_client):
    # Make the LPUSH fail inside the script (wrong type on the queue key): nothing may be half-written.
    redis_client.set("acsync.orders", "not a list")
    failed = client.post("/hooks/vtex/mystore/orders", json=order_hook(), headers=auth())
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "5"
    assert redis_client.keys(DEDUPE_PREFIX + "*") == []
    redis_client.delete("acsync.orders")
    retried = client.post("/hooks/vtex/mystore/orders", json=order_hook(), headers=auth())
    assert retried.status_code == 200 and retried.json["duplicate"] is False
    assert len(queued(redis_client, "order")) == 1


def test_redis_unreachable_is_503_with_retry_after(redis_url):
    from acsync.localredis import free_port
    from ingest.app import redis_client_for

    dead = redis_client_for(f"redis://127.0.0.1:{free_port()}/0")
    client = create_app(make_settings(redis_url), redis_client=dead).test_client()
    response = client.post("/hooks/vtex/mystore/orders", json=order_hook(), headers=auth())
    assert response.status_code == 503 and response.json["error"] == "queue_unavailable"
    assert response.headers["Retry-After"].isdigit()
    assert client.get("/readyz").status_code == 503


def test_unknown_store_is_404_and_enqueues_nothing(client, redis_client):
    response = client.post("/hooks/vtex/nostore/orders", json=order_hook(), headers=auth())
    assert response.status_code == 404 and response.json == {"error": "unknown_store"}
    assert queue_total(redis_client) == 0


@pytest.mark.parametrize("headers", [{}, {"X-Hook-Secret": "wrong"}, {"X-Hook-Secret": ""}, auth("otherstore")])
def test_missing_wrong_or_other_stores_secret_is_401(client, redis_client, headers):
    for path, body in (
        ("/hooks/vtex/mystore/orders", order_hook()),
        ("/hooks/vtex/mystore/carts", cart_trigger()),
        ("/hooks/vtex/mystore/customers", customer_trigger()),
    ):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 401 and response.json["error"] == "unauthorized"
        assert "secret-0123456789" not in response.get_data(as_text=True)
    assert queue_total(redis_client) == 0


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/hooks/vtex/mystore/orders", {**order_hook(), "OrderId": ""}, "OrderId"),
        ("/hooks/vtex/mystore/orders", {k: v for k, v in order_hook().items() if k != "State"}, "State"),
        ("/hooks/vtex/mystore/orders", {**order_hook(), "LastChange": "yesterday"}, "LastChange"),
        ("/hooks/vtex/mystore/orders", {**order_hook(), "OrderId": "x/../../etc"}, "OrderId"),
        ("/hooks/vtex/mystore/orders", {**order_hook(), "OrderId": None}, "OrderId"),
        ("/hooks/vtex/mystore/orders", {**order_hook(), "Domain": "Ana\r\nBcc: x@evil.com"}, "Domain"),
    ],
)
def test_order_hook_validation_errors_are_400_with_fields(client, redis_client, path, body, field):
    # VTEX resends a refused order hook, so orders stay strict (Master Data triggers: test_triggers.py)
    response = client.post(path, json=body, headers=auth())
    assert response.status_code == 400
    assert response.json["error"] == "validation_failed" and field in response.json["fields"]
    assert queue_total(redis_client) == 0


def test_tolerant_parsing_of_loose_vtex_bodies(client, redis_client):
    body = {"OrderId": 1234567, "State": "invoiced", "Extra": {"nested": [1, 2]}, "LastChange": None}
    body.pop("LastChange")
    assert client.post("/hooks/vtex/mystore/orders", json=body, headers=auth()).status_code == 200
    nulls = {**order_hook(order_id="v2-01"), "LastState": None, "CurrentChange": None, "Domain": None}
    assert client.post("/hooks/vtex/mystore/orders", json=nulls, headers=auth()).status_code == 200
    assert [m["event"]["payload"].get("LastState", "absent") for m in queued(redis_client, "order")] == [
        "absent",
        "absent",
    ]
    cart = {**cart_trigger(), "rclastcartvalue": 129.9, "firstName": "{!firstName}", "unknown": "x"}
    assert client.post("/hooks/vtex/mystore/carts", json=cart, headers=auth()).status_code == 200
    [message] = queued(redis_client, "cart")
    assert message["event"]["payload"]["rclastcartvalue"] == "129.90" and "firstName" not in message["event"]["payload"]


def test_origin_account_must_match_the_store(client, redis_client):
    response = client.post("/hooks/vtex/mystore/orders", json=order_hook(account="otherstore"), headers=auth())
    assert response.status_code == 400 and "Origin" in response.json["fields"]


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        ("{not json", None),
        ("[1, 2]", "the body must be a JSON object"),
        ('"text"', "the body must be a JSON object"),
        ("\xff\xfe", None),
        ('{"a":' * 5000 + "1" + "}" * 5000, "JSON nested too deeply"),
        ('{"a":' * 40 + "1" + "}" * 40, "JSON nested too deeply"),
        # not JSON by RFC 8259 even if Python's json module takes them: NaN/Infinity, a lone surrogate, UTF-16
        ('{"email": NaN}', None),
        ('{"rclastcartvalue": Infinity}', None),
        (b'{"email": "\xed\xa0\x80"}', None),
        ('{"email": "a@b.co"}'.encode("utf-16"), None),
    ],
)
def test_malformed_json_is_400(client, redis_client, data, detail):
    response = client.post("/hooks/vtex/mystore/carts", data=data, content_type="application/json", headers=auth())
    assert response.status_code == 400 and response.json["error"] == "malformed_json"
    if detail:
        assert response.json["detail"] == detail
    assert queue_total(redis_client) == 0


def test_wrong_content_type_is_415(client):
    response = client.post(
        "/hooks/vtex/mystore/orders", data=json.dumps(order_hook()), content_type="text/plain", headers=auth()
    )
    assert response.status_code == 415


def test_oversized_body_is_413_with_or_without_content_length(client, redis_client):
    huge = json.dumps({**cart_trigger(), "padding": "x" * (300 * 1024)})
    response = client.post("/hooks/vtex/mystore/carts", data=huge, content_type="application/json", headers=auth())
    assert response.status_code == 413 and response.json["error"] == "payload_too_large"

    streamed = client.post(
        "/hooks/vtex/mystore/carts",
        input_stream=io.BytesIO(huge.encode()),
        content_type="application/json",
        headers={**auth(), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )  # as gunicorn sets for chunked
    assert streamed.status_code == 413
    assert queue_total(redis_client) == 0


def test_compat_route_takes_the_store_from_account_name(client, redis_client):
    response = client.post("/api/io/activeCampaign/abandonedCart", json=cart_trigger(), headers=auth())
    assert response.status_code == 200 and response.json["duplicate"] is False
    assert queued(redis_client, "cart")[0]["event"]["store"] == "mystore"
    assert (
        client.post(
            "/api/io/activeCampaign/abandonedCart", json=cart_trigger(account="nostore"), headers=auth()
        ).status_code
        == 404
    )
    no_account = {k: v for k, v in cart_trigger().items() if k != "accountName"}
    assert client.post("/api/io/activeCampaign/abandonedCart", json=no_account, headers=auth()).status_code == 400
    assert (
        client.post("/api/io/activeCampaign/abandonedCart", json=cart_trigger(), headers=auth("otherstore")).status_code
        == 401
    )


def test_unknown_route_and_method_are_json_errors(client):
    assert client.get("/nope").json == {"error": "not_found"}
    response = client.get("/hooks/vtex/mystore/orders")
    assert response.status_code == 405 and response.json == {"error": "method_not_allowed"}


@pytest.mark.parametrize(("containers", "too_deep"), [(31, False), (32, True)])
def test_nesting_limit_is_32_levels_counting_the_innermost_value(client, redis_client, containers, too_deep):
    # the body itself is level 1; a scalar inside n containers sits at level n + 1
    body = "1"
    for n in range(containers - 1):
        body = f'{{"a":{body}}}' if n % 2 else f"[{body}]"
    body = f'{{"email":"a@b.co","rclastcart":"add?sku=1","nest":{body}}}'
    response = client.post("/hooks/vtex/mystore/carts", data=body, content_type="application/json", headers=auth())
    if too_deep:
        assert response.status_code == 400 and response.json["detail"] == "JSON nested too deeply"
    else:
        assert response.status_code == 200
