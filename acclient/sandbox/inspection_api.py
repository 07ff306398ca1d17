"""The sandbox's own ``/__sandbox/*`` routes (not part of AC's API): state, request log, reset and faults.

``/__sandbox/config`` (run-time settings) is ``runtime.create_control_blueprint``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from acclient.sandbox.runtime import SandboxState


def create_inspection_blueprint(state: SandboxState) -> Blueprint:
    blueprint = Blueprint("sandbox_inspection", __name__)
    store, config = state.store, state.config

    @blueprint.get("/__sandbox/state")
    def sandbox_state() -> Response:
        return jsonify({"accounts": store.snapshot(), "faults": config.faults.as_dict()})

    @blueprint.get("/__sandbox/requests")
    def sandbox_requests() -> Response:
        with store.lock:
            return jsonify(store.log.as_dict())

    @blueprint.post("/__sandbox/reset")
    def sandbox_reset() -> Response:
        store.reset()
        return jsonify({"status": "reset"})

    @blueprint.post("/__sandbox/faults")
    def sandbox_faults() -> Response | tuple[Response, int]:
        try:
            config.faults.update(request.get_json(force=True) or {})
        except (ValueError, TypeError) as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify(config.faults.as_dict())

    return blueprint
