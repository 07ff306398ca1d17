"""ActiveCampaign's bulk contact import (``/api/3/import/bulk_import``, ``/api/3/import/info``) in the sandbox.

Modelled on ActiveCampaign's developer reference "Bulk import contacts" and its help article on the bulk
contact importer. The contract the sandbox keeps:

- Auth, the account's 5 req/s and injected faults come from the app's guard; these calls count there too.
- Per account and sliding minute, at most ``SandboxConfig.bulk_import_single_per_minute`` requests with one
  contact and ``bulk_import_multi_per_minute`` with more (0: no limit). Over it: HTTP 400 ``{"success": 0,
  "message": "Rate limit exceeded.", "failureReasons": ["Up to N imports may be requested per minute ..."]}``.
  Every request that passes the guard counts, whatever happens to it next.
- At most 250 contacts and 400,000 bytes per request, else HTTP 400 (``success`` 0). A contact that fails
  validation rejects the whole batch: HTTP 400 ``{"success": 0, "message": "JSON payload did not pass
  validation. ...", "failureReasons": [{"contact": <index>, "failureReason": "..."}]}``.
- Success: HTTP 200 ``{"success": 1, "queued_contacts": N, "batchId": "<uuid>", "message": "Contact import
  queued"}``. The batch is processed ``SandboxConfig.bulk_import_delay`` seconds later: contacts are created or
  updated by e-mail (``first_name`` -> ``firstName``, ``last_name`` -> ``lastName``, ``phone``,
  ``customer_acct_name`` -> ``orgname``, ``tags`` and ``fields`` added), never blanking a stored value with an
  empty one; ``subscribe`` sets the list status 1 unless the contact is unsubscribed (status 2) from that list,
  which is kept; ``unsubscribe`` sets status 2. Batches show in ``/__sandbox/state`` as ``bulk_imports``.
- ``GET /api/3/import/info?batchId=`` -> ``{"status": "queued" | "completed", "success": [contact ids],
  "failure": [e-mails]}``; 404 for a batch the account does not have.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, jsonify, request

from acclient.sandbox.faults import SandboxConfig, SlidingWindowLimiter
from acclient.sandbox.runtime import EMAIL_RE, SandboxState
from acclient.sandbox.store import Account, now_iso
from acclient.sandbox.v3_common import Refused, written

MAX_CONTACTS = 250
MAX_BYTES = 400_000
NOT_VALID = "JSON payload did not pass validation. Please check failureReasons for details."
TEXT_FIELDS = {"first_name": "firstName", "last_name": "lastName", "phone": "phone", "customer_acct_name": "orgname"}


def import_refused(message: str, reasons: list[Any]) -> Refused:
    """AC's HTTP 400 to an import it does not queue: ``{"success": 0, "message": ..., "failureReasons": [...]}``."""
    return Refused({"success": 0, "message": message, "failureReasons": reasons}, 400)


def contact_problem(contact: Any, lists: tuple[int, ...]) -> str | None:
    """Why AC would refuse this contact of a batch; None when it is acceptable."""
    if not isinstance(contact, dict):
        return "Contact must be an object"
    email = contact.get("email")
    if email in (None, ""):
        return "Field 'email' is required"
    if not isinstance(email, str) or not EMAIL_RE.match(email):
        return "Field 'email' incorrect format"
    for name in TEXT_FIELDS:
        if contact.get(name) is not None and not isinstance(contact[name], str):
            return f"Field '{name}' must be a string"
    tags = contact.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        return "Field 'tags' must be a list of strings"
    fields = contact.get("fields")
    if fields is not None and not (
        isinstance(fields, list) and all(isinstance(f, dict) and "id" in f and "value" in f for f in fields)
    ):
        return "Field 'fields' must be a list of objects with 'id' and 'value'"
    for name in ("subscribe", "unsubscribe"):
        entries = contact.get(name)
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(isinstance(e, dict) and "listid" in e for e in entries):
            return f"Field '{name}' must be a list of objects with 'listid'"
        for entry in entries:
            if str(entry["listid"]) not in {str(n) for n in lists}:
                return f"List {entry['listid']} does not exist"
    return None


def import_contact(account: Account, contact: dict[str, Any]) -> dict[str, Any]:
    """Apply one contact of a batch (see the module's docstring); returns the stored contact."""
    values = {TEXT_FIELDS[k]: v for k, v in contact.items() if k in TEXT_FIELDS}
    stored = account.upsert_contact(contact["email"], values)
    if contact.get("tags"):
        stored["tags"] = sorted(set(stored.get("tags", [])) | set(contact["tags"]))
    if contact.get("fields"):
        stored["fieldValues"] = {
            **stored.get("fieldValues", {}),
            **{str(f["id"]): f["value"] for f in contact["fields"]},
        }
    for entry in contact.get("subscribe") or []:
        account.set_list_status(stored["id"], str(entry["listid"]), 1, keep_unsubscribed=True)
    for entry in contact.get("unsubscribe") or []:
        account.set_list_status(stored["id"], str(entry["listid"]), 2)
    return stored


def process_batch(account: Account, batch: dict[str, Any]) -> None:
    for contact in batch["contacts"]:
        batch["success"].append(import_contact(account, contact)["id"])
    batch.update(status="completed", completedAt=now_iso())


class ImportBudget:
    """The per-account, per-minute budgets of single-contact and multi-contact imports.

    The limits are read from the configuration at every request, so a run-time change applies at once."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.single = SlidingWindowLimiter(config.bulk_import_single_per_minute, window=60.0)
        self.multi = SlidingWindowLimiter(config.bulk_import_multi_per_minute, window=60.0)

    def charge(self, account: str, contacts: Any) -> None:
        """Count this request against its budget; raises ``Refused`` when the budget is spent."""
        single = isinstance(contacts, list) and len(contacts) == 1
        limiter, limit, kind = (
            (self.single, self.config.bulk_import_single_per_minute, "single-contact")
            if single
            else (self.multi, self.config.bulk_import_multi_per_minute, "multi-contact")
        )
        limiter.rate = limit
        allowed, _, retry_after = limiter.check(account)
        if not allowed:
            raise import_refused(
                "Rate limit exceeded.",
                [
                    f"Up to {limit} imports may be requested per minute for {kind}"
                    f" requests; try again in {retry_after} seconds."
                ],
            )


def checked_batch(raw: bytes, payload: Any, lists: tuple[int, ...]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The body and its contacts, when AC would queue them; raises ``Refused`` for a body that is too large,
    has no contacts or too many, or has a contact AC refuses."""
    if len(raw) > MAX_BYTES:
        raise import_refused("Payload too large.", [f"The request body must be at most {MAX_BYTES} bytes."])
    contacts = payload.get("contacts") if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or not isinstance(contacts, list) or not contacts:
        raise import_refused(NOT_VALID, ["The body must be a JSON object with a non-empty 'contacts' list."])
    if len(contacts) > MAX_CONTACTS:
        raise import_refused(NOT_VALID, [f"At most {MAX_CONTACTS} contacts may be imported per request."])
    reasons = [
        {"contact": index, "failureReason": problem}
        for index, contact in enumerate(contacts)
        if (problem := contact_problem(contact, lists)) is not None
    ]
    if reasons:
        raise import_refused(NOT_VALID, reasons)
    return payload, contacts


def queue_batch(state: SandboxState, payload: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    """Store the batch as queued and schedule its processing ``bulk_import_delay`` seconds from now."""
    with state.store.lock:
        account = state.account()
        batch = account.insert(
            "bulk_imports",
            {
                "batchId": str(uuid.uuid4()),
                "status": "queued",
                "contacts": contacts,
                "success": [],
                "failure": [],
                "exclude_automations": bool(payload.get("exclude_automations", False)),
                "callback": payload.get("callback"),
                "queuedAt": now_iso(),
            },
        )
        state.schedule(state.config.bulk_import_delay, lambda: process_batch(account, batch))
    return batch


def batch_status(account: Account, batch_id: str) -> dict[str, Any] | None:
    """``/import/info``'s answer for the account's batch, or None when it has no such batch."""
    rows = account.tables["bulk_imports"].values()
    batch = next((b for b in rows if b["batchId"] == batch_id), None)
    if batch is None:
        return None
    return {"status": batch["status"], "success": list(batch["success"]), "failure": list(batch["failure"])}


def create_bulk_import_blueprint(state: SandboxState) -> Blueprint:
    """The bulk import endpoints over ``state`` (see the module's docstring for the contract)."""
    blueprint = Blueprint("bulk_import", __name__)
    budget = ImportBudget(state.config)

    @blueprint.post("/api/3/import/bulk_import")
    def bulk_import() -> tuple[Response, int]:
        raw = request.get_data()
        payload = request.get_json(silent=True)
        budget.charge(state.account().name, payload.get("contacts") if isinstance(payload, dict) else None)
        accepted, contacts = checked_batch(raw, payload, state.config.lists)
        batch = queue_batch(state, accepted, contacts)
        queued = {
            "success": 1,
            "queued_contacts": len(contacts),
            "batchId": batch["batchId"],
            "message": "Contact import queued",
        }
        return written(state, queued, 200)

    @blueprint.get("/api/3/import/info")
    def import_info() -> tuple[Response, int]:
        batch_id = request.args.get("batchId", "")
        if not batch_id:
            return jsonify({"message": "The batchId parameter is required."}), 400
        with state.store.lock:
            status = batch_status(state.account(), batch_id)
        if status is None:
            return jsonify({"message": f"No Result found for batch {batch_id}"}), 404
        return jsonify(status), 200

    return blueprint
