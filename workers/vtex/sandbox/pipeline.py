"""The guard before every API request: the request count, the app key and token of private endpoints, and
injected faults (``/__sandbox/*`` passes untouched)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from workers.vtex.sandbox.state import VTEXSandbox


def create_pipeline_blueprint(sandbox: VTEXSandbox) -> Blueprint:
    blueprint = Blueprint("vtex_pipeline", __name__)
    state, config, faults = sandbox.state, sandbox.config, sandbox.faults

    @blueprint.before_app_request
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

    return blueprint
