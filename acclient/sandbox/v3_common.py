"""What the v3 REST blueprints share: AC's error shapes, request bodies, answers to writes and listings."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, jsonify, request

from acclient.sandbox.runtime import SandboxState
from acclient.sandbox.store import Account

MAX_LIMIT = 100

# What a PUT does to a record: (the request's account, the stored row, the body's object) -> None, changing the row.
RecordUpdate = Callable[[Account, dict[str, Any], dict[str, Any]], None]


class Refused(Exception):
    """Ends the request with this JSON answer; the pipeline's error handler (``v3_pipeline``) sends it."""

    def __init__(self, body: dict[str, Any], status: int) -> None:
        super().__init__(body)
        self.body = body
        self.status = status


class Invalid(Refused):
    """AC's answer to a payload it refuses: ``{"errors": [...]}`` in its error shape (422 unless told)."""

    def __init__(self, errors: list[dict[str, Any]], status: int = 422) -> None:
        super().__init__({"errors": errors}, status)
        self.errors = errors


def error(title: str, code: str, pointer: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {"title": title, "detail": "", "code": code}
    if pointer:
        item["source"] = {"pointer": f"/data/attributes/{pointer}"}
    return item


def missing(resource: str, name: str) -> dict[str, Any]:
    return error(f"The {resource} {name} was not provided.", "field_missing", name)


def invalid_email() -> dict[str, Any]:
    return error("Email address is not valid", "email_invalid", "email")


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
    """The ``key`` object of the request's JSON body (``{"contact": {...}}``); anything else is refused with 400."""
    payload = request.get_json(silent=True)
    fields = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(fields, dict):
        raise Invalid(
            [error(f"The request body must be a JSON object with a '{key}' object.", "body_invalid")], status=400
        )
    return fields


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


def serve_record(
    state: SandboxState,
    record_id: str,
    *,
    table: str,
    key: str,
    label: str,
    update: RecordUpdate,
    after_delete: Callable[[Account, dict[str, Any]], None] | None = None,
) -> Response | tuple[Response, int]:
    """GET, PUT or DELETE (the request's method) of one record of ``table``, answered as ``{key: record}``.

    An unknown id is ``NotFound`` (``label`` names the record); PUT passes the body's ``key`` object to ``update``;
    DELETE removes the record, then calls ``after_delete`` with it. Writes answer through ``written``."""
    with state.store.lock:
        account = state.account()
        row = get_row(state, table, record_id, label)
        if request.method == "GET":
            return jsonify({key: row})
        if request.method == "DELETE":
            del account.tables[table][record_id]
            if after_delete is not None:
                after_delete(account, row)
            return written(state, {}, 200)
        update(account, row, body(key))
        return written(state, {key: dict(row)}, 200)


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
