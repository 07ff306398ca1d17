"""A local VTEX serving the endpoints the pipeline reads, from seeded data (``acsync sandbox vtex``).

Seed it with ``POST /__sandbox/orders`` (a full OMS order, see ``make_order``; ``/__sandbox/orders/bulk``
takes a list of them), ``/__sandbox/customers`` and ``/__sandbox/conversations``. SKUs and simulation
prices exist for any numeric SKU id (deterministic), unless seeded. Private endpoints require the app
key and token. Faults as in the ActiveCampaign sandbox (``POST /__sandbox/faults``). List orders keeps
VTEX's cap of 30 pages per query (``LIST_ORDERS_MAX_PAGES``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request

from acclient.sandbox.faults import FaultInjector, Faults

DEFAULT_APP_KEY = "vtexappkey-test"
DEFAULT_APP_TOKEN = "vtex-app-token"  # noqa: S105 - the sandbox's well-known test token

# List orders reads at most 30 pages of one query, 100 orders a page ("The limit of information retrieval
# is 30 pages", https://developers.vtex.com/docs/api-reference/orders-api#get-/api/oms/pvt/orders).
# VTEX does not document its answer to page 31; the sandbox refuses it with a 400 in VTEX's error shape.
LIST_ORDERS_MAX_PAGES = 30
LIST_ORDERS_MAX_PER_PAGE = 100


@dataclass
class VTEXSandboxConfig:
    account: str = "mystore"
    app_key: str = DEFAULT_APP_KEY
    app_token: str = DEFAULT_APP_TOKEN
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None


def sku_price(sku_id: str) -> int:
    """Deterministic price in cents for an unseeded SKU."""
    digits = int("".join(ch for ch in sku_id if ch.isdigit()) or "0")
    return 1000 + (digits * 137) % 9000


def default_sku(sku_id: str) -> dict[str, Any]:
    return {
        "Id": int(sku_id) if sku_id.isdigit() else sku_id, "ProductId": f"p{sku_id}",
        "NameComplete": f"Product {sku_id}", "ProductName": f"Product {sku_id}", "SkuName": "Default",
        "DetailUrl": f"/product-{sku_id}/p",
        "ImageUrl": f"https://mystore.vteximg.com.br/arquivos/ids/{sku_id}00-55-55/product-{sku_id}.jpg",
        "Images": [{"ImageUrl": f"https://mystore.vteximg.com.br/arquivos/ids/{sku_id}00/product-{sku_id}.jpg",
                    "FileId": int(sku_id) * 100 if sku_id.isdigit() else 1}],
        "ProductCategories": {"9": "Clothing", "21": "Shirts"}, "IsActive": True, "BrandName": "Brand",
    }


def make_order(order_id: str, *, email: str = "ana@example.com", status: str = "payment-approved",
               items: list[tuple[str, int, int]] | None = None, shipping: int = 1000, discount: int = 0,
               tax: int = 0, last_change: datetime | None = None, created: datetime | None = None,
               currency: str = "BRL", first_name: str = "Ana", last_name: str = "Silva",
               user_profile_id: str = "u-ana", account: str = "mystore") -> dict[str, Any]:
    """A realistic OMS order. ``items`` are (sku_id, quantity, unit price in cents)."""
    items = items or [("20", 1, 4990)]
    created = created or datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    last_change = last_change or created + timedelta(minutes=5)
    items_total = sum(qty * price for _sku, qty, price in items)
    order_items = [{
        "id": sku, "productId": f"p{sku}", "name": f"Product {sku}", "quantity": qty, "price": price,
        "listPrice": price, "sellingPrice": price, "refId": f"REF-{sku}", "seller": "1",
        "imageUrl": f"https://{account}.vteximg.com.br/arquivos/ids/{sku}00-55-55/product-{sku}.jpg",
        "detailUrl": f"/product-{sku}/p",
        "additionalInfo": {"brandName": "Brand", "categoriesIds": "/9/21/",
                           "categories": [{"id": 9, "name": "Clothing"}, {"id": 21, "name": "Shirts"}]},
        "isGift": False,
    } for sku, qty, price in items]
    return {
        "orderId": order_id, "sequence": order_id.split("-")[0].lstrip("v"), "status": status,
        "origin": "Marketplace", "salesChannel": "1", "hostname": account,
        "value": items_total + shipping + tax - discount,
        "creationDate": created.isoformat().replace("+00:00", ".0000000+00:00"),
        "lastChange": last_change.isoformat().replace("+00:00", ".1234567+00:00"),
        "totals": [{"id": "Items", "name": "Items", "value": items_total},
                   {"id": "Discounts", "name": "Discounts", "value": -discount},
                   {"id": "Shipping", "name": "Shipping", "value": shipping},
                   {"id": "Tax", "name": "Tax", "value": tax}],
        "items": order_items,
        "clientProfileData": {"email": email, "firstName": first_name, "lastName": last_name,
                              "phone": "+5511999990000", "userProfileId": user_profile_id, "document": "1"},
        "storePreferencesData": {"currencyCode": currency, "countryCode": "BRA",
                                 "currencyFormatInfo": {"CurrencyDecimalDigits": 2}},
        "shippingData": {"logisticsInfo": [{"itemIndex": i, "selectedSla": "Normal", "price": 0}
                                           for i in range(len(order_items))]},
        "marketingData": None,
    }


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))


class VTEXState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.orders: dict[str, dict[str, Any]] = {}
        self.customers: list[dict[str, Any]] = []
        self.conversations: dict[str, list[dict[str, Any]]] = {}
        self.skus: dict[str, dict[str, Any]] = {}
        self.prices: dict[str, int] = {}
        self.hook_config: dict[str, Any] | None = None
        self.requests: dict[str, int] = {}


def create_app(config: VTEXSandboxConfig | None = None) -> Flask:
    config = config or VTEXSandboxConfig()
    app = Flask("workers.vtex.sandbox")
    state = VTEXState()
    faults = FaultInjector(config.faults, seed=config.seed)
    app.extensions["vtex_sandbox"] = {"state": state, "config": config}

    @app.before_request
    def guard() -> tuple[Response, int] | Response | None:
        if request.path.startswith("/__sandbox"):
            return None
        endpoint = request.url_rule.rule if request.url_rule else request.path
        with state.lock:
            state.requests[f"{request.method} {endpoint}"] = state.requests.get(f"{request.method} {endpoint}", 0) + 1
        private = "/pvt/" in request.path or request.path.startswith(("/api/dataentities", "/api/orders/hook"))
        if private and (request.headers.get("X-VTEX-API-AppKey") != config.app_key
                        or request.headers.get("X-VTEX-API-AppToken") != config.app_token):
            return jsonify({"error": {"code": "1", "message": "Unauthorized"}}), 401
        forced = faults.take_forced_429()
        if forced is not None:
            response = jsonify({"error": "Too Many Requests"})
            response.status_code = 429
            response.headers["Retry-After"] = str(forced)
            return response
        faults.delay()
        if faults.fail_before():
            return jsonify({"error": "Internal Server Error (injected)"}), 500
        return None

    @app.get("/api/oms/pvt/orders/<order_id>")
    def get_order(order_id: str) -> tuple[Response, int] | Response:
        with state.lock:
            order = state.orders.get(order_id)
        if order is None:
            return jsonify({"error": {"code": "OMS003", "message": "Order not found"}}), 404
        return jsonify(order)

    @app.get("/api/oms/pvt/orders")
    def list_orders() -> tuple[Response, int] | Response:
        """One page of the orders created in ``f_creationDate`` (bounds inclusive), oldest first.

        ``paging.total`` and ``paging.pages`` count every matching order, also beyond the 30 pages
        that can be read; asking for a page beyond 30 is answered 400 (see ``LIST_ORDERS_MAX_PAGES``).
        """
        since = request.args.get("f_creationDate", "")
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(LIST_ORDERS_MAX_PER_PAGE, max(1, int(request.args.get("per_page", 15))))
        if page > LIST_ORDERS_MAX_PAGES:
            return jsonify({"error": {"code": "1", "message": f"Page {page} is out of range: List orders "
                                      f"returns at most {LIST_ORDERS_MAX_PAGES} pages, narrow the filters",
                                      "exception": None}}), 400
        with state.lock:
            orders = sorted(state.orders.values(), key=lambda o: o["creationDate"])
        if since.startswith("creationDate:[") and " TO " in since:
            low, high = (parse_time(x) for x in since[len("creationDate:["):-1].split(" TO "))
            orders = [o for o in orders if low <= parse_time(o["creationDate"]) <= high]
        chunk = orders[(page - 1) * per_page: page * per_page]
        pages = max(1, -(-len(orders) // per_page))
        return jsonify({"list": [{"orderId": o["orderId"], "creationDate": o["creationDate"], "status": o["status"]}
                                 for o in chunk],
                        "paging": {"total": len(orders), "pages": pages, "currentPage": page, "perPage": per_page}})

    @app.get("/api/oms/pvt/orders/<order_id>/conversation-message")
    def conversation(order_id: str) -> Response:
        with state.lock:
            return jsonify(state.conversations.get(order_id, []))

    @app.get("/api/dataentities/CL/search")
    def customer_search() -> Response:
        user_id = request.args.get("userId")
        email = request.args.get("email")
        with state.lock:
            rows = [c for c in state.customers
                    if (user_id is None or c.get("userId") == user_id) and (email is None or c.get("email") == email)]
        return jsonify(rows)

    @app.get("/api/catalog_system/pvt/sku/stockkeepingunitbyid/<sku_id>")
    def sku(sku_id: str) -> tuple[Response, int] | Response:
        with state.lock:
            seeded = state.skus.get(sku_id)
        if seeded is not None:
            return jsonify(seeded)
        if not sku_id.isdigit():
            return jsonify({"error": "SKU not found"}), 404
        return jsonify(default_sku(sku_id))

    @app.post("/api/checkout/pub/orderForms/simulation")
    def simulation() -> tuple[Response, int] | Response:
        body = request.get_json(silent=True) or {}
        items = []
        for index, item in enumerate(body.get("items") or []):
            sku_id = str(item.get("id", ""))
            with state.lock:
                price = state.prices.get(sku_id, sku_price(sku_id) if sku_id.isdigit() else None)
            if price is None:
                continue  # VTEX leaves unknown SKUs out of the answer
            items.append({"id": sku_id, "requestIndex": index, "quantity": int(item.get("quantity", 1)),
                          "seller": str(item.get("seller", "1")), "price": price, "listPrice": price,
                          "sellingPrice": price})
        return jsonify({"items": items, "totals": [{"id": "Items", "value": sum(i["price"] * i["quantity"]
                                                                                for i in items)}]})

    @app.route("/api/orders/hook/config", methods=["GET", "POST", "DELETE"])
    def hook_config() -> tuple[Response, int] | Response:
        with state.lock:
            if request.method == "POST":
                state.hook_config = request.get_json(silent=True) or {}
                return jsonify(state.hook_config)
            if request.method == "DELETE":
                state.hook_config = None
                return jsonify({}), 200
            if state.hook_config is None:
                return jsonify({"error": "Hook not found"}), 404
            return jsonify(state.hook_config)

    # ------------------------------------------------------------------ seeding and inspection
    @app.post("/__sandbox/orders")
    def seed_order() -> Response:
        order = request.get_json(force=True)
        with state.lock:
            state.orders[order["orderId"]] = order
        return jsonify({"status": "ok"})

    @app.post("/__sandbox/orders/bulk")
    def seed_orders() -> tuple[Response, int] | Response:
        """Seed a JSON list of orders in one request (same as one ``/__sandbox/orders`` each)."""
        orders = request.get_json(force=True)
        if not isinstance(orders, list) or not all(isinstance(o, dict) and "orderId" in o for o in orders):
            return jsonify({"error": "expected a JSON list of orders, each with an orderId"}), 400
        with state.lock:
            state.orders.update((order["orderId"], order) for order in orders)
        return jsonify({"status": "ok", "seeded": len(orders)})

    @app.post("/__sandbox/customers")
    def seed_customer() -> Response:
        with state.lock:
            state.customers.append(request.get_json(force=True))
        return jsonify({"status": "ok"})

    @app.post("/__sandbox/conversations/<order_id>")
    def seed_conversation(order_id: str) -> Response:
        with state.lock:
            state.conversations[order_id] = request.get_json(force=True)
        return jsonify({"status": "ok"})

    @app.post("/__sandbox/skus/<sku_id>")
    def seed_sku(sku_id: str) -> Response:
        body = request.get_json(force=True)
        with state.lock:
            if "price" in body:
                state.prices[sku_id] = int(body.pop("price"))
            if body:
                state.skus[sku_id] = {**default_sku(sku_id), **body}
        return jsonify({"status": "ok"})

    @app.get("/__sandbox/requests")
    def requests_seen() -> Response:
        with state.lock:
            return jsonify(dict(state.requests))

    @app.post("/__sandbox/faults")
    def set_faults() -> tuple[Response, int] | Response:
        try:
            config.faults.update(request.get_json(force=True) or {})
        except (TypeError, ValueError) as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify(config.faults.as_dict())

    @app.post("/__sandbox/reset")
    def reset() -> Response:
        with state.lock:
            state.__init__()
        return jsonify({"status": "reset"})

    return app
