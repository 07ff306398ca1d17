"""VTEX client: the order, the customer behind a masked e-mail, SKUs and cart prices.

App key/token headers, explicit timeouts, typed errors that say whether a retry can help, and
Retry-After from 429s (VTEX asks for a one-minute backoff when it sends none).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from acclient.transport import parse_retry_after

DEFAULT_429_BACKOFF = 60.0


class VTEXError(Exception):
    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class VTEXNotFound(VTEXError):
    pass


class VTEXAuthError(VTEXError):
    pass


class VTEXRateLimited(VTEXError):
    retryable = True

    def __init__(self, message: str, *, retry_after: float, status: int = 429) -> None:
        super().__init__(message, status=status)
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
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._headers = {
            "X-VTEX-API-AppKey": app_key,
            "X-VTEX-API-AppToken": app_token,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or requests.Session()
        self.session.mount("http://", HTTPAdapter(pool_maxsize=10, max_retries=0))
        self.session.mount("https://", HTTPAdapter(pool_maxsize=10, max_retries=0))

    def __repr__(self) -> str:
        return f"VTEXClient(api_url={self.api_url!r})"

    def _request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        try:
            response = self.session.request(
                method,
                self.api_url + path,
                headers=self._headers,
                params=params,
                json=body,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise VTEXTransportError(f"{method} {path}: {exc.__class__.__name__}") from exc
        status = response.status_code
        if status == 429 or (status == 503 and response.headers.get("Retry-After")):
            wait = parse_retry_after(response.headers.get("Retry-After"))
            raise VTEXRateLimited(
                f"{method} {path}: rate limited", retry_after=wait or DEFAULT_429_BACKOFF, status=status
            )
        if status == 404:
            raise VTEXNotFound(f"{method} {path}: not found", status=status)
        if status in (401, 403):
            raise VTEXAuthError(f"{method} {path}: app key/token refused", status=status)
        if status >= 500:
            raise VTEXServerError(f"{method} {path}: HTTP {status}", status=status)
        if status >= 400:
            raise VTEXError(f"{method} {path}: HTTP {status}", status=status)
        try:
            return response.json() if response.content else None
        except ValueError:
            raise VTEXServerError(f"{method} {path}: response is not JSON", status=status) from None

    def get_order(self, order_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/oms/pvt/orders/{quote(order_id, safe='')}")

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
        return self._request("GET", f"/api/catalog_system/pvt/sku/stockkeepingunitbyid/{quote(sku_id, safe='')}")

    def simulate(self, items: list[dict[str, Any]], sales_channel: str | None = None) -> dict[str, Any]:
        """Checkout simulation: current prices in cents, promotions applied."""
        params = {"sc": sales_channel} if sales_channel else None
        return self._request("POST", "/api/checkout/pub/orderForms/simulation", params=params, body={"items": items})

    # ------------------------------------------------------------------ operations
    def get_hook_config(self) -> dict[str, Any] | None:
        try:
            return self._request("GET", "/api/orders/hook/config")
        except VTEXNotFound:
            return None

    def set_hook_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/api/orders/hook/config", body=config)

    def list_orders(self, *, created_from: str, created_to: str, page: int = 1, per_page: int = 100) -> dict[str, Any]:
        """OMS order list filtered by creation date (ISO 8601 bounds), one page."""
        return self._request(
            "GET",
            "/api/oms/pvt/orders",
            params={
                "f_creationDate": f"creationDate:[{created_from} TO {created_to}]",
                "page": page,
                "per_page": per_page,
                "orderBy": "creationDate,asc",
            },
        )
