"""Typed exceptions for ActiveCampaign API failures.

Every error says whether retrying the same request can succeed (`retryable`), so callers such as
Celery tasks can decide between a backoff and the dead-letter queue without parsing status codes.
``ACError`` derives from ``acclient.http_errors.HTTPAPIError``, the base shared with other HTTP clients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from acclient.http_errors import HTTPAPIError


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of ActiveCampaign's JSON:API-like ``errors[]`` list."""

    title: str
    detail: str = ""
    code: str = ""
    pointer: str = ""

    @classmethod
    def from_json(cls, raw: Any) -> ErrorDetail:
        if not isinstance(raw, dict):
            return cls(title=str(raw))
        source = raw.get("source")
        if not isinstance(source, dict):
            source = {}
        return cls(
            title=str(raw.get("title") or raw.get("message") or ""),  # GraphQL errors carry "message"
            detail=str(raw.get("detail") or ""),
            code=str(raw.get("code") or ""),
            pointer=str(source.get("pointer") or ""),
        )


class ACError(HTTPAPIError):
    """Base class of every error raised by acclient.

    ``partial`` is set by calls that send several requests (``ecom_graphql.bulk_upsert_*``) when they
    fail part-way: a ``BulkResult`` of the records that had already landed or failed, None otherwise.
    """

    partial: Any = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message, status=status, method=method, path=path)
        self.message = message
        self.body = body

    def __str__(self) -> str:
        where = f" ({self.method} {self.path})" if self.method else ""
        status = f"[{self.status}] " if self.status is not None else ""
        return f"{status}{self.message}{where}"


class TransportError(ACError):
    """The request did not complete: connection refused or reset, DNS failure, timeout."""

    retryable = True

    def __init__(self, message: str, *, request_sent: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        # False when the connection could not even be opened: the server never saw the request,
        # so repeating a POST cannot create a duplicate.
        self.request_sent = request_sent


class APIError(ACError):
    """ActiveCampaign answered with an unexpected status."""


class AuthenticationError(APIError):
    """401/403: the Api-Token is missing, wrong, or lacks permission."""


class NotFoundError(APIError):
    """404: the resource does not exist."""


class ValidationError(APIError):
    """422 (or 400): ActiveCampaign rejected the payload; ``errors`` carries AC's details."""

    def __init__(self, message: str, *, errors: list[ErrorDetail] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors: list[ErrorDetail] = errors or []


class DuplicateError(ValidationError):
    """422 whose error code says the record already exists (adopt it instead of creating it)."""


class RateLimitError(APIError):
    """429, or 503 with Retry-After: the per-account budget is spent; wait ``retry_after`` seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx without Retry-After: an ActiveCampaign-side fault, usually transient."""

    retryable = True


class BulkImportRateLimited(RateLimitError):
    """HTTP 400 "Rate limit exceeded." from ``/import/bulk_import`` (AC's per-minute import budget, not a 429).

    ``retry_after`` is AC's Retry-After when given, else 60 seconds: the budget is counted per minute.
    """

    DEFAULT_RETRY_AFTER = 60.0

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(
            message, retry_after=self.DEFAULT_RETRY_AFTER if retry_after is None else retry_after, **kwargs
        )


class GraphQLError(APIError):
    """A GraphQL answer carrying ``errors``; ``errors`` is AC's list as sent (dicts with ``message``...)."""

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors: list[dict[str, Any]] = errors or []


@dataclass(frozen=True)
class RecordFailure:
    """One entry of a "Validation errors" answer's ``extensions``: ``<index>-<field>-<key>`` -> reason.

    ``index`` (position in the request) and ``field`` are None/"" when the extension key does not have
    that form; ``key`` is then the raw extension key.
    """

    index: int | None
    field: str
    key: str
    reason: str


class RecordValidationError(GraphQLError):
    """AC refused some records of a mutation ("Validation errors"); none of that call's records was applied.

    ``failures`` maps each refused record's id (storeOrderId / storePrimaryId) to AC's reason;
    ``records`` keeps the parsed entries with their request index.
    """

    def __init__(self, message: str, *, records: list[RecordFailure] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.records: list[RecordFailure] = records or []
        self.failures: dict[str, str] = {record.key: record.reason for record in self.records}


class TokenLimitError(GraphQLError):
    """AC refused the document as too large ("More than 15000 grammar tokens"): send fewer records per call."""
