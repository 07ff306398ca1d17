"""ActiveCampaign's Ecommerce GraphQL API (``POST /api/3/ecom/graphql``) in the sandbox, as a Flask blueprint.

Modelled on ActiveCampaign's developer reference ("Ecommerce GraphQL API: Overview / Orders") and its
WooCommerce plugin, which sends these mutations. The contract the sandbox keeps:

- Body: ``application/graphql`` (a document with literal arguments, the plugin's form) or ``application/json``
  ``{"query", "variables", "operationName"}``; any other type is HTTP 400.
- Auth (403), the account's 5 req/s (429) and injected faults come from the app's guard: one HTTP call counts
  once, whatever it holds.
- More than ``SandboxConfig.graphql_max_tokens`` lexical tokens: HTTP 200 ``{"data": null, "errors":
  [{"message": "Invalid query: More than N grammar tokens", "extensions": {}}]}``.
- Syntax errors and documents the schema (``ecom_schema.graphql``) refuses: HTTP 400 ``{"errors": [...]}`` with
  graphql-core's messages and locations.
- Records that break AC's rules (unknown ``legacyConnectionId``, bad e-mail, currency or date, a money amount
  that is negative, has more than 2 decimals or exceeds 21474836.47): HTTP 200 ``{"data": null, "errors":
  [{"message": "Validation errors", "extensions": {"<index>-storeOrderId-<storeOrderId>": "<reason>"}}]}``
  (``storePrimaryId`` for products) and nothing of the call is applied.
- Otherwise every record is applied, in input order: orders and products are upserted by
  (legacyConnectionId, storeOrderId | storePrimaryId); an order creates or updates its contact and v3
  e-commerce customer at once, and its v3 ``/ecomOrders`` copy ``SandboxConfig.graphql_copy_delay`` seconds
  later (see ``copy_order_to_v3``).
- What the GraphQL side holds is visible in ``/__sandbox/state`` as ``cofe_orders`` and ``cofe_products``;
  the request log entry carries ``operations`` (root field names), ``records`` (records in the call) and
  ``applied``.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request
from graphql import (
    DocumentNode,
    ExecutionResult,
    FloatValueNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSyntaxError,
    IntValueNode,
    OperationType,
    Source,
    StringValueNode,
    TokenKind,
    ValueNode,
    build_schema,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from graphql.language import Lexer
from graphql.utilities import value_from_ast_untyped

from acclient.sandbox.runtime import EMAIL_RE, SandboxState
from acclient.sandbox.store import Account, now_iso
from acclient.sandbox.v3_common import Refused, written

SCHEMA_PATH = Path(__file__).with_name("ecom_schema.graphql")
MONEY_MAX = Decimal("21474836.47")  # int32 cents, the most a v3 amount can hold
CENT = Decimal("0.01")
DECIMAL_TEXT = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
VALIDATION_ERRORS = "Validation errors"
ORDER_MONEY = ("finalAmount", "discountsAmount", "shippingAmount", "taxAmount")
# v3 ecomOrder states; v3 has none for CANCELLED/REFUNDED/FAILED/RETURNED, whose copies stay state 1 (an order)
# with the GraphQL status kept beside it as ``normalizedStatus``.
V3_STATE = {"PENDING": "0", "COMPLETED": "1", "ABANDONED": "2", "RECOVERED": "3", "WAITING": "4"}
_PARSE_HAS_MAX_TOKENS = "max_tokens" in inspect.signature(parse).parameters
_PARSER_LIMIT_MESSAGE = "Document contains more than"


class TokenLimitExceeded(Exception):
    """The document has more lexical tokens than the configured limit."""


class BadRequest(Exception):
    """The HTTP request is not a GraphQL request the endpoint accepts."""


# ---------------------------------------------------------------------------------------------- schema
# The coercion functions raise ValueError: graphql-core then reports "Expected value of type 'Decimal!', found
# ...; <reason>" with the literal's location (HTTP 400), as for any schema error.
def _decimal_from_text(text: str) -> Decimal:
    if not DECIMAL_TEXT.fullmatch(text):
        raise ValueError(f"Decimal cannot represent {text!r}: not a decimal number.")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"Decimal cannot represent {text!r}.") from None


def decimal_from_literal(node: ValueNode, _variables: Mapping[str, Any] | None = None) -> Decimal:
    """A Decimal literal: an Int, Float or String token holding a decimal number."""
    if isinstance(node, IntValueNode | FloatValueNode | StringValueNode):
        return _decimal_from_text(node.value)
    raise ValueError("Decimal must be an Int, a Float or a String holding a number.")


def decimal_from_value(value: Any) -> Decimal:
    """A Decimal variable value (JSON): an integer, a float (read through its shortest repr) or a string."""
    if isinstance(value, bool):
        raise ValueError("Decimal cannot represent a Boolean.")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return _decimal_from_text(repr(value))
    if isinstance(value, str):
        return _decimal_from_text(value)
    raise ValueError(f"Decimal cannot represent {value!r}.")


def decimal_to_output(value: Any) -> str:
    return str(value)


def json_from_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    return value_from_ast_untyped(node, variables)


def json_from_value(value: Any) -> Any:
    return value


def _install_scalar(
    scalar: GraphQLScalarType, *, output: Callable[[Any], Any], value: Callable[[Any], Any], literal: Callable[..., Any]
) -> None:
    """Give an SDL-declared scalar its coercion, for graphql-core 3.2 (serialize/parse_*) and 3.3 (coerce_*)."""
    # graphql-core declares these as static methods, though its own GraphQLScalarSerializer and
    # GraphQLScalarValueParser, which it assigns them from, are the positional Callable[[Any], Any]
    scalar.serialize = output  # type: ignore[method-assign, assignment]
    scalar.parse_value = value  # type: ignore[method-assign, assignment]
    scalar.parse_literal = literal  # type: ignore[method-assign]
    if hasattr(scalar, "coerce_input_literal"):
        scalar.coerce_output_value = output
        scalar.coerce_input_value = value
        scalar.coerce_input_literal = lambda node, *_: literal(node)


@functools.cache
def ecom_schema() -> GraphQLSchema:
    """The sandbox's schema (``ecom_schema.graphql``) with its scalars and root resolvers installed."""
    schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
    decimal, json_scalar = schema.type_map["Decimal"], schema.type_map["JSON"]
    assert isinstance(decimal, GraphQLScalarType) and isinstance(json_scalar, GraphQLScalarType)
    _install_scalar(decimal, output=decimal_to_output, value=decimal_from_value, literal=decimal_from_literal)
    _install_scalar(json_scalar, output=json_from_value, value=json_from_value, literal=json_from_literal)
    assert schema.mutation_type is not None and schema.query_type is not None
    for name, resolver in MUTATIONS.items():
        schema.mutation_type.fields[name].resolve = resolver
    for name, resolver in QUERIES.items():
        schema.query_type.fields[name].resolve = resolver
    return schema


def parse_document(text: str, max_tokens: int) -> DocumentNode:
    """Parse ``text``; raises TokenLimitExceeded past ``max_tokens`` lexical tokens, GraphQLSyntaxError else."""
    if _PARSE_HAS_MAX_TOKENS:
        try:
            return parse(text, max_tokens=max_tokens)
        except GraphQLSyntaxError as exc:
            if _PARSER_LIMIT_MESSAGE in exc.message:
                raise TokenLimitExceeded(max_tokens) from None
            raise
    lexer = Lexer(Source(text))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
        if count > max_tokens:
            raise TokenLimitExceeded(max_tokens)
    return parse(text)


# ---------------------------------------------------------------------------------------------- one call
@dataclass
class Call:
    """One HTTP call's execution. The first pass (``apply`` False) only validates and counts; the second
    applies, and runs only when the first found nothing wrong, so a call is applied entirely or not at all."""

    state: SandboxState
    account: Account
    apply: bool = False
    failures: dict[str, str] = field(default_factory=dict)
    operations: list[str] = field(default_factory=list)
    records: int = 0
    applied: int = 0


def jsonable(value: Any) -> Any:
    """Coerced GraphQL input as stored and shown in ``/__sandbox/state``: Decimals become strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def money_problem(name: str, value: Decimal | None) -> str | None:
    if value is None:
        return None
    if value < 0:
        return f"{name} must not be negative"
    if value > MONEY_MAX:
        return f"{name} must not exceed {MONEY_MAX}"
    if value != value.quantize(CENT):
        return f"{name} must have at most 2 decimal places"
    return None


def date_problem(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"{name} is not an ISO 8601 date"
    return None if moment.tzinfo is not None else f"{name} needs a UTC offset"


def connection_problem(account: Account, connection_id: int) -> str | None:
    if str(connection_id) in account.tables["connections"]:
        return None
    return f"legacyConnectionId {connection_id} is not a connection of this account"


def order_problems(account: Account, order: Mapping[str, Any]) -> list[str]:
    """Why AC would refuse this order record; empty when it is acceptable."""
    problems = [connection_problem(account, order["legacyConnectionId"])]
    if not order["storeOrderId"].strip():
        problems.append("storeOrderId must not be empty")
    if not EMAIL_RE.match(order["email"]):
        problems.append("email is not a valid e-mail address")
    if not re.fullmatch(r"[A-Za-z]{3}", order["currency"]):
        problems.append("currency must be a 3-letter ISO 4217 code")
    if not order["orderNumber"].strip():
        problems.append("orderNumber must not be empty")
    problems += [date_problem(n, order.get(n)) for n in ("storeCreatedDate", "storeModifiedDate")]
    problems += [money_problem(n, order.get(n)) for n in ORDER_MONEY]
    for index, item in enumerate(order.get("lineItems") or []):
        if item is None:
            continue
        problems.append(money_problem(f"lineItems[{index}].priceAmount", item.get("priceAmount")))
        quantity = item.get("quantity")
        if quantity is not None and quantity < 1:
            problems.append(f"lineItems[{index}].quantity must be at least 1")
    for index, discount in enumerate(order.get("discounts") or []):
        if discount is not None:
            problems.append(money_problem(f"discounts[{index}].discountAmount", discount.get("discountAmount")))
    return [p for p in problems if p]


def product_problems(account: Account, product: Mapping[str, Any]) -> list[str]:
    """Why AC would refuse this product record; empty when it is acceptable."""
    problems = [connection_problem(account, product["legacyConnectionId"])]
    if not product["storePrimaryId"].strip():
        problems.append("storePrimaryId must not be empty")
    problems.append(money_problem("variantPriceAmount", product.get("variantPriceAmount")))
    return [p for p in problems if p]


def contact_values(order: Mapping[str, Any]) -> dict[str, Any]:
    """Name and phone for the order's contact: customerData, else shippingAddress, else billingAddress."""
    sources = [order.get(n) or {} for n in ("customerData", "shippingAddress", "billingAddress")]
    return {name: next((s[name] for s in sources if s.get(name)), None) for name in ("firstName", "lastName", "phone")}


def upsert_ecom_customer(account: Account, order: Mapping[str, Any]) -> dict[str, Any]:
    """The v3 e-commerce customer of an order: matched by (connection, externalid = storeCustomerId), or by
    (connection, e-mail) when storeCustomerId is absent; created if none matches (a guest's externalid is
    its e-mail). The e-mail and acceptsMarketing (when given) are updated."""
    connection, email = str(order["legacyConnectionId"]), order["email"]
    external = order.get("storeCustomerId")
    customers = account.indexed("ecomCustomers")
    if external:
        customer = customers.first("external", (connection, external))
    else:
        customer = customers.first("email", (connection, email.lower()))
    if customer is None:
        customer = account.insert(
            "ecomCustomers",
            {
                "connectionid": connection,
                "externalid": external or email,
                "email": email,
                "acceptsMarketing": "0",
                "totalRevenue": "0",
                "totalOrders": "0",
            },
        )
    customer["email"] = email
    if order.get("acceptsMarketing") is not None:
        customer["acceptsMarketing"] = "1" if order["acceptsMarketing"] else "0"
    return customer


def cents(amount: str | None) -> int:
    return int(Decimal(amount or "0") * 100)


def v3_order_fields(order: Mapping[str, Any]) -> dict[str, Any]:
    """The v3 ecomOrder fields of a stored GraphQL order (amounts in integer cents, as v3 has them)."""
    fields: dict[str, Any] = {
        "connectionid": str(order["legacyConnectionId"]),
        "customerid": order["customerId"],
        "email": order["email"],
        "externalid": order["storeOrderId"],
        "source": "1" if order["creationSource"] == "REAL_TIME" else "0",
        "currency": order["currency"],
        "totalPrice": str(cents(order["finalAmount"])),
        "externalCreatedDate": order["storeCreatedDate"],
        "orderNumber": order["orderNumber"],
    }
    optional = {
        "externalcheckoutid": order.get("cartId"),
        "externalUpdatedDate": order.get("storeModifiedDate"),
        "normalizedStatus": order.get("normalizedStatus"),
        "orderUrl": order.get("orderUrl"),
        "shippingMethod": order.get("shippingMethod"),
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    for v3_name, name in (
        ("shippingAmount", "shippingAmount"),
        ("taxAmount", "taxAmount"),
        ("discountAmount", "discountsAmount"),
    ):
        if order.get(name) is not None:
            fields[v3_name] = str(cents(order[name]))
    fields["orderProducts"] = [v3_product(item) for item in order.get("lineItems") or [] if item is not None]
    fields["orderDiscounts"] = [v3_discount(d) for d in order.get("discounts") or [] if d is not None]
    return fields


def v3_product(item: Mapping[str, Any]) -> dict[str, Any]:
    """The v3 ``orderProducts`` entry of a GraphQL line item."""
    product = {
        "externalid": item.get("productStorePrimaryId") or item.get("storeLineItemId") or "",
        "name": item.get("name") or "",
        "price": cents(item.get("priceAmount")),
        "quantity": item.get("quantity") or 1,
    }
    product.update({k: item[k] for k in ("sku", "category", "imageUrl", "productUrl") if item.get(k)})
    return product


def v3_discount(discount: Mapping[str, Any]) -> dict[str, Any]:
    """The v3 ``orderDiscounts`` entry of a GraphQL discount."""
    return {
        "name": discount.get("name") or "",
        "type": discount.get("type") or "order",
        "discountAmount": cents(discount.get("discountAmount")),
    }


def copy_order_to_v3(account: Account, order: Mapping[str, Any]) -> dict[str, Any]:
    """AC's asynchronous copy of a GraphQL order into v3 DeepData (``/api/3/ecomOrders``).

    The v3 row of (connection, externalid = storeOrderId) is updated if there is one; else, when ``cartId``
    names an open abandoned cart of the connection (externalcheckoutid = cartId, state 2, no externalid), that
    cart becomes the order, recovered (state 3); else a row is added. Customer totals are refreshed."""
    fields = v3_order_fields(order)
    orders = account.indexed("ecomOrders")
    connection = fields["connectionid"]
    target = orders.first("external", (connection, order["storeOrderId"]))
    recovering = False
    if target is None and order.get("cartId"):
        carts = orders.find("checkout", (connection, order["cartId"]))
        target = next((r for r in carts if not r.get("externalid") and r.get("state") == "2"), None)
        recovering = target is not None
    state = V3_STATE.get(order.get("normalizedStatus") or "COMPLETED", "1")
    if target is None:
        return_row = account.insert("ecomOrders", {**fields, "state": state, "cdate": now_iso(), "udate": now_iso()})
    else:
        previous_customer = target["customerid"]
        keep_recovered = target.get("state") == "3" and state == "1"
        target.update(fields, udate=now_iso())
        target["state"] = "3" if recovering or keep_recovered else state
        if previous_customer != target["customerid"]:
            account.refresh_customer_totals(previous_customer)
        return_row = target
    account.refresh_customer_totals(fields["customerid"])
    return return_row


def upsert_record(account: Account, table: str, key: tuple[Any, ...], values: dict[str, Any]) -> dict[str, Any]:
    """Insert or update the record of ``key``: given fields overwrite (an explicit null clears), absent ones stay."""
    record_id = account.keys.get((table, *key))
    if record_id is None:
        record = account.insert(table, {**values, "cdate": now_iso(), "udate": now_iso()})
        account.keys[(table, *key)] = record["id"]
        return record
    record = account.tables[table][record_id]
    record.update(values, udate=now_iso())
    return record


def apply_order(call: Call, order: Mapping[str, Any]) -> dict[str, Any]:
    account = call.account
    contact = account.upsert_contact(order["email"], contact_values(order))
    customer = upsert_ecom_customer(account, order)
    values = {**jsonable(order), "contactId": contact["id"], "customerId": customer["id"]}
    row = upsert_record(account, "cofe_orders", (order["legacyConnectionId"], order["storeOrderId"]), values)
    snapshot = copy.deepcopy(row)
    call.state.schedule(call.state.config.graphql_copy_delay, lambda: copy_order_to_v3(account, snapshot))
    call.applied += 1
    return row


def apply_product(call: Call, product: Mapping[str, Any]) -> dict[str, Any]:
    key = (product["legacyConnectionId"], product["storePrimaryId"])
    call.applied += 1
    return upsert_record(call.account, "cofe_products", key, jsonable(product))


# ---------------------------------------------------------------------------------------------- resolvers
def _bulk(
    info: GraphQLResolveInfo[Call],
    records: list[dict[str, Any]],
    id_field: str,
    problems: Callable[[Account, Mapping[str, Any]], list[str]],
    apply: Callable[[Call, Mapping[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    call = info.context
    if not call.apply:
        call.operations.append(info.field_name)
        call.records += len(records)
        for index, record in enumerate(records):
            found = problems(call.account, record)
            if found:
                call.failures[f"{index}-{id_field}-{record[id_field]}"] = "; ".join(found)
        return [{"id": "0", "recordId": "0", id_field: record[id_field]} for record in records]
    return [apply(call, record) for record in records]


def resolve_upsert_order(_root: Any, info: GraphQLResolveInfo[Call], order: dict[str, Any]) -> dict[str, Any]:
    return _bulk(info, [order], "storeOrderId", order_problems, apply_order)[0]


def resolve_bulk_upsert_orders(_root: Any, info: GraphQLResolveInfo[Call], orders: list[dict[str, Any]]) -> list[Any]:
    return _bulk(info, orders, "storeOrderId", order_problems, apply_order)


def resolve_bulk_upsert_orders_async(
    _root: Any, info: GraphQLResolveInfo[Call], orders: list[dict[str, Any]]
) -> list[Any]:
    """Validated and stored like the synchronous call; ``recordId`` is the order's id."""
    rows = _bulk(info, orders, "storeOrderId", order_problems, apply_order)
    return [{"recordId": row["id"], "storeOrderId": row["storeOrderId"]} for row in rows]


def resolve_bulk_upsert_products(
    _root: Any, info: GraphQLResolveInfo[Call], products: list[dict[str, Any]]
) -> list[Any]:
    return _bulk(info, products, "storePrimaryId", product_problems, apply_product)


def find_record(call: Call, table: str, connection_id: int, store_id: str) -> dict[str, Any] | None:
    """The stored GraphQL record of ``table`` keyed (legacyConnectionId, storeOrderId | storePrimaryId), or None."""
    record_id = call.account.keys.get((table, connection_id, store_id))
    return None if record_id is None else call.account.tables[table][record_id]


def resolve_order(
    _root: Any, info: GraphQLResolveInfo[Call], legacyConnectionId: int, storeOrderId: str
) -> dict[str, Any] | None:
    return find_record(info.context, "cofe_orders", legacyConnectionId, storeOrderId)


def resolve_product(
    _root: Any, info: GraphQLResolveInfo[Call], legacyConnectionId: int, storePrimaryId: str
) -> dict[str, Any] | None:
    return find_record(info.context, "cofe_products", legacyConnectionId, storePrimaryId)


MUTATIONS: dict[str, Callable[..., Any]] = {
    "upsertOrder": resolve_upsert_order,
    "bulkUpsertOrders": resolve_bulk_upsert_orders,
    "bulkUpsertOrdersAsync": resolve_bulk_upsert_orders_async,
    "bulkUpsertProducts": resolve_bulk_upsert_products,
}
QUERIES: dict[str, Callable[..., Any]] = {"order": resolve_order, "product": resolve_product}


# ---------------------------------------------------------------------------------------------- HTTP
def read_graphql_request() -> tuple[str, dict[str, Any] | None, str | None]:
    """(document, variables, operation name) of the current request; raises BadRequest."""
    if request.mimetype == "application/graphql":
        try:
            return request.get_data().decode("utf-8"), None, None
        except UnicodeDecodeError:
            raise BadRequest("The request body is not UTF-8.") from None
    if request.mimetype == "application/json":
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise BadRequest("The JSON body must be an object with a 'query' string.")
        variables, operation_name = payload.get("variables"), payload.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            raise BadRequest("'variables' must be an object.")
        if operation_name is not None and not isinstance(operation_name, str):
            raise BadRequest("'operationName' must be a string.")
        return payload["query"], variables, operation_name
    raise BadRequest("Content-Type must be application/graphql or application/json.")


@dataclass(frozen=True)
class GraphQLRequest:
    """A request's document, parsed and valid against the schema, with its variables and operation name."""

    document: DocumentNode
    variables: dict[str, Any] | None
    operation_name: str | None

    @property
    def is_mutation(self) -> bool:
        operation = get_operation_ast(self.document, self.operation_name)
        return operation is not None and operation.operation == OperationType.MUTATION


def parsed_request(schema: GraphQLSchema, max_tokens: int) -> GraphQLRequest:
    """The current HTTP request as a GraphQL request; raises ``Refused`` with the answer to one the endpoint refuses
    (400, or 200 with AC's token-limit error)."""
    try:
        text, variables, operation_name = read_graphql_request()
    except BadRequest as exc:
        raise Refused({"errors": [{"message": str(exc)}]}, 400) from None
    try:
        document = parse_document(text, max_tokens)
    except TokenLimitExceeded as exc:
        message = f"Invalid query: More than {exc.args[0]} grammar tokens"
        raise Refused({"data": None, "errors": [{"message": message, "extensions": {}}]}, 200) from None
    except GraphQLError as exc:
        raise Refused({"errors": [exc.formatted]}, 400) from None
    problems = validate(schema, document)
    if problems:
        raise Refused({"errors": [p.formatted for p in problems]}, 400)
    return GraphQLRequest(document, variables, operation_name)


def execute_call(schema: GraphQLSchema, call: Call, graphql_request: GraphQLRequest) -> ExecutionResult:
    """Run the validating pass and, for a mutation none of whose records failed, the applying pass (see ``Call``).

    The caller holds the store lock. Errors and refused records raise ``Refused`` with AC's answer."""

    def run() -> ExecutionResult:
        return execute_sync(
            schema,
            graphql_request.document,
            context_value=call,
            variable_values=graphql_request.variables,
            operation_name=graphql_request.operation_name,
        )

    result = run()
    call.state.log_extra(operations=call.operations, records=call.records)
    if result.errors:
        errors = [e.formatted for e in result.errors]
        if result.data is None:  # a request error: variable values, the choice of operation
            raise Refused({"errors": errors}, 400)
        raise Refused({"data": None, "errors": errors}, 200)  # a resolver failed: nothing applied
    if call.failures:
        raise Refused({"data": None, "errors": [{"message": VALIDATION_ERRORS, "extensions": call.failures}]}, 200)
    if graphql_request.is_mutation:
        call.apply = True
        result = run()
        call.state.log_extra(applied=call.applied)
    return result


def create_graphql_blueprint(state: SandboxState) -> Blueprint:
    """The ``/api/3/ecom/graphql`` endpoint over ``state`` (see the module's docstring for the contract)."""
    blueprint = Blueprint("ecom_graphql", __name__)
    schema = ecom_schema()

    @blueprint.post("/api/3/ecom/graphql")
    def graphql_endpoint() -> tuple[Response, int]:
        state.log_extra(operations=[], records=0, applied=0)
        graphql_request = parsed_request(schema, state.config.graphql_max_tokens)
        with state.store.lock:
            call = Call(state, state.account())
            result = execute_call(schema, call, graphql_request)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        if call.applied:  # records were written (only a mutation's applying pass writes)
            return written(state, body, 200)
        return jsonify(body), 200

    return blueprint
