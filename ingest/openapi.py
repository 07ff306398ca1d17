"""OpenAPI 3.1 document of the ingest endpoints, generated from the marshmallow schemas.

Generating the request bodies from the schemas keeps the document true by construction; a test
checks that every route of the app is documented and every documented status is the one served.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import Schema, fields

from ingest import schemas

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "string",
            "description": "validation_failed, or for Master Data triggers missing_email, "
            "invalid_email, missing_cart, invalid_cart",
        },
        "detail": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": True},
    },
}
ACCEPTED = {
    "type": "object",
    "required": ["status", "event_id", "duplicate"],
    "properties": {
        "status": {"enum": ["accepted", "duplicate"]},
        "event_id": {"type": "string"},
        "duplicate": {"type": "boolean"},
        "spooled": {"type": "boolean", "description": "kept in the local spool (Redis down)"},
        "dropped": {
            "type": "array",
            "items": {"type": "string"},
            "description": "invalid optional fields left out of the event",
        },
    },
}
PING = {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["ok"]}}}


def field_schema(field: fields.Field[Any]) -> dict[str, Any]:
    if isinstance(field, fields.Nested):
        return schema_object(field.schema)
    if isinstance(field, schemas.Email):
        described: dict[str, Any] = {"type": ["string"], "format": "email"}
    elif isinstance(field, schemas.Timestamp):
        described = {"type": ["string"], "format": "date-time"}
    elif isinstance(field, schemas.MasterDataDate):
        described = {
            "type": ["string"],
            "description": "ISO 8601 with or without offset (then the store's timezone), a space for the T, or a date",
        }
    elif isinstance(field, schemas.DecimalAmount):
        described = {"type": ["string", "number"], "description": "decimal in currency units (59.70, 1.234,56)"}
    elif isinstance(field, schemas.Phone):
        described = {"type": ["string", "integer"], "description": "digits, optional leading +, separators"}
    elif isinstance(field, schemas.CartURL):
        described = {
            "type": ["string"],
            "description": "add?sku=..&qty=..&seller=.., its /checkout/cart/ path or the whole cart URL",
            "maxLength": 4096,
        }
    elif isinstance(field, fields.Boolean):
        described = {"type": ["boolean", "string", "integer"]}
    else:
        described = {"type": ["string", "integer"], "maxLength": 4096}
    if not field.required:
        described["type"] = [*described["type"], "null"]
    return described


def schema_object(schema: Schema) -> dict[str, Any]:
    props = {name: field_schema(field) for name, field in schema.fields.items()}
    required = sorted(name for name, field in schema.fields.items() if field.required)
    return {"type": "object", "properties": props, "required": required, "additionalProperties": True}


def _responses(*statuses: int, ping: bool = False) -> dict[str, Any]:
    accepted = (
        "Accepted: enqueued, spooled while Redis is down, or a duplicate of an event accepted in the "
        "dedupe window (`duplicate` says which). VTEX's Feed v3 guide: the endpoint must always answer "
        "200 within 5,000 ms, anything else is a failed delivery"
    )
    described = {
        200: (
            accepted + ("; or the answer to the VTEX ping" if ping else ""),
            {"oneOf": [ACCEPTED, PING]} if ping else ACCEPTED,
        ),
        400: (
            "Malformed JSON or validation failed; a Master Data trigger is refused only for a missing or "
            "invalid e-mail or cart",
            ERROR,
        ),
        401: ("Missing or wrong X-Hook-Secret", ERROR),
        404: ("Unknown store", ERROR),
        413: ("Body over the size limit", ERROR),
        415: ("Content-Type is not application/json", ERROR),
        503: ("Queue unavailable; retry after Retry-After seconds", ERROR),
    }
    return {
        str(s): {"description": described[s][0], "content": {"application/json": {"schema": described[s][1]}}}
        for s in statuses
    }


HOOK_STATUSES = (200, 400, 401, 404, 413, 415, 503)


def _hook(summary: str, schema: Schema, *, store_param: bool = True, ping: bool = False) -> dict[str, Any]:
    body = schema_object(schema)
    if ping:
        body = {"oneOf": [body, schema_object(schemas.PingSchema())]}
    operation: dict[str, Any] = {
        "summary": summary,
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": _responses(*HOOK_STATUSES, ping=ping),
        "security": [{"hookSecret": []}],
    }
    if store_param:
        operation["parameters"] = [
            {
                "name": "store_name",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "VTEX account name",
            }
        ]
    return {"post": operation}


@cache
def openapi_document() -> dict[str, Any]:
    simple = {"200": {"description": "OK"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "acsync ingest",
            "version": "1.0.0",
            "description": "Receives VTEX order hooks and Master Data triggers and enqueues them.",
        },
        "components": {"securitySchemes": {"hookSecret": {"type": "apiKey", "in": "header", "name": "X-Hook-Secret"}}},
        "paths": {
            "/hooks/vtex/{store_name}/orders": _hook(
                "VTEX order hook (Orders Feed v3)", schemas.OrderHookSchema(), ping=True
            ),
            "/hooks/vtex/{store_name}/carts": _hook("Master Data abandoned-cart trigger", schemas.CartTriggerSchema()),
            "/hooks/vtex/{store_name}/customers": _hook(
                "Master Data customer (CL) trigger", schemas.CustomerTriggerSchema()
            ),
            "/api/io/activeCampaign/abandonedCart": _hook(
                "Original VTEX app's cart route (store = accountName)", schemas.CartTriggerSchema(), store_param=False
            ),
            "/healthz": {"get": {"summary": "Process alive", "responses": simple}},
            "/readyz": {
                "get": {
                    "summary": "Redis reachable and config loaded",
                    "responses": {**simple, "503": {"description": "Not ready"}},
                }
            },
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": simple}},
            "/openapi.json": {"get": {"summary": "This document", "responses": simple}},
        },
    }
