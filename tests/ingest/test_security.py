"""Security properties of ingest and of what is forwarded to ActiveCampaign."""

from __future__ import annotations

import hmac
import io
import logging

from acsync_core.logs import JsonFormatter
from tests.factories import SECRETS, order_hook
from tests.ingest.conftest import auth


def test_secret_comparison_is_constant_time(client, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("ingest.hooks.hmac.compare_digest", spy)
    assert (
        client.post("/hooks/vtex/mystore/orders", json=order_hook(), headers={"X-Hook-Secret": "nope"}).status_code
        == 401
    )
    assert calls == [(b"nope", SECRETS["mystore"].encode())]


def test_secrets_never_reach_logs_or_error_bodies(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        bodies = []
        for headers in ({"X-Hook-Secret": SECRETS["otherstore"]}, auth(), {}):
            response = client.post("/hooks/vtex/mystore/orders", json=order_hook(order_id="sec-01"), headers=headers)
            bodies.append(response.get_data(as_text=True))
        bad = client.post("/hooks/vtex/mystore/orders", data="{", content_type="application/json", headers=auth())
        bodies.append(bad.get_data(as_text=True))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    everything = stream.getvalue() + "".join(bodies)
    assert SECRETS["mystore"] not in everything and SECRETS["otherstore"] not in everything


def test_a_stores_secret_cannot_post_for_another_store(client, redis_client):
    response = client.post("/hooks/vtex/otherstore/orders", json=order_hook(account="otherstore"), headers=auth())
    assert response.status_code == 401
    assert (
        client.post(
            "/hooks/vtex/otherstore/orders", json=order_hook(account="otherstore"), headers=auth("otherstore")
        ).status_code
        == 200
    )
