"""The requestor knows ActiveCampaign's conventions: base URL, Api-Token auth, JSON, error mapping."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from acclient.errors import (
    APIError,
    AuthenticationError,
    DuplicateError,
    ErrorDetail,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from acclient.ratelimit import IntervalRateLimiter, RateLimiter
from acclient.transport import HTTPResponse, Transport, parse_retry_after

log = logging.getLogger("acclient")

# Called after every request with (method, path, status or None on transport failure, seconds):
# metrics and call counting hook in here without the library knowing about them.
RequestObserver = Callable[[str, str, int | None, float], None]

USER_AGENT = "acclient/1.0 (+https://github.com/acsync)"


def resolve_api_url(api_url: str | None, account: str | None) -> str:
    """The full API URL from Settings -> Developer; ``{account}.api-us1.com`` only as a fallback.

    ActiveCampaign warns that api-us1.com is not guaranteed for every account, so the URL is the
    primary setting. A trailing ``/api/3`` is accepted and stripped.
    """
    if api_url:
        url = api_url.strip().rstrip("/")
        if url.endswith("/api/3"):
            url = url[: -len("/api/3")]
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"api_url must start with https:// (got {api_url!r})")
        return url
    if account:
        return f"https://{account.strip()}.api-us1.com"
    raise ValueError("either api_url or account is required")


class Requestor:
    def __init__(
        self,
        *,
        api_url: str,
        api_token: str,
        transport: Transport | None = None,
        rate_limiter: RateLimiter | None = None,
        observer: RequestObserver | None = None,
    ) -> None:
        if not api_token:
            raise ValueError("api_token is required")
        self.base_url = api_url.rstrip("/") + "/api/3"
        self._api_token = api_token
        self.transport = transport or Transport()
        self.rate_limiter: RateLimiter = rate_limiter or IntervalRateLimiter(5.0)
        self.observer = observer

    def __repr__(self) -> str:  # never show the token
        return f"Requestor(base_url={self.base_url!r}, api_token='***')"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        headers = {
            "Api-Token": self._api_token,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body, separators=(",", ":")).encode()
        started = time.monotonic()
        try:
            response = self.transport.request(
                method,
                self.base_url + path,
                headers=headers,
                params=params,
                data=data,
                before_attempt=self.rate_limiter.acquire,
            )
        except TransportError:
            self._observe(method, path, None, started)
            raise
        self._observe(method, path, response.status, started)
        parsed = _parse_body(response.body)
        if 200 <= response.status < 300:
            if not isinstance(parsed, dict):
                if response.body.strip():
                    raise APIError("response is not a JSON object", status=response.status, body=parsed,
                                   method=method, path=path)
                return {}  # AC answers some DELETEs with an empty body
            return parsed
        log.debug("activecampaign %s %s -> %s", method, path, response.status)
        raise error_for(response, parsed, method=method, path=path)


    def _observe(self, method: str, path: str, status: int | None, started: float) -> None:
        if self.observer is not None:
            self.observer(method, path, status, time.monotonic() - started)


def error_for(response: HTTPResponse, parsed: Any, *, method: str, path: str) -> APIError:
    status = response.status
    details = _error_details(parsed)
    message = _error_message(parsed, details) or f"HTTP {status}"
    common: dict[str, Any] = {"status": status, "body": parsed, "method": method, "path": path}
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status in (401, 403):
        return AuthenticationError(message, **common)
    if status == 404:
        return NotFoundError(message, **common)
    if status == 429 or (status == 503 and retry_after is not None):
        return RateLimitError(message, retry_after=retry_after, **common)
    if status in (400, 422):
        if any(_is_duplicate(detail) for detail in details):
            return DuplicateError(message, errors=details, **common)
        return ValidationError(message, errors=details, **common)
    if status >= 500:
        return ServerError(message, **common)
    return APIError(message, **common)


def _is_duplicate(detail: ErrorDetail) -> bool:
    # AC's documented code is "duplicate"; the title text is the fallback for older endpoints.
    return detail.code.lower() == "duplicate" or "already exists" in detail.title.lower()


def _parse_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body[:500].decode("utf-8", "replace")  # HTML error pages from proxies


def _error_details(parsed: Any) -> list[ErrorDetail]:
    if isinstance(parsed, dict) and isinstance(parsed.get("errors"), list):
        return [ErrorDetail.from_json(item) for item in parsed["errors"]]
    return []


def _error_message(parsed: Any, details: list[ErrorDetail]) -> str:
    if details:
        return "; ".join(d.title or d.code for d in details if d.title or d.code)
    if isinstance(parsed, dict):
        for key in ("message", "error"):
            value = parsed.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, dict) and isinstance(value.get("title"), str):
                return value["title"]
    if isinstance(parsed, str):
        return parsed[:200]
    return ""


def path_id(value: int | str) -> str:
    """Quote an id for use in a URL path (ids come from config and payloads)."""
    return quote(str(value), safe="")
