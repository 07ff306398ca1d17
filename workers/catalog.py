"""The SKU catalog: what a cart line shows of a SKU, cached in Redis so a cart costs few VTEX calls.

Contract:

* key ``acsync:sku:<store>:<sku>`` (one per store and SKU id), a JSON object with ``name`` and, for a SKU
  VTEX knows, ``image_url`` (full-size), ``product_url`` (absolute) and ``category`` (the leaf category);
* a SKU VTEX does not have (404) is cached too, as ``{"name": "SKU <id>"}``, so it is not asked again;
* every entry lives ``SKU_CACHE_TTL`` (1 day) from when it was fetched: a renamed product or a new image
  shows in carts within a day. Nothing else invalidates it; other VTEX errors are raised, not cached.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from acsync_core.settings import StoreConfig
from workers.mapping import absolute_url, clean_text, full_size_image
from workers.vtex import VTEXClient, VTEXNotFound

SKU_CACHE_TTL = 24 * 3600


class SkuCatalog:
    """One store's SKU details: from the Redis cache, else from VTEX (then cached for ``SKU_CACHE_TTL``)."""

    def __init__(self, client: redis.Redis, vtex: VTEXClient, store: StoreConfig) -> None:
        self.client = client
        self.vtex = vtex
        self.store = store

    def key(self, sku_id: str) -> str:
        return f"acsync:sku:{self.store.name}:{sku_id}"

    def details(self, sku_id: str) -> dict[str, Any]:
        key = self.key(sku_id)
        cached = self.client.get(key)
        if cached:
            known: dict[str, Any] = json.loads(cached)  # written below
            return known
        try:
            sku = self.vtex.get_sku(sku_id)
        except VTEXNotFound:
            details: dict[str, str | None] = {"name": f"SKU {sku_id}"}
        else:
            images = sku.get("Images") or []
            categories = list((sku.get("ProductCategories") or {}).values())
            details = {
                "name": clean_text(sku.get("NameComplete") or sku.get("ProductName")) or f"SKU {sku_id}",
                "image_url": full_size_image(images[0].get("ImageUrl") if images else sku.get("ImageUrl")),
                "product_url": absolute_url(self.store.store_url, sku.get("DetailUrl")),
                "category": clean_text(categories[-1]) if categories else None,
            }
        self.client.set(key, json.dumps(details), ex=SKU_CACHE_TTL)
        return details
