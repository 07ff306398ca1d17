"""The VTEX sandbox's configuration, its records (``VTEXState``) and what its blueprints share (``VTEXSandbox``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from acclient.sandbox.faults import FaultInjector, Faults

DEFAULT_APP_KEY = "vtexappkey-test"
DEFAULT_APP_TOKEN = "vtex-app-token"  # noqa: S105 - the sandbox's well-known test token


@dataclass
class VTEXSandboxConfig:
    account: str = "mystore"
    app_key: str = DEFAULT_APP_KEY
    app_token: str = DEFAULT_APP_TOKEN
    faults: Faults = field(default_factory=Faults)
    seed: int | None = None


class VTEXState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget everything but the lock, which the caller holds."""
        self.orders: dict[str, dict[str, Any]] = {}
        self.customers: list[dict[str, Any]] = []
        self.conversations: dict[str, list[dict[str, Any]]] = {}
        self.skus: dict[str, dict[str, Any]] = {}
        self.prices: dict[str, int] = {}
        self.hook_config: dict[str, Any] | None = None
        self.requests: dict[str, int] = {}


@dataclass
class VTEXSandbox:
    """One sandbox app's records, configuration and fault injector: what every blueprint of it reaches."""

    state: VTEXState
    config: VTEXSandboxConfig
    faults: FaultInjector
