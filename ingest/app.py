"""The ingest application factory: ``create_app()`` reads the environment, tests pass settings."""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, jsonify, request
from flask.json.provider import DefaultJSONProvider
from redis.backoff import NoBackoff
from redis.retry import Retry
from werkzeug.exceptions import HTTPException

from acsync_core import redis_connection
from acsync_core.logs import configure_logging
from acsync_core.observability import init_sentry
from acsync_core.publish import TaskPublisher
from acsync_core.settings import Settings, load_settings
from ingest import health, hooks, metrics
from ingest.spool import Spool, SpoolFlusher

log = logging.getLogger("acsync.ingest")


def redis_client_for(url: str) -> redis.Redis:
    # Short timeouts and one immediate retry (a pooled connection may predate a Redis restart): when
    # Redis is down, the hook must reach the spool in milliseconds, not after redis-py's backoff.
    return redis_connection.connect(
        url, socket_connect_timeout=0.5, socket_timeout=1.0, health_check_interval=30, retry=Retry(NoBackoff(), 1)
    )


def create_app(
    settings: Settings | None = None, *, redis_client: redis.Redis | None = None, spool_flush: bool = True
) -> Flask:
    """``spool_flush=False`` leaves spooled events for ``acsync spool flush`` (tests use it)."""
    if settings is None:
        settings = load_settings()
        configure_logging(settings.log_level)
    init_sentry(settings.sentry_dsn, component="ingest")
    app = Flask("ingest")
    # One byte over the limit: werkzeug truncates a chunked body at MAX_CONTENT_LENGTH without an error,
    # so the hook reads limit + 1 bytes and answers 413 when it got them (ingest.hooks.read_json_body).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    app.config["ACSYNC_MAX_BODY_BYTES"] = settings.max_body_bytes
    if not isinstance(app.json, DefaultJSONProvider):  # sort_keys is DefaultJSONProvider's, Flask's default
        raise TypeError(f"ingest expects Flask's DefaultJSONProvider, not {type(app.json).__name__}")
    app.json.sort_keys = False
    client = redis_client or redis_client_for(settings.redis_url)
    publisher = TaskPublisher(client, durability=settings.durability)
    spool = Spool(settings.spool_path) if settings.spool_path else None
    flusher = (
        SpoolFlusher(spool, publisher, dedupe_ttl_seconds=settings.dedupe_window_seconds)
        if spool is not None and spool_flush
        else None
    )
    app.extensions["acsync"] = {
        "settings": settings,
        "redis": client,
        "publisher": publisher,
        "spool": spool,
        "flusher": flusher,
    }
    app.register_blueprint(hooks.bp)
    app.register_blueprint(health.bp)

    if flusher is not None:

        @app.before_request
        def start_flusher() -> None:
            flusher.ensure_running()

    @app.after_request
    def count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.request_counter(route, str(response.status_code)).inc()
        return response

    @app.errorhandler(hooks.HookError)
    def hook_error(exc: hooks.HookError) -> tuple[Response, int]:
        kind = request.url_rule.endpoint.split(".")[-1] if request.url_rule else "unmatched"
        metrics.REJECTED.labels(kind, exc.reason).inc()
        response, status = exc.response()
        if status == 503:
            response.headers["Retry-After"] = "5"
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        names = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 400: "bad_request"}
        if status == 413:
            metrics.REJECTED.labels("unmatched", "payload_too_large").inc()
        return jsonify({"error": names.get(status, "http_error")}), status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:  # never a bare 500 page, and always logged
        log.exception("unhandled error in ingest")
        return jsonify({"error": "internal_error"}), 500

    return app
