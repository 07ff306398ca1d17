from __future__ import annotations

from typing import Any

import requests

from acclient import NO_RETRIES, ActiveCampaign, NoRateLimit
from acclient.sandbox import DEFAULT_TOKEN, BackgroundServer


def client_for(server: BackgroundServer, **options: Any) -> ActiveCampaign:
    options.setdefault("rate_limiter", NoRateLimit())
    options.setdefault("retry_policy", NO_RETRIES)
    options.setdefault("api_token", DEFAULT_TOKEN)
    return ActiveCampaign(api_url=server.url, **options)


def state(server: BackgroundServer, account: str = "sandbox") -> dict[str, list[dict[str, Any]]]:
    return requests.get(server.url + "/__sandbox/state", timeout=5).json()["accounts"].get(account, {})


def request_log(server: BackgroundServer) -> dict[str, Any]:
    return requests.get(server.url + "/__sandbox/requests", timeout=5).json()


def set_faults(server: BackgroundServer, **faults: Any) -> None:
    requests.post(server.url + "/__sandbox/faults", json=faults, timeout=5).raise_for_status()


def make_connection(ac: ActiveCampaign, externalid: str = "mystore") -> dict[str, Any]:
    return ac.connections.create(
        service="vtex",
        externalid=externalid,
        name="My Store",
        logo_url="https://example.com/logo.png",
        link_url="https://example.com",
    )


class CountingLimiter:
    """A limiter that only counts: one ``acquire`` per HTTP attempt."""

    def __init__(self) -> None:
        self.calls = 0

    def acquire(self) -> None:
        self.calls += 1


def offline_client(limiter: CountingLimiter) -> ActiveCampaign:
    """A client for ``responses``-mocked tests: account "acme", no transport retries."""
    return ActiveCampaign(api_token="tok", account="acme", rate_limiter=limiter, retry_policy=NO_RETRIES)
