"""The request pipeline of ``/api/3/*``: the ``Api-Token`` check, the per-account rate limit, injected faults,
the request log, and AC's JSON answers to errors (for every route of the app)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, g, jsonify, request

from acclient.sandbox.faults import SlidingWindowLimiter
from acclient.sandbox.runtime import SandboxState
from acclient.sandbox.v3_common import Invalid, NotFound


def create_v3_pipeline_blueprint(state: SandboxState, limiter: SlidingWindowLimiter) -> Blueprint:
    """App-wide hooks; register it before any other blueprint, so that its guard runs first."""
    blueprint = Blueprint("v3_pipeline", __name__)
    config, faults, store = state.config, state.faults, state.store

    @blueprint.before_app_request
    def guard() -> Response | tuple[Response, int] | None:
        g.started = time.time()
        g.account = None
        if not request.path.startswith("/api/3/"):
            return None
        token = request.headers.get("Api-Token", "")
        account_name = config.accounts.get(token)
        if account_name is None:
            return jsonify({"message": "No Result found for the given API token"}), 403
        g.account = account_name
        forced = faults.take_forced_429()
        if forced is not None:
            return rate_limited(forced)
        allowed, remaining, retry_after = limiter.check(account_name)
        if not allowed:
            return rate_limited(retry_after)
        g.remaining = remaining
        faults.delay()
        if faults.fail_before():
            return jsonify({"message": "Internal Server Error (injected)"}), 500
        return None

    def rate_limited(retry_after: int) -> Response:
        response = jsonify({"message": "Too Many Requests"})
        response.status_code = 429
        response.headers["Retry-After"] = str(retry_after)
        response.headers["RateLimit-Limit"] = str(int(config.requests_per_second or 0))
        response.headers["RateLimit-Remaining"] = "0"
        return response

    @blueprint.after_app_request
    def log_request(response: Response) -> Response:
        if request.path.startswith("/api/3/"):
            endpoint = request.url_rule.rule if request.url_rule else request.path
            store.log.record(
                method=request.method,
                endpoint=endpoint,
                path=request.path,
                status=response.status_code,
                account=g.get("account"),
                at=g.get("started", 0.0),
                extra=g.get("log_extra"),
            )
            if response.status_code < 400 and config.requests_per_second:
                response.headers["RateLimit-Limit"] = str(int(config.requests_per_second))
                response.headers["RateLimit-Remaining"] = str(g.get("remaining", 0))
        return response

    @blueprint.app_errorhandler(Invalid)
    def invalid(exc: Invalid) -> tuple[Response, int]:
        return jsonify({"errors": exc.errors}), exc.status

    @blueprint.app_errorhandler(NotFound)
    def not_found(exc: NotFound) -> tuple[Response, int]:
        return jsonify({"message": f"No Result found for {exc}"}), 404

    @blueprint.app_errorhandler(404)
    def no_route(_exc: Exception) -> tuple[Response, int]:
        return jsonify({"message": "Not Found"}), 404

    @blueprint.app_errorhandler(405)
    def bad_method(_exc: Exception) -> tuple[Response, int]:
        return jsonify({"message": "Method Not Allowed"}), 405

    return blueprint
