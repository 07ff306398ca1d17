"""A local VTEX serving the endpoints the pipeline reads, from seeded data (``acsync sandbox vtex``).

Seed it with ``POST /__sandbox/orders`` (a full OMS order, see ``make_order``; ``/__sandbox/orders/bulk``
takes a list of them), ``/__sandbox/customers`` and ``/__sandbox/conversations``. SKUs and simulation
prices exist for any numeric SKU id (deterministic), unless seeded. Private endpoints require the app
key and token. Faults as in the ActiveCampaign sandbox (``POST /__sandbox/faults``). List orders keeps
VTEX's cap of 30 pages per query (``LIST_ORDERS_MAX_PAGES``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
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
        "Id": int(sku_id) if sku_id.isdigit() else sku_id,
        "ProductId": f"p{sku_id}",
        "NameComplete": f"Product {sku_id}",
        "ProductName": f"Product {sku_id}",
        "SkuName": "Default",
        "DetailUrl": f"/product-{sku_id}/p",
        "ImageUrl": f"https://mystore.vteximg.com.br/arquivos/ids/{sku_id}00-55-55/product-{sku_id}.jpg",
        "Images": [
            {
                "ImageUrl": f"https://mystore.vteximg.com.br/arquivos/ids/{sku_id}00/product-{sku_id}.jpg",
                "FileId": int(sku_id) * 100 if sku_id.isdigit() else 1,
            }
        ],
        "ProductCategories": {"9": "Clothing", "21": "Shirts"},
        "IsActive": True,
        "BrandName": "Brand",
    }


# A product's category path, department first (as ``categoriesIds`` spells it: "/9/21/").
DEFAULT_CATEGORY_PATH: tuple[tuple[int, str], ...] = ((9, "Clothing"), (21, "Shirts"))
DEFAULT_IMAGE_URL = "https://{account}.vteximg.com.br/arquivos/ids/{sku}00-55-55/product-{sku}.jpg"
MARKETPLACE_NAME = "Loja_Exemplo"


def price_definition(total: int, quantity: int) -> dict[str, Any]:
    """VTEX's ``priceDefinition`` of a line: the exact ``total`` and the unit prices that make it up.

    A total that does not divide evenly by the quantity is listed as VTEX does, as groups of units at
    whole-cent prices (3 units for 1000: 2 at 333 and 1 at 334); ``calculatedSellingPrice`` is the
    rounded-down unit price, which times the quantity misses the total.
    """
    quantity = max(1, quantity)
    unit, rest = divmod(total, quantity)
    selling = [{"value": unit, "quantity": quantity - rest}] + ([{"value": unit + 1, "quantity": rest}] if rest else [])
    return {
        "sellingPrices": [s for s in selling if s["quantity"]],
        "calculatedSellingPrice": unit,
        "total": total,
        "reason": None,
    }


def marketplace_order_id(order_id: str, affiliate_id: str, marketplace_name: str = MARKETPLACE_NAME) -> str:
    """The id VTEX gives an order fulfilled for a marketplace (``BWW-Lojas_Americanas-264809574701``).

    An id already in that form is kept; otherwise its digits become the marketplace's order number.
    """
    if order_id.startswith(f"{affiliate_id}-") and order_id.count("-") >= 2:
        return order_id
    digits = "".join(ch for ch in order_id if ch.isdigit()) or "0"
    return f"{affiliate_id}-{marketplace_name}-{digits}"


def make_order(
    order_id: str,
    *,
    email: str = "ana@example.com",
    status: str = "payment-approved",
    items: list[tuple[str, int, int]] | None = None,
    shipping: int = 1000,
    discount: int = 0,
    tax: int = 0,
    last_change: datetime | None = None,
    created: datetime | None = None,
    currency: str = "BRL",
    first_name: str = "Ana",
    last_name: str = "Silva",
    user_profile_id: str = "u-ana",
    account: str = "mystore",
    category_path: Sequence[tuple[int, str]] = DEFAULT_CATEGORY_PATH,
    with_categories: bool = True,
    ref_id: str | None = "REF-{sku}",
    image_url: str | None = DEFAULT_IMAGE_URL,
    line_totals: Mapping[str, int] | None = None,
    item_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    marketplace: bool = False,
    affiliate_id: str = "BWW",
    legacy: bool = False,
    decimal_digits: int = 2,
    opt_in: bool | None = None,
) -> dict[str, Any]:
    """A realistic OMS order (Get order), shaped like real VTEX orders. ``items`` are (sku_id, quantity,
    unit price in cents); amounts are integer hundredths of the currency unit for every currency.

    * ``additionalInfo.categories`` lists ``category_path`` from the most specific category to the
      department, as VTEX does; ``categoriesIds`` spells it department first (``"/9/21/"``).
      ``with_categories=False`` leaves ``categories`` out (older orders carry only ``categoriesIds``).
    * ``ref_id`` / ``image_url`` are templates (``{sku}``, ``{account}``); ``None`` makes the field null.
    * Every item has a ``priceDefinition`` whose ``total`` is the unit price x quantity, unless
      ``line_totals`` gives a SKU's exact line total (e.g. 1000 for 3 units of 400): its ``sellingPrice``
      is then the rounded-down unit price, ``priceDefinition`` lists the unit groups and what the total
      takes off price x quantity is a promotion (a price tag, and in the Discounts total).
    * ``item_overrides`` (per SKU id) is merged into the item last, verbatim: ``{"sellingPrice": None}``,
      ``{"isGift": True}``, ``{"priceDefinition": None}``...
    * ``marketplace=True``: an order the store fulfils for a marketplace: ``origin`` "Fulfillment",
      ``affiliateId``, ``marketplaceOrderId`` and an order id such as ``BWW-Loja_Exemplo-70001``
      (``marketplace_order_id``; read it from the result).
    * ``legacy=True``: an old-style order (2017): no ``storePreferencesData``, no ``priceDefinition``, no
      ``clientPreferencesData`` and no ``categories`` key.
    * ``opt_in`` sets ``clientPreferencesData.optinNewsLetter`` (left out when None).
    """
    items = items or [("20", 1, 4990)]
    line_totals = line_totals or {}
    item_overrides = item_overrides or {}
    created = created or datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    last_change = last_change or created + timedelta(minutes=5)
    path = list(category_path)
    categories_ids = "/" + "".join(f"{cid}/" for cid, _name in path) if path else "/"
    categories = [{"id": cid, "name": name} for cid, name in reversed(path)]  # most specific first
    number = order_id.split("-")[0].lstrip("v")
    if marketplace:
        number = "".join(ch for ch in order_id if ch.isdigit()) or "0"
        order_id = marketplace_order_id(order_id, affiliate_id)
    order_items = []
    promotions = 0  # what exact line totals take off price x quantity, shown as VTEX does: a price tag
    for sku, qty, price in items:
        total = line_totals.get(sku, qty * price)
        promotion = qty * price - total
        promotions += promotion
        additional: dict[str, Any] = {"brandName": "Brand", "brandId": "2000001", "categoriesIds": categories_ids}
        if with_categories and not legacy:
            additional["categories"] = [dict(c) for c in categories]
        line: dict[str, Any] = {
            "id": sku,
            "productId": f"p{sku}",
            "name": f"Product {sku}",
            "quantity": qty,
            "seller": "1",
            "refId": ref_id.format(sku=sku, account=account) if ref_id is not None else None,
            "price": price,
            "listPrice": price,
            "sellingPrice": total // max(1, qty),
            "priceTags": [{"name": "DISCOUNT@MARKETPLACE", "value": -promotion, "isPercentual": False}]
            if promotion
            else [],
            "imageUrl": image_url.format(sku=sku, account=account) if image_url is not None else None,
            "detailUrl": f"/product-{sku}/p",
            "additionalInfo": additional,
            "measurementUnit": "un",
            "unitMultiplier": 1,
            "isGift": False,
        }
        if not legacy:
            line["priceDefinition"] = price_definition(total, qty)
        line.update(item_overrides.get(sku, {}))
        order_items.append(line)
    items_total = sum(qty * price for _sku, qty, price in items)
    order: dict[str, Any] = {
        "orderId": order_id,
        "sequence": number,
        "status": status,
        "marketplaceOrderId": order_id.split("-", 1)[1] if marketplace else "",
        "origin": "Fulfillment" if marketplace else "Marketplace",
        "affiliateId": affiliate_id if marketplace else "",
        "salesChannel": "8" if marketplace else "1",
        "hostname": account,
        "value": items_total - promotions + shipping + tax - discount,
        "creationDate": created.isoformat().replace("+00:00", ".0000000+00:00"),
        "lastChange": last_change.isoformat().replace("+00:00", ".1234567+00:00"),
        "totals": [
            {"id": "Items", "name": "Items", "value": items_total},
            {"id": "Discounts", "name": "Discounts", "value": -(discount + promotions)},
            {"id": "Shipping", "name": "Shipping", "value": shipping},
            {"id": "Tax", "name": "Tax", "value": tax},
        ],
        "items": order_items,
        "clientProfileData": {
            "email": email,
            "firstName": first_name,
            "lastName": last_name,
            "phone": "+5511999990000",
            "userProfileId": user_profile_id,
            "document": "1",
        },
        "storePreferencesData": {
            "currencyCode": currency,
            "countryCode": "BRA",
            "currencyFormatInfo": {"CurrencyDecimalDigits": decimal_digits},
        },
        "shippingData": {
            "logisticsInfo": [{"itemIndex": i, "selectedSla": "Normal", "price": 0} for i in range(len(order_items))]
        },
        "marketingData": None,
    }
    if marketplace:
        order["marketplace"] = {
            "baseURL": f"http://oms.vtexinternal.com.br/api/oms?an={affiliate_id.lower()}",
            "isCertified": None,
            "name": MARKETPLACE_NAME,
        }
    if opt_in is not None and not legacy:
        order["clientPreferencesData"] = {"locale": "pt-BR", "optinNewsLetter": opt_in}
    if legacy:
        del order["storePreferencesData"]
    return order


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))


class VTEXState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget everything but the lock, which the caller holds."""
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
        if private and (
            request.headers.get("X-VTEX-API-AppKey") != config.app_key
            or request.headers.get("X-VTEX-API-AppToken") != config.app_token
        ):
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
            return jsonify(
                {
                    "error": {
                        "code": "1",
                        "message": f"Page {page} is out of range: List orders "
                        f"returns at most {LIST_ORDERS_MAX_PAGES} pages, narrow the filters",
                        "exception": None,
                    }
                }
            ), 400
        with state.lock:
            orders = sorted(state.orders.values(), key=lambda o: o["creationDate"])
        if since.startswith("creationDate:[") and " TO " in since:
            low, high = (parse_time(x) for x in since[len("creationDate:[") : -1].split(" TO "))
            orders = [o for o in orders if low <= parse_time(o["creationDate"]) <= high]
        chunk = orders[(page - 1) * per_page : page * per_page]
        pages = max(1, -(-len(orders) // per_page))
        return jsonify(
            {
                "list": [
                    {"orderId": o["orderId"], "creationDate": o["creationDate"], "status": o["status"]} for o in chunk
                ],
                "paging": {"total": len(orders), "pages": pages, "currentPage": page, "perPage": per_page},
            }
        )

    @app.get("/api/oms/pvt/orders/<order_id>/conversation-message")
    def conversation(order_id: str) -> Response:
        with state.lock:
            return jsonify(state.conversations.get(order_id, []))

    @app.get("/api/dataentities/CL/search")
    def customer_search() -> Response:
        user_id = request.args.get("userId")
        email = request.args.get("email")
        with state.lock:
            rows = [
                c
                for c in state.customers
                if (user_id is None or c.get("userId") == user_id) and (email is None or c.get("email") == email)
            ]
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
        items: list[dict[str, Any]] = []
        for index, item in enumerate(body.get("items") or []):
            sku_id = str(item.get("id", ""))
            with state.lock:
                price = state.prices.get(sku_id, sku_price(sku_id) if sku_id.isdigit() else None)
            if price is None:
                continue  # VTEX leaves unknown SKUs out of the answer
            items.append(
                {
                    "id": sku_id,
                    "requestIndex": index,
                    "quantity": int(item.get("quantity", 1)),
                    "seller": str(item.get("seller", "1")),
                    "price": price,
                    "listPrice": price,
                    "sellingPrice": price,
                }
            )
        return jsonify(
            {"items": items, "totals": [{"id": "Items", "value": sum(i["price"] * i["quantity"] for i in items)}]}
        )

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
            state.reset()
        return jsonify({"status": "reset"})

    return app
