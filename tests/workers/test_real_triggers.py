"""Real Master Data trigger shapes (tests/fixtures/vtex) through ingest, the workers and the writer: nothing
that can be kept is lost, and ActiveCampaign gets these exact fields."""

from __future__ import annotations

import base64
from datetime import datetime

import orjson
import pytest

from ingest import create_app
from tests.factories import SECRETS, make_settings
from tests.fixtures.vtex import load
from tests.workers.conftest import fast_stores, writer_for
from tests.workers.test_real_payloads import run_queued
from workers.runtime import Runtime, set_runtime
from workers.vtex.sandbox import sku_price


@pytest.fixture
def stack(sandboxes, redis_url):
    # carts are written at once here (no minimum age): the fixtures' sessions are of any age
    stores = fast_stores(sandboxes, timezone="America/Sao_Paulo", abandoned_cart_min_age_minutes=0)
    stores["mystore"]["activecampaign"]["list_id"] = 2
    runtime = Runtime.from_settings(make_settings(redis_url, **stores))
    set_runtime(runtime)
    yield runtime, sandboxes
    set_runtime(None)


def post(runtime: Runtime, kind: str, body: dict) -> dict:
    ingest = create_app(runtime.settings).test_client()
    answer = ingest.post(f"/hooks/vtex/mystore/{kind}", json=body, headers={"X-Hook-Secret": SECRETS["mystore"]})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def deliver(runtime: Runtime) -> None:
    for queue in ("acsync.carts", "acsync.customers"):
        run_queued(runtime, queue)
    writer_for(runtime).drain(include_future=True, timeout=20)


def queued_payloads(runtime: Runtime, queue: str) -> list[dict]:
    """The validated payloads waiting on ``queue`` (what ingest made of the trigger)."""
    out = []
    for raw in runtime.redis.lrange(queue, 0, -1):
        envelope = orjson.loads(raw)
        args, _kwargs, _embed = orjson.loads(base64.b64decode(envelope["body"]))
        out.append(args[0]["payload"])
    return out


def carts(boxes) -> dict[str, dict]:
    return {o["email"]: o for o in boxes.orders() if o.get("externalcheckoutid")}


def test_a_naive_session_date_is_the_stores_time_and_a_float_artifact_is_rounded_to_cents(stack):
    runtime, boxes = stack
    post(runtime, "carts", load("cl-cart-trigger-naive-date-float-value"))  # 17:09 in São Paulo, 59.699999999999996
    [payload] = queued_payloads(runtime, "acsync.carts")
    assert payload["rclastcartvalue"] == "59.70" and payload["rclastcart"] == "add?sku=2000789&qty=3&seller=1&sc=1"
    assert datetime.fromisoformat(payload["rclastsessiondate"]) == datetime.fromisoformat("2026-07-02T20:09:17.523Z")
    deliver(runtime)
    cart = carts(boxes)["bruno.exemplo@example.com"]
    abandoned = datetime.fromisoformat(cart["abandonedDate"])
    assert abandoned.timestamp() == datetime.fromisoformat("2026-07-02T20:09:17+00:00").timestamp()
    unit = sku_price("2000789")  # checkout simulation prices the SKU; the value is the fallback
    assert cart["totalPrice"] == str(3 * unit)
    assert [(p["externalid"], p["quantity"], p["price"]) for p in cart["orderProducts"]] == [("2000789", 3, unit)]


def test_a_full_url_cart_and_a_pt_br_value_are_kept(stack):
    runtime, boxes = stack
    post(runtime, "carts", load("cl-cart-trigger-full-url-ptbr-value"))  # "1.234,56"
    [payload] = queued_payloads(runtime, "acsync.carts")
    assert payload["rclastcartvalue"] == "1234.56" and payload["rclastcart"] == "add?sku=5000999&qty=4&seller=1&sc=1"
    deliver(runtime)
    cart = carts(boxes)["carla.modelo@example.com"]
    unit = sku_price("5000999")
    assert cart["totalPrice"] == str(4 * unit)
    assert [(p["externalid"], p["quantity"], p["price"]) for p in cart["orderProducts"]] == [("5000999", 4, unit)]
    assert cart["orderUrl"] == "https://www.mystore.com/checkout/cart/add?sku=5000999&qty=4&seller=1&sc=1"


def test_nulls_and_a_free_text_phone_never_lose_the_event(stack):
    runtime, boxes = stack
    answer = post(runtime, "customers", load("cl-customer-trigger-nulls-free-text-phone"))
    assert "homePhone" in answer.get("dropped", [])  # "(11) 9 0000-0001 ramal 12 (whatsapp)": an extension
    post(runtime, "carts", load("cl-cart-trigger-nulls-free-text-phone"))
    deliver(runtime)
    [contact] = [c for c in boxes.ac_state()["contacts"] if c["email"] == "sem.nome@example.com"]
    assert contact["phone"] == "" and contact["firstName"] == ""
    assert "sem.nome@example.com" in carts(boxes)  # no session date: the arrival time counts


def test_an_opt_in_given_as_a_string_subscribes_through_the_import(stack):
    runtime, boxes = stack
    post(runtime, "customers", load("cl-customer-trigger-optin-string"))
    deliver(runtime)
    state = boxes.ac_state()
    [contact] = [c for c in state["contacts"] if c["email"] == "fernanda.demo@example.com"]
    assert (contact["firstName"], contact["lastName"], contact["phone"]) == ("Fernanda", "Demo", "+5511900000009")
    assert [(m["contact"], m["list"], str(m["status"])) for m in state["contactLists"]] == [(contact["id"], "2", "1")]
