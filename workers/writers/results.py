"""What a writer step says about each write it was handed (the account writer acts on it)."""

from __future__ import annotations

from dataclasses import dataclass

from workers.outbox import Claimed


@dataclass(frozen=True)
class Landed:
    """ActiveCampaign has the write; ``outcome`` names what happened (metrics, stats)."""

    claimed: Claimed
    outcome: str
    ac_id: str | None = None


@dataclass(frozen=True)
class Rejected:
    """ActiveCampaign refused this record for good (its reason is in ``error``): the DLQ, alone."""

    claimed: Claimed
    reason: str
    error: str


@dataclass(frozen=True)
class Failed:
    """The attempt failed (``error`` decides: retry with backoff, or the DLQ)."""

    claimed: Claimed
    error: BaseException


@dataclass(frozen=True)
class Deferred:
    """Not a failure: send it again in ``delay`` seconds without counting an attempt (a budget is spent)."""

    claimed: Claimed
    delay: float
    reason: str


Result = Landed | Rejected | Failed | Deferred
