from __future__ import annotations

from tests.factories import order_hook
from tests.ingest.conftest import auth


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {"config": True, "redis": True}


def test_metrics_count_requests_accepted_duplicates_and_rejections(client):
    client.post("/hooks/vtex/mystore/orders", json=order_hook(order_id="m-1"), headers=auth())
    client.post("/hooks/vtex/mystore/orders", json=order_hook(order_id="m-1"), headers=auth())
    client.post("/hooks/vtex/mystore/orders", json=order_hook(order_id="m-2"), headers={"X-Hook-Secret": "bad"})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'acsync_ingest_events_accepted_total{kind="order",store="mystore"}' in text
    assert 'acsync_ingest_events_duplicate_total{kind="order",store="mystore"}' in text
    assert 'acsync_ingest_events_rejected_total{kind="order_hook",reason="unauthorized"}' in text
    assert 'acsync_ingest_requests_total{route="/hooks/vtex/<store_name>/orders",status="202"}' in text
    assert "acsync_ingest_enqueue_seconds_bucket" in text


def test_openapi_documents_every_route_and_the_schemas(app, client):
    document = client.get("/openapi.json").json
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<store_name>", "{store_name}")
        served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    orders = document["paths"]["/hooks/vtex/{store_name}/orders"]["post"]
    order_schema = orders["requestBody"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert order_schema["required"] == ["OrderId", "State"]
    carts = document["paths"]["/hooks/vtex/{store_name}/carts"]["post"]
    assert carts["requestBody"]["content"]["application/json"]["schema"]["required"] == ["email", "rclastcart"]
    assert set(orders["responses"]) == {"200", "202", "400", "401", "404", "413", "415", "503"}
