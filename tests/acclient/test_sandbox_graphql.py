"""The sandbox's Ecommerce GraphQL API over real HTTP on loopback, driven with hand-written documents."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from graphql import Source, TokenKind
from graphql.language import Lexer

from acclient.sandbox import BackgroundServer, SandboxConfig
from tests.acclient.sandbox_http import (
    Enum,
    Raw,
    api,
    bulk_orders_doc,
    bulk_products_doc,
    configure,
    create_connection,
    freeze_rate_limit_clock,
    graphql,
    order,
    product,
    request_log,
    running,
    set_faults,
    state,
    upsert_order_doc,
    wait_for,
)


@pytest.fixture
def sandbox() -> Iterator[BackgroundServer]:
    """No rate limit, and v3 copies that stay pending for the test unless it lowers the delay first."""
    with running(SandboxConfig(requests_per_second=None, graphql_copy_delay=60.0, seed=7)) as server:
        yield server


@pytest.fixture
def connection(sandbox: BackgroundServer) -> int:
    return create_connection(sandbox)


def data(response) -> dict:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def validation_failures(response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == "Validation errors"
    return error["extensions"]


# ------------------------------------------------------------------ identity and upsert
def test_upsert_order_answers_its_id_and_the_same_identity_updates_the_same_record(sandbox, connection):
    other = create_connection(sandbox, "otherstore")
    first = data(graphql(sandbox, upsert_order_doc(order(connection, "v1-01", finalAmount=Decimal("10.00")))))
    again = data(graphql(sandbox, upsert_order_doc(order(connection, "v1-01", finalAmount=Decimal("20.50")))))
    elsewhere = data(graphql(sandbox, upsert_order_doc(order(other, "v1-01"))))
    assert first["upsertOrder"]["storeOrderId"] == "v1-01"
    assert again["upsertOrder"]["id"] == first["upsertOrder"]["id"]
    assert elsewhere["upsertOrder"]["id"] != first["upsertOrder"]["id"]
    rows = {(r["legacyConnectionId"], r["storeOrderId"]): r for r in state(sandbox)["cofe_orders"]}
    assert len(rows) == 2
    assert rows[(connection, "v1-01")]["finalAmount"] == "20.50"


def test_bulk_upsert_answers_in_input_order_and_the_async_form_gives_record_ids(sandbox, connection):
    ids = [f"v{n}-01" for n in (3, 1, 2)]
    answer = data(graphql(sandbox, bulk_orders_doc([order(connection, i) for i in ids])))["bulkUpsertOrders"]
    assert [r["storeOrderId"] for r in answer] == ids
    queued = data(graphql(sandbox, bulk_orders_doc([order(connection, i) for i in ids], name="bulkUpsertOrdersAsync")))[
        "bulkUpsertOrdersAsync"
    ]
    assert [(r["recordId"], r["storeOrderId"]) for r in queued] == [(r["id"], r["storeOrderId"]) for r in answer]
    assert len(state(sandbox)["cofe_orders"]) == 3


def test_bulk_upsert_products_upserts_by_connection_and_store_primary_id(sandbox, connection):
    first = data(graphql(sandbox, bulk_products_doc([product(connection, "sku-1"), product(connection, "sku-2")])))
    again = data(
        graphql(
            sandbox,
            bulk_products_doc(
                [product(connection, "sku-2", variantName="Shirt XL", variantPriceAmount=Decimal("59.90"))]
            ),
        )
    )
    assert again["bulkUpsertProducts"][0]["id"] == first["bulkUpsertProducts"][1]["id"]
    rows = {r["storePrimaryId"]: r for r in state(sandbox)["cofe_products"]}
    assert set(rows) == {"sku-1", "sku-2"}
    assert (rows["sku-2"]["variantName"], rows["sku-2"]["variantPriceAmount"]) == ("Shirt XL", "59.90")
    assert rows["sku-1"]["variantName"] == "Shirt"


def test_query_reads_what_the_graphql_side_holds(sandbox, connection):
    data(graphql(sandbox, upsert_order_doc(order(connection, "v9-01", finalAmount=Decimal("7.25")))))
    found = data(
        graphql(
            sandbox,
            f'{{order(legacyConnectionId:{connection},storeOrderId:"v9-01")'
            "{storeOrderId finalAmount creationSource}}",
        )
    )
    assert found["order"] == {"storeOrderId": "v9-01", "finalAmount": "7.25", "creationSource": "REAL_TIME"}
    assert data(graphql(sandbox, f'{{order(legacyConnectionId:{connection},storeOrderId:"nope"){{id}}}}')) == {
        "order": None
    }


# ------------------------------------------------------------------ per-record validation
def test_a_bad_record_fails_the_whole_call_and_nothing_is_applied(sandbox, connection):
    configure(sandbox, graphql_copy_delay=0.0)
    records = [
        order(connection, "1335580501234-01"),
        order(connection, "1335580501234-02", email="not-an-email"),
        order(connection, "1335580501234-03", finalAmount=Decimal("10.005")),
    ]
    failures = validation_failures(graphql(sandbox, bulk_orders_doc(records)))
    assert set(failures) == {"1-storeOrderId-1335580501234-02", "2-storeOrderId-1335580501234-03"}
    assert [key.split("-", 2) for key in sorted(failures)] == [
        ["1", "storeOrderId", "1335580501234-02"],
        ["2", "storeOrderId", "1335580501234-03"],
    ]
    assert "e-mail" in failures["1-storeOrderId-1335580501234-02"]
    assert "2 decimal places" in failures["2-storeOrderId-1335580501234-03"]
    held = state(sandbox)  # a later request: any copy that had been scheduled would be applied by now
    assert (held["cofe_orders"], held["contacts"], held["ecomCustomers"], held["ecomOrders"]) == ([], [], [], [])


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (Decimal("12.505"), "at most 2 decimal places"),
        (Decimal("-0.01"), "must not be negative"),
        (Decimal("21474836.48"), "must not exceed 21474836.47"),
    ],
)
def test_money_the_v3_copy_cannot_store_is_a_record_error(sandbox, connection, amount, reason):
    failures = validation_failures(graphql(sandbox, upsert_order_doc(order(connection, "v1-01", finalAmount=amount))))
    assert list(failures) == ["0-storeOrderId-v1-01"]
    assert reason in failures["0-storeOrderId-v1-01"]


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("21474836.47", "21474836.47"),
        ('"12.50"', "12.50"),
        ("12", "12"),
        ("12.500", "12.500"),
        ("0", "0"),
    ],
)
def test_money_literals_ints_floats_and_strings_are_accepted(sandbox, connection, written, stored):
    data(graphql(sandbox, upsert_order_doc(order(connection, "v1-01", finalAmount=Raw(written)))))
    assert state(sandbox)["cofe_orders"][0]["finalAmount"] == stored


def test_line_item_and_reference_problems_are_record_errors(sandbox, connection):
    records = [
        order(connection, "a-1", lineItems=[{"name": "x", "priceAmount": Decimal("-1"), "quantity": 1}]),
        order(connection + 99, "a-2"),
        order(connection, "a-3", storeCreatedDate="2024-05-01T10:00:00", currency="REAIS"),
        order(connection, "a-4", lineItems=[{"name": "y", "priceAmount": Decimal("1"), "quantity": 0}]),
    ]
    failures = validation_failures(graphql(sandbox, bulk_orders_doc(records)))
    assert "lineItems[0].priceAmount must not be negative" in failures["0-storeOrderId-a-1"]
    assert f"legacyConnectionId {connection + 99}" in failures["1-storeOrderId-a-2"]
    assert "UTC offset" in failures["2-storeOrderId-a-3"] and "currency" in failures["2-storeOrderId-a-3"]
    assert "quantity" in failures["3-storeOrderId-a-4"]


def test_product_record_errors_are_keyed_by_store_primary_id(sandbox, connection):
    records = [product(connection, "sku-1"), product(connection, "sku-2", variantPriceAmount=Decimal("1.999"))]
    failures = validation_failures(graphql(sandbox, bulk_products_doc(records)))
    assert list(failures) == ["1-storePrimaryId-sku-2"]
    assert state(sandbox)["cofe_products"] == []


# ------------------------------------------------------------------ document errors
def count_tokens(document: str) -> int:
    lexer, count = Lexer(Source(document)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def test_documents_over_the_token_limit_are_refused_with_acs_message(sandbox, connection):
    document = bulk_orders_doc([order(connection, f"v{n}-01") for n in range(3)])
    tokens = count_tokens(document)
    configure(sandbox, graphql_max_tokens=tokens - 1)
    response = graphql(sandbox, document)
    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [{"message": f"Invalid query: More than {tokens - 1} grammar tokens", "extensions": {}}],
    }
    assert state(sandbox)["cofe_orders"] == []
    configure(sandbox, graphql_max_tokens=tokens)
    assert len(data(graphql(sandbox, document))["bulkUpsertOrders"]) == 3


def test_default_token_limit_is_15000(sandbox, connection):
    assert configure(sandbox)["graphql_max_tokens"] == 15_000
    big = bulk_orders_doc([order(connection, f"v{n}-01", notes="x") for n in range(600)])
    assert count_tokens(big) > 15_000
    assert graphql(sandbox, big).json()["errors"][0]["message"] == "Invalid query: More than 15000 grammar tokens"


def test_syntax_errors_are_400_with_locations(sandbox):
    response = graphql(sandbox, 'mutation{bulkUpsertOrders(orders:[{storeOrderId:"v1"')
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"].startswith("Syntax Error:") and error["locations"][0]["line"] == 1


@pytest.mark.parametrize(
    "document",
    [
        'mutation{upsertOrder(order:{storeOrderId:"v1"}){id}}',  # required fields missing
        "mutation{deleteEverything{id}}",  # no such mutation
    ],
)
def test_documents_the_schema_refuses_are_400(sandbox, document):
    response = graphql(sandbox, document)
    assert response.status_code == 400
    assert response.json()["errors"] and all("locations" in e for e in response.json()["errors"])


@pytest.mark.parametrize(
    ("field", "written"),
    [
        ("creationSource", '"REAL_TIME"'),  # an enum must be written bare
        ("creationSource", "LIVE"),  # not a CreationSource
        ("finalAmount", '"12,50"'),  # not a decimal number
        ("finalAmount", "true"),  # not a number at all
        ("legacyConnectionId", '"1"'),  # an Int, not a String
        ("shoeSize", "42"),  # not a field of OrderInput
    ],
)
def test_wrong_types_and_unknown_fields_are_400(sandbox, connection, field, written):
    response = graphql(sandbox, upsert_order_doc(order(connection, "v1-01", **{field: Raw(written)})))
    assert response.status_code == 400, response.text
    assert response.json()["errors"]
    assert state(sandbox)["cofe_orders"] == []


def test_content_type_must_be_graphql_or_json(sandbox, connection):
    document = upsert_order_doc(order(connection))
    assert graphql(sandbox, document, content_type="text/plain").status_code == 400
    response = api(sandbox, "POST", "/ecom/graphql", json={"query": document})
    assert data(response)["upsertOrder"]["storeOrderId"] == "1335580501234-01"


def test_json_body_with_variables(sandbox, connection):
    document = (
        "mutation Upsert($c: Int!, $amount: Decimal!) {upsertOrder(order: {legacyConnectionId: $c, "
        'storeOrderId: "v1-01", email: "ana@example.com", currency: "BRL", creationSource: HISTORICAL, '
        'storeCreatedDate: "2024-05-01T10:00:00Z", orderNumber: "1", finalAmount: $amount}) {id}}'
    )
    response = api(
        sandbox,
        "POST",
        "/ecom/graphql",
        json={"query": document, "operationName": "Upsert", "variables": {"c": connection, "amount": "99.90"}},
    )
    assert data(response)["upsertOrder"]["id"]
    assert state(sandbox)["cofe_orders"][0]["finalAmount"] == "99.90"
    bad = api(sandbox, "POST", "/ecom/graphql", json={"query": document, "variables": {"c": "one", "amount": 1}})
    assert bad.status_code == 400


HOSTILE = 'Zoë "the \\ quoted" O\'Brien\nline two\ttab \u0001 \u2028 日本 😀 </script>'


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_hostile_strings_round_trip(sandbox, connection, ensure_ascii):
    record = order(
        connection,
        "v1-01",
        notes=HOSTILE,
        customerData={"firstName": HOSTILE, "lastName": "Ünal"},
        lineItems=[{"name": HOSTILE, "priceAmount": Decimal("1.00"), "quantity": 1}],
    )
    document = upsert_order_doc(record, ensure_ascii=ensure_ascii)
    assert ("😀" in document) is not ensure_ascii
    data(graphql(sandbox, document))
    held = state(sandbox)
    [stored] = held["cofe_orders"]
    assert stored["notes"] == HOSTILE and stored["lineItems"][0]["name"] == HOSTILE
    assert (held["contacts"][0]["firstName"], held["contacts"][0]["lastName"]) == (HOSTILE, "Ünal")


# ------------------------------------------------------------------ side effects and the v3 copy
def test_contact_and_customer_exist_at_once_and_the_v3_copy_after_the_delay(sandbox, connection):
    record = order(
        connection,
        "1335580501234-01",
        storeCustomerId="cust-9",
        acceptsMarketing=True,
        finalAmount=Decimal("123.50"),
        shippingAmount=Decimal("10"),
        taxAmount=Decimal("0.99"),
        discountsAmount=Decimal("5.00"),
        cartId="cart-77",
        storeModifiedDate="2024-05-02T10:00:00Z",
        lineItems=[
            {
                "productStorePrimaryId": "sku-1",
                "name": "Shirt",
                "priceAmount": Decimal("49.90"),
                "quantity": 2,
                "sku": "SH-1",
            }
        ],
        discounts=[{"name": "10OFF", "type": "order", "discountAmount": Decimal("5.00")}],
    )
    data(graphql(sandbox, upsert_order_doc(record)))
    held = state(sandbox)
    assert [c["email"] for c in held["contacts"]] == ["ana@example.com"]
    [customer] = held["ecomCustomers"]
    assert (customer["connectionid"], customer["externalid"], customer["acceptsMarketing"]) == (
        str(connection),
        "cust-9",
        "1",
    )
    assert held["ecomOrders"] == []  # the copy is due in 60 s

    configure(sandbox, graphql_copy_delay=0.3)
    data(graphql(sandbox, upsert_order_doc({**record, "finalAmount": Decimal("130.00")})))
    [copy] = wait_for(lambda: state(sandbox)["ecomOrders"])
    assert {
        k: copy[k]
        for k in (
            "connectionid",
            "customerid",
            "externalid",
            "source",
            "state",
            "totalPrice",
            "shippingAmount",
            "taxAmount",
            "discountAmount",
            "externalcheckoutid",
            "externalCreatedDate",
            "externalUpdatedDate",
            "currency",
            "email",
        )
    } == {
        "connectionid": str(connection),
        "customerid": customer["id"],
        "externalid": "1335580501234-01",
        "source": "1",
        "state": "1",
        "totalPrice": "13000",
        "shippingAmount": "1000",
        "taxAmount": "99",
        "discountAmount": "500",
        "externalcheckoutid": "cart-77",
        "externalCreatedDate": "2024-05-01T10:00:00-03:00",
        "externalUpdatedDate": "2024-05-02T10:00:00Z",
        "currency": "BRL",
        "email": "ana@example.com",
    }
    assert copy["orderProducts"] == [
        {"externalid": "sku-1", "name": "Shirt", "price": 4990, "quantity": 2, "sku": "SH-1"}
    ]
    assert copy["orderDiscounts"] == [{"name": "10OFF", "type": "order", "discountAmount": 500}]
    customer = state(sandbox)["ecomCustomers"][0]
    assert (customer["totalOrders"], customer["totalRevenue"]) == ("1", "13000")


def test_historical_orders_copy_with_source_0_and_status_mapping(sandbox, connection):
    configure(sandbox, graphql_copy_delay=0.0)
    data(
        graphql(
            sandbox,
            bulk_orders_doc(
                [
                    order(connection, "h-1", creationSource=Enum("HISTORICAL"), normalizedStatus=Enum("PENDING")),
                    order(connection, "h-2", normalizedStatus=Enum("REFUNDED")),
                ]
            ),
        )
    )
    rows = {
        r["externalid"]: r
        for r in wait_for(lambda: len(state(sandbox)["ecomOrders"]) == 2 and state(sandbox)["ecomOrders"])
    }
    assert (rows["h-1"]["source"], rows["h-1"]["state"]) == ("0", "0")
    assert (rows["h-2"]["source"], rows["h-2"]["state"], rows["h-2"]["normalizedStatus"]) == ("1", "1", "REFUNDED")


def test_customer_is_matched_by_store_customer_id_else_by_email(sandbox, connection):
    other = create_connection(sandbox, "otherstore")
    data(
        graphql(
            sandbox,
            bulk_orders_doc(
                [
                    order(connection, "o-1", storeCustomerId="c-1", email="ana@example.com"),
                    order(connection, "o-2", storeCustomerId="c-1", email="ana.new@example.com", acceptsMarketing=True),
                    order(connection, "o-3", email="guest@example.com"),
                    order(connection, "o-4", email="GUEST@example.com", acceptsMarketing=False),
                    order(other, "o-5", email="guest@example.com"),
                ]
            ),
        )
    )
    customers = {(c["connectionid"], c["externalid"]): c for c in state(sandbox)["ecomCustomers"]}
    assert set(customers) == {
        (str(connection), "c-1"),
        (str(connection), "guest@example.com"),
        (str(other), "guest@example.com"),
    }
    assert customers[(str(connection), "c-1")]["email"] == "ana.new@example.com"
    assert customers[(str(connection), "c-1")]["acceptsMarketing"] == "1"
    assert customers[(str(connection), "guest@example.com")]["acceptsMarketing"] == "0"
    by_order = {r["storeOrderId"]: r["customerId"] for r in state(sandbox)["cofe_orders"]}
    assert by_order["o-1"] == by_order["o-2"] and by_order["o-3"] == by_order["o-4"] != by_order["o-5"]


def test_contact_names_come_from_customer_data_then_addresses_and_are_never_blanked(sandbox, connection):
    address = {"firstName": "Bia", "lastName": "Lima", "phone": "+55 11 1111", "city": "São Paulo"}
    data(
        graphql(
            sandbox,
            upsert_order_doc(
                order(
                    connection,
                    "n-1",
                    email="bia@example.com",
                    customerData={"firstName": "Beatriz"},
                    shippingAddress={"lastName": "Souza"},
                    billingAddress=address,
                )
            ),
        )
    )
    [contact] = state(sandbox)["contacts"]
    assert (contact["firstName"], contact["lastName"], contact["phone"]) == ("Beatriz", "Souza", "+55 11 1111")
    data(
        graphql(
            sandbox,
            upsert_order_doc(
                order(connection, "n-2", email="bia@example.com", customerData={"firstName": "", "phone": None})
            ),
        )
    )
    [contact] = state(sandbox)["contacts"]
    assert (contact["firstName"], contact["lastName"], contact["phone"]) == ("Beatriz", "Souza", "+55 11 1111")


def v3_cart(sandbox: BackgroundServer, connection: int, cart_id: str) -> dict:
    customer = api(
        sandbox,
        "POST",
        "/ecomCustomers",
        json={"ecomCustomer": {"connectionid": str(connection), "externalid": "c-1", "email": "ana@example.com"}},
    ).json()["ecomCustomer"]
    response = api(
        sandbox,
        "POST",
        "/ecomOrders",
        json={
            "ecomOrder": {
                "externalcheckoutid": cart_id,
                "source": 1,
                "email": "ana@example.com",
                "connectionid": str(connection),
                "customerid": customer["id"],
                "currency": "BRL",
                "totalPrice": 12350,
                "externalCreatedDate": "2024-05-01T09:00:00-03:00",
                "abandonedDate": "2024-05-01T10:00:00-03:00",
                "orderProducts": [{"externalid": "sku-1", "name": "Shirt", "price": 12350, "quantity": 1}],
            }
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["ecomOrder"]


def test_cart_id_turns_the_open_abandoned_cart_into_the_recovered_order_at_copy_time(sandbox, connection):
    cart = v3_cart(sandbox, connection, "cart-1")
    assert cart["state"] == "2"
    configure(sandbox, graphql_copy_delay=0.3)
    data(graphql(sandbox, upsert_order_doc(order(connection, "v1-01", cartId="cart-1", storeCustomerId="c-1"))))
    recovered = wait_for(lambda: next((r for r in state(sandbox)["ecomOrders"] if r.get("externalid")), None))
    [only] = state(sandbox)["ecomOrders"]
    assert (only["id"], recovered["state"], recovered["externalcheckoutid"]) == (cart["id"], "3", "cart-1")
    assert state(sandbox)["ecomCustomers"][0]["totalOrders"] == "1"


def test_a_cart_id_that_names_no_open_cart_adds_an_order(sandbox, connection):
    cart = v3_cart(sandbox, connection, "cart-1")
    configure(sandbox, graphql_copy_delay=0.0)
    data(graphql(sandbox, upsert_order_doc(order(connection, "v1-01", cartId="cart-2", storeCustomerId="c-1"))))
    rows = wait_for(lambda: len(state(sandbox)["ecomOrders"]) == 2 and state(sandbox)["ecomOrders"])
    untouched = next(r for r in rows if r["id"] == cart["id"])
    assert (untouched["state"], untouched.get("externalid")) == ("2", None)


def test_v3_ecom_customer_creation_also_creates_the_contact(sandbox, connection):
    api(sandbox, "POST", "/contact/sync", json={"contact": {"email": "old@example.com", "firstName": "Old"}})
    for email in ("new@example.com", "OLD@example.com"):
        response = api(
            sandbox,
            "POST",
            "/ecomCustomers",
            json={"ecomCustomer": {"connectionid": str(connection), "externalid": email, "email": email}},
        )
        assert response.status_code == 201
    contacts = {c["email"]: c for c in state(sandbox)["contacts"]}
    assert set(contacts) == {"old@example.com", "new@example.com"}
    assert contacts["old@example.com"]["firstName"] == "Old"


# ------------------------------------------------------------------ the app's guard: limits, auth, faults, log
def test_one_call_counts_once_against_the_five_per_second():
    with running(SandboxConfig(requests_per_second=5, graphql_copy_delay=60.0)) as server:
        connection = create_connection(server)
        freeze_rate_limit_clock(server)  # every call below falls in the same second
        batches = [[order(connection, f"b{b}-{n:02d}") for n in range(30)] for b in range(5)]
        answers = [graphql(server, bulk_orders_doc(batch)) for batch in batches]
        assert [a.status_code for a in answers] == [200] * 5
        refused = graphql(server, bulk_orders_doc(batches[0]))
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        log = request_log(server)
        assert log["by_status"]["POST /api/3/ecom/graphql 200"] == 5
        assert log["by_status"]["POST /api/3/ecom/graphql 429"] == 1
        assert log["records_by_endpoint"]["POST /api/3/ecom/graphql"] == 150
        assert log["operations"] == {"bulkUpsertOrders": 5}
        assert len(state(server)["cofe_orders"]) == 150


def test_request_log_entries_carry_operations_and_record_counts(sandbox, connection):
    data(graphql(sandbox, bulk_orders_doc([order(connection, f"v{n}") for n in range(4)])))
    data(graphql(sandbox, bulk_products_doc([product(connection)])))
    entries = [e for e in request_log(sandbox)["recent"] if e["endpoint"] == "/api/3/ecom/graphql"]
    assert [(e["operations"], e["records"], e["applied"]) for e in entries] == [
        (["bulkUpsertOrders"], 4, 4),
        (["bulkUpsertProducts"], 1, 1),
    ]


def test_wrong_token_and_injected_faults_apply_to_graphql(sandbox, connection):
    document = upsert_order_doc(order(connection))
    assert graphql(sandbox, document, token="wrong").status_code == 403
    set_faults(sandbox, error_rate=1.0)
    assert graphql(sandbox, document).status_code == 500
    assert state(sandbox)["cofe_orders"] == []
    set_faults(sandbox, error_rate=0.0, error_after_write_rate=1.0)
    assert graphql(sandbox, document).status_code == 500
    assert len(state(sandbox)["cofe_orders"]) == 1  # the ambiguous case: written, answer lost


def test_config_endpoint_refuses_unknown_or_negative_settings(sandbox):
    for bad in (
        {"graphql_copy_delay": -1},
        {"nope": 1},
        {"graphql_max_tokens": 0},
        {"bulk_import_delay": "x"},
        {"graphql_max_tokens": 1.5},
    ):
        assert requests.post(sandbox.url + "/__sandbox/config", json=bad, timeout=5).status_code == 400
    assert configure(sandbox)["graphql_copy_delay"] == 60.0
