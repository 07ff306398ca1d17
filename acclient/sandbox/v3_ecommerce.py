"""Deep Data e-commerce over v3: ``/api/3/connections``, ``/api/3/ecomCustomers``, ``/api/3/ecomOrders``
(orders and abandoned carts)."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, request

from acclient.sandbox.runtime import EMAIL_RE, SandboxState
from acclient.sandbox.store import Account, now_iso
from acclient.sandbox.v3_common import (
    Invalid,
    body,
    duplicate,
    error,
    invalid_email,
    listing,
    missing,
    non_negative_int,
    parse_date,
    serve_record,
    written,
)

CONNECTION_FIELDS = ("service", "externalid", "name", "logoUrl", "linkUrl")
CONNECTION_UPDATABLE = frozenset({*CONNECTION_FIELDS, "status", "syncStatus", "listId"})
CUSTOMER_UPDATABLE = ("email", "externalid", "acceptsMarketing")


def check_connection(account: Account, connection_id: Any) -> None:
    if str(connection_id) not in account.tables["connections"]:
        raise Invalid([error(f"Connection {connection_id} does not exist.", "related_missing", "connectionid")])


def validate_order(fields: dict[str, Any], *, partial: bool) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    required = ["connectionid", "customerid", "email", "currency", "totalPrice", "source"]
    if not partial:
        errors += [missing("order", n) for n in required if fields.get(n) in (None, "")]
        if not fields.get("externalid") and not fields.get("externalcheckoutid"):
            errors.append(missing("order", "externalid"))
        if fields.get("externalid"):
            if not fields.get("externalCreatedDate"):
                errors.append(missing("order", "externalCreatedDate"))
        elif fields.get("externalcheckoutid"):
            errors += [missing("order", n) for n in ("abandonedDate", "externalCreatedDate") if not fields.get(n)]
        if not fields.get("orderProducts"):
            errors.append(missing("order", "orderProducts"))
    if "email" in fields and fields["email"] is not None and not EMAIL_RE.match(str(fields["email"])):
        errors.append(invalid_email())
    if "currency" in fields and not re.fullmatch(r"[A-Za-z]{3}", str(fields.get("currency") or "")):
        errors.append(error("The currency must be a 3-letter ISO code.", "field_invalid", "currency"))
    for name in ("totalPrice", "shippingAmount", "taxAmount", "discountAmount"):
        if name in fields and not non_negative_int(fields[name]):
            errors.append(error(f"The order {name} must be a non-negative integer (cents).", "field_invalid", name))
    if "source" in fields and str(fields["source"]) not in ("0", "1"):
        errors.append(error("The order source must be 0 or 1.", "field_invalid", "source"))
    for name in ("externalCreatedDate", "externalUpdatedDate", "abandonedDate"):
        if fields.get(name) is not None:
            problem = parse_date(fields[name], name, "order")
            if problem:
                errors.append(problem)
    products = fields.get("orderProducts")
    if products is not None:
        if not isinstance(products, list):
            errors.append(error("orderProducts must be a list.", "field_invalid", "orderProducts"))
        else:
            for index, product in enumerate(products):
                errors += validate_product(product, index)
    return errors


def validate_product(product: Any, index: int) -> list[dict[str, Any]]:
    pointer = f"orderProducts/{index}"
    if not isinstance(product, dict):
        return [error(f"Product {index} must be an object.", "field_invalid", pointer)]
    errors = [
        error(f"Product {index} {n} was not provided.", "field_missing", f"{pointer}/{n}")
        for n in ("externalid", "name", "price", "quantity")
        if product.get(n) in (None, "")
    ]
    if product.get("price") not in (None, "") and not non_negative_int(product["price"]):
        errors.append(
            error(
                f"Product {index} price must be a non-negative integer (cents).",
                "field_invalid",
                f"{pointer}/price",
            )
        )
    quantity = product.get("quantity")
    if quantity not in (None, "") and (not non_negative_int(quantity) or int(quantity) < 1):
        errors.append(
            error(f"Product {index} quantity must be a positive integer.", "field_invalid", f"{pointer}/quantity")
        )
    return errors


def check_unique_order(acct: Account, fields: dict[str, Any], own_id: str | None) -> None:
    connection = str(fields.get("connectionid"))
    for key, title in (
        ("externalid", "An order with this externalid already exists for this connection."),
        ("externalcheckoutid", "A cart with this externalcheckoutid already exists."),
    ):
        value = fields.get(key)
        if not value:
            continue
        index = "external" if key == "externalid" else "checkout"
        if any(row["id"] != own_id for row in acct.indexed("ecomOrders").find(index, (connection, str(value)))):
            raise duplicate(title, key)


def stored_order(fields: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in fields.items() if v is not None}
    for name in (
        "connectionid",
        "customerid",
        "externalid",
        "externalcheckoutid",
        "totalPrice",
        "shippingAmount",
        "taxAmount",
        "discountAmount",
        "source",
    ):
        if name in row:
            row[name] = str(row[name])
    return row


def create_ecommerce_blueprint(state: SandboxState) -> Blueprint:
    """Connections, e-commerce customers, and e-commerce orders with abandoned carts, over ``state``."""
    blueprint = Blueprint("v3_ecommerce", __name__)
    register_connection_routes(blueprint, state)
    register_customer_routes(blueprint, state)
    register_order_routes(blueprint, state)
    return blueprint


# ---------------------------------------------------------------- connections
def insert_connection(acct: Account, fields: dict[str, Any]) -> dict[str, Any]:
    """A new connection; its (service, externalid) must be new to the account."""
    for row in acct.tables["connections"].values():
        if (row["service"], row["externalid"]) == (fields["service"], fields["externalid"]):
            raise duplicate("A connection with this service and externalid already exists.", "externalid")
    return acct.insert(
        "connections",
        {
            **{n: str(fields[n]) for n in CONNECTION_FIELDS},
            "isInternal": "0",
            "status": "1",
            "syncStatus": "0",
            "listId": str(fields.get("listId", 0)),
            "cdate": now_iso(),
            "udate": now_iso(),
        },
    )


def update_connection(_acct: Account, row: dict[str, Any], fields: dict[str, Any]) -> None:
    row.update({k: str(v) for k, v in fields.items() if k in CONNECTION_UPDATABLE and v is not None}, udate=now_iso())


def register_connection_routes(blueprint: Blueprint, state: SandboxState) -> None:
    @blueprint.post("/api/3/connections")
    def connection_create() -> tuple[Response, int]:
        fields = body("connection")
        errors = [missing("connection", n) for n in CONNECTION_FIELDS if not fields.get(n)]
        if errors:
            raise Invalid(errors)
        with state.store.lock:
            row = insert_connection(state.account(), fields)
            return written(state, {"connection": dict(row)})

    @blueprint.get("/api/3/connections")
    def connection_list() -> Response:
        return listing(state, "connections", "connections")

    @blueprint.route("/api/3/connections/<record_id>", methods=["GET", "PUT", "DELETE"])
    def connection_item(record_id: str) -> Response | tuple[Response, int]:
        return serve_record(
            state, record_id, table="connections", key="connection", label="Connection", update=update_connection
        )


# ---------------------------------------------------------------- e-commerce customers
def insert_customer(acct: Account, fields: dict[str, Any]) -> dict[str, Any]:
    """A new customer of an existing connection; its (connectionid, externalid) must be new."""
    check_connection(acct, fields["connectionid"])
    key = (str(fields["connectionid"]), str(fields["externalid"]))
    if acct.indexed("ecomCustomers").first("external", key) is not None:
        raise duplicate("A customer with this externalid already exists for this connection.", "externalid")
    row = acct.insert(
        "ecomCustomers",
        {
            "connectionid": key[0],
            "externalid": key[1],
            "email": str(fields["email"]),
            "acceptsMarketing": str(fields.get("acceptsMarketing", "0")),
            "totalRevenue": "0",
            "totalOrders": "0",
        },
    )
    # AC relates a customer to the contact with its e-mail, creating the contact if there is none: AC's
    # WooCommerce plugin syncs abandoned carts of new shoppers with POST /ecomCustomers + /ecomOrders only.
    acct.upsert_contact(row["email"], {})
    return row


def with_email_aggregate(rows: list[dict[str, Any]], email: str) -> list[dict[str, Any]]:
    """Like AC: a list by e-mail also returns a cross-store aggregate row with connectionid "0" (first)."""
    own = [r for r in rows if r["email"].lower() == email.lower()]
    if not own:
        return rows
    aggregate = {
        "id": "0",
        "connectionid": "0",
        "connection": None,
        "externalid": "0",
        "email": email,
        "totalOrders": str(sum(int(r["totalOrders"]) for r in own)),
        "totalRevenue": str(sum(int(r["totalRevenue"]) for r in own)),
    }
    return [aggregate, *rows]


def update_customer(_acct: Account, row: dict[str, Any], fields: dict[str, Any]) -> None:
    if "email" in fields and not EMAIL_RE.match(str(fields["email"])):
        raise Invalid([invalid_email()])
    row.update({k: str(v) for k, v in fields.items() if k in CUSTOMER_UPDATABLE and v is not None})


def register_customer_routes(blueprint: Blueprint, state: SandboxState) -> None:
    @blueprint.post("/api/3/ecomCustomers")
    def customer_create() -> tuple[Response, int]:
        fields = body("ecomCustomer")
        errors = [missing("customer", n) for n in ("connectionid", "externalid", "email") if not fields.get(n)]
        if errors:
            raise Invalid(errors)
        if not EMAIL_RE.match(str(fields["email"])):
            raise Invalid([invalid_email()])
        with state.store.lock:
            row = insert_customer(state.account(), fields)
            return written(state, {"ecomCustomer": dict(row)})

    @blueprint.get("/api/3/ecomCustomers")
    def customer_list() -> Response:
        with state.store.lock:
            rows = list(state.account().tables["ecomCustomers"].values())
        email = request.args.get("filters[email]")
        if email and "filters[connectionid]" not in request.args:
            rows = with_email_aggregate(rows, email)
        return listing(state, "ecomCustomers", "ecomCustomers", rows=rows)

    @blueprint.route("/api/3/ecomCustomers/<record_id>", methods=["GET", "PUT", "DELETE"])
    def customer_item(record_id: str) -> Response | tuple[Response, int]:
        return serve_record(
            state, record_id, table="ecomCustomers", key="ecomCustomer", label="EcomCustomer", update=update_customer
        )


# ---------------------------------------------------------------- e-commerce orders and carts
def check_order_customer(acct: Account, fields: dict[str, Any]) -> None:
    customer = acct.tables["ecomCustomers"].get(str(fields["customerid"]))
    if customer is None or customer["connectionid"] != str(fields["connectionid"]):
        raise Invalid(
            [
                error(
                    f"Customer {fields['customerid']} does not exist for this connection.",
                    "related_missing",
                    "customerid",
                )
            ]
        )


def insert_order(acct: Account, fields: dict[str, Any]) -> dict[str, Any]:
    """A new order (state 1, it has an externalid) or abandoned cart (state 2) of an existing connection and
    customer; the customer's totals are refreshed."""
    check_connection(acct, fields["connectionid"])
    check_order_customer(acct, fields)
    check_unique_order(acct, fields, None)
    row = stored_order(fields)
    row["state"] = "1" if fields.get("externalid") else "2"
    row.update(cdate=now_iso(), udate=now_iso())
    row = acct.insert("ecomOrders", row)
    acct.refresh_customer_totals(row["customerid"])
    return row


def update_order(acct: Account, row: dict[str, Any], fields: dict[str, Any]) -> None:
    """Apply a PUT: the connection and id stay; a cart given an externalid is converted (state 3, "recovered")."""
    errors = validate_order(fields, partial=True)
    if fields.get("externalid") and not (fields.get("externalCreatedDate") or row.get("externalCreatedDate")):
        errors.append(missing("order", "externalCreatedDate"))
    if errors:
        raise Invalid(errors)
    check_unique_order(acct, {**fields, "connectionid": row["connectionid"]}, row["id"])
    was_cart = row["state"] == "2"
    row.update(stored_order({k: v for k, v in fields.items() if k not in ("connectionid", "id")}))
    if was_cart and row.get("externalid"):
        row["state"] = "3"
    row["udate"] = now_iso()
    acct.refresh_customer_totals(row["customerid"])


def refresh_order_customer_totals(acct: Account, row: dict[str, Any]) -> None:
    acct.refresh_customer_totals(row["customerid"])


def register_order_routes(blueprint: Blueprint, state: SandboxState) -> None:
    @blueprint.post("/api/3/ecomOrders")
    def order_create() -> tuple[Response, int]:
        fields = body("ecomOrder")
        errors = validate_order(fields, partial=False)
        if errors:
            raise Invalid(errors)
        with state.store.lock:
            row = insert_order(state.account(), fields)
            return written(state, {"ecomOrder": dict(row)})

    @blueprint.get("/api/3/ecomOrders")
    def order_list() -> Response:
        return listing(state, "ecomOrders", "ecomOrders")

    @blueprint.route("/api/3/ecomOrders/<record_id>", methods=["GET", "PUT", "DELETE"])
    def order_item(record_id: str) -> Response | tuple[Response, int]:
        return serve_record(
            state,
            record_id,
            table="ecomOrders",
            key="ecomOrder",
            label="EcomOrder",
            update=update_order,
            after_delete=refresh_order_customer_totals,
        )
