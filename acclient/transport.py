"""HTTP transport: pooled connections, explicit timeouts, and safe retries with backoff.

The transport knows nothing about ActiveCampaign's payloads. It sends bytes, returns status, headers
and body, and retries only when a retry cannot duplicate a write:

* the connection could not be opened (the server never saw the request): any method;
* 429, or 503 with Retry-After (the request was refused, not processed): any method, after waiting
  Retry-After when it is short enough; a longer wait is surfaced to the caller instead of slept;
* read timeouts and other 5xx: only idempotent methods (GET, PUT, DELETE).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from acclient.errors import TransportError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class HTTPResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long the transport itself retries (Celery retries on top of it)."""

    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_after: float = 10.0  # a longer Retry-After is raised to the caller, not slept

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter (AWS architecture blog's "full jitter")."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * (2**attempt)))


NO_RETRIES = RetryPolicy(max_retries=0)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now())


class Transport:
    """A pooled ``requests.Session`` with connect/read timeouts and a retry policy.

    Not tied to ActiveCampaign: any HTTP client can send through it (a client whose callers retry
    passes ``retry_policy=NO_RETRIES``). A request that did not complete raises ``TransportError`` chained
    ``from`` the ``requests`` exception behind it (its ``__cause__``).
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 30.0,
        retry_policy: RetryPolicy = RetryPolicy(),
        pool_size: int = 10,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.retry_policy = retry_policy
        self._sleep = sleep
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> HTTPResponse:
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            if before_attempt is not None:
                before_attempt()
            try:
                response = self._send(method, url, headers, params, data)
            except TransportError as exc:
                if attempt < self.retry_policy.max_retries and (idempotent or not exc.request_sent):
                    self._sleep(self.retry_policy.backoff(attempt))
                    attempt += 1
                    continue
                raise
            delay = self._retry_delay(response, idempotent, attempt)
            if delay is None:
                return response
            self._sleep(delay)
            attempt += 1

    def _retry_delay(self, response: HTTPResponse, idempotent: bool, attempt: int) -> float | None:
        if attempt >= self.retry_policy.max_retries:
            return None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        refused = response.status == 429 or (response.status == 503 and retry_after is not None)
        if refused:
            wait = retry_after if retry_after is not None else self.retry_policy.backoff(attempt)
            return wait if wait <= self.retry_policy.max_retry_after else None
        if response.status >= 500 and idempotent:
            return self.retry_policy.backoff(attempt)
        return None

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None,
        data: bytes | None,
    ) -> HTTPResponse:
        try:
            response = self.session.request(
                method,
                url,
                headers=dict(headers),
                params=params,
                data=data,
                timeout=self.timeout,
                allow_redirects=False,  # a redirected POST turns into a GET (AC WooCommerce changelog)
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise TransportError(f"connect timeout: {exc}", request_sent=False, method=method, path=url) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise TransportError(f"read timeout: {exc}", request_sent=True, method=method, path=url) from exc
        except requests.exceptions.ConnectionError as exc:
            # A refused/unresolvable connection never carried the request; a reset mid-flight might have.
            sent = not _is_connect_failure(exc)
            raise TransportError(f"connection error: {exc}", request_sent=sent, method=method, path=url) from exc
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"request failed: {exc}", request_sent=True, method=method, path=url) from exc
        return HTTPResponse(status=response.status_code, headers=response.headers, body=response.content)


def _is_connect_failure(exc: requests.exceptions.ConnectionError) -> bool:
    text = repr(exc)
    return any(marker in text for marker in ("NewConnectionError", "NameResolutionError", "Connection refused"))
