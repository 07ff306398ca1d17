"""Orders through ActiveCampaign's Ecommerce GraphQL API, in batches.

AC's developer reference ("Ecommerce GraphQL API: Orders") says orders written to v3 DeepData are never
copied into the e-commerce Custom Objects that its "Order Created"/"Order Updated" triggers and "This
Order" segments read, so every order goes through GraphQL. One call creates the contact and the
e-commerce customer too, and is one request against the account's budget whatever it holds.

* Live orders: ``upsertOrder`` for a single waiting order (no batching delay at idle), else
  ``bulkUpsertOrders`` with up to ``BATCH_SIZE`` orders and a token budget under AC's 15,000 grammar
  tokens per document; history: ``bulkUpsertOrdersAsync`` (``creationSource: HISTORICAL``).
* Upserts are keyed by connection + VTEX order id, so a batch sent twice (a writer killed mid-batch)
  has one effect.
* ``storeCustomerId`` reuses the customer the connection already has for the e-mail (``CustomerIndex``);
  ``cartId`` links the customer's open abandoned cart only if the order was placed after the cart was
  abandoned (an order replayed late never converts a newer cart).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from acclient import ACError, ActiveCampaign
from acclient.errors import RecordValidationError, TokenLimitError
from acclient.graphql import Enum as GraphQLEnum
from acclient.graphql import serialize
from workers.idempotency import IdStore, email_key
from workers.outbox import Claimed, Enum
from workers.records import forget_open_cart, open_cart, order_placed_at
from workers.writers.customers import CustomerIndex
from workers.writers.results import Failed, Landed, Rejected, Result

log = logging.getLogger("acsync.writer")

BATCH_SIZE = 30  # AC's WooCommerce plugin sends groups of 30 orders
TOKEN_BUDGET = 12_000  # proactive bound under AC's 15,000-token refusal (the client splits if AC still refuses)


def client_values(value: Any) -> Any:
    """Outbox values -> acclient's GraphQL values (enums become acclient's Enum)."""
    if isinstance(value, Enum):
        return GraphQLEnum(str(value))
    if isinstance(value, dict):
        return {k: client_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [client_values(v) for v in value]
    return value


def estimate_tokens(order: dict[str, Any]) -> int:
    """GraphQL lexer tokens of one order as the client serializes it (counted once, when it is queued)."""
    from graphql.language import Lexer, Source, TokenKind

    lexer = Lexer(Source(serialize(client_values(order))))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def estimated_tokens(payload: dict[str, Any]) -> int:
    return int(payload.get("tokens") or 300)


def take_batch(claimed: Sequence[Claimed]) -> tuple[list[Claimed], list[Claimed]]:
    """Split claimed orders into what fits one document and what waits for the next one."""
    batch: list[Claimed] = []
    tokens = 0
    for item in claimed:
        cost = estimated_tokens(item.payload)
        if batch and (len(batch) >= BATCH_SIZE or tokens + cost > TOKEN_BUDGET):
            break
        batch.append(item)
        tokens += cost
    return batch, list(claimed[len(batch) :])


class OrderWriter:
    def __init__(self, ac: ActiveCampaign, ids: IdStore, customers: dict[str, CustomerIndex]) -> None:
        self.ac = ac
        self.ids = ids
        self.customers = customers  # by connection id

    def order_input(self, item: Claimed) -> dict[str, Any]:
        payload = item.payload
        order = dict(payload["order"])
        connection = str(order["legacyConnectionId"])
        email = order["email"]
        index = self.customers.get(connection)  # None: a connection not in the stores file (AC refuses it)
        order["storeCustomerId"] = index.external_id(email) if index else email.strip().lower()
        cart = open_cart(self.ids, connection, email)
        placed = order_placed_at(payload)
        if cart and cart.get("checkout") and placed is not None and placed > float(cart.get("abandoned_at") or 0):
            order["cartId"] = cart["checkout"]
        converted: dict[str, Any] = client_values(order)  # a dict stays a dict
        return converted

    def write(self, batch: Sequence[Claimed], *, historical: bool) -> list[Result]:
        inputs = {item.key: self.order_input(item) for item in batch}
        by_id = {item.key: item for item in batch}
        try:
            if len(batch) == 1 and not historical:
                item = batch[0]
                try:
                    answer = self.ac.ecom_graphql.upsert_order(inputs[item.key])
                except (RecordValidationError, TokenLimitError) as exc:
                    return [Rejected(item, "ac_rejected", _reason(exc, item.key))]
                return [self._landed(item, inputs[item.key], answer)]
            api = self.ac.ecom_graphql
            send = api.bulk_upsert_orders_async if historical else api.bulk_upsert_orders
            result = send(list(inputs.values()))
        except ACError as exc:
            partial = getattr(exc, "partial", None)
            out: list[Result] = []
            for key, item in by_id.items():
                if partial is not None and key in partial.succeeded:
                    out.append(self._landed(item, inputs[key], partial.succeeded[key]))
                elif partial is not None and key in partial.failed:
                    out.append(Rejected(item, "ac_rejected", partial.failed[key]))
                else:
                    out.append(Failed(item, exc))
            return out
        out = []
        for key, item in by_id.items():
            if key in result.failed:
                out.append(Rejected(item, "ac_rejected", result.failed[key]))
            elif key in result.succeeded:
                out.append(self._landed(item, inputs[key], result.succeeded[key]))
            else:  # AC's answer did not mention it: send it again rather than assume
                out.append(Failed(item, ACError(f"order {key} missing from AC's answer")))
        return out

    def _landed(self, item: Claimed, order: dict[str, Any], answer: Any) -> Landed:
        connection = str(order["legacyConnectionId"])
        email = order["email"]
        index = self.customers.get(connection)
        if index is not None:
            index.note_written(email, order["storeCustomerId"])
        if order.get("cartId"):
            forget_open_cart(self.ids, connection, email)
        ac_id = str(answer.get("id") or answer.get("recordId") or "") if isinstance(answer, dict) else ""
        self.ids.update_record("order", connection, item.key, values={"ac_id": ac_id or "graphql"})
        outcome = "order_" + ("converted_cart" if order.get("cartId") else item.payload.get("outcome", "upserted"))
        return Landed(item, outcome, ac_id or None)


def _reason(exc: Exception, key: str) -> str:
    failures = getattr(exc, "failures", None) or {}
    return str(failures.get(key) or exc)[:500]


__all__ = ["BATCH_SIZE", "OrderWriter", "email_key", "take_batch"]
