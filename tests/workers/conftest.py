"""Fixtures for the pipeline: both sandboxes over loopback, real Redis, and a Runtime wired to them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from acclient.sandbox import DEFAULT_TOKEN, BackgroundServer, SandboxConfig
from acclient.sandbox import create_app as create_ac_sandbox
from acsync_core.events import Event
from tests.factories import make_settings, store_table
from workers.flows.registry import HANDLERS
from workers.retries import RetrySettings
from workers.runtime import Runtime, set_runtime
from workers.vtex.sandbox import VTEXSandboxConfig, make_order
from workers.vtex.sandbox import create_app as create_vtex_sandbox
from workers.writers.account import AccountWriter
from workers.writers.service import build_writer


class Sandboxes:
    def __init__(self, ac: BackgroundServer, vtex: BackgroundServer) -> None:
        self.ac = ac
        self.vtex = vtex
        self.connection_id = 0

    def seed_order(self, order: dict[str, Any]) -> None:
        requests.post(self.vtex.url + "/__sandbox/orders", json=order, timeout=5).raise_for_status()

    def ac_state(self) -> dict[str, list[dict[str, Any]]]:
        return requests.get(self.ac.url + "/__sandbox/state", timeout=5).json()["accounts"].get("sandbox", {})

    def ac_requests(self) -> dict[str, Any]:
        return requests.get(self.ac.url + "/__sandbox/requests", timeout=5).json()

    def orders(self) -> list[dict[str, Any]]:
        return self.ac_state().get("ecomOrders", [])

    def ac_faults(self, **faults: Any) -> None:
        requests.post(self.ac.url + "/__sandbox/faults", json=faults, timeout=5).raise_for_status()

    def vtex_faults(self, **faults: Any) -> None:
        requests.post(self.vtex.url + "/__sandbox/faults", json=faults, timeout=5).raise_for_status()


def ac_post(ac_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the AC sandbox's API with its token; the answer's body (an error status raises)."""
    response = requests.post(ac_url + path, headers={"Api-Token": DEFAULT_TOKEN}, timeout=5, json=body)
    response.raise_for_status()
    return response.json()


def create_connection(ac_url: str, store: str = "mystore", name: str = "My Store") -> int:
    """The store's deep-data connection in the AC sandbox (what ``acsync connections create`` makes): its id."""
    connection = {"service": "vtex", "externalid": store, "name": name, "logoUrl": "https://l", "linkUrl": "https://k"}
    return int(ac_post(ac_url, "/api/3/connections", {"connection": connection})["connection"]["id"])


@pytest.fixture
def sandboxes() -> Iterator[Sandboxes]:
    # the v3 copy of GraphQL orders comes at once here; tests/workers/test_writers.py covers a late copy
    ac = BackgroundServer(
        create_ac_sandbox(SandboxConfig(requests_per_second=20, seed=3, graphql_copy_delay=0.0, bulk_import_delay=0.0))
    ).start()
    vtex = BackgroundServer(create_vtex_sandbox(VTEXSandboxConfig(seed=3))).start()
    boxes = Sandboxes(ac, vtex)
    boxes.connection_id = create_connection(ac.url)
    yield boxes
    ac.stop()
    vtex.stop()


def stores_for(boxes: Sandboxes, **overrides: Any) -> dict[str, Any]:
    return {
        "mystore": store_table(
            "mystore", ac_url=boxes.ac.url, vtex_url=boxes.vtex.url, connection_id=boxes.connection_id, **overrides
        )
    }


def fast_stores(boxes: Sandboxes, **overrides: Any) -> dict[str, Any]:
    """Like stores_for, at the sandbox's 20 requests/second so that tests run quickly."""
    stores = stores_for(boxes, **overrides)
    stores["mystore"]["activecampaign"]["requests_per_second"] = 20
    return stores


@pytest.fixture
def runtime(sandboxes, redis_url) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(make_settings(redis_url, **fast_stores(sandboxes)))
    set_runtime(runtime)
    yield runtime
    set_runtime(None)


TEST_RETRIES = RetrySettings(base=0.01, cap=0.05, max_attempts=4)


def writer_for(runtime: Runtime, store: str = "mystore") -> AccountWriter:
    """The account writer of a store, its customer index loaded (one request)."""
    config = runtime.settings.stores[store]
    writer = build_writer(
        runtime.settings,
        runtime.redis,
        config.ac_account_key,
        [s for s in runtime.settings.stores.values() if s.ac_account_key == config.ac_account_key],
        retry=TEST_RETRIES,
    )
    writer.drain()
    return writer


@pytest.fixture
def writer(runtime) -> AccountWriter:
    return writer_for(runtime)


def handle(runtime: Runtime, event: Event, writer: AccountWriter | None = None) -> str:
    """What a worker does with an event, then (with ``writer``) what the account writer makes of it."""
    ctx = runtime.context(event.store).for_event()
    outcome = HANDLERS[event.kind](event, ctx)
    assert ctx.handoff is not None
    ctx.handoff.commit(runtime.redis, event)
    if writer is None or not ctx.handoff.writes:
        return outcome
    settled = writer.drain(include_future=True, timeout=20).get(event.event_id, {})
    lanes = {"order": ("order", "order_historical"), "cart": ("cart",), "customer": ("contact",)}[event.kind]
    return next((settled[lane] for lane in lanes if lane in settled), outcome)


__all__ = ["Sandboxes", "make_order", "stores_for"]
