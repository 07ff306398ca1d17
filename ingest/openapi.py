"""OpenAPI 3.1 document of the ingest endpoints, generated from the marshmallow schemas.

Generating the request bodies from the schemas keeps the document true by construction; a test
checks that every route of the app is documented and every documented status is the one served.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import Schema, fields

from ingest import schemas

ERROR = {"type": "object", "required": ["error"],
         "properties": {"error": {"type": "string"}, "detail": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": True}}}
ACCEPTED = {"type": "object", "required": ["status", "event_id"],
            "properties": {"status": {"enum": ["accepted", "duplicate"]}, "event_id": {"type": "string"}}}


def field_schema(field: fields.Field) -> dict[str, Any]:
    if isinstance(field, fields.Nested):
        return schema_object(field.schema)
    if isinstance(field, schemas.Email):
        return {"type": "string", "format": "email"}
    if isinstance(field, schemas.Timestamp):
        return {"type": "string", "format": "date-time"}
    if isinstance(field, schemas.DecimalAmount):
        return {"type": ["string", "number"], "description": "decimal in currency units"}
    if isinstance(field, fields.Boolean):
        return {"type": ["boolean", "string", "integer"]}
    return {"type": ["string", "integer"], "maxLength": 4096}


def schema_object(schema: Schema) -> dict[str, Any]:
    props = {name: field_schema(field) for name, field in schema.fields.items()}
    required = sorted(name for name, field in schema.fields.items() if field.required)
    return {"type": "object", "properties": props, "required": required, "additionalProperties": True}


def _responses(*statuses: int, ping: bool = False) -> dict[str, Any]:
    described = {
        200: ("Duplicate of an event accepted in the dedupe window" + ("; or the VTEX ping" if ping else ""),
              ACCEPTED),
        202: ("Accepted and enqueued", ACCEPTED),
        400: ("Malformed JSON or validation failed", ERROR),
        401: ("Missing or wrong X-Hook-Secret", ERROR),
        404: ("Unknown store", ERROR),
        413: ("Body over the size limit", ERROR),
        415: ("Content-Type is not application/json", ERROR),
        503: ("Queue unavailable; retry after Retry-After seconds", ERROR),
    }
    return {str(s): {"description": described[s][0],
                     "content": {"application/json": {"schema": described[s][1]}}} for s in statuses}


HOOK_STATUSES = (200, 202, 400, 401, 404, 413, 415, 503)


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
        operation["parameters"] = [{"name": "store_name", "in": "path", "required": True,
                                    "schema": {"type": "string"}, "description": "VTEX account name"}]
    return {"post": operation}


@cache
def openapi_document() -> dict[str, Any]:
    simple = {"200": {"description": "OK"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "acsync ingest", "version": "1.0.0",
                 "description": "Receives VTEX order hooks and Master Data triggers and enqueues them."},
        "components": {"securitySchemes": {"hookSecret": {"type": "apiKey", "in": "header",
                                                          "name": "X-Hook-Secret"}}},
        "paths": {
            "/hooks/vtex/{store_name}/orders": _hook("VTEX order hook (Orders Feed v3)", schemas.OrderHookSchema(),
                                                     ping=True),
            "/hooks/vtex/{store_name}/carts": _hook("Master Data abandoned-cart trigger",
                                                    schemas.CartTriggerSchema()),
            "/hooks/vtex/{store_name}/customers": _hook("Master Data customer (CL) trigger",
                                                        schemas.CustomerTriggerSchema()),
            "/api/io/activeCampaign/abandonedCart": _hook("Original VTEX app's cart route (store = accountName)",
                                                          schemas.CartTriggerSchema(), store_param=False),
            "/healthz": {"get": {"summary": "Process alive", "responses": simple}},
            "/readyz": {"get": {"summary": "Redis reachable and config loaded",
                                "responses": {**simple, "503": {"description": "Not ready"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": simple}},
            "/openapi.json": {"get": {"summary": "This document", "responses": simple}},
        },
    }
