"""Dedupe keys: the identity of a VTEX event, hashed so that no e-mail ends up in a Redis key name."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def dedupe_key(kind: str, store: str, data: dict[str, Any]) -> str:
    if kind == "order":
        # VTEX's own recommendation: OrderId + State + LastChange identify one status change.
        return f"order:{_digest(store, data['OrderId'], data['State'], data.get('LastChange', ''))}"
    if kind == "cart":
        # A trigger fires once per session change: the same cart arrives many times.
        return f"cart:{_digest(store, data['email'].lower(), data['rclastcart'])}"
    if kind == "customer":
        updated = data.get("updatedIn")
        if updated:
            return f"customer:{_digest(store, data['email'].lower(), updated)}"
        canonical = json.dumps(data, sort_keys=True, default=str)
        return f"customer:{_digest(store, data['email'].lower(), canonical)}"
    raise ValueError(f"unknown event kind {kind!r}")
