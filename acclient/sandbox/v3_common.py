"""What the v3 REST blueprints share: AC's error shapes, request bodies, answers to writes and listings."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, jsonify, request

from acclient.sandbox.runtime import SandboxState

MAX_LIMIT = 100


class Invalid(Exception):
    def __init__(self, errors: list[dict[str, Any]], status: int = 422) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status


def error(title: str, code: str, pointer: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {"title": title, "detail": "", "code": code}
    if pointer:
        item["source"] = {"pointer": f"/data/attributes/{pointer}"}
    return item


def missing(resource: str, name: str) -> dict[str, Any]:
    return error(f"The {resource} {name} was not provided.", "field_missing", name)


def duplicate(title: str, pointer: str) -> Invalid:
    return Invalid([error(title, "duplicate", pointer)])


class NotFound(Exception):
    pass


def parse_date(value: Any, name: str, resource: str) -> dict[str, Any] | None:
    if not isinstance(value, str):
        return error(f"The {resource} {name} must be a date string.", "field_invalid", name)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return error(f"The {resource} {name} is not a valid ISO 8601 date.", "field_invalid", name)
    if moment.tzinfo is None:
        return error(f"The {resource} {name} needs a UTC offset.", "field_invalid", name)
    return None


def non_negative_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.isdigit():
        return True
    return isinstance(value, int) and value >= 0


def sort_key(value: Any) -> tuple[int, Any]:
    """Numbers (AC sends them as strings) sort numerically, everything else as text."""
    text = "" if value is None else str(value)
    try:
        return (0, float(text))
    except ValueError:
        return (1, text)


def body(key: str) -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get(key), dict):
        raise Invalid(
            [error(f"The request body must be a JSON object with a '{key}' object.", "body_invalid")], status=400
        )
    return payload[key]


def written(state: SandboxState, result: Any, status: int = 201) -> tuple[Response, int]:
    """Answer a successful write, unless a fault says the answer gets lost after the write."""
    if state.faults.fail_after():
        return jsonify({"message": "Internal Server Error (injected after write)"}), 500
    return jsonify(result), status


def get_row(state: SandboxState, table: str, record_id: str, label: str) -> dict[str, Any]:
    row = state.account().tables[table].get(record_id)
    if row is None:
        raise NotFound(f"{label} with id {record_id}")
    return row


def listing(
    state: SandboxState,
    table: str,
    key: str,
    rows: list[dict[str, Any]] | None = None,
    match: Callable[[dict[str, Any]], bool] | None = None,
) -> Response:
    """A page of ``rows`` (default: the account's ``table``) after ``filters[..]``, ``match`` and ``orders[..]``."""
    with state.store.lock:
        items = list(rows if rows is not None else state.account().tables[table].values())
    for name, value in request.args.items():
        found = re.fullmatch(r"filters\[(\w+)\]", name)
        if found:
            field_name = found.group(1)
            items = [r for r in items if str(r.get(field_name, "")).lower() == value.lower()]
    if match is not None:
        items = [r for r in items if match(r)]
    for name, direction in reversed(list(request.args.items())):
        found = re.fullmatch(r"orders\[(\w+)\]", name)
        if found:
            field_name = found.group(1)
            items.sort(key=lambda r: sort_key(r.get(field_name)), reverse=direction.upper() == "DESC")
    try:
        limit = min(MAX_LIMIT, max(1, int(request.args.get("limit", 20))))
        offset = max(0, int(request.args.get("offset", 0)))
    except ValueError:
        raise Invalid([error("limit and offset must be integers.", "param_invalid")], status=400) from None
    page = items[offset : offset + limit]
    return jsonify({key: page, "meta": {"total": str(len(items)), "page_input": {"limit": limit, "offset": offset}}})
