"""OMS orders: Get order, List orders and an order's conversation messages (``/api/oms/pvt/orders``)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, jsonify, request

from workers.vtex.sandbox.state import VTEXSandbox

# List orders reads at most 30 pages of one query, 100 orders a page ("The limit of information retrieval
# is 30 pages", https://developers.vtex.com/docs/api-reference/orders-api#get-/api/oms/pvt/orders).
# VTEX does not document its answer to page 31; the sandbox refuses it with a 400 in VTEX's error shape.
LIST_ORDERS_MAX_PAGES = 30
LIST_ORDERS_MAX_PER_PAGE = 100


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))


def create_oms_blueprint(sandbox: VTEXSandbox) -> Blueprint:
    blueprint = Blueprint("vtex_oms", __name__)
    state = sandbox.state

    @blueprint.get("/api/oms/pvt/orders/<order_id>")
    def get_order(order_id: str) -> tuple[Response, int] | Response:
        with state.lock:
            order = state.orders.get(order_id)
        if order is None:
            return jsonify({"error": {"code": "OMS003", "message": "Order not found"}}), 404
        return jsonify(order)

    @blueprint.get("/api/oms/pvt/orders")
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

    @blueprint.get("/api/oms/pvt/orders/<order_id>/conversation-message")
    def conversation(order_id: str) -> Response:
        with state.lock:
            return jsonify(state.conversations.get(order_id, []))

    return blueprint
