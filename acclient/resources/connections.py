"""Deep Data connections: the link between an AC account and one store."""

from __future__ import annotations

from typing import Any

from acclient.resources.base import Resource, compact


class Connections(Resource):
    path = "/connections"
    item_key = "connection"
    list_key = "connections"

    def create(
        self,
        *,
        service: str,
        externalid: str,
        name: str,
        logo_url: str,
        link_url: str,
        list_id: int | None = None,
    ) -> dict[str, Any]:
        return self._create(
            compact(
                {
                    "service": service,
                    "externalid": externalid,
                    "name": name,
                    "logoUrl": logo_url,
                    "linkUrl": link_url,
                    "listId": list_id,
                }
            )
        )

    def update(self, connection_id: int | str, **fields: Any) -> dict[str, Any]:
        """Change any of: service, externalid, name, logo_url, link_url, status, sync_status."""
        names = {"logo_url": "logoUrl", "link_url": "linkUrl", "sync_status": "syncStatus", "list_id": "listId"}
        return self._update(connection_id, compact({names.get(k, k): v for k, v in fields.items()}))

    def find(self, *, service: str, externalid: str) -> dict[str, Any] | None:
        page = self.list(limit=100, filters={"service": service, "externalid": externalid})
        for connection in page.items:
            if connection.get("service") == service and connection.get("externalid") == externalid:
                return connection
        return None
