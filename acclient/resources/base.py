"""Shared pieces of resource classes: list parameters and auto-pagination."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from acclient.requestor import Requestor, path_id

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page:
    """One page of a list call: the items, AC's total (a string in AC's JSON) and where it started."""

    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return bool(self.items) and self.offset + len(self.items) < self.total


def list_params(
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    ordering: Mapping[str, str] | None = None,
    filters: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Query parameters in AC's conventions: ``limit``, ``offset``, ``orders[f]``, ``filters[f]``."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT} (got {limit!r})")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ValueError(f"offset must be a non-negative integer (got {offset!r})")
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    for field, direction in (ordering or {}).items():
        direction = str(direction).upper()
        if direction not in ("ASC", "DESC"):
            raise ValueError(f"ordering[{field!r}] must be 'ASC' or 'DESC' (got {direction!r})")
        params[f"orders[{field}]"] = direction
    for field, value in (filters or {}).items():
        params[f"filters[{field}]"] = value
    for key, value in (extra or {}).items():
        if value is not None:
            params[key] = value
    return params


class Resource:
    """A collection endpoint such as ``/connections`` whose JSON uses ``connection``/``connections``."""

    path: str
    item_key: str
    list_key: str

    def __init__(self, requestor: Requestor) -> None:
        self._requestor = requestor

    def _item_path(self, resource_id: int | str) -> str:
        return f"{self.path}/{path_id(resource_id)}"

    def _create(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self._requestor.request_object("POST", self.path, self.item_key, body={self.item_key: dict(fields)})

    def retrieve(self, resource_id: int | str) -> dict[str, Any]:
        return self._requestor.request_object("GET", self._item_path(resource_id), self.item_key)

    def _update(self, resource_id: int | str, fields: Mapping[str, Any]) -> dict[str, Any]:
        body = {self.item_key: dict(fields)}
        return self._requestor.request_object("PUT", self._item_path(resource_id), self.item_key, body=body)

    def delete(self, resource_id: int | str) -> None:
        self._requestor.request("DELETE", self._item_path(resource_id))

    def list(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        ordering: Mapping[str, str] | None = None,
        filters: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Page:
        params = list_params(limit=limit, offset=offset, ordering=ordering, filters=filters, extra=extra)
        response = self._requestor.request("GET", self.path, params=params)
        items = response.get(self.list_key) or []
        total = _as_int((response.get("meta") or {}).get("total"), default=offset + len(items))
        return Page(items=list(items), total=total, offset=offset, limit=limit)

    def iterate(
        self,
        *,
        page_size: int = MAX_LIMIT,
        ordering: Mapping[str, str] | None = None,
        filters: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every item across all pages (one request per page, so each costs rate-limit budget)."""
        return paginate(
            lambda offset: self.list(limit=page_size, offset=offset, ordering=ordering, filters=filters, **extra)
        )


def paginate(fetch: Callable[[int], Page]) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        page = fetch(offset)
        yield from page.items
        if not page.has_more:
            return
        offset += len(page.items)


def _as_int(value: Any, *, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def compact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Drop None values: AC treats a sent empty field as "set it to empty"."""
    return {key: value for key, value in fields.items() if value is not None}
