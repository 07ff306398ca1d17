"""Builders of configuration and VTEX payloads shared by the test packages, and a clock to set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from acsync_core.settings import Settings, parse_stores

SECRETS = {"mystore": "mystore-secret-0123456789", "otherstore": "otherstore-secret-9876543210"}


def store_table(
    name: str,
    *,
    ac_url: str = "http://127.0.0.1:9/",
    vtex_url: str = "http://127.0.0.1:9/",
    connection_id: int = 1,
    **overrides: Any,
) -> dict[str, Any]:
    table: dict[str, Any] = {
        "hook_secret": SECRETS.get(name, f"{name}-secret-0123456789"),
        "store_url": f"https://www.{name}.com",
        "currency": "BRL",
        "abandoned_cart_min_age_minutes": 60,
        "activecampaign": {
            "api_url": ac_url,
            "api_token": "sandbox-token",
            "connection_id": connection_id,
            "requests_per_second": 5,
        },
        "vtex": {"app_key": "vtexappkey-test", "app_token": "vtex-app-token", "api_url": vtex_url},
    }
    table.update(overrides)
    return table


def make_settings(redis_url: str, **stores: dict[str, Any]) -> Settings:
    tables = stores or {"mystore": store_table("mystore"), "otherstore": store_table("otherstore")}
    return Settings(stores=parse_stores({"stores": tables}, {}), redis_url=redis_url, max_body_bytes=256 * 1024)


def order_hook(
    order_id: str = "1234567890123-01",
    state: str = "payment-approved",
    last_change: str = "2026-11-27T13:30:00.1234567Z",
    account: str = "mystore",
) -> dict[str, Any]:
    return {
        "Domain": "Marketplace",
        "OrderId": order_id,
        "State": state,
        "LastState": "payment-pending",
        "LastChange": last_change,
        "CurrentChange": last_change,
        "Origin": {"Account": account, "Key": "vtexappkey-mystore-ABCDEF"},
    }


def cart_trigger(
    email: str = "ana@example.com",
    cart: str = "add?sku=20&qty=1&seller=1&sku=4&qty=2&seller=1&sc=1",
    value: str = "129.90",
    account: str = "mystore",
) -> dict[str, Any]:
    return {
        "rclastcart": cart,
        "rclastcartvalue": value,
        "rclastsession": "s-1",
        "rclastsessiondate": "2026-11-27T12:00:00.1234567Z",
        "email": email,
        "userId": "u-1",
        "firstName": "Ana",
        "lastName": "Silva",
        "localeDefault": "pt-BR",
        "id": "cl-1",
        "accountId": "acc-1",
        "accountName": account,
        "dataEntityId": "CL",
        "createdBy": "{!createdBy}",
        "createdIn": "",
        "updatedBy": "x",
        "updatedIn": "2026-11-27T12:01:00.1234567Z",
        "lastInteractionBy": "x",
        "lastInteractionIn": "2026-11-27T12:01:00.1234567Z",
    }


def customer_trigger(email: str = "bo@example.com", updated: str = "2026-11-27T12:00:00Z") -> dict[str, Any]:
    return {
        "email": email,
        "firstName": "Bo",
        "lastName": "Souza",
        "phone": "+55 11 99999-0000",
        "userId": "u-2",
        "isNewsletterOptIn": "true",
        "id": "cl-2",
        "updatedIn": updated,
        "createdIn": updated,
    }


def spooled_rows(path: Path) -> int:
    """Rows in ingest's spool file, read directly (0 when there is no file yet); errors are raised, not hidden."""
    import sqlite3

    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM spooled_events").fetchone()[0])


class FrozenClock:
    """A stand-in for the ``time`` module of a module that reads ``time.time()`` and takes no clock: set it
    with ``monkeypatch.setattr(workers.dlq, "time", clock)`` and move ``clock.now`` instead of waiting."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now
