"""The requestor knows ActiveCampaign's conventions: base URL, Api-Token auth, JSON, error mapping."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from acclient.errors import (
    APIError,
    AuthenticationError,
    BulkImportRateLimited,
    DuplicateError,
    ErrorDetail,
    GraphQLError,
    NotFoundError,
    RateLimitError,
    RecordFailure,
    RecordValidationError,
    ServerError,
    TokenLimitError,
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

GRAPHQL_PATH = "/ecom/graphql"
# AC's refusal of a too-large document: "Invalid query: More than 15000 grammar tokens". The number is the
# server's limit; "grammar" is optional so a parser's "more than N tokens" wording is recognised too.
TOKEN_LIMIT = re.compile(r"more than \d+ (?:grammar )?tokens", re.IGNORECASE)


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
        """Send one v3 request and return its JSON object; non-2xx answers raise the errors of ``error_for``."""
        headers = self._headers()
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = encode_json(body)
        response = self._send(method, path, headers=headers, params=params, data=data)
        parsed = _parse_body(response.body)
        if 200 <= response.status < 300:
            if not isinstance(parsed, dict):
                if response.body.strip():
                    raise APIError(
                        "response is not a JSON object", status=response.status, body=parsed, method=method, path=path
                    )
                return {}  # AC answers some DELETEs with an empty body
            return parsed
        log.debug("activecampaign %s %s -> %s", method, path, response.status)
        raise error_for(response, parsed, method=method, path=path)

    def request_object(
        self,
        method: str,
        path: str,
        key: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``request``'s answer's ``key`` member: the object AC wraps one record in (``{"contact": {...}}``)."""
        record: dict[str, Any] = self.request(method, path, params=params, body=body)[key]
        return record

    def graphql(
        self,
        document: str,
        *,
        path: str = GRAPHQL_PATH,
        on_attempt: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """POST a GraphQL document (``Content-Type: application/graphql``) and return the answer's ``data``.

        Through the same rate limiter, observer and transport retries as ``request``; ``on_attempt`` is
        called once per HTTP attempt (after the limiter) so callers can count requests. Errors:

        * a message matching "More than N grammar tokens", whatever the HTTP status: ``TokenLimitError``;
        * "Validation errors" with per-record ``extensions`` (HTTP 200, 400 or 422): ``RecordValidationError``;
        * any other non-2xx status: mapped by ``error_for`` like every v3 call (403 -> AuthenticationError,
          429 -> RateLimitError, 5xx -> ServerError ...);
        * a 2xx answer with ``errors``: ``GraphQLError``; a 2xx answer without a ``data`` object: ``APIError``.
        """
        method = "POST"
        headers = self._headers()
        headers["Content-Type"] = "application/graphql"
        response = self._send(method, path, headers=headers, data=document.encode("utf-8"), on_attempt=on_attempt)
        parsed = _parse_body(response.body)
        common: dict[str, Any] = {"status": response.status, "body": parsed, "method": method, "path": path}
        errors = _graphql_errors(parsed)
        message = ""
        if errors:
            message = "; ".join(str(e.get("message") or "") for e in errors if e.get("message")) or "GraphQL error"
            if any(TOKEN_LIMIT.search(str(e.get("message") or "")) for e in errors):
                raise TokenLimitError(message, errors=errors, **common)
            records = _record_failures(errors)
            if records and (200 <= response.status < 300 or response.status in (400, 422)):
                raise RecordValidationError(message, errors=errors, records=records, **common)
        if not 200 <= response.status < 300:
            log.debug("activecampaign %s %s -> %s", method, path, response.status)
            raise error_for(response, parsed, method=method, path=path)
        if errors:
            raise GraphQLError(message, errors=errors, **common)
        data = parsed.get("data") if isinstance(parsed, dict) else None
        if not isinstance(data, dict):
            raise APIError("GraphQL answer has no data object", **common)
        return data

    def _headers(self) -> dict[str, str]:
        return {"Api-Token": self._api_token, "Accept": "application/json", "User-Agent": USER_AGENT}

    def _send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        on_attempt: Callable[[], None] | None = None,
    ) -> HTTPResponse:
        before_attempt = self.rate_limiter.acquire
        if on_attempt is not None:
            acquire = self.rate_limiter.acquire

            def before_attempt() -> None:
                acquire()
                on_attempt()

        started = time.monotonic()
        try:
            response = self.transport.request(
                method,
                self.base_url + path,
                headers=headers,
                params=params,
                data=data,
                before_attempt=before_attempt,
            )
        except TransportError:
            self._observe(method, path, None, started)
            raise
        self._observe(method, path, response.status, started)
        feedback = getattr(self.rate_limiter, "observe", None)
        if feedback is not None:  # an adaptive limiter (see ``acclient.ratelimit.AdaptiveRateLimiter``)
            feedback(response.status, response.headers)
        return response

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
    if status == 400 and _is_import_rate_limit(parsed):
        return BulkImportRateLimited(message, retry_after=retry_after, **common)
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


def _is_import_rate_limit(parsed: Any) -> bool:
    # /import/bulk_import answers its per-minute limit with HTTP 400 "Rate limit exceeded.", not 429.
    return isinstance(parsed, dict) and str(parsed.get("message") or "").strip().lower() == "rate limit exceeded."


def _error_details(parsed: Any) -> list[ErrorDetail]:
    if not isinstance(parsed, dict):
        return []
    if isinstance(parsed.get("errors"), list):
        return [ErrorDetail.from_json(item) for item in parsed["errors"]]
    if isinstance(parsed.get("failureReasons"), list):  # /import/bulk_import
        return [_failure_reason(item) for item in parsed["failureReasons"]]
    return []


def _failure_reason(raw: Any) -> ErrorDetail:
    """``{"contact": 3, "failureReason": "Field 'email' incorrect format"}`` or a plain string."""
    if isinstance(raw, dict):
        reason = str(raw.get("failureReason") or raw.get("reason") or raw)
        if raw.get("contact") is not None:
            return ErrorDetail(title=f"contact {raw['contact']}: {reason}", pointer=f"/contacts/{raw['contact']}")
        return ErrorDetail(title=reason)
    return ErrorDetail(title=str(raw))


def _error_message(parsed: Any, details: list[ErrorDetail]) -> str:
    if isinstance(parsed, dict) and isinstance(parsed.get("failureReasons"), list):
        reasons = "; ".join(d.title for d in details if d.title)
        head = str(parsed.get("message") or "bulk import refused")
        return f"{head} ({reasons})" if reasons else head
    if details:
        return "; ".join(d.title or d.code for d in details if d.title or d.code)
    if isinstance(parsed, dict):
        for key in ("message", "error"):
            value = parsed.get(key)
            if isinstance(value, str):
                return value
            title = value.get("title") if isinstance(value, dict) else None
            if isinstance(title, str):
                return title
    if isinstance(parsed, str):
        return parsed[:200]
    return ""


def _graphql_errors(parsed: Any) -> list[dict[str, Any]] | None:
    """The ``errors`` list of a GraphQL answer (entries that are not objects wrapped as messages), or None."""
    if not isinstance(parsed, dict) or not isinstance(parsed.get("errors"), list) or not parsed["errors"]:
        return None
    return [e if isinstance(e, dict) else {"message": str(e)} for e in parsed["errors"]]


def _record_failures(errors: list[dict[str, Any]]) -> list[RecordFailure]:
    """Per-record failures of every "Validation errors" entry, keyed ``<index>-<field>-<id>`` in ``extensions``.

    Split with maxsplit=2: the id is everything after the second '-', so VTEX ids such as ``v123-01`` survive.
    """
    failures: list[RecordFailure] = []
    for error in errors:
        extensions = error.get("extensions")
        if str(error.get("message") or "").strip().lower() != "validation errors" or not isinstance(extensions, dict):
            continue
        for raw_key, reason in extensions.items():
            text = _reason_text(reason)
            parts = str(raw_key).split("-", 2)
            if len(parts) == 3 and parts[0].isdigit() and parts[1] and parts[2]:
                failures.append(RecordFailure(index=int(parts[0]), field=parts[1], key=parts[2], reason=text))
            else:
                failures.append(RecordFailure(index=None, field="", key=str(raw_key), reason=text))
    return failures


def _reason_text(reason: Any) -> str:
    if isinstance(reason, str):
        return reason
    if isinstance(reason, list):
        return "; ".join(_reason_text(item) for item in reason)
    return json.dumps(reason, ensure_ascii=False, default=str)


def encode_json(body: Mapping[str, Any]) -> bytes:
    """The exact bytes ``request`` sends for a JSON body (so callers can check AC's size limits)."""
    return json.dumps(body, separators=(",", ":")).encode()


def path_id(value: int | str) -> str:
    """Quote an id for use in a URL path (ids come from config and payloads)."""
    return quote(str(value), safe="")
