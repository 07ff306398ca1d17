"""What the sandbox's blueprints share, its delayed work, and the run-time configuration endpoint."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from acclient.sandbox.faults import FaultInjector, SandboxConfig
from acclient.sandbox.store import Account, SandboxStore

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class SandboxState:
    """The records, configuration and faults of one sandbox app, and the clock its delayed work runs on.

    Handlers hold ``store.lock`` while they read or write records; ``run_due`` takes it too."""

    store: SandboxStore
    config: SandboxConfig
    faults: FaultInjector
    clock: Callable[[], float] = field(default=time.monotonic)

    def account(self) -> Account:
        """The account of the current API request (set by the app's auth guard)."""
        return self.store.account(g.account)

    def schedule(self, delay: float, action: Callable[[], object]) -> None:
        """Run ``action`` (under the store lock) at the first request at least ``delay`` seconds from now."""
        with self.store.lock:
            self.store.pending.schedule(self.clock() + max(0.0, delay), action)

    def run_due(self) -> int:
        with self.store.lock:
            return self.store.pending.run_due(self.clock())

    def log_extra(self, **values: Any) -> None:
        """Add fields to this request's entry in the request log."""
        extra = g.get("log_extra")
        if extra is None:
            extra = g.log_extra = {}
        extra.update(values)


def create_control_blueprint(state: SandboxState) -> Blueprint:
    """``/__sandbox/config`` (GET, POST) and the hook that applies due delayed work before every request."""
    blueprint = Blueprint("sandbox_control", __name__)

    @blueprint.before_app_request
    def apply_due_work() -> None:
        state.run_due()

    @blueprint.get("/__sandbox/config")
    def config_get() -> Response:
        return jsonify(state.config.runtime_as_dict())

    @blueprint.post("/__sandbox/config")
    def config_set() -> Response | tuple[Response, int]:
        values = request.get_json(silent=True)
        if not isinstance(values, dict):
            return jsonify({"error": "the body must be a JSON object of settings"}), 400
        try:
            state.config.update_runtime(values)
        except (ValueError, TypeError) as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify(state.config.runtime_as_dict())

    return blueprint
