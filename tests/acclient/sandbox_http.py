"""Plain-HTTP helpers for the sandbox's own tests: requests and hand-written GraphQL, no acclient client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

import requests

from acclient.sandbox import DEFAULT_TOKEN, BackgroundServer, SandboxConfig, create_app

T = TypeVar("T")


@contextmanager
def running(config: SandboxConfig) -> Iterator[BackgroundServer]:
    with BackgroundServer(create_app(config)) as server:
        yield server


def api(
    server: BackgroundServer, method: str, path: str, *, token: str = DEFAULT_TOKEN, **kwargs: Any
) -> requests.Response:
    """A request to ``/api/3{path}`` with the Api-Token header."""
    headers = {"Api-Token": token, **kwargs.pop("headers", {})}
    return requests.request(method, f"{server.url}/api/3{path}", headers=headers, timeout=10, **kwargs)


def graphql(
    server: BackgroundServer, document: str, *, token: str = DEFAULT_TOKEN, content_type: str = "application/graphql"
) -> requests.Response:
    """POST a GraphQL document the way AC's plugin does (the body is the document itself)."""
    return api(
        server,
        "POST",
        "/ecom/graphql",
        token=token,
        data=document.encode("utf-8"),
        headers={"Content-Type": content_type},
    )


def state(server: BackgroundServer, account: str = "sandbox") -> dict[str, list[dict[str, Any]]]:
    return requests.get(server.url + "/__sandbox/state", timeout=5).json()["accounts"].get(account, {})


def request_log(server: BackgroundServer) -> dict[str, Any]:
    return requests.get(server.url + "/__sandbox/requests", timeout=5).json()


def configure(server: BackgroundServer, **settings: Any) -> dict[str, Any]:
    response = requests.post(server.url + "/__sandbox/config", json=settings, timeout=5)
    response.raise_for_status()
    return response.json()


def set_faults(server: BackgroundServer, **faults: Any) -> None:
    requests.post(server.url + "/__sandbox/faults", json=faults, timeout=5).raise_for_status()


def freeze_rate_limit_clock(server: BackgroundServer) -> None:
    """Make every later request fall in one instant for the 5 req/s limiter (an hour after now, so earlier
    requests no longer count), so the limit is hit deterministically."""
    frozen = time.monotonic() + 3600.0
    server.app.extensions["ac_sandbox"]["limiter"].clock = lambda: frozen


def create_connection(server: BackgroundServer, externalid: str = "mystore") -> int:
    response = api(
        server,
        "POST",
        "/connections",
        json={
            "connection": {
                "service": "vtex",
                "externalid": externalid,
                "name": "My Store",
                "logoUrl": "https://example.com/l.png",
                "linkUrl": "https://example.com",
            }
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["connection"]["id"])


def wait_for(probe: Callable[[], T], timeout: float = 5.0) -> T:
    """Poll ``probe`` until it returns something truthy; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------- GraphQL
class Raw(str):
    """GraphQL source written into a document as it is (a deliberately odd literal)."""


class Enum(Raw):
    """An enum value: written bare in a GraphQL document."""


def literal(value: Any, *, ensure_ascii: bool = True) -> str:
    """A GraphQL literal of a Python value: strings JSON-encoded, Decimals bare, Raw as is, None as null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ensure_ascii)
    if isinstance(value, list | tuple):
        return "[" + ",".join(literal(v, ensure_ascii=ensure_ascii) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{literal(v, ensure_ascii=ensure_ascii)}" for k, v in value.items()) + "}"
    raise TypeError(f"no GraphQL literal for {value!r}")


def order(connection: int, store_order_id: str = "1335580501234-01", **fields: Any) -> dict[str, Any]:
    """An order record with every field AC requires; ``fields`` override or add."""
    return {
        "legacyConnectionId": connection,
        "storeOrderId": store_order_id,
        "email": "ana@example.com",
        "currency": "BRL",
        "creationSource": Enum("REAL_TIME"),
        "storeCreatedDate": "2024-05-01T10:00:00-03:00",
        "orderNumber": store_order_id,
        "finalAmount": Decimal("123.50"),
        **fields,
    }


def product(connection: int, store_primary_id: str = "sku-1", **fields: Any) -> dict[str, Any]:
    return {"legacyConnectionId": connection, "storePrimaryId": store_primary_id, "variantName": "Shirt", **fields}


def mutation(name: str, argument: str, records: Any, selection: str, *, ensure_ascii: bool = True) -> str:
    return f"mutation{{{name}({argument}:{literal(records, ensure_ascii=ensure_ascii)}){{{selection}}}}}"


def upsert_order_doc(record: dict[str, Any], **options: Any) -> str:
    return mutation("upsertOrder", "order", record, "id storeOrderId", **options)


def bulk_orders_doc(records: list[dict[str, Any]], name: str = "bulkUpsertOrders", **options: Any) -> str:
    selection = "recordId storeOrderId" if name == "bulkUpsertOrdersAsync" else "id storeOrderId"
    return mutation(name, "orders", records, selection, **options)


def bulk_products_doc(records: list[dict[str, Any]]) -> str:
    return mutation("bulkUpsertProducts", "products", records, "id storePrimaryId")
