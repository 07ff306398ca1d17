"""Checkout: the cart simulation (``/api/checkout/pub/orderForms/simulation``) with seeded or default prices."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from workers.vtex.sandbox.records import sku_price
from workers.vtex.sandbox.state import VTEXSandbox


def create_checkout_blueprint(sandbox: VTEXSandbox) -> Blueprint:
    blueprint = Blueprint("vtex_checkout", __name__)
    state = sandbox.state

    @blueprint.post("/api/checkout/pub/orderForms/simulation")
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

    return blueprint
