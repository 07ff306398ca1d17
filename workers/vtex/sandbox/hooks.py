"""The orders feed's hook configuration (``/api/orders/hook/config``: GET, POST, DELETE)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from workers.vtex.sandbox.state import VTEXSandbox


def create_hooks_blueprint(sandbox: VTEXSandbox) -> Blueprint:
    blueprint = Blueprint("vtex_hooks", __name__)
    state = sandbox.state

    @blueprint.route("/api/orders/hook/config", methods=["GET", "POST", "DELETE"])
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

    return blueprint
