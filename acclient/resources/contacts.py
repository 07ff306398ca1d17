"""Contacts: ``/contact/sync`` (upsert by e-mail), lookups, and list membership."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acclient.resources.base import Resource, compact

STATUS_SUBSCRIBED = 1
STATUS_UNSUBSCRIBED = 2


class Contacts(Resource):
    path = "/contacts"
    item_key = "contact"
    list_key = "contacts"

    def sync(
        self,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
        field_values: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Create or update the contact with this e-mail; only the fields given are changed."""
        if not email or "@" not in email:
            raise ValueError(f"a contact needs an e-mail address (got {email!r})")
        fields = compact({"email": email, "firstName": first_name, "lastName": last_name, "phone": phone})
        if field_values:
            fields["fieldValues"] = [{"field": str(k), "value": v} for k, v in field_values.items()]
        return self._requestor.request_object("POST", "/contact/sync", "contact", body={"contact": fields})

    def find_by_email(self, email: str) -> dict[str, Any] | None:
        """The contact with exactly this e-mail (AC compares case-insensitively), or None."""
        page = self.list(limit=1, email=email)
        for contact in page.items:
            if str(contact.get("email", "")).lower() == email.lower():
                return contact
        return None

    def update_list_status(self, *, list_id: int | str, contact_id: int | str, status: int | str) -> dict[str, Any]:
        """Subscribe (1) or unsubscribe (2). Beware: 1 re-subscribes someone who unsubscribed by hand."""
        if str(status) not in ("1", "2"):
            raise ValueError("status must be 1 (subscribe) or 2 (unsubscribe)")
        body = {"contactList": {"list": int(list_id), "contact": int(contact_id), "status": int(status)}}
        return self._requestor.request_object("POST", "/contactLists", "contactList", body=body)
