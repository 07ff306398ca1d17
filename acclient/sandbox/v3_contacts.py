"""Contacts and list memberships: ``/api/3/contact/sync``, ``/api/3/contacts``, ``/api/3/contactLists``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from acclient.sandbox.runtime import EMAIL_RE, SandboxState
from acclient.sandbox.store import Account, now_iso
from acclient.sandbox.v3_common import (
    Invalid,
    body,
    error,
    get_row,
    invalid_email,
    listing,
    missing,
    non_negative_int,
    written,
)

SYNCED_FIELDS = ("firstName", "lastName", "phone")


def create_contacts_blueprint(state: SandboxState) -> Blueprint:
    """Contacts (``/contact/sync``, lists, lookups) and list memberships (``/contactLists``), over ``state``."""
    blueprint = Blueprint("v3_contacts", __name__)
    register_contact_routes(blueprint, state)
    register_list_membership_routes(blueprint, state)
    return blueprint


# ---------------------------------------------------------------- contacts
def synced_email(fields: dict[str, Any]) -> str:
    """The e-mail of a ``/contact/sync`` body; a missing or malformed one is refused (422)."""
    email = fields.get("email")
    if not email:
        raise Invalid([missing("contact", "email")])
    if not isinstance(email, str) or not EMAIL_RE.match(email):
        raise Invalid([invalid_email()])
    return email


def sync_contact(acct: Account, email: str, changes: dict[str, str]) -> tuple[dict[str, Any], int]:
    """Create the contact of ``email`` (201) or update it (200), e-mails compared case-insensitively."""
    existing = acct.find_contact(email)
    if existing is None:
        return acct.insert_contact(email, changes), 201
    existing.update(changes, udate=now_iso())
    return existing, 200


def register_contact_routes(blueprint: Blueprint, state: SandboxState) -> None:
    @blueprint.post("/api/3/contact/sync")
    def contact_sync() -> tuple[Response, int]:
        fields = body("contact")
        email = synced_email(fields)
        changes = {k: str(fields[k]) for k in SYNCED_FIELDS if fields.get(k) is not None}
        with state.store.lock:
            contact, status = sync_contact(state.account(), email, changes)
            return written(state, {"contact": dict(contact), "fieldValues": []}, status)

    @blueprint.get("/api/3/contacts")
    def contacts_list() -> Response:
        email = request.args.get("email")
        email_like = request.args.get("email_like")

        def match(row: dict[str, Any]) -> bool:
            if email is not None and row["email"].lower() != email.lower():
                return False
            return email_like is None or email_like.lower() in row["email"].lower()

        return listing(state, "contacts", "contacts", match=match)

    @blueprint.get("/api/3/contacts/<record_id>")
    def contact_get(record_id: str) -> Response:
        return jsonify({"contact": get_row(state, "contacts", record_id, "Subscriber")})


# ---------------------------------------------------------------- list memberships
def check_list_membership(fields: dict[str, Any], lists: tuple[int, ...]) -> None:
    """Refuse (422) a ``/contactLists`` body without list, contact and status, or with an unknown list or status."""
    errors = [missing("contactList", n) for n in ("list", "contact", "status") if fields.get(n) in (None, "")]
    if errors:
        raise Invalid(errors)
    if str(fields["status"]) not in ("1", "2"):
        raise Invalid([error("The status must be 1 (active) or 2 (unsubscribed).", "field_invalid", "status")])
    if not non_negative_int(fields["list"]) or int(fields["list"]) not in lists:
        raise Invalid([error(f"List {fields['list']} does not exist.", "related_missing", "list")])


def register_list_membership_routes(blueprint: Blueprint, state: SandboxState) -> None:
    @blueprint.post("/api/3/contactLists")
    def contact_lists() -> tuple[Response, int]:
        fields = body("contactList")
        check_list_membership(fields, state.config.lists)
        with state.store.lock:
            get_row(state, "contacts", str(fields["contact"]), "Subscriber")
            row = state.account().set_list_status(str(fields["contact"]), str(fields["list"]), int(fields["status"]))
            return written(state, {"contactList": dict(row)}, 200)
