"""The catalog: a SKU by id (``/api/catalog_system/pvt/sku/stockkeepingunitbyid/<sku_id>``), seeded or default."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from workers.vtex.sandbox.records import default_sku
from workers.vtex.sandbox.state import VTEXSandbox


def create_catalog_blueprint(sandbox: VTEXSandbox) -> Blueprint:
    blueprint = Blueprint("vtex_catalog", __name__)
    state = sandbox.state

    @blueprint.get("/api/catalog_system/pvt/sku/stockkeepingunitbyid/<sku_id>")
    def sku(sku_id: str) -> tuple[Response, int] | Response:
        with state.lock:
            seeded = state.skus.get(sku_id)
        if seeded is not None:
            return jsonify(seeded)
        if not sku_id.isdigit():
            return jsonify({"error": "SKU not found"}), 404
        return jsonify(default_sku(sku_id))

    return blueprint
