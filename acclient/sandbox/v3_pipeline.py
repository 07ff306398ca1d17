"""The request pipeline of ``/api/3/*``: the ``Api-Token`` check, the per-account rate limit, injected faults,
the request log, and AC's JSON answers to errors (for every route of the app)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, g, jsonify, request

from acclient.sandbox.faults import SandboxConfig, SlidingWindowLimiter
from acclient.sandbox.runtime import SandboxState
from acclient.sandbox.v3_common import NotFound, Refused


def create_v3_pipeline_blueprint(state: SandboxState, limiter: SlidingWindowLimiter) -> Blueprint:
    """App-wide hooks; register it before any other blueprint, so that its guard runs first."""
    blueprint = Blueprint("v3_pipeline", __name__)
    register_guard(blueprint, state, limiter)
    register_request_log(blueprint, state)
    register_error_answers(blueprint)
    return blueprint


def is_api_request() -> bool:
    return request.path.startswith("/api/3/")


def rate_limited(config: SandboxConfig, retry_after: int) -> Response:
    response = jsonify({"message": "Too Many Requests"})
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after)
    response.headers["RateLimit-Limit"] = str(int(config.requests_per_second or 0))
    response.headers["RateLimit-Remaining"] = "0"
    return response


def register_guard(blueprint: Blueprint, state: SandboxState, limiter: SlidingWindowLimiter) -> None:
    """Before every request: the ``Api-Token`` (403), forced and real rate limits (429), latency and faults (500)."""
    config, faults = state.config, state.faults

    @blueprint.before_app_request
    def guard() -> Response | tuple[Response, int] | None:
        g.started = time.time()
        g.account = None
        if not is_api_request():
            return None
        account_name = config.accounts.get(request.headers.get("Api-Token", ""))
        if account_name is None:
            return jsonify({"message": "No Result found for the given API token"}), 403
        g.account = account_name
        forced = faults.take_forced_429()
        if forced is not None:
            return rate_limited(config, forced)
        allowed, remaining, retry_after = limiter.check(account_name)
        if not allowed:
            return rate_limited(config, retry_after)
        g.remaining = remaining
        faults.delay()
        if faults.fail_before():
            return jsonify({"message": "Internal Server Error (injected)"}), 500
        return None


def register_request_log(blueprint: Blueprint, state: SandboxState) -> None:
    """After every API request: its entry in the request log and, when it succeeded, the rate-limit headers."""
    config, store = state.config, state.store

    @blueprint.after_app_request
    def log_request(response: Response) -> Response:
        if not is_api_request():
            return response
        store.log.record(
            method=request.method,
            endpoint=request.url_rule.rule if request.url_rule else request.path,
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


def register_error_answers(blueprint: Blueprint) -> None:
    """The JSON answers to refused requests (``Refused``, ``Invalid``), missing records, unknown routes and methods."""

    @blueprint.app_errorhandler(Refused)
    def refused(exc: Refused) -> tuple[Response, int]:
        return jsonify(exc.body), exc.status

    @blueprint.app_errorhandler(NotFound)
    def not_found(exc: NotFound) -> tuple[Response, int]:
        return jsonify({"message": f"No Result found for {exc}"}), 404

    @blueprint.app_errorhandler(404)
    def no_route(_exc: Exception) -> tuple[Response, int]:
        return jsonify({"message": "Not Found"}), 404

    @blueprint.app_errorhandler(405)
    def bad_method(_exc: Exception) -> tuple[Response, int]:
        return jsonify({"message": "Method Not Allowed"}), 405
