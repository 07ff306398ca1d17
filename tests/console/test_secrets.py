"""No page ever shows a hook secret, an ActiveCampaign token or a VTEX app key or token."""

from __future__ import annotations

import logging

from acsync_core.stats import Stats
from tests.console.conftest import SECRETS, ConsoleClient, dead_letter
from workers.hookconfig import record_health
from workers.trail import Trail


def test_no_page_renders_a_secret_of_the_stores_file(app, operator, viewer, redis_client, caplog):
    # data that carries secrets where they could leak: VTEX's Origin.Key in the hook, tokens in errors
    error = f"AuthenticationError: 403 for api_token={SECRETS['api_token']} (key {SECRETS['app_key']})"
    entry = dead_letter(redis_client, error=error, reason="AuthenticationError_403")
    cart = dead_letter(redis_client, kind="cart", reason="unparsable_cart", store="otherstore")
    trail = Trail(redis_client)
    trail.record(entry["event_id"], "received", kind="order", store="mystore", attempt=0)
    trail.record(entry["event_id"], "fetched", status="payment-approved")
    trail.record(
        entry["event_id"],
        "written",
        lane="order",
        ac_order_id="77",
        ac_customer_id="12",
        note=f"token {SECRETS['api_token']}",
    )
    trail.link_order("mystore", "v1001-01", entry["event_id"])
    record_health(redis_client, {"mystore": [f"hook url is 'https://x/{SECRETS['hook_secret']}'"], "otherstore": []})
    Stats(redis_client).record_event("order", "created", 1.5, store="mystore")
    entry_path = f"/dlq/entry/{entry['entry_id']}"

    pages = {"login": ConsoleClient(app).get("/login")}
    for who, client in (("operator", operator), ("viewer", viewer)):
        for path in (
            "/",
            "/?refresh=15",
            "/dlq",
            "/dlq?store=mystore&kind=order",
            "/dlq?kind=bogus",
            entry_path,
            f"/dlq/entry/{cart['entry_id']}",
            "/trail",
            "/trail?q=v1001-01",
            f"/trail?q={entry['event_id']}",
            "/audit",
            "/dlq/entry/does-not-exist",
        ):
            pages[f"{who} {path}"] = client.get(path)
    for path in (
        f"/dlq/confirm?action=replay&entry_id={entry['entry_id']}",
        "/dlq/confirm?action=purge&store=mystore",
        "/dlq/confirm?action=replay",
    ):
        pages[f"operator {path}"] = operator.get(path)
    pages["operator reveal"] = operator.post(f"{entry_path}/reveal", token_from=entry_path)
    pages["operator replay"] = operator.post(
        "/dlq/replay", {"entry_id": entry["entry_id"]}, token_from=entry_path, follow_redirects=True
    )
    pages["operator audit after"] = operator.get("/audit")
    pages["operator replayed entry"] = operator.get(entry_path)

    assert pages["operator /trail?q=v1001-01"].status_code == 200
    assert "ac order id" in pages["operator /trail?q=v1001-01"].get_data(as_text=True)
    assert "AuthenticationError_403" in pages["viewer /dlq"].get_data(as_text=True)
    for name, response in pages.items():
        body = response.get_data(as_text=True)
        for secret_name, secret in SECRETS.items():
            assert secret not in body, f"{secret_name} on {name}"
    # and not because the response safety net caught it: the pages themselves never carried one
    assert "carried a secret" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
