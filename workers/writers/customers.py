"""Which e-commerce customer an e-mail already has in a connection: never two for one e-mail.

A store moving from the original VTEX app already has customers in its connection, under other
external ids than ours (the lower-cased e-mail). Before its first write to a connection, the writer
pages through the connection's customers once (100 per request, resumable) and remembers
``e-mail -> (AC id, externalid)`` in Redis; afterwards every write keeps the index current. An order
then names the existing customer's externalid as ``storeCustomerId`` and a cart reuses its id.
"""

from __future__ import annotations

import logging
from typing import Any

from acclient import ActiveCampaign, DuplicateError
from acsync_core.errors import RetryLater
from workers.idempotency import IdStore, email_key

log = logging.getLogger("acsync.writer")

PAGE = 100


class CustomerIndex:
    def __init__(self, ids: IdStore, ac: ActiveCampaign, connection: str) -> None:
        self.ids = ids
        self.ac = ac
        self.connection = connection

    # ------------------------------------------------------------------ loading
    def loaded(self) -> bool:
        return self.ids.get_id("custindex_done", self.connection) == "1"

    def load_page(self) -> bool:
        """Index one more page of the connection's customers; True when the index is complete."""
        if self.loaded():
            return True
        offset = int(self.ids.get_id("custindex_offset", self.connection) or 0)
        page = self.ac.ecom_customers.list(filters={"connectionid": self.connection}, limit=PAGE, offset=offset)
        for customer in page.items:
            if str(customer.get("connectionid")) != self.connection or not customer.get("email"):
                continue  # the connectionid "0" aggregate rows
            self._remember(
                str(customer["email"]), str(customer["id"]), str(customer.get("externalid") or ""), keep_existing=True
            )
        if page.has_more:
            self.ids.set_id("custindex_offset", self.connection, value=str(offset + len(page.items)))
            return False
        self.ids.set_id("custindex_done", self.connection, value="1")
        log.info("customer index of connection %s complete (%d rows read)", self.connection, offset + len(page.items))
        return True

    # ------------------------------------------------------------------ reading and writing
    def lookup(self, email: str) -> tuple[str | None, str | None]:
        """(AC customer id or None, externalid or None) known for this e-mail in the connection."""
        value = self.ids.get_id("customer", self.connection, email_key(email))
        if not value:
            return None, None
        if "|" not in value:  # the id alone (the value's first form, still found in Redis): externalid = e-mail
            return value, email.strip().lower()
        customer_id, externalid = value.split("|", 1)
        return customer_id or None, externalid or None

    def external_id(self, email: str) -> str:
        """The externalid to use for this e-mail: the existing customer's, else the lower-cased e-mail."""
        return self.lookup(email)[1] or email.strip().lower()

    def _remember(self, email: str, customer_id: str, externalid: str, *, keep_existing: bool = False) -> None:
        if keep_existing and self.lookup(email)[0]:
            return  # two legacy rows for one e-mail: the first one read stays the one we use
        self.ids.set_id("customer", self.connection, email_key(email), value=f"{customer_id}|{externalid}")

    def note_written(self, email: str, externalid: str) -> None:
        """A GraphQL order created or reused the customer with this externalid (its id is not returned)."""
        customer_id, known = self.lookup(email)
        if known != externalid or not customer_id:
            self._remember(email, customer_id or "", externalid)

    def customer_id(self, email: str, *, accepts_marketing: bool | None = None) -> str:
        """The v3 customer id for this e-mail, creating the customer when the connection has none."""
        customer_id, externalid = self.lookup(email)
        if customer_id:
            return customer_id
        externalid = externalid or email.strip().lower()
        customer: dict[str, Any] | None
        try:
            customer = self.ac.ecom_customers.create(
                connection_id=self.connection, externalid=externalid, email=email, accepts_marketing=accepts_marketing
            )
        except DuplicateError:
            customer = self.ac.ecom_customers.find(connection_id=self.connection, externalid=externalid)
        if customer is None:
            raise RetryLater("duplicate customer not found yet")
        self._remember(email, str(customer["id"]), externalid)
        return str(customer["id"])

    def forget(self, email: str) -> None:
        self.ids.forget("customer", self.connection, email_key(email))
