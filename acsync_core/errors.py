"""How the pipeline says an event cannot be processed now, or ever."""

from __future__ import annotations


class PermanentEventError(Exception):
    """Bad data or a refusal that no retry can fix: the event goes to the dead-letter queue."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class RetryLater(Exception):
    """A transient condition: retry after ``delay`` seconds, counting an attempt."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class Defer(Exception):
    """Not an error: the event is not due yet (a young cart); run it again in ``delay`` seconds."""

    def __init__(self, reason: str, delay: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay
