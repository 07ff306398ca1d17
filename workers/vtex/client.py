"""VTEX client: the order, the customer behind a masked e-mail, SKUs and cart prices.

App key/token headers, explicit timeouts, typed errors that say whether a retry can help, and
Retry-After from 429s (VTEX asks for a one-minute backoff when it sends none).

Requests go through ``acclient.Transport`` (the pooled session and timeouts the ActiveCampaign client
uses) without its retries: callers (the pipeline's Celery retries, the backfill) decide when to try
again. The errors derive from ``acclient.HTTPAPIError``, the base ``acclient.ACError`` shares.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests
from requests.utils import get_encoding_from_headers

from acclient import NO_RETRIES, HTTPAPIError, Transport, TransportError, parse_retry_after

DEFAULT_429_BACKOFF = 60.0


class VTEXError(HTTPAPIError):
    """A VTEX call failed; ``str()`` is the message (it names the request), ``method``/``path`` the request."""

    def __init__(self, message: str, *, status: int | None = None, method: str = "", path: str = "") -> None:
        super().__init__(message, status=status, method=method, path=path)


class VTEXNotFound(VTEXError):
    pass


class VTEXAuthError(VTEXError):
    pass


class VTEXRateLimited(VTEXError):
    retryable = True
    retry_after: float  # always set: VTEX's Retry-After, else DEFAULT_429_BACKOFF

    def __init__(
        self, message: str, *, retry_after: float, status: int = 429, method: str = "", path: str = ""
    ) -> None:
        super().__init__(message, status=status, method=method, path=path)
        self.retry_after = retry_after


class VTEXServerError(VTEXError):
    retryable = True


class VTEXTransportError(VTEXError):
    retryable = True


class VTEXClient:
    def __init__(
        self,
        *,
        api_url: str,
        app_key: str,
        app_token: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        session: requests.Session | None = None,
        transport: Transport | None = None,
    ) -> None:
        """``transport`` replaces the one built from the timeouts and ``session`` (it should not retry)."""
        self.api_url = api_url.rstrip("/")
        self._headers = {
            "X-VTEX-API-AppKey": app_key,
            "X-VTEX-API-AppToken": app_token,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self.transport = transport or Transport(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry_policy=NO_RETRIES,
            pool_size=10,
            session=session,
        )

    @property
    def session(self) -> requests.Session:
        return self.transport.session

    @property
    def timeout(self) -> tuple[float, float]:
        return self.transport.timeout

    def __repr__(self) -> str:
        return f"VTEXClient(api_url={self.api_url!r})"

    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """The answer's JSON value (None for an empty body); the typed methods below declare the shape
        each endpoint answers with, which callers read field by field."""
        where: dict[str, Any] = {"method": method, "path": path}
        data = None
        if body is not None:
            try:
                data = json.dumps(body, allow_nan=False).encode("utf-8")  # the bytes requests' json= sends
            except ValueError as exc:  # NaN or a cycle: requests' json= raised InvalidJSONError
                refused = requests.exceptions.InvalidJSONError(exc)
                raise VTEXTransportError(f"{method} {path}: {type(refused).__name__}", **where) from refused
        try:
            response = self.transport.request(
                method, self.api_url + path, headers=self._headers, params=params, data=data
            )
        except TransportError as exc:
            cause = exc.__cause__ or exc  # the requests exception the transport wrapped
            raise VTEXTransportError(f"{method} {path}: {type(cause).__name__}", **where) from cause
        status = response.status
        if status == 429 or (status == 503 and response.headers.get("Retry-After")):
            wait = parse_retry_after(response.headers.get("Retry-After"))
            raise VTEXRateLimited(
                f"{method} {path}: rate limited", retry_after=wait or DEFAULT_429_BACKOFF, status=status, **where
            )
        if status == 404:
            raise VTEXNotFound(f"{method} {path}: not found", status=status, **where)
        if status in (401, 403):
            raise VTEXAuthError(f"{method} {path}: app key/token refused", status=status, **where)
        if status >= 500:
            raise VTEXServerError(f"{method} {path}: HTTP {status}", status=status, **where)
        if status >= 400:
            raise VTEXError(f"{method} {path}: HTTP {status}", status=status, **where)
        if not response.body:
            return None
        try:
            return _json(response.body, response.headers)
        except ValueError:
            raise VTEXServerError(f"{method} {path}: response is not JSON", status=status, **where) from None

    def get_order(self, order_id: str) -> dict[str, Any]:
        order: dict[str, Any] = self._request("GET", f"/api/oms/pvt/orders/{quote(order_id, safe='')}")
        return order

    def find_customer(self, user_id: str) -> dict[str, Any] | None:
        """The CL (customer) record of a profile id: where the real e-mail of a masked order lives."""
        rows = self._request(
            "GET",
            "/api/dataentities/CL/search",
            params={"userId": user_id, "_fields": "email,firstName,lastName,isNewsletterOptIn"},
        )
        return rows[0] if isinstance(rows, list) and rows else None

    def conversation(self, order_id: str) -> list[dict[str, Any]]:
        rows = self._request("GET", f"/api/oms/pvt/orders/{quote(order_id, safe='')}/conversation-message")
        return rows if isinstance(rows, list) else []

    def get_sku(self, sku_id: str) -> dict[str, Any]:
        sku: dict[str, Any] = self._request(
            "GET", f"/api/catalog_system/pvt/sku/stockkeepingunitbyid/{quote(sku_id, safe='')}"
        )
        return sku

    def simulate(self, items: list[dict[str, Any]], sales_channel: str | None = None) -> dict[str, Any]:
        """Checkout simulation: current prices in cents, promotions applied."""
        params = {"sc": sales_channel} if sales_channel else None
        simulation: dict[str, Any] = self._request(
            "POST", "/api/checkout/pub/orderForms/simulation", params=params, body={"items": items}
        )
        return simulation

    # ------------------------------------------------------------------ operations
    def get_hook_config(self) -> dict[str, Any] | None:
        try:
            config: dict[str, Any] | None = self._request("GET", "/api/orders/hook/config")
        except VTEXNotFound:
            return None
        return config

    def set_hook_config(self, config: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self._request("POST", "/api/orders/hook/config", body=config)
        return answer

    def list_orders(self, *, created_from: str, created_to: str, page: int = 1, per_page: int = 100) -> dict[str, Any]:
        """OMS order list filtered by creation date (ISO 8601 bounds), one page."""
        orders: dict[str, Any] = self._request(
            "GET",
            "/api/oms/pvt/orders",
            params={
                "f_creationDate": f"creationDate:[{created_from} TO {created_to}]",
                "page": page,
                "per_page": per_page,
                "orderBy": "creationDate,asc",
            },
        )
        return orders


def _json(body: bytes, headers: Mapping[str, str]) -> Any:
    """A body's JSON value, decoded as ``requests.Response.json`` does.

    With a charset from Content-Type (``utf-8`` for application/json) the text is decoded with it,
    undecodable bytes replaced; without one, json detects UTF-8/16/32. Failures raise ValueError.
    """
    charset = get_encoding_from_headers(headers)
    if not charset:
        return json.loads(body)
    try:
        text = str(body, charset, errors="replace")
    except (LookupError, TypeError):
        text = str(body, errors="replace")
    return json.loads(text)
