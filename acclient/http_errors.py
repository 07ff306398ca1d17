"""The base of every HTTP API client's errors: what failed, and whether (and when) to try again.

``acclient.ACError`` derives from it, and so can the errors of other HTTP clients built on
``acclient.Transport``, so a caller (a Celery task's retry rule) can treat every API failure alike:

* ``status``: the HTTP status, or None when no answer came (connection failure, timeout);
* ``retryable``: whether repeating the same request can succeed;
* ``retry_after``: the seconds the server asked to wait (Retry-After), None when it asked for nothing;
* ``method`` and ``path``: the request that failed ("" when not known).
"""

from __future__ import annotations


class HTTPAPIError(Exception):
    """An HTTP API call failed; subclasses set ``retryable`` and, for rate limits, ``retry_after``."""

    retryable: bool = False
    retry_after: float | None = None

    def __init__(self, message: str, *, status: int | None = None, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path
