"""Liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import redis
from flask import Blueprint, Response, current_app, jsonify

from ingest import metrics
from ingest.openapi import openapi_document

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    state = current_app.extensions["acsync"]
    checks = {"config": bool(state["settings"].stores)}
    try:
        checks["redis"] = bool(state["redis"].ping())
    except redis.RedisError:
        checks["redis"] = False
    ready = all(checks.values())
    return jsonify({"status": "ready" if ready else "unavailable", "checks": checks}), 200 if ready else 503


@bp.get("/metrics")
def metrics_endpoint() -> Response:
    body, content_type = metrics.render(current_app.extensions["acsync"]["settings"].metrics_dir)
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())
