"""Master Data: searching the customer profiles of the CL data entity (``/api/dataentities/CL/search``)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from workers.vtex.sandbox.state import VTEXSandbox


def create_masterdata_blueprint(sandbox: VTEXSandbox) -> Blueprint:
    blueprint = Blueprint("vtex_masterdata", __name__)
    state = sandbox.state

    @blueprint.get("/api/dataentities/CL/search")
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

    return blueprint
