"""The hook endpoints: authenticate, validate, deduplicate, enqueue, answer.

Order of checks, cheapest and least revealing first: body size (413) and content type (415), then
the store (404), JSON (400), the VTEX ping (200, no auth), the secret (401), the schema (400), and
finally the atomic dedupe-and-enqueue (503 only if Redis and the spool are both down).

Every accepted hook is answered 200, a duplicate too: VTEX's Feed v3 guide says the endpoint must
always answer HTTP 200 within 5,000 ms and counts anything else as a failed delivery. The body says
which it was: ``{"status": "accepted"|"duplicate", "event_id": ..., "duplicate": false|true}``, plus
``"spooled": true`` when Redis was down and ``"dropped": [...]`` when a trigger's invalid optional
fields were left out (``ingest.schemas.TriggerSchema``).
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

import orjson
import redis
from flask import Blueprint, Response, current_app, request

from acsync_core.events import Event
from acsync_core.logs import log_context
from acsync_core.publish import NotReplicated, TaskPublisher
from acsync_core.settings import Settings, StoreConfig
from ingest import metrics
from ingest.dedupe import dedupe_key
from ingest.schemas import Refused, schema_for
from ingest.spool import Spool, SpoolError

log = logging.getLogger("acsync.ingest")
bp = Blueprint("hooks", __name__)

MAX_JSON_DEPTH = 32
SECRET_HEADER = "X-Hook-Secret"  # noqa: S105 - a header name, not a secret


class HookError(Exception):
    def __init__(self, status: int, error: str, *, reason: str | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.reason = reason or error
        self.extra = extra

    def response(self) -> tuple[Response, int]:
        return json_response({"error": self.error, **self.extra}, self.status)


def _settings() -> Settings:
    settings: Settings = current_app.extensions["acsync"]["settings"]  # set by ingest.app.create_app
    return settings


def _publisher() -> TaskPublisher:
    publisher: TaskPublisher = current_app.extensions["acsync"]["publisher"]
    return publisher


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value (a scalar inside n containers is at n + 1), or the first depth past ``limit``.

    Only containers are walked: most values of a hook body are scalars, and this runs on every hook.
    """
    if not isinstance(value, dict | list):
        return 1
    stack = [(value, 1)]
    deepest = 1
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if children and depth + 1 > deepest:
            deepest = depth + 1  # its children, scalars or not, sit one level down
            if deepest > limit:
                return deepest
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


@bp.before_request
def check_headers() -> None:
    """Refuse oversized and non-JSON bodies before looking at anything else."""
    if request.content_length is not None and request.content_length > _body_limit():
        raise _too_large()
    # the media type without parameters; werkzeug's request.mimetype parses them all, on every hook
    mimetype = request.environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise HookError(415, "unsupported_media_type", detail="send Content-Type: application/json")


def _body_limit() -> int:
    return int(current_app.config["ACSYNC_MAX_BODY_BYTES"])


def _too_large() -> HookError:
    return HookError(413, "payload_too_large", detail=f"bodies are limited to {_body_limit()} bytes")


def read_json_body() -> dict[str, Any]:
    raw = request.get_data(cache=False)  # at most limit + 1 bytes, even for a chunked body
    if len(raw) > _body_limit():
        raise _too_large()
    try:
        body = orjson.loads(raw)  # UTF-8 only, no NaN/Infinity; faster than json.loads (docs/benchmarks.md)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):
            raise HookError(400, "malformed_json", reason="too_deep", detail="JSON nested too deeply") from None
        raise HookError(400, "malformed_json") from None
    if not isinstance(body, dict):
        raise HookError(400, "malformed_json", detail="the body must be a JSON object")
    if _depth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise HookError(400, "malformed_json", reason="too_deep", detail="JSON nested too deeply")
    return body


def find_store(name: str) -> StoreConfig:
    store = _settings().stores.get(name)
    if store is None:
        raise HookError(404, "unknown_store")
    return store


def authenticate(store: StoreConfig) -> None:
    supplied = request.headers.get(SECRET_HEADER, "")
    # compare_digest takes time independent of where the strings differ
    if not hmac.compare_digest(supplied.encode(), store.hook_secret.encode()):
        raise HookError(401, "unauthorized", detail=f"missing or wrong {SECRET_HEADER} header")


def accept(kind: str, store: StoreConfig, body: dict[str, Any]) -> tuple[Response, int]:
    authenticate(store)
    try:
        data, dropped = schema_for(kind, store.timezone).load_hook(body)
    except Refused as exc:
        if kind != "order":  # Master Data never resends a trigger: say that one was lost (never the e-mail)
            log.info("%s trigger refused: %s", kind, exc.reason, extra={"store": store.name, "kind": kind})
        raise HookError(400, exc.reason, fields=exc.fields) from None
    origin_account = (data.get("Origin") or {}).get("Account")
    if origin_account and origin_account != store.name:
        raise HookError(
            400,
            "validation_failed",
            reason="origin_mismatch",
            fields={"Origin": {"Account": ["Does not match the store in the URL."]}},
        )
    if dropped:
        for name in dropped:
            metrics.dropped_counter(kind, name).inc()
    event = Event(kind=kind, store=store.name, payload=data, dedupe_key=dedupe_key(kind, store.name, data))
    started = time.perf_counter()
    try:
        result = _publisher().enqueue_once(event, dedupe_ttl_seconds=_settings().dedupe_window_seconds)
    except redis.RedisError as exc:
        return spool_or_refuse(event, exc, dropped)
    finally:
        metrics.ENQUEUE_SECONDS.observe(time.perf_counter() - started)
    if result.duplicate:
        metrics.duplicate_counter(kind, store.name).inc()
        outcome, message = "duplicate", "duplicate event ignored"
    else:
        metrics.accepted_counter(kind, store.name).inc()
        outcome, message = "accepted", "event accepted"
    answer = {"status": outcome, "event_id": result.event_id, "duplicate": result.duplicate}
    # extra= rather than log_context: the same fields on the line, without copying the context
    extra = {"event_id": result.event_id, "store": store.name, "kind": kind}
    if dropped:
        answer["dropped"] = list(dropped)
        log.info("%s; invalid fields dropped: %s", message, ", ".join(dropped), extra=extra)
    else:
        log.info(message, extra=extra)
    return json_response(answer, 200)


def json_response(body: dict[str, Any], status: int) -> tuple[Response, int]:
    """Every answer of the hook endpoints: compact JSON, without Flask's jsonify machinery."""
    return Response(orjson.dumps(body), mimetype="application/json"), status


def spool_or_refuse(event: Event, exc: Exception, dropped: tuple[str, ...] = ()) -> tuple[Response, int]:
    """Redis is down: keep the event in the local spool, or answer 503 if there is no spool either."""
    spool: Spool | None = current_app.extensions["acsync"]["spool"]
    with log_context(event_id=event.event_id, store=event.store, kind=event.kind):
        if spool is not None:
            try:
                spool.append(event)
            except SpoolError as spool_exc:
                log.error("queue and spool both unavailable (%s; %s): event refused", exc.__class__.__name__, spool_exc)
            else:
                metrics.SPOOLED.labels(event.kind, event.store).inc()
                if isinstance(exc, NotReplicated):  # in Redis, but a failover now could lose it: keep a copy
                    log.warning("queue write not confirmed by a replica (%s): event also spooled", exc)
                else:
                    log.warning("queue unavailable (%s): event spooled", exc.__class__.__name__)
                answer: dict[str, Any] = {
                    "status": "accepted",
                    "event_id": event.event_id,
                    "duplicate": False,
                    "spooled": True,
                }
                if dropped:
                    answer["dropped"] = list(dropped)
                return json_response(answer, 200)
        else:
            log.error("queue unavailable (%s): event refused", exc.__class__.__name__)
    raise HookError(503, "queue_unavailable", detail="retry later")


@bp.post("/hooks/vtex/<store_name>/orders")
def order_hook(store_name: str) -> tuple[Response, int]:
    store = find_store(store_name)
    body = read_json_body()
    if body.get("hookConfig") == "ping":
        # VTEX posts this when the hook is configured and expects 200; it carries no secret.
        return json_response({"status": "ok"}, 200)
    return accept("order", store, body)


@bp.post("/hooks/vtex/<store_name>/carts")
def cart_trigger(store_name: str) -> tuple[Response, int]:
    store = find_store(store_name)
    return accept("cart", store, read_json_body())


@bp.post("/hooks/vtex/<store_name>/customers")
def customer_trigger(store_name: str) -> tuple[Response, int]:
    store = find_store(store_name)
    return accept("customer", store, read_json_body())


@bp.post("/api/io/activeCampaign/abandonedCart")
def compat_abandoned_cart() -> tuple[Response, int]:
    """The original VTEX app's route: stores switch by changing the host; the store is accountName."""
    body = read_json_body()
    name = body.get("accountName")
    if not isinstance(name, str) or not name.strip():
        raise HookError(400, "validation_failed", fields={"accountName": ["Missing data for required field."]})
    return accept("cart", find_store(name.strip()), body)
