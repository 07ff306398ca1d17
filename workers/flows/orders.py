"""The order flow: fetch the VTEX order, decide from its status, map it and hand the AC order to the outbox."""

from __future__ import annotations

from typing import Any

from acsync_core.errors import PermanentEventError
from acsync_core.events import Event
from workers.flows.context import StoreContext, parse_time
from workers.mapping import ac_order_fingerprint, ac_order_input, is_marketplace_order, is_masked, unmask_soft_alias
from workers.records import remember_order_time
from workers.vtex import VTEXNotFound
from workers.writers.orders import estimate_tokens


def resolve_email(order: dict[str, Any], ctx: StoreContext) -> str:
    """The buyer's real address: never send a Conversation Tracker alias to ActiveCampaign."""
    profile = order.get("clientProfileData") or {}
    email = (profile.get("email") or "").strip()
    if email and not is_masked(email):
        return email
    real = unmask_soft_alias(email)  # a soft alias carries the address itself: no VTEX call needed
    if real:
        return real
    user_id = profile.get("userProfileId")
    if user_id:
        customer = ctx.vtex.find_customer(user_id)
        if customer and customer.get("email") and not is_masked(customer["email"]):
            stored: str = customer["email"]  # Master Data CL's e-mail field
            return stored.strip()
    for message in ctx.vtex.conversation(order["orderId"]):
        for party in [*(message.get("to") or []), message.get("from") or {}]:
            candidate = (party.get("email") or "").strip()
            if (
                candidate
                and not is_masked(candidate)
                and "@" in candidate
                and party.get("role", "Customer") == "Customer"
            ):
                return candidate
    raise PermanentEventError("masked_email", "no real e-mail in the order, Master Data or its conversation")


def process_order(event: Event, ctx: StoreContext) -> str:
    order_id = event.payload["OrderId"]
    record = ctx.ids.get_record("order", ctx.connection, order_id)
    applied = parse_time(record.get("last_change"))
    # CurrentChange is when this status change happened (LastChange is the one before it)
    hook_change = parse_time(event.payload.get("CurrentChange"))
    if applied and hook_change and hook_change < applied:
        return "stale"  # an older status change arrived late: never downgrade, and no VTEX call
    try:
        order = ctx.vtex.get_order(order_id)
    except VTEXNotFound:
        raise PermanentEventError("order_not_found", f"VTEX has no order {order_id}") from None
    status = order.get("status", "")
    ctx.trail("fetched", status=status)
    change = parse_time(order.get("lastChange"))
    if applied and change and change < applied:
        return "stale"
    if is_marketplace_order(order) and ctx.store.marketplace_orders == "skip":
        # the buyer is the marketplace's customer: no purchase automations for them, no masked e-mails in the DLQ
        return "marketplace_skipped"
    state = {"last_change": order.get("lastChange", ""), "status": status}
    if status == "canceled":
        if not record.get("fingerprint") and not record.get("ac_id"):
            ctx.update_record("order", ctx.connection, order_id, values=state)
            return "canceled_before_sync"
        if ctx.store.on_cancel == "keep":
            ctx.update_record("order", ctx.connection, order_id, values=state)
            return "canceled_kept"
    elif status not in ctx.store.order_states:
        return "ignored_state"
    elif record.get("status") == "canceled":
        return "stale"  # a canceled order is never brought back by a late event

    # historical orders go in as HISTORICAL so that they do not fire purchase automations
    historical = bool(event.payload.get("backfill"))
    fields = ac_order_input(order, ctx.store, historical=historical)
    print_ = ac_order_fingerprint(fields)
    if record.get("fingerprint") == print_:
        ctx.update_record("order", ctx.connection, order_id, values=state)
        return "unchanged"

    fields["email"] = resolve_email(order, ctx)
    placed = parse_time(order.get("creationDate")) or ctx.now()
    remember_order_time(ctx.ids, ctx.connection, fields["email"], placed)
    first = not record.get("fingerprint") and not record.get("ac_id")
    payload = {
        "order": fields,
        "placed_at": placed,
        "tokens": estimate_tokens(fields),
        "outcome": "created" if first else ("canceled" if status == "canceled" else "updated"),
    }
    ctx.put("order_historical" if historical else "order", order_id, payload)
    ctx.update_record("order", ctx.connection, order_id, values={**state, "fingerprint": print_})
    return "queued"
