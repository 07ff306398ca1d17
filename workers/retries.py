"""Which failures are retried, and when: exponential backoff with full jitter, Retry-After honoured."""

from __future__ import annotations

import random
from dataclasses import dataclass

import redis
from celery.exceptions import SoftTimeLimitExceeded

from acclient import DuplicateError, HTTPAPIError
from acsync_core.errors import PermanentEventError, RetryLater
from acsync_core.settings import Settings
from workers.celery_app import MAX_COUNTDOWN_SECONDS
from workers.ratelimit import Throttled


@dataclass(frozen=True)
class RetrySettings:
    base: float = 2.0
    cap: float = float(MAX_COUNTDOWN_SECONDS)
    max_attempts: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> RetrySettings:
        return cls(
            base=settings.retry_base_seconds,
            cap=min(settings.retry_cap_seconds, float(MAX_COUNTDOWN_SECONDS)),
            max_attempts=settings.max_attempts,
        )

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)]; never above the cap (< visibility timeout)."""
        return random.uniform(0, min(self.cap, self.base * (2**attempt)))


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, PermanentEventError | DuplicateError):
        return False
    if isinstance(exc, RetryLater | Throttled | redis.RedisError | SoftTimeLimitExceeded):
        return True  # Redis away for a moment, or a slow attempt cut short, are transient too
    if isinstance(exc, HTTPAPIError):  # ActiveCampaign (ACError) and VTEX (VTEXError) alike
        return exc.retryable
    return False  # a bug or bad data: retrying the same input gives the same result


def server_delay(exc: BaseException) -> float | None:
    """A wait the other side asked for (Retry-After) or the limiter computed."""
    if isinstance(exc, HTTPAPIError):  # set by RateLimitError and VTEXRateLimited, None on other API errors
        return exc.retry_after
    if isinstance(exc, Throttled):
        return exc.retry_in
    if isinstance(exc, RetryLater):
        return exc.delay
    return None


def next_delay(exc: BaseException, attempt: int, settings: RetrySettings) -> float:
    delay = max(settings.backoff(attempt), server_delay(exc) or 0.0)
    return min(delay, float(MAX_COUNTDOWN_SECONDS))


def reason_of(exc: BaseException) -> str:
    """A short, stable name for a failure (metrics label, DLQ reason)."""
    if isinstance(exc, PermanentEventError):
        return exc.reason
    status = getattr(exc, "status", None)
    return f"{exc.__class__.__name__}" + (f"_{status}" if status else "")


@dataclass(frozen=True)
class Decision:
    """What to do with a failed attempt: ``retry`` after ``delay`` seconds, or ``dead`` (the DLQ)."""

    action: str
    delay: float
    reason: str


def decide(exc: BaseException, attempt: int, settings: RetrySettings) -> Decision:
    """The one retry rule: retryable failures back off until ``max_attempts``; anything else is dead at once.

    ``attempt`` counts from 0 (the first try).
    """
    retryable = is_retryable(exc)
    if retryable and attempt + 1 < settings.max_attempts:
        return Decision("retry", next_delay(exc, attempt, settings), reason_of(exc))
    return Decision("dead", 0.0, reason_of(exc) if not retryable else f"retries_exhausted:{reason_of(exc)}")
