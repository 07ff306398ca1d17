"""Typed exceptions for ActiveCampaign API failures.

Every error says whether retrying the same request can succeed (`retryable`), so callers such as
Celery tasks can decide between a backoff and the dead-letter queue without parsing status codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
        source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
        return cls(
            title=str(raw.get("title") or ""),
            detail=str(raw.get("detail") or ""),
            code=str(raw.get("code") or ""),
            pointer=str(source.get("pointer") or ""),
        )


class ACError(Exception):
    """Base class of every error raised by acclient."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.method = method
        self.path = path

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
