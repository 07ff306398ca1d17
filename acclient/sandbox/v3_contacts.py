"""Contacts and list memberships: ``/api/3/contact/sync``, ``/api/3/contacts``, ``/api/3/contactLists``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from acclient.sandbox.runtime import EMAIL_RE, SandboxState
from acclient.sandbox.store import now_iso
from acclient.sandbox.v3_common import Invalid, body, error, get_row, listing, missing, non_negative_int, written


def create_contacts_blueprint(state: SandboxState) -> Blueprint:
    blueprint = Blueprint("v3_contacts", __name__)
    store = state.store

    @blueprint.post("/api/3/contact/sync")
    def contact_sync() -> tuple[Response, int]:
        fields = body("contact")
        email = fields.get("email")
        if not email:
            raise Invalid([missing("contact", "email")])
        if not isinstance(email, str) or not EMAIL_RE.match(email):
            raise Invalid([error("Email address is not valid", "email_invalid", "email")])
        changes = {k: str(fields[k]) for k in ("firstName", "lastName", "phone") if fields.get(k) is not None}
        with store.lock:
            acct = state.account()
            existing = acct.find_contact(email)
            if existing is None:
                contact = acct.insert_contact(email, changes)
                status = 201
            else:
                existing.update(changes, udate=now_iso())
                contact, status = existing, 200
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

    @blueprint.post("/api/3/contactLists")
    def contact_lists() -> tuple[Response, int]:
        fields = body("contactList")
        errors = [missing("contactList", n) for n in ("list", "contact", "status") if fields.get(n) in (None, "")]
        if errors:
            raise Invalid(errors)
        if str(fields["status"]) not in ("1", "2"):
            raise Invalid([error("The status must be 1 (active) or 2 (unsubscribed).", "field_invalid", "status")])
        if not non_negative_int(fields["list"]) or int(fields["list"]) not in state.config.lists:
            raise Invalid([error(f"List {fields['list']} does not exist.", "related_missing", "list")])
        with store.lock:
            acct = state.account()
            get_row(state, "contacts", str(fields["contact"]), "Subscriber")
            key = (str(fields["contact"]), str(fields["list"]))
            row = next((r for r in acct.tables["contactLists"].values() if (r["contact"], r["list"]) == key), None)
            if row is None:
                row = acct.insert("contactLists", {"contact": key[0], "list": key[1]})
            row.update(status=int(fields["status"]), sdate=now_iso())
            return written(state, {"contactList": dict(row)}, 200)

    return blueprint
