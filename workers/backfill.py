"""Backfill: queue every VTEX order created in a date range for the pipeline, resumably.

VTEX's List orders (``GET /api/oms/pvt/orders``) reads at most 30 pages of one query, 100 orders a
page ("The limit of information retrieval is 30 pages",
https://developers.vtex.com/docs/api-reference/orders-api#get-/api/oms/pvt/orders); past that it
refuses or returns nothing, so walking the pages of a long range would silently stop at 3,000 orders.
:class:`Backfill` therefore cuts the range into *windows* that each fit in one query: it reads the
first page of a window, and while ``paging.total`` says more than ``30 * per_page`` orders it halves
the window, down to :data:`MIN_WINDOW`. A window that cannot be halved and still holds too many is
read as far as VTEX allows and reported in :attr:`BackfillResult.truncated`, never dropped silently.

Windows are read oldest first, page by page (``orderBy=creationDate,asc``). For each order one event
is queued on the backfill queue: ``Event(kind="order", payload={"OrderId", "State", "backfill": True},
dedupe_key="backfill:<orderId>")`` through :meth:`TaskPublisher.enqueue` (no dedupe; the pipeline
writes each order idempotently). Progress is saved in Redis after every page, so running the same
backfill again resumes at the next page. An interrupted page may be queued twice (the events are
pushed before the progress is saved), never skipped.

Window boundaries are whole milliseconds and half-open, ``[start, end)``. The query asks VTEX for
``creationDate:[start TO end]`` (inclusive bounds; VTEX's own examples use milliseconds) and only the
orders created in ``[start, end)`` are queued, so an order on a boundary is queued by exactly one
window whatever precision VTEX compares with. The orders created exactly at ``end`` come last in the
window's list and are counted in its ``paging.total``: reading stops at the first of them, and a
window is reported as truncated only if orders of its own were left unread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import redis

from acsync_core.events import BACKFILL_QUEUE, Event, new_event_id
from acsync_core.publish import TaskPublisher
from workers.vtex import VTEXError, VTEXRateLimited

LIST_MAX_PAGES = 30  # pages one List orders query can read (VTEX, see the module docstring)
LIST_MAX_PER_PAGE = 100
MIN_WINDOW = timedelta(seconds=1)  # windows are never halved below this
INDEXING_LAG = timedelta(minutes=5)  # VTEX lists an order "approximately four minutes" after it is placed
PROGRESS_PREFIX = "acsync:backfill:"
PROGRESS_TTL = 30 * 86400
RETRIES = 4  # further attempts of a List orders call VTEX answered 429/5xx or that did not get through
RETRY_CAP = 30.0  # seconds, the longest wait between attempts (VTEX's Retry-After excepted)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class OrderLister(Protocol):
    """The part of :class:`workers.vtex.VTEXClient` a backfill uses."""

    def list_orders(
        self, *, created_from: str, created_to: str, page: int = 1, per_page: int = 100
    ) -> dict[str, Any]: ...


class BackfillError(Exception):
    """VTEX refused a List orders call, or kept failing it; the progress up to the last page is saved."""


@dataclass(frozen=True)
class Window:
    """Orders created in ``[start, end)``, both in milliseconds since the epoch (UTC)."""

    start: int
    end: int

    @property
    def query(self) -> tuple[str, str]:
        """The inclusive ``f_creationDate`` bounds that cover the window."""
        return iso_ms(self.start), iso_ms(self.end)

    def holds(self, created: str | None) -> bool:
        """Whether an order created at ``created`` (VTEX's ISO 8601) belongs to this window.
        An order whose creation date cannot be read belongs to every window that VTEX lists it in."""
        micros = epoch_micros(created)
        return micros is None or self.start * 1000 <= micros < self.end * 1000

    def precedes(self, created: str | None) -> bool:
        """Whether an order created at ``created`` belongs to a later window (the query's end bound is
        inclusive, so the orders created exactly at ``end`` are listed last, after the window's own)."""
        micros = epoch_micros(created)
        return micros is not None and micros >= self.end * 1000


@dataclass(frozen=True)
class TruncatedWindow:
    """A window (``start`` to ``end`` inclusive) holding more orders than one query can read: it
    could not be halved (shorter than two :data:`MIN_WINDOW`) or grew while read. About
    ``total - queued`` of its orders were not queued (``total`` is VTEX's count for the query)."""

    start: str
    end: str
    total: int
    queued: int

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start, "to": self.end, "total": self.total, "queued": self.queued}


@dataclass(frozen=True)
class BackfillProgress:
    """Reported after every page: ``queued`` orders so far (earlier runs of the same backfill
    included) out of about ``total`` (VTEX's count for the whole range when this run started)."""

    queued: int
    total: int
    window: Window
    page: int


@dataclass(frozen=True)
class BackfillResult:
    """What a run did. ``queued``, ``pages`` and ``windows`` count this run only; ``queued_total``
    and ``truncated`` the whole backfill, earlier runs included."""

    queued: int
    pages: int
    windows: int
    total: int
    queued_total: int
    truncated: tuple[TruncatedWindow, ...] = ()

    @property
    def complete(self) -> bool:
        """Every order VTEX listed in the range was queued."""
        return not self.truncated


@dataclass
class _Progress:
    """What is saved in Redis (as JSON) after every page."""

    done_until: int | None = None  # ms: every order created in [start, done_until) is queued
    window: Window | None = None  # the window being read, when a page of it is done but not the last
    page: int = 0  # the last page of ``window`` whose orders are queued
    per_page: int = 0  # the page size ``page`` counts in (a resumed window keeps it, whatever --per-page says)
    window_queued: int = 0  # orders of ``window`` queued so far
    queued: int = 0
    truncated: list[dict[str, Any]] = field(default_factory=list)

    def dumps(self) -> str:
        window = [self.window.start, self.window.end] if self.window else None
        return json.dumps(
            {
                "version": 2,
                "done_until": self.done_until,
                "window": window,
                "page": self.page,
                "per_page": self.per_page,
                "window_queued": self.window_queued,
                "queued": self.queued,
                "truncated": self.truncated,
            }
        )

    @classmethod
    def loads(cls, raw: bytes | str | None) -> _Progress:
        """Saved progress, or none for a missing key or a value not in format 2 (format 1 saved a page
        number of the whole range: starting over queues orders again, which the pipeline tolerates)."""
        try:
            data = json.loads(raw) if raw is not None else None
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("version") != 2:
            return cls()
        window = data.get("window")
        return cls(
            done_until=data.get("done_until"),
            window=Window(*window) if window else None,
            page=int(data.get("page") or 0),
            per_page=int(data.get("per_page") or 0),
            window_queued=int(data.get("window_queued") or 0),
            queued=int(data.get("queued") or 0),
            truncated=list(data.get("truncated") or []),
        )


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch; a naive datetime is UTC, sub-millisecond parts are dropped."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MS


def iso_ms(ms: int) -> str:
    """``2026-10-01T00:00:00.000Z``, the form of VTEX's own ``f_creationDate`` examples."""
    moment = _EPOCH + ms * _MS
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_s(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def epoch_micros(value: str | None) -> int | None:
    """Microseconds since the epoch of a VTEX date (7 fractional digits are cut to 6), None if unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def progress_key(store: str, since: datetime, until: datetime | None) -> str:
    """One key per store and range; an open range (no ``until``) keeps one key, so that each run
    continues where the previous one stopped and then reads on up to its own "now"."""
    return f"{PROGRESS_PREFIX}{store}:{iso_s(since)}:{iso_s(until) if until else 'now'}"


class Backfill:
    """Queue the orders of one store created from ``since`` to ``until`` (inclusive, UTC).

    ``until=None`` means "now" (from ``clock``) minus :data:`INDEXING_LAG`, and the progress of such an
    open range is shared by every run with the same ``since``: a run resumes, then reads on to its
    own end. ``per_page`` is VTEX's page size (at most 100); a window holds at most ``30 * per_page``
    orders. VTEX calls answered 429, 5xx or lost in transport are retried ``retries`` times with
    exponential backoff through ``sleep`` (VTEX's Retry-After is honoured); then, and at once for
    any other refusal, :meth:`run` raises :class:`BackfillError` with the progress saved.
    """

    def __init__(
        self,
        vtex: OrderLister,
        publisher: TaskPublisher,
        client: redis.Redis,
        *,
        store: str,
        since: datetime,
        until: datetime | None = None,
        per_page: int = LIST_MAX_PER_PAGE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        retries: int = RETRIES,
    ) -> None:
        if not 1 <= per_page <= LIST_MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {LIST_MAX_PER_PAGE}, not {per_page}")
        self.vtex = vtex
        self.publisher = publisher
        self.redis = client
        self.store = store
        self.per_page = per_page
        self.sleep = sleep
        self.retries = retries
        self.start = to_ms(since)
        end = until if until is not None else clock() - INDEXING_LAG
        self.stop = to_ms(end) + 1  # exclusive: an order created at ``until`` is in
        if self.stop <= self.start:
            raise ValueError(f"the range is empty: {iso_ms(self.start)} is after {iso_ms(self.stop - 1)}")
        self.key = progress_key(store, since, until)
        self.max_orders = LIST_MAX_PAGES * per_page  # what one query can read
        self.min_window = MIN_WINDOW // _MS
        self._root: dict[str, Any] | None = None

    # ------------------------------------------------------------------ public
    def reset(self) -> None:
        """Forget the saved progress: the next :meth:`run` starts at ``since`` again."""
        self.redis.delete(self.key)

    def estimate(self) -> int:
        """VTEX's count of the orders in the whole range (one request, reused by :meth:`run`)."""
        if self._root is None:
            self._root = self._list(Window(self.start, self.stop), 1)
        return _paging(self._root)[0]

    def run(self, on_progress: Callable[[BackfillProgress], None] | None = None) -> BackfillResult:
        """Queue every order of the range not queued by an earlier run; see the class docstring.

        ``on_progress`` is called after every page (the progress is saved by then)."""
        total = self.estimate()
        progress = _Progress.loads(self.redis.get(self.key))
        counts = {"queued": 0, "pages": 0, "windows": 0}

        def read(window: Window, page: int, first: dict[str, Any] | None, per_page: int) -> None:
            for done_page in self._read(window, page, first, progress, per_page):
                counts["pages"] += 1
                if on_progress is not None:
                    on_progress(BackfillProgress(queued=progress.queued, total=total, window=window, page=done_page))
            counts["windows"] += 1

        before = progress.queued
        if progress.window is not None:  # a window was interrupted: finish it with the same bounds and pages
            read(progress.window, progress.page + 1, None, progress.per_page or self.per_page)
        resume = progress.done_until if progress.done_until is not None else self.start
        if resume < self.stop:
            root = self._root if resume == self.start else None
            for window, first in self._windows(Window(resume, self.stop), root):
                read(window, 1, first, self.per_page)
        counts["queued"] = progress.queued - before
        return BackfillResult(
            queued=counts["queued"],
            pages=counts["pages"],
            windows=counts["windows"],
            total=total,
            queued_total=progress.queued,
            truncated=tuple(TruncatedWindow(t["from"], t["to"], t["total"], t["queued"]) for t in progress.truncated),
        )

    # ------------------------------------------------------------------ windows and pages
    def _windows(self, span: Window, first: dict[str, Any] | None) -> Iterator[tuple[Window, dict[str, Any]]]:
        """The windows of ``span``, oldest first, each with its first page; halves a window while it
        holds more than one query can read and each half would still last ``MIN_WINDOW``."""
        stack: list[tuple[Window, dict[str, Any] | None]] = [(span, first)]
        while stack:
            window, page_one = stack.pop()
            if page_one is None:
                page_one = self._list(window, 1)
            total, _pages = _paging(page_one)
            if total > self.max_orders and window.end - window.start >= 2 * self.min_window:
                middle = window.start + (window.end - window.start) // 2
                stack.append((Window(middle, window.end), None))
                stack.append((Window(window.start, middle), None))  # popped first: oldest first
                continue
            yield window, page_one

    def _read(
        self, window: Window, page: int, first: dict[str, Any] | None, progress: _Progress, per_page: int
    ) -> Iterator[int]:
        """Queue the orders of ``window`` from ``page`` on (pages of ``per_page``), saving ``progress``
        after each page and yielding its number. The window ends at the last page, or at the first
        page that lists an order of a later window (the list is in creation order); a window with
        orders of its own still unread after ``LIST_MAX_PAGES`` pages is recorded as truncated."""
        if page == 1:
            progress.window_queued = 0
        while True:
            result = first if page == 1 and first is not None else self._list(window, page, per_page)
            total, pages = _paging(result)
            listed = result.get("list") or []
            rows = [row for row in listed if window.holds(row.get("creationDate"))]
            for row in rows:
                self._enqueue(row)
            progress.queued += len(rows)
            progress.window_queued += len(rows)
            beyond = bool(listed) and window.precedes(listed[-1].get("creationDate"))
            last = page >= min(pages, LIST_MAX_PAGES) or not listed or beyond
            if last:
                if pages > page and not beyond:  # the cap, or VTEX listing nothing more: unread orders
                    progress.truncated.append(
                        {
                            "from": iso_ms(window.start),
                            "to": iso_ms(window.end - 1),
                            "total": total,
                            "queued": progress.window_queued,
                        }
                    )
                progress.done_until, progress.window, progress.page = window.end, None, 0
                progress.per_page = progress.window_queued = 0
            else:
                progress.window, progress.page, progress.per_page = window, page, per_page
            self.redis.set(self.key, progress.dumps(), ex=PROGRESS_TTL)
            yield page
            if last:
                return
            page += 1

    def _enqueue(self, row: dict[str, Any]) -> None:
        order_id = row["orderId"]
        payload = {"OrderId": order_id, "State": row.get("status", ""), "backfill": True}
        self.publisher.enqueue(
            Event(
                kind="order",
                store=self.store,
                payload=payload,
                dedupe_key=f"backfill:{order_id}",
                event_id=new_event_id(),
            )
        )

    def _list(self, window: Window, page: int, per_page: int | None = None) -> dict[str, Any]:
        """One page of a window, retrying what VTEX says is worth retrying."""
        created_from, created_to = window.query
        for attempt in range(self.retries + 1):
            try:
                return self.vtex.list_orders(
                    created_from=created_from, created_to=created_to, page=page, per_page=per_page or self.per_page
                )
            except VTEXError as exc:
                where = f"orders created {created_from} to {created_to}, page {page}"
                if not exc.retryable or attempt == self.retries:
                    raise BackfillError(f"VTEX on {where}: {exc}") from exc
                wait = exc.retry_after if isinstance(exc, VTEXRateLimited) else min(RETRY_CAP, 2.0**attempt)
                self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


def _paging(result: dict[str, Any]) -> tuple[int, int]:
    """(total, pages) of a List orders answer."""
    paging = result.get("paging") or {}
    return int(paging.get("total") or 0), int(paging.get("pages") or 1)


def start_backfill(
    vtex: OrderLister,
    client: redis.Redis,
    *,
    store: str,
    since: datetime,
    until: datetime | None = None,
    per_page: int = LIST_MAX_PER_PAGE,
    restart: bool = False,
) -> Backfill:
    """The backfill ``acsync backfill`` runs: events queued through a :class:`TaskPublisher` on
    ``client``; ``since`` and ``until`` are read as UTC (their tzinfo is replaced); ``restart`` forgets
    the saved progress. Raises ValueError for a bad range or
    page size, as :class:`Backfill` does."""
    job = Backfill(
        vtex,
        TaskPublisher(client),
        client,
        store=store,
        since=since.replace(tzinfo=UTC),
        until=until.replace(tzinfo=UTC) if until else None,
        per_page=per_page,
    )
    if restart:
        job.reset()
    return job


def summary(result: BackfillResult) -> dict[str, Any]:
    """What ``acsync backfill --json`` prints about a run."""
    return {
        "queued": result.queued,
        "queue": BACKFILL_QUEUE,
        "windows": result.windows,
        "pages": result.pages,
        "total": result.total,
        "queued_total": result.queued_total,
        "truncated": [window.as_dict() for window in result.truncated],
    }
