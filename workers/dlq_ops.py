"""Operations on the dead-letter queue shared by ``acsync dlq`` and the console (console/dlqview.py).

Filters by age ("30m", "2h", "1d"), the entries a filter selects, and the replay loop: each entry's
push and mark in one transaction (``DeadLetterQueue.replay``), stopping at the first Redis error so
that the entries not reached stay dead and listed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import redis

from acsync_core.publish import TaskPublisher
from workers.dlq import DeadLetterQueue, DLQFilter

AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
AGE_HELP = "use a number and s, m, h or d, e.g. 30m or 2d"


def parse_age(value: str | None) -> float | None:
    """Seconds in "30s", "30m", "2h" or "1d"; ``None`` stays ``None``. Raises ValueError otherwise."""
    if value is None:
        return None
    match = re.fullmatch(r"(\d+)([smhd])", value.strip())
    if not match:
        raise ValueError(AGE_HELP)
    return int(match.group(1)) * AGE_UNITS[match.group(2)]


def make_filter(store: str | None, kind: str | None, older_than: str | None, newer_than: str | None) -> DLQFilter:
    """The filter of ``acsync dlq``'s options; raises ValueError for an age :func:`parse_age` refuses."""
    return DLQFilter(store=store, kind=kind, older_than=parse_age(older_than), newer_than=parse_age(newer_than))


def matching_ids(dlq: DeadLetterQueue, filters: DLQFilter | None) -> list[str]:
    """The ids of every dead entry matching ``filters``, newest first."""
    return [e["entry_id"] for e in dlq.list(filters, None)]


@dataclass
class ReplayResult:
    replayed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # no longer dead (replayed or purged meanwhile)
    failed: list[str] = field(default_factory=list)  # not replayed because Redis failed: still dead and listed
    error: str = ""  # the Redis error's class name (what the console shows)
    detail: str = ""  # "<class name>: <message>" (what acsync dlq replay reports)


def replay(
    dlq: DeadLetterQueue, publisher: TaskPublisher, entry_ids: Sequence[str], *, by: str | None = None
) -> ReplayResult:
    """Replay each entry in turn: its push and mark in one transaction; stop at a Redis error.
    ``by`` (the operator) goes on each event's trail step ``replayed``."""
    result = ReplayResult()
    for index, entry_id in enumerate(entry_ids):
        try:
            dlq.replay(entry_id, publisher, by=by)
            result.replayed.append(entry_id)
        except KeyError:
            result.missing.append(entry_id)
        except redis.RedisError as exc:  # nothing of this entry was written; Redis is likely down: stop here
            result.failed = list(entry_ids[index:])
            result.error = exc.__class__.__name__
            result.detail = f"{exc.__class__.__name__}: {exc}"
            break
    return result
