from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.factories import cart_trigger, customer_trigger, order_hook
from tests.ingest.conftest import auth


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {"config": True, "redis": True}


def scrape(client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample /metrics serves, by name and labels."""
    text = client.get("/metrics").get_data(as_text=True)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_requests_accepted_duplicates_and_rejections(client):
    # the counters live as long as the process: compare them with their values before the requests, so
    # the test means the same alone and after every other test that posted hooks
    before = scrape(client)
    client.post("/hooks/vtex/mystore/orders", json=order_hook(order_id="m-1"), headers=auth())
    client.post("/hooks/vtex/mystore/orders", json=order_hook(order_id="m-1"), headers=auth())
    client.post("/hooks/vtex/mystore/orders", json=order_hook(order_id="m-2"), headers={"X-Hook-Secret": "bad"})
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("acsync_ingest_events_accepted_total", kind="order", store="mystore") == 1
    assert grew("acsync_ingest_events_duplicate_total", kind="order", store="mystore") == 1
    assert grew("acsync_ingest_events_rejected_total", kind="order_hook", reason="unauthorized") == 1
    orders = "/hooks/vtex/<store_name>/orders"
    assert grew("acsync_ingest_requests_total", route=orders, status="200") == 2
    assert grew("acsync_ingest_requests_total", route=orders, status="401") == 1
    assert grew("acsync_ingest_enqueue_seconds_count") == 2  # the accepted hook and the duplicate
    # accepted hooks are answered 200 (VTEX's Feed v3 contract): no 202 was ever counted, by any test
    assert not any(name == "acsync_ingest_requests_total" and ("status", "202") in labels for name, labels in after)


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
    assert set(orders["responses"]) == {"200", "400", "401", "404", "413", "415", "503"}
    accepted = orders["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"][0]
    assert accepted["required"] == ["status", "event_id", "duplicate"]
    assert {"spooled", "dropped"} <= set(accepted["properties"])
    customers = document["paths"]["/hooks/vtex/{store_name}/customers"]["post"]
    customer_schema = customers["requestBody"]["content"]["application/json"]["schema"]
    assert "null" in customer_schema["properties"]["phone"]["type"]  # nullable Master Data fields
    assert "null" not in customer_schema["properties"]["email"]["type"]


def test_every_answer_a_hook_gets_is_documented_for_its_route(app, client, redis_client):
    document = client.get("/openapi.json").json
    answers = [
        ("/hooks/vtex/mystore/orders", "/hooks/vtex/{store_name}/orders", order_hook(order_id="doc-1")),
        ("/hooks/vtex/mystore/orders", "/hooks/vtex/{store_name}/orders", order_hook(order_id="doc-1")),
        ("/hooks/vtex/mystore/orders", "/hooks/vtex/{store_name}/orders", {"hookConfig": "ping"}),
        ("/hooks/vtex/mystore/orders", "/hooks/vtex/{store_name}/orders", {"OrderId": ""}),
        ("/hooks/vtex/mystore/carts", "/hooks/vtex/{store_name}/carts", cart_trigger()),
        ("/hooks/vtex/mystore/carts", "/hooks/vtex/{store_name}/carts", cart_trigger(email="{!email}")),
        ("/hooks/vtex/mystore/customers", "/hooks/vtex/{store_name}/customers", customer_trigger()),
        ("/hooks/vtex/nostore/customers", "/hooks/vtex/{store_name}/customers", customer_trigger()),
    ]
    seen = set()
    for url, path, body in answers:
        response = client.post(url, json=body, headers=auth())
        seen.add(response.status_code)
        assert str(response.status_code) in document["paths"][path]["post"]["responses"], (url, response.status_code)
    assert seen == {200, 400, 404}
