"""The Ecommerce GraphQL client: literal serializer, money, and ``ac.ecom_graphql`` against `responses` fakes.

Every document the client sends is parsed back with graphql-core, so these tests check what AC would read.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses
from graphql import parse
from graphql.language import (
    BooleanValueNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValueNode,
)
from hypothesis import given
from hypothesis import strategies as st

from acclient import (
    NO_RETRIES,
    ActiveCampaign,
    AmountOutOfRange,
    AuthenticationError,
    GraphQLError,
    RateLimitError,
    RecordValidationError,
    RetryPolicy,
    ServerError,
    TokenLimitError,
    TransportError,
    ValidationError,
    cents_to_decimal,
)
from acclient.graphql import Enum, mutation_document, serialize
from acclient.transport import Transport
from tests.acclient.helpers import CountingLimiter, offline_client

BASE = "https://acme.api-us1.com"
GQL = BASE + "/api/3/ecom/graphql"
TOKEN_LIMIT = {"errors": [{"message": "Invalid query: More than 15000 grammar tokens", "extensions": {}}]}


@pytest.fixture
def limiter() -> CountingLimiter:
    return CountingLimiter()


@pytest.fixture
def ac(limiter: CountingLimiter) -> ActiveCampaign:
    return offline_client(limiter)


def literal(node: ValueNode) -> Any:
    """A parsed GraphQL literal as Python: Float tokens as Decimal, enums as ``Enum``."""
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, BooleanValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return Decimal(node.value)
    if isinstance(node, EnumValueNode):
        return Enum(node.value)
    if isinstance(node, NullValueNode):
        return None
    if isinstance(node, ListValueNode):
        return [literal(item) for item in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: literal(f.value) for f in node.fields}
    raise AssertionError(f"unexpected node {node!r}")


def read_mutation(document: str | bytes) -> tuple[str, dict[str, Any], list[str]]:
    """(mutation field, {argument: value}, selected field names) of a one-field mutation document."""
    text = document.decode("utf-8") if isinstance(document, bytes) else document
    [operation] = parse(text).definitions
    assert isinstance(operation, OperationDefinitionNode) and operation.operation.value == "mutation"
    [mutation] = operation.selection_set.selections
    assert isinstance(mutation, FieldNode)
    arguments = {a.name.value: literal(a.value) for a in mutation.arguments}
    selected = [s.name.value for s in mutation.selection_set.selections]
    return mutation.name.value, arguments, selected


def sent_records(request: requests.PreparedRequest) -> list[dict[str, Any]]:
    _, arguments, _ = read_mutation(request.body)
    [records] = arguments.values()
    return records


def order(store_order_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "legacyConnectionId": 1,
        "storeOrderId": store_order_id,
        "email": "ana@example.com",
        "currency": "BRL",
        "creationSource": Enum("REAL_TIME"),
        "storeCreatedDate": "2026-11-27T10:30:00-03:00",
        "orderNumber": store_order_id,
        "finalAmount": Decimal("19.99"),
        **fields,
    }


def answer(operation: str, records: list[dict[str, Any]], key: str = "storeOrderId") -> dict[str, Any]:
    return {"data": {operation: [{"id": str(100 + n), key: r[key]} for n, r in enumerate(records)]}}


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> tuple[int, dict, str]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload)


# --- serializer ---------------------------------------------------------------------------------------------

HOSTILE = [
    'say "hi"',
    "back\\slash \\n not a newline",
    '\\"',
    'x"}){id}} mutation{deleteAll(all:true){id}} #',
    '"}, email:"evil@example.com", x:{"',
    "line\nbreak\r\ncarriage\ttab",
    "nul\x00byte",
    "controls \x01\x08\x0b\x0c\x1b\x1f\x7f",
    "emoji 😀 clef 𝄞 flag 🇧🇷",
    "עברית مرحبا \u202eRTL override\u202c",
    "\u2028line sep\u2029para sep",
    '"""block string"""',
    "\ufeffBOM and \u200bzero width",
    "$variable @directive ... #comment",
    "",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_round_trip_and_cannot_inject(text):
    document = mutation_document("upsertOrder", "order", {"notes": text, "orderNumber": "1"}, "id")
    field, arguments, selected = read_mutation(document)
    assert (field, selected) == ("upsertOrder", ["id"])
    assert arguments == {"order": {"notes": text, "orderNumber": "1"}}


@given(st.text())
def test_any_text_round_trips(text):
    assert read_mutation(mutation_document("m", "a", [text, {"s": text}], "id"))[1] == {"a": [text, {"s": text}]}


def test_values_serialize_to_graphql_literals():
    value = {
        "flag": True,
        "off": False,
        "count": -3,
        "money": Decimal("19.90"),
        "big": Decimal("1E+3"),
        "tiny": Decimal("1E-7"),
        "source": Enum("HISTORICAL"),
        "skip": None,
        "tags": ["a", None, 2],
        "nested": {"inner": [{"x": 1}], "gone": None},
    }
    assert serialize(value) == (
        "{flag:true,off:false,count:-3,money:19.90,big:1000,tiny:0.0000001,source:HISTORICAL,"
        'tags:["a",null,2],nested:{inner:[{x:1}]}}'
    )
    _, arguments, _ = read_mutation(mutation_document("m", "a", value, ["id", "storeOrderId"]))
    assert arguments["a"]["money"] == Decimal("19.90") and arguments["a"]["source"] == Enum("HISTORICAL")
    assert arguments["a"]["tags"] == ["a", None, 2] and "skip" not in arguments["a"]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (19.99, TypeError),
        (float("nan"), TypeError),
        (float("inf"), TypeError),
        ({"finalAmount": 1.5}, TypeError),
        (Decimal("NaN"), ValueError),
        (Decimal("-Infinity"), ValueError),
        ({"bad key": 1}, ValueError),
        ({1: 1}, ValueError),
        ("lone \ud800 surrogate", ValueError),
        (b"bytes", TypeError),
        (object(), TypeError),
    ],
)
def test_unsendable_values_are_refused(value, error):
    with pytest.raises(error):
        serialize(value)


@pytest.mark.parametrize("name", ["REAL TIME", "1ST", "true", "null", "A-B", ""])
def test_enum_names_are_validated(name):
    with pytest.raises(ValueError):
        Enum(name)


@pytest.mark.parametrize(
    ("operation", "argument", "selection"),
    [("upsertOrder){x", "order", "id"), ("upsertOrder", "or der", "id"), ("m", "a", "id){x"), ("m", "a", "id}")],
)
def test_document_names_and_selection_are_validated(operation, argument, selection):
    with pytest.raises(ValueError):
        mutation_document(operation, argument, {}, selection)


# --- money --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "text"),
    [(1999, "19.99"), (1, "0.01"), (0, "0.00"), (10, "0.10"), (2147483647, "21474836.47"), (Decimal(500), "5.00")],
)
def test_cents_to_decimal_is_exact(cents, text):
    amount = cents_to_decimal(cents)
    assert isinstance(amount, Decimal) and str(amount) == text
    assert serialize(amount) == text
    assert read_mutation(mutation_document("m", "a", {"finalAmount": amount}, "id"))[1]["a"]["finalAmount"] == amount


def test_cents_to_decimal_other_decimal_places():
    assert str(cents_to_decimal(1999, decimal_places=0)) == "1999"
    assert str(cents_to_decimal(1999, decimal_places=3)) == "1.999"


@pytest.mark.parametrize(
    ("cents", "error"),
    [
        (2147483648, AmountOutOfRange),
        (-1, AmountOutOfRange),
        (True, TypeError),
        (19.99, TypeError),
        (1999.0, TypeError),
        ("1999", TypeError),
        (Decimal("10.5"), ValueError),
        (Decimal("NaN"), ValueError),
    ],
)
def test_cents_to_decimal_refuses(cents, error):
    with pytest.raises(error) as caught:
        cents_to_decimal(cents)
    if error is AmountOutOfRange:
        assert isinstance(caught.value, ValueError) and str(cents) in str(caught.value)


# --- ecom_graphql over HTTP ---------------------------------------------------------------------------------


@responses.activate
def test_upsert_order_sends_a_literal_document_with_auth(ac, limiter):
    responses.add(responses.POST, GQL, json={"data": {"upsertOrder": {"id": "7", "storeOrderId": "v1-01"}}})
    result = ac.ecom_graphql.upsert_order(order("v1-01", notes='a "quoted" note', cartId=None))
    assert result == {"id": "7", "storeOrderId": "v1-01"}
    [call] = responses.calls
    assert call.request.headers["Content-Type"] == "application/graphql"
    assert call.request.headers["Api-Token"] == "tok"
    field, arguments, selected = read_mutation(call.request.body)
    assert (field, selected) == ("upsertOrder", ["id", "storeOrderId"])
    expected = order("v1-01", notes='a "quoted" note')
    assert arguments == {"order": expected}
    assert limiter.calls == 1


@responses.activate
def test_execute_returns_data_and_the_observer_sees_the_call(limiter):
    seen: list[tuple[str, str, int | None]] = []
    ac = ActiveCampaign(
        api_token="tok",
        account="acme",
        rate_limiter=limiter,
        retry_policy=NO_RETRIES,
        observer=lambda method, path, status, _seconds: seen.append((method, path, status)),
    )
    responses.add(responses.POST, GQL, json={"data": {"__typename": "Mutation"}})
    assert ac.ecom_graphql.execute("mutation{__typename}") == {"__typename": "Mutation"}
    assert responses.calls[0].request.body == b"mutation{__typename}"
    assert seen == [("POST", "/ecom/graphql", 200)]


@responses.activate
def test_bulk_upsert_resends_the_good_records_after_validation_errors(ac, limiter):
    refusal = {
        "data": None,
        "errors": [
            {
                "message": "Validation errors",
                "extensions": {"1-storeOrderId-v2-01": "email: not a valid e-mail address"},
            }
        ],
    }
    bodies: list[list[dict[str, Any]]] = []

    def reply(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        records = sent_records(request)
        bodies.append(records)
        if any(r["storeOrderId"] == "v2-01" for r in records):
            return json_reply(refusal)
        return json_reply(answer("bulkUpsertOrders", records))

    responses.add_callback(responses.POST, GQL, callback=reply)
    result = ac.ecom_graphql.bulk_upsert_orders([order("v1-01"), order("v2-01", email="bad"), order("v3-01")])
    assert result.failed == {"v2-01": "email: not a valid e-mail address"}
    assert result.succeeded == {
        "v1-01": {"id": "100", "storeOrderId": "v1-01"},
        "v3-01": {"id": "101", "storeOrderId": "v3-01"},
    }
    assert [r["storeOrderId"] for r in bodies[1]] == ["v1-01", "v3-01"]
    assert bodies[1] == [order("v1-01"), order("v3-01")]
    assert result.requests == 2 and limiter.calls == 2


@responses.activate
def test_bulk_upsert_products_parses_store_primary_id_keys_with_dashes(ac):
    products = [{"legacyConnectionId": 1, "storePrimaryId": sku, "name": sku} for sku in ("sku-1-blue", "sku-2")]
    refusal = {"errors": [{"message": "Validation errors", "extensions": {"0-storePrimaryId-sku-1-blue": "no name"}}]}
    responses.add(responses.POST, GQL, json=refusal)
    responses.add(responses.POST, GQL, json={"data": {"bulkUpsertProducts": [{"id": "9", "storePrimaryId": "sku-2"}]}})
    result = ac.ecom_graphql.bulk_upsert_products(products)
    assert result.failed == {"sku-1-blue": "no name"}
    assert result.succeeded == {"sku-2": {"id": "9", "storePrimaryId": "sku-2"}}
    field, arguments, selected = read_mutation(responses.calls[1].request.body)
    assert (field, selected) == ("bulkUpsertProducts", ["id", "storePrimaryId"])
    assert arguments == {"products": [products[1]]}


@responses.activate
def test_a_failure_whose_id_does_not_match_is_found_by_its_index(ac):
    refusal = {"errors": [{"message": "Validation errors", "extensions": {"1-storeOrderId-V2-01": "bad date"}}]}
    responses.add(responses.POST, GQL, json=refusal)
    responses.add(responses.POST, GQL, json={"data": {"bulkUpsertOrders": [{"id": "1", "storeOrderId": "v1-01"}]}})
    result = ac.ecom_graphql.bulk_upsert_orders([order("v1-01"), order("v2-01")])
    assert result.failed == {"v2-01": "bad date"} and set(result.succeeded) == {"v1-01"}
    assert [r["storeOrderId"] for r in sent_records(responses.calls[1].request)] == ["v1-01"]


@responses.activate
def test_validation_errors_naming_no_record_of_the_batch_raise_instead_of_looping(ac):
    refusal = {"errors": [{"message": "Validation errors", "extensions": {"7-storeOrderId-elsewhere": "?"}}]}
    responses.add(responses.POST, GQL, json=refusal)
    with pytest.raises(RecordValidationError) as caught:
        ac.ecom_graphql.bulk_upsert_orders([order("v1-01")])
    assert caught.value.failures == {"elsewhere": "?"}
    assert caught.value.partial.requests == 1 and not caught.value.partial.succeeded
    assert len(responses.calls) == 1


@pytest.mark.parametrize("status", [200, 400])
@responses.activate
def test_upsert_order_refused_raises_record_validation_error(ac, status):
    refusal = {"errors": [{"message": "Validation errors", "extensions": {"0-storeOrderId-v1-01": "bad currency"}}]}
    responses.add(responses.POST, GQL, json=refusal, status=status)
    with pytest.raises(RecordValidationError) as caught:
        ac.ecom_graphql.upsert_order(order("v1-01", currency="XX"))
    assert caught.value.failures == {"v1-01": "bad currency"}
    assert caught.value.records[0].index == 0 and caught.value.records[0].field == "storeOrderId"
    assert isinstance(caught.value, GraphQLError) and not caught.value.retryable


@pytest.mark.parametrize("status", [200, 400, 413])
@responses.activate
def test_token_limit_splits_in_halves_lands_every_record_once(ac, limiter, status):
    huge = "v4-01"
    batches: list[list[str]] = []
    landed: list[str] = []

    def reply(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        records = sent_records(request)
        ids = [r["storeOrderId"] for r in records]
        batches.append(ids)
        if len(records) > 2 or huge in ids:
            return json_reply(TOKEN_LIMIT, status)
        landed.extend(ids)
        return json_reply(answer("bulkUpsertOrders", records))

    responses.add_callback(responses.POST, GQL, callback=reply)
    ids = ["v1-01", "v2-01", "v3-01", huge, "v5-01"]
    result = ac.ecom_graphql.bulk_upsert_orders([order(i) for i in ids])
    assert batches == [ids, ["v1-01", "v2-01"], ["v3-01", huge, "v5-01"], ["v3-01"], [huge, "v5-01"], [huge], ["v5-01"]]
    assert sorted(landed) == ["v1-01", "v2-01", "v3-01", "v5-01"] and len(set(landed)) == len(landed)
    assert set(result.succeeded) == {"v1-01", "v2-01", "v3-01", "v5-01"}
    assert list(result.failed) == [huge] and "grammar tokens" in result.failed[huge]
    assert result.requests == 7 == limiter.calls == len(responses.calls)


@responses.activate
def test_token_limit_with_a_lower_server_limit_is_recognised(ac):
    responses.add(responses.POST, GQL, json={"errors": [{"message": "Invalid query: More than 300 grammar tokens"}]})
    with pytest.raises(TokenLimitError):
        ac.ecom_graphql.execute("mutation{x}")


@responses.activate
def test_batch_size_caps_records_per_request(ac):
    def reply(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        return json_reply(answer("bulkUpsertOrders", sent_records(request)))

    responses.add_callback(responses.POST, GQL, callback=reply)
    result = ac.ecom_graphql.bulk_upsert_orders([order(f"v{n}-01") for n in range(5)], batch_size=2)
    assert [len(sent_records(c.request)) for c in responses.calls] == [2, 2, 1]
    assert len(result.succeeded) == 5 and result.requests == 3


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        ({"status": 500, "json": {"message": "boom"}}, ServerError),
        ({"body": requests.exceptions.ConnectionError("connection reset by peer")}, TransportError),
    ],
)
@responses.activate
def test_an_error_mid_way_reports_what_already_landed(ac, failure, error):
    responses.add(responses.POST, GQL, json={"data": {"bulkUpsertOrders": [{"id": "1", "storeOrderId": "v1-01"}]}})
    responses.add(responses.POST, GQL, **failure)
    with pytest.raises(error) as caught:
        ac.ecom_graphql.bulk_upsert_orders([order("v1-01"), order("v2-01"), order("v3-01")], batch_size=1)
    partial = caught.value.partial
    assert partial.succeeded == {"v1-01": {"id": "1", "storeOrderId": "v1-01"}}
    assert partial.failed == {} and partial.requests == 2
    assert len(responses.calls) == 2  # the third record was not sent after the failure


@responses.activate
def test_429_is_a_rate_limit_error_with_retry_after(ac, limiter):
    responses.add(responses.POST, GQL, status=429, json={"message": "Too Many Requests"}, headers={"Retry-After": "30"})
    with pytest.raises(RateLimitError) as caught:
        ac.ecom_graphql.bulk_upsert_orders([order("v1-01")])
    assert caught.value.retry_after == 30 and caught.value.retryable and caught.value.status == 429
    assert caught.value.partial.requests == 1 and limiter.calls == 1


@responses.activate
def test_transport_retries_count_as_requests_and_each_passes_the_limiter(limiter):
    slept: list[float] = []
    transport = Transport(retry_policy=RetryPolicy(max_retries=2, max_retry_after=1), sleep=slept.append)
    ac = ActiveCampaign(api_token="tok", account="acme", rate_limiter=limiter, transport=transport)
    responses.add(responses.POST, GQL, status=429, json={"message": "slow down"}, headers={"Retry-After": "0"})
    responses.add(responses.POST, GQL, json={"data": {"bulkUpsertOrders": [{"id": "1", "storeOrderId": "v1-01"}]}})
    result = ac.ecom_graphql.bulk_upsert_orders([order("v1-01")])
    assert result.requests == 2 and limiter.calls == 2 and set(result.succeeded) == {"v1-01"}
    assert slept == [0.0]


@responses.activate
def test_http_errors_map_as_for_v3(ac):
    responses.add(responses.POST, GQL, status=403, json={"message": "No Result found for Subscriber with id 0"})
    responses.add(
        responses.POST,
        GQL,
        status=400,
        json={"errors": [{"message": "Syntax Error: Expected Name, found <EOF>.", "locations": [{"line": 1}]}]},
    )
    with pytest.raises(AuthenticationError):
        ac.ecom_graphql.execute("mutation{x}")
    with pytest.raises(ValidationError) as caught:
        ac.ecom_graphql.execute("mutation{")
    assert "Syntax Error: Expected Name" in caught.value.message and caught.value.status == 400


@responses.activate
def test_other_graphql_errors_raise_graphql_error_with_the_list(ac):
    errors = [{"message": 'Cannot query field "nope" on type "Mutation".', "locations": [{"line": 1, "column": 10}]}]
    responses.add(responses.POST, GQL, json={"data": None, "errors": errors})
    with pytest.raises(GraphQLError) as caught:
        ac.ecom_graphql.bulk_upsert_orders([order("v1-01")])
    assert type(caught.value) is GraphQLError and caught.value.errors == errors
    assert 'Cannot query field "nope"' in str(caught.value)


@responses.activate
def test_async_bulk_accepts_a_single_object(ac):
    record = {"recordId": "r-1", "storeOrderId": "v1-01"}
    responses.add(responses.POST, GQL, json={"data": {"bulkUpsertOrdersAsync": record}})
    result = ac.ecom_graphql.bulk_upsert_orders_async([order("v1-01", creationSource=Enum("HISTORICAL"))])
    assert result.succeeded == {"v1-01": record} and result.failed == {}
    field, arguments, selected = read_mutation(responses.calls[0].request.body)
    assert (field, selected) == ("bulkUpsertOrdersAsync", ["recordId", "storeOrderId"])
    assert arguments["orders"][0]["creationSource"] == Enum("HISTORICAL")


@responses.activate
def test_a_record_missing_from_the_answer_is_failed_not_dropped(ac):
    responses.add(responses.POST, GQL, json={"data": {"bulkUpsertOrders": [{"id": "1", "storeOrderId": "v1-01"}]}})
    result = ac.ecom_graphql.bulk_upsert_orders([order("v1-01"), order("v2-01")])
    assert set(result.succeeded) == {"v1-01"} and set(result.failed) == {"v2-01"}


@pytest.mark.parametrize(
    ("records", "error"),
    [
        ([order("v1-01"), order("v1-01")], ValueError),
        ([order("v1-01"), {"email": "no-id@example.com"}], ValueError),
        ([order("v1-01"), order("v2-01", finalAmount=19.99)], TypeError),
    ],
)
@responses.activate
def test_bad_input_is_refused_before_anything_is_sent(ac, records, error):
    responses.add(responses.POST, GQL, json={"data": {}})
    with pytest.raises(error):
        ac.ecom_graphql.bulk_upsert_orders(records)
    assert len(responses.calls) == 0


def test_empty_bulk_sends_nothing(ac, limiter):
    result = ac.ecom_graphql.bulk_upsert_orders([])
    assert (result.succeeded, result.failed, result.requests, limiter.calls) == ({}, {}, 0, 0)
