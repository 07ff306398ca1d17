"""A faithful local ActiveCampaign v3 (the endpoints acclient uses), as a Flask application.

It enforces what the real API enforces: the ``Api-Token`` header (403), required fields and types
(422 with AC's ``errors[]`` shape), duplicates (422 ``code: duplicate``), 5 requests per second per
account (429 + ``Retry-After``), pagination with ``limit``/``offset``, ``filters[..]`` and
``orders[..]``. Ids come back as strings, as AC sends them.

The Ecommerce GraphQL API (``graphql_api``) and the bulk contact import (``bulk_import_api``) are blueprints
over the same state; ``runtime`` applies their delayed work and serves ``/__sandbox/config``.

Not part of the API: ``/__sandbox/*`` to inspect state and the request log, reset, and change faults and
run-time settings.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, jsonify, request

from acclient.sandbox.bulk_import_api import create_bulk_import_blueprint
from acclient.sandbox.faults import FaultInjector, SandboxConfig, SlidingWindowLimiter
from acclient.sandbox.graphql_api import create_graphql_blueprint
from acclient.sandbox.runtime import EMAIL_RE, SandboxState, create_control_blueprint
from acclient.sandbox.store import Account, SandboxStore, now_iso

MAX_LIMIT = 100


class Invalid(Exception):
    def __init__(self, errors: list[dict[str, Any]], status: int = 422) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status


def error(title: str, code: str, pointer: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {"title": title, "detail": "", "code": code}
    if pointer:
        item["source"] = {"pointer": f"/data/attributes/{pointer}"}
    return item


def missing(resource: str, name: str) -> dict[str, Any]:
    return error(f"The {resource} {name} was not provided.", "field_missing", name)


def duplicate(title: str, pointer: str) -> Invalid:
    return Invalid([error(title, "duplicate", pointer)])


class NotFound(Exception):
    pass


def parse_date(value: Any, name: str, resource: str) -> dict[str, Any] | None:
    if not isinstance(value, str):
        return error(f"The {resource} {name} must be a date string.", "field_invalid", name)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return error(f"The {resource} {name} is not a valid ISO 8601 date.", "field_invalid", name)
    if moment.tzinfo is None:
        return error(f"The {resource} {name} needs a UTC offset.", "field_invalid", name)
    return None


def non_negative_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.isdigit():
        return True
    return isinstance(value, int) and value >= 0


def create_app(config: SandboxConfig | None = None) -> Flask:
    config = config or SandboxConfig()
    app = Flask("acclient.sandbox")
    store = SandboxStore()
    limiter = SlidingWindowLimiter(config.requests_per_second)
    faults = FaultInjector(config.faults, seed=config.seed)
    state = SandboxState(store=store, config=config, faults=faults)
    app.extensions["ac_sandbox"] = {
        "store": store,
        "config": config,
        "limiter": limiter,
        "faults": faults,
        "state": state,
    }

    # ---------------------------------------------------------------- request pipeline
    @app.before_request
    def guard() -> Response | tuple[Response, int] | None:
        g.started = time.time()
        g.account = None
        if not request.path.startswith("/api/3/"):
            return None
        token = request.headers.get("Api-Token", "")
        account_name = config.accounts.get(token)
        if account_name is None:
            return jsonify({"message": "No Result found for the given API token"}), 403
        g.account = account_name
        forced = faults.take_forced_429()
        if forced is not None:
            return rate_limited(forced)
        allowed, remaining, retry_after = limiter.check(account_name)
        if not allowed:
            return rate_limited(retry_after)
        g.remaining = remaining
        faults.delay()
        if faults.fail_before():
            return jsonify({"message": "Internal Server Error (injected)"}), 500
        return None

    def rate_limited(retry_after: int) -> Response:
        response = jsonify({"message": "Too Many Requests"})
        response.status_code = 429
        response.headers["Retry-After"] = str(retry_after)
        response.headers["RateLimit-Limit"] = str(int(config.requests_per_second or 0))
        response.headers["RateLimit-Remaining"] = "0"
        return response

    @app.after_request
    def log_request(response: Response) -> Response:
        if request.path.startswith("/api/3/"):
            endpoint = request.url_rule.rule if request.url_rule else request.path
            store.log.record(
                method=request.method,
                endpoint=endpoint,
                path=request.path,
                status=response.status_code,
                account=g.get("account"),
                at=g.get("started", 0.0),
                extra=g.get("log_extra"),
            )
            if response.status_code < 400 and config.requests_per_second:
                response.headers["RateLimit-Limit"] = str(int(config.requests_per_second))
                response.headers["RateLimit-Remaining"] = str(g.get("remaining", 0))
        return response

    @app.errorhandler(Invalid)
    def invalid(exc: Invalid) -> tuple[Response, int]:
        return jsonify({"errors": exc.errors}), exc.status

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> tuple[Response, int]:
        return jsonify({"message": f"No Result found for {exc}"}), 404

    @app.errorhandler(404)
    def no_route(_exc: Exception) -> tuple[Response, int]:
        return jsonify({"message": "Not Found"}), 404

    @app.errorhandler(405)
    def bad_method(_exc: Exception) -> tuple[Response, int]:
        return jsonify({"message": "Method Not Allowed"}), 405

    def account() -> Account:
        return store.account(g.account)

    def body(key: str) -> dict[str, Any]:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get(key), dict):
            raise Invalid(
                [error(f"The request body must be a JSON object with a '{key}' object.", "body_invalid")], status=400
            )
        return payload[key]

    def written(result: Any, status: int = 201) -> tuple[Response, int]:
        """Answer a successful write, unless a fault says the answer gets lost after the write."""
        if faults.fail_after():
            return jsonify({"message": "Internal Server Error (injected after write)"}), 500
        return jsonify(result), status

    def get_row(table: str, record_id: str, label: str) -> dict[str, Any]:
        row = account().tables[table].get(record_id)
        if row is None:
            raise NotFound(f"{label} with id {record_id}")
        return row

    def listing(
        table: str,
        key: str,
        rows: list[dict[str, Any]] | None = None,
        match: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Response:
        with store.lock:
            items = list(rows if rows is not None else account().tables[table].values())
        for name, value in request.args.items():
            found = re.fullmatch(r"filters\[(\w+)\]", name)
            if found:
                field_name = found.group(1)
                items = [r for r in items if str(r.get(field_name, "")).lower() == value.lower()]
        if match is not None:
            items = [r for r in items if match(r)]
        for name, direction in reversed(list(request.args.items())):
            found = re.fullmatch(r"orders\[(\w+)\]", name)
            if found:
                field_name = found.group(1)
                items.sort(key=lambda r: sort_key(r.get(field_name)), reverse=direction.upper() == "DESC")
        try:
            limit = min(MAX_LIMIT, max(1, int(request.args.get("limit", 20))))
            offset = max(0, int(request.args.get("offset", 0)))
        except ValueError:
            raise Invalid([error("limit and offset must be integers.", "param_invalid")], status=400) from None
        page = items[offset : offset + limit]
        return jsonify(
            {key: page, "meta": {"total": str(len(items)), "page_input": {"limit": limit, "offset": offset}}}
        )

    # ---------------------------------------------------------------- contacts
    @app.post("/api/3/contact/sync")
    def contact_sync() -> tuple[Response, int]:
        fields = body("contact")
        email = fields.get("email")
        if not email:
            raise Invalid([missing("contact", "email")])
        if not isinstance(email, str) or not EMAIL_RE.match(email):
            raise Invalid([error("Email address is not valid", "email_invalid", "email")])
        changes = {k: str(fields[k]) for k in ("firstName", "lastName", "phone") if fields.get(k) is not None}
        with store.lock:
            acct = account()
            existing = next((c for c in acct.tables["contacts"].values() if c["email"].lower() == email.lower()), None)
            if existing is None:
                contact = acct.insert(
                    "contacts",
                    {
                        "email": email,
                        "firstName": "",
                        "lastName": "",
                        "phone": "",
                        "cdate": now_iso(),
                        "udate": now_iso(),
                        **changes,
                    },
                )
                status = 201
            else:
                existing.update(changes, udate=now_iso())
                contact, status = existing, 200
            return written({"contact": dict(contact), "fieldValues": []}, status)

    @app.get("/api/3/contacts")
    def contacts_list() -> Response:
        email = request.args.get("email")
        email_like = request.args.get("email_like")

        def match(row: dict[str, Any]) -> bool:
            if email is not None and row["email"].lower() != email.lower():
                return False
            return email_like is None or email_like.lower() in row["email"].lower()

        return listing("contacts", "contacts", match=match)

    @app.get("/api/3/contacts/<record_id>")
    def contact_get(record_id: str) -> Response:
        return jsonify({"contact": get_row("contacts", record_id, "Subscriber")})

    @app.post("/api/3/contactLists")
    def contact_lists() -> tuple[Response, int]:
        fields = body("contactList")
        errors = [missing("contactList", n) for n in ("list", "contact", "status") if fields.get(n) in (None, "")]
        if errors:
            raise Invalid(errors)
        if str(fields["status"]) not in ("1", "2"):
            raise Invalid([error("The status must be 1 (active) or 2 (unsubscribed).", "field_invalid", "status")])
        if not non_negative_int(fields["list"]) or int(fields["list"]) not in config.lists:
            raise Invalid([error(f"List {fields['list']} does not exist.", "related_missing", "list")])
        with store.lock:
            acct = account()
            get_row("contacts", str(fields["contact"]), "Subscriber")
            key = (str(fields["contact"]), str(fields["list"]))
            row = next((r for r in acct.tables["contactLists"].values() if (r["contact"], r["list"]) == key), None)
            if row is None:
                row = acct.insert("contactLists", {"contact": key[0], "list": key[1]})
            row.update(status=int(fields["status"]), sdate=now_iso())
            return written({"contactList": dict(row)}, 200)

    # ---------------------------------------------------------------- connections
    connection_fields = ("service", "externalid", "name", "logoUrl", "linkUrl")

    @app.post("/api/3/connections")
    def connection_create() -> tuple[Response, int]:
        fields = body("connection")
        errors = [missing("connection", n) for n in connection_fields if not fields.get(n)]
        if errors:
            raise Invalid(errors)
        with store.lock:
            acct = account()
            for row in acct.tables["connections"].values():
                if (row["service"], row["externalid"]) == (fields["service"], fields["externalid"]):
                    raise duplicate("A connection with this service and externalid already exists.", "externalid")
            row = acct.insert(
                "connections",
                {
                    **{n: str(fields[n]) for n in connection_fields},
                    "isInternal": "0",
                    "status": "1",
                    "syncStatus": "0",
                    "listId": str(fields.get("listId", 0)),
                    "cdate": now_iso(),
                    "udate": now_iso(),
                },
            )
            return written({"connection": dict(row)})

    @app.get("/api/3/connections")
    def connection_list() -> Response:
        return listing("connections", "connections")

    @app.route("/api/3/connections/<record_id>", methods=["GET", "PUT", "DELETE"])
    def connection_item(record_id: str) -> Response | tuple[Response, int]:
        with store.lock:
            row = get_row("connections", record_id, "Connection")
            if request.method == "GET":
                return jsonify({"connection": row})
            if request.method == "DELETE":
                del account().tables["connections"][record_id]
                return written({}, 200)
            fields = body("connection")
            allowed = set(connection_fields) | {"status", "syncStatus", "listId"}
            row.update({k: str(v) for k, v in fields.items() if k in allowed and v is not None}, udate=now_iso())
            return written({"connection": dict(row)}, 200)

    # ---------------------------------------------------------------- e-commerce customers
    def check_connection(connection_id: Any) -> None:
        if str(connection_id) not in account().tables["connections"]:
            raise Invalid([error(f"Connection {connection_id} does not exist.", "related_missing", "connectionid")])

    @app.post("/api/3/ecomCustomers")
    def customer_create() -> tuple[Response, int]:
        fields = body("ecomCustomer")
        errors = [missing("customer", n) for n in ("connectionid", "externalid", "email") if not fields.get(n)]
        if errors:
            raise Invalid(errors)
        if not EMAIL_RE.match(str(fields["email"])):
            raise Invalid([error("Email address is not valid", "email_invalid", "email")])
        with store.lock:
            acct = account()
            check_connection(fields["connectionid"])
            key = (str(fields["connectionid"]), str(fields["externalid"]))
            if any((r["connectionid"], r["externalid"]) == key for r in acct.tables["ecomCustomers"].values()):
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
            return written({"ecomCustomer": dict(row)})

    @app.get("/api/3/ecomCustomers")
    def customer_list() -> Response:
        with store.lock:
            rows = list(account().tables["ecomCustomers"].values())
        email = request.args.get("filters[email]")
        if email and "filters[connectionid]" not in request.args:
            # Like AC: a list by e-mail also returns a cross-store aggregate row with connectionid "0".
            own = [r for r in rows if r["email"].lower() == email.lower()]
            if own:
                rows = [
                    {
                        "id": "0",
                        "connectionid": "0",
                        "connection": None,
                        "externalid": "0",
                        "email": email,
                        "totalOrders": str(sum(int(r["totalOrders"]) for r in own)),
                        "totalRevenue": str(sum(int(r["totalRevenue"]) for r in own)),
                    },
                    *rows,
                ]
        return listing("ecomCustomers", "ecomCustomers", rows=rows)

    @app.route("/api/3/ecomCustomers/<record_id>", methods=["GET", "PUT", "DELETE"])
    def customer_item(record_id: str) -> Response | tuple[Response, int]:
        with store.lock:
            row = get_row("ecomCustomers", record_id, "EcomCustomer")
            if request.method == "GET":
                return jsonify({"ecomCustomer": row})
            if request.method == "DELETE":
                del account().tables["ecomCustomers"][record_id]
                return written({}, 200)
            fields = body("ecomCustomer")
            if "email" in fields and not EMAIL_RE.match(str(fields["email"])):
                raise Invalid([error("Email address is not valid", "email_invalid", "email")])
            row.update(
                {
                    k: str(v)
                    for k, v in fields.items()
                    if k in ("email", "externalid", "acceptsMarketing") and v is not None
                }
            )
            return written({"ecomCustomer": dict(row)}, 200)

    # ---------------------------------------------------------------- e-commerce orders and carts
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
            errors.append(error("Email address is not valid", "email_invalid", "email"))
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
            for row in acct.tables["ecomOrders"].values():
                if row["id"] != own_id and row["connectionid"] == connection and row.get(key) == str(value):
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

    @app.post("/api/3/ecomOrders")
    def order_create() -> tuple[Response, int]:
        fields = body("ecomOrder")
        errors = validate_order(fields, partial=False)
        if errors:
            raise Invalid(errors)
        with store.lock:
            acct = account()
            check_connection(fields["connectionid"])
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
            check_unique_order(acct, fields, None)
            row = stored_order(fields)
            row["state"] = "1" if fields.get("externalid") else "2"
            row.update(cdate=now_iso(), udate=now_iso())
            row = acct.insert("ecomOrders", row)
            acct.refresh_customer_totals(row["customerid"])
            return written({"ecomOrder": dict(row)})

    @app.get("/api/3/ecomOrders")
    def order_list() -> Response:
        return listing("ecomOrders", "ecomOrders")

    @app.route("/api/3/ecomOrders/<record_id>", methods=["GET", "PUT", "DELETE"])
    def order_item(record_id: str) -> Response | tuple[Response, int]:
        with store.lock:
            acct = account()
            row = get_row("ecomOrders", record_id, "EcomOrder")
            if request.method == "GET":
                return jsonify({"ecomOrder": row})
            if request.method == "DELETE":
                del acct.tables["ecomOrders"][record_id]
                acct.refresh_customer_totals(row["customerid"])
                return written({}, 200)
            fields = body("ecomOrder")
            errors = validate_order(fields, partial=True)
            if fields.get("externalid") and not (fields.get("externalCreatedDate") or row.get("externalCreatedDate")):
                errors.append(missing("order", "externalCreatedDate"))
            if errors:
                raise Invalid(errors)
            check_unique_order(acct, {**fields, "connectionid": row["connectionid"]}, record_id)
            was_cart = row["state"] == "2"
            row.update(stored_order({k: v for k, v in fields.items() if k not in ("connectionid", "id")}))
            if was_cart and row.get("externalid"):
                row["state"] = "3"  # a converted cart is "recovered"
            row["udate"] = now_iso()
            acct.refresh_customer_totals(row["customerid"])
            return written({"ecomOrder": dict(row)}, 200)

    # ---------------------------------------------------------------- GraphQL, bulk import, run-time control
    app.register_blueprint(create_control_blueprint(state))
    app.register_blueprint(create_graphql_blueprint(state))
    app.register_blueprint(create_bulk_import_blueprint(state))

    # ---------------------------------------------------------------- inspection and control
    @app.get("/__sandbox/state")
    def sandbox_state() -> Response:
        return jsonify({"accounts": store.snapshot(), "faults": config.faults.as_dict()})

    @app.get("/__sandbox/requests")
    def sandbox_requests() -> Response:
        with store.lock:
            return jsonify(store.log.as_dict())

    @app.post("/__sandbox/reset")
    def sandbox_reset() -> Response:
        store.reset()
        return jsonify({"status": "reset"})

    @app.post("/__sandbox/faults")
    def sandbox_faults() -> Response | tuple[Response, int]:
        try:
            config.faults.update(request.get_json(force=True) or {})
        except (ValueError, TypeError) as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify(config.faults.as_dict())

    return app


def sort_key(value: Any) -> tuple[int, Any]:
    """Numbers (AC sends them as strings) sort numerically, everything else as text."""
    text = "" if value is None else str(value)
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)
