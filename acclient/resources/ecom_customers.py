"""E-commerce customers: one per (connection, external id), holding a contact's store aggregates."""

from __future__ import annotations

from typing import Any

from acclient.resources.base import Resource, compact


class EcomCustomers(Resource):
    path = "/ecomCustomers"
    item_key = "ecomCustomer"
    list_key = "ecomCustomers"

    def create(
        self,
        *,
        connection_id: int | str,
        externalid: str,
        email: str,
        accepts_marketing: bool | None = None,
    ) -> dict[str, Any]:
        marketing = None if accepts_marketing is None else ("1" if accepts_marketing else "0")
        return self._create(
            compact(
                {
                    "connectionid": str(connection_id),
                    "externalid": str(externalid),
                    "email": email,
                    "acceptsMarketing": marketing,
                }
            )
        )

    def update(self, customer_id: int | str, **fields: Any) -> dict[str, Any]:
        """Change any of: email, externalid, accepts_marketing."""
        if "accepts_marketing" in fields and fields["accepts_marketing"] is not None:
            fields["acceptsMarketing"] = "1" if fields.pop("accepts_marketing") else "0"
        return self._update(customer_id, compact(fields))

    def find(
        self, *, connection_id: int | str, email: str | None = None, externalid: str | None = None
    ) -> dict[str, Any] | None:
        """The customer of this connection with this e-mail or external id, or None.

        AC's list by e-mail also returns an aggregate row with connectionid "0", so the match on
        connectionid is done here, not trusted to the filter.
        """
        if email is None and externalid is None:
            raise ValueError("find needs an email or an externalid")
        filters = compact({"connectionid": str(connection_id), "email": email, "externalid": externalid})
        for customer in self.iterate(filters=filters):
            if str(customer.get("connectionid")) != str(connection_id):
                continue
            if email is not None and str(customer.get("email", "")).lower() != email.lower():
                continue
            if externalid is not None and str(customer.get("externalid")) != str(externalid):
                continue
            return customer
        return None
