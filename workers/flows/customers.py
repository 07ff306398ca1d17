"""The customer flow: a VTEX profile change becomes a contact write (and a list subscription on opt-in)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from acsync_core.events import Event
from workers.flows.context import StoreContext
from workers.idempotency import email_key
from workers.mapping import clean_text


def contact_fingerprint(email: str, first_name: Any, last_name: Any, phone: Any) -> str:
    """What makes a contact write necessary: the e-mail (any case), names and phone as VTEX sent them."""
    summary = json.dumps([email.lower(), first_name, last_name, phone], sort_keys=True)
    return hashlib.sha256(summary.encode()).hexdigest()[:32]


def process_customer(event: Event, ctx: StoreContext) -> str:
    payload = event.payload
    email = payload["email"]
    phone = payload.get("phone") or payload.get("homePhone")
    opted_in = payload.get("isNewsletterOptIn") is True
    digest = contact_fingerprint(email, payload.get("firstName"), payload.get("lastName"), phone)
    changed = ctx.ids.get_id("contactfp", email_key(email)) != digest
    list_id = ctx.store.activecampaign.list_id
    subscribe = bool(list_id and opted_in and not ctx.ids.get_id("subscribed", str(list_id), email_key(email)))
    if not changed and not subscribe:
        return "contact_unchanged"
    contact: dict[str, Any] = {
        "email": email,
        "first_name": clean_text(payload.get("firstName")),
        "last_name": clean_text(payload.get("lastName")),
        "phone": clean_text(phone, 40),
    }
    if subscribe:
        contact["list_id"] = list_id
        ctx.handoff_set_id("subscribed", str(list_id), email_key(email), value="1")
    ctx.put("contact", email_key(email), contact)
    ctx.handoff_set_id("contactfp", email_key(email), value=digest)
    return "queued"
