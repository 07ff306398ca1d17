"""The sandbox's own ``/__sandbox/*`` routes (not part of VTEX's API): seeding, the request counts, faults, reset."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from workers.vtex.sandbox.records import default_sku
from workers.vtex.sandbox.state import VTEXSandbox


def create_control_blueprint(sandbox: VTEXSandbox) -> Blueprint:
    blueprint = Blueprint("vtex_control", __name__)
    state, config = sandbox.state, sandbox.config

    @blueprint.post("/__sandbox/orders")
    def seed_order() -> Response:
        order = request.get_json(force=True)
        with state.lock:
            state.orders[order["orderId"]] = order
        return jsonify({"status": "ok"})

    @blueprint.post("/__sandbox/orders/bulk")
    def seed_orders() -> tuple[Response, int] | Response:
        """Seed a JSON list of orders in one request (same as one ``/__sandbox/orders`` each)."""
        orders = request.get_json(force=True)
        if not isinstance(orders, list) or not all(isinstance(o, dict) and "orderId" in o for o in orders):
            return jsonify({"error": "expected a JSON list of orders, each with an orderId"}), 400
        with state.lock:
            state.orders.update((order["orderId"], order) for order in orders)
        return jsonify({"status": "ok", "seeded": len(orders)})

    @blueprint.post("/__sandbox/customers")
    def seed_customer() -> Response:
        with state.lock:
            state.customers.append(request.get_json(force=True))
        return jsonify({"status": "ok"})

    @blueprint.post("/__sandbox/conversations/<order_id>")
    def seed_conversation(order_id: str) -> Response:
        with state.lock:
            state.conversations[order_id] = request.get_json(force=True)
        return jsonify({"status": "ok"})

    @blueprint.post("/__sandbox/skus/<sku_id>")
    def seed_sku(sku_id: str) -> Response:
        body = request.get_json(force=True)
        with state.lock:
            if "price" in body:
                state.prices[sku_id] = int(body.pop("price"))
            if body:
                state.skus[sku_id] = {**default_sku(sku_id), **body}
        return jsonify({"status": "ok"})

    @blueprint.get("/__sandbox/requests")
    def requests_seen() -> Response:
        with state.lock:
            return jsonify(dict(state.requests))

    @blueprint.post("/__sandbox/faults")
    def set_faults() -> tuple[Response, int] | Response:
        try:
            config.faults.update(request.get_json(force=True) or {})
        except (TypeError, ValueError) as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify(config.faults.as_dict())

    @blueprint.post("/__sandbox/reset")
    def reset() -> Response:
        with state.lock:
            state.reset()
        return jsonify({"status": "reset"})

    return blueprint
