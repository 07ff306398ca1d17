"""In-memory records of the sandbox, one namespace per ActiveCampaign account."""

from __future__ import annotations

import copy
import heapq
import itertools
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# v3 resources, then what the sandbox keeps for the Ecommerce GraphQL API ("COFE") and the bulk contact import.
TABLES = (
    "contacts",
    "contactLists",
    "connections",
    "ecomCustomers",
    "ecomOrders",
    "cofe_orders",
    "cofe_products",
    "bulk_imports",
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


IndexKey = Callable[[Mapping[str, Any]], tuple[Any, ...]]

# The lookups the sandbox makes by value, per table: name -> the key a row is filed under. A lookup returns
# what a scan of the table in insertion order would find, at a cost that does not grow with the table (a
# backfill looks up a contact, a customer and an order for every order it writes).
INDEXES: dict[str, dict[str, IndexKey]] = {
    "contacts": {"email": lambda r: (str(r.get("email") or "").lower(),)},
    "contactLists": {"membership": lambda r: (r.get("contact"), r.get("list"))},
    "ecomCustomers": {
        "external": lambda r: (r.get("connectionid"), r.get("externalid")),
        "email": lambda r: (r.get("connectionid"), str(r.get("email") or "").lower()),
    },
    "ecomOrders": {
        "external": lambda r: (r.get("connectionid"), r.get("externalid")),
        "checkout": lambda r: (r.get("connectionid"), r.get("externalcheckoutid")),
        "customer": lambda r: (r.get("customerid"),),
    },
}


class Row(dict[str, Any]):
    """A record of an :class:`IndexedTable`: every change re-files it under its new keys."""

    __slots__ = ("_table",)

    def __init__(self, table: IndexedTable, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self._table = table

    def __setitem__(self, key: str, value: Any) -> None:
        self._table.unfile(self)
        super().__setitem__(key, value)
        self._table.file(self)

    def __delitem__(self, key: str) -> None:
        self._table.unfile(self)
        super().__delitem__(key)
        self._table.file(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._table.unfile(self)
        super().update(*args, **kwargs)
        self._table.file(self)

    def pop(self, key: str, *default: Any) -> Any:
        self._table.unfile(self)
        try:
            return super().pop(key, *default)
        finally:
            self._table.file(self)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._table.unfile(self)
        try:
            return super().setdefault(key, default)
        finally:
            self._table.file(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(self), memo)  # a copy is a plain record, filed nowhere


class IndexedTable(dict[str, dict[str, Any]]):
    """A table (record id -> record) that also files its records by the keys of :data:`INDEXES`.

    Records stored in it become :class:`Row` objects (``Account.insert`` returns the stored one), so a
    change to a record, by item or by ``update``, moves it in the indexes."""

    def __init__(self, indexes: Mapping[str, IndexKey]) -> None:
        super().__init__()
        self._indexes = dict(indexes)
        self._filed: dict[str, dict[tuple[Any, ...], dict[str, None]]] = {name: {} for name in indexes}

    def __setitem__(self, record_id: str, record: dict[str, Any]) -> None:
        if record_id in self:
            self.unfile(self[record_id])
        row = record if isinstance(record, Row) and record._table is self else Row(self, record)
        super().__setitem__(record_id, row)
        self.file(row)

    def __delitem__(self, record_id: str) -> None:
        row = self[record_id]
        self.unfile(row)
        super().__delitem__(record_id)

    def pop(self, record_id: str, *default: Any) -> Any:
        if record_id in self:
            self.unfile(self[record_id])
        return super().pop(record_id, *default)

    def clear(self) -> None:
        super().clear()
        for filed in self._filed.values():
            filed.clear()

    def file(self, row: Mapping[str, Any]) -> None:
        if self.get(str(row.get("id"))) is not row:
            return  # not (or no longer) stored here
        for name, key_of in self._indexes.items():
            self._filed[name].setdefault(key_of(row), {})[row["id"]] = None

    def unfile(self, row: Mapping[str, Any]) -> None:
        if self.get(str(row.get("id"))) is not row:
            return
        for name, key_of in self._indexes.items():
            key = key_of(row)
            bucket = self._filed[name].get(key)
            if bucket is not None:
                bucket.pop(row["id"], None)
                if not bucket:
                    del self._filed[name][key]

    def find(self, index: str, key: tuple[Any, ...]) -> list[dict[str, Any]]:
        """The records filed under ``key``, in the table's order (ids are given in increasing order)."""
        return [self[record_id] for record_id in sorted(self._filed[index].get(key, ()), key=int)]

    def first(self, index: str, key: tuple[Any, ...]) -> dict[str, Any] | None:
        found = self.find(index, key)
        return found[0] if found else None


def new_tables(names: Iterable[str] = TABLES) -> dict[str, dict[str, dict[str, Any]]]:
    return {name: IndexedTable(INDEXES[name]) if name in INDEXES else {} for name in names}


@dataclass
class Account:
    name: str
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=new_tables)
    ids: dict[str, itertools.count[int]] = field(default_factory=lambda: {t: itertools.count(1) for t in TABLES})
    # (table, *identity) -> record id, for the records that have a natural key (GraphQL orders and products)
    keys: dict[tuple[Any, ...], str] = field(default_factory=dict)

    def insert(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store ``record`` under a new id; returns the stored record (in an indexed table, its :class:`Row`)."""
        record["id"] = str(next(self.ids[table]))
        self.tables[table][record["id"]] = record
        return self.tables[table][record["id"]]

    def indexed(self, table: str) -> IndexedTable:
        rows = self.tables[table]
        assert isinstance(rows, IndexedTable), table
        return rows

    def find_contact(self, email: str) -> dict[str, Any] | None:
        """The contact with this e-mail address, compared case-insensitively like AC does."""
        return self.indexed("contacts").first("email", (email.lower(),))

    def insert_contact(self, email: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """A new contact: empty names and phone unless ``values`` gives them."""
        now = now_iso()
        return self.insert(
            "contacts",
            {"email": email, "firstName": "", "lastName": "", "phone": "", "cdate": now, "udate": now, **values},
        )

    def upsert_contact(self, email: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Create the contact for ``email`` or update it. Only non-empty ``values`` are written, so an
        absent or blank value never blanks a stored one (the behaviour of AC's GraphQL orders and bulk import)."""
        changes = {k: v for k, v in values.items() if v not in (None, "", [], {})}
        contact = self.find_contact(email)
        if contact is None:
            return self.insert_contact(email, changes)
        if changes:
            contact.update(changes, udate=now_iso())
        return contact

    def set_list_status(
        self, contact_id: str, list_id: str, status: int, *, keep_unsubscribed: bool = False
    ) -> dict[str, Any]:
        """Set the contact's status on the list (1 subscribed, 2 unsubscribed), adding the membership if there is
        none; with ``keep_unsubscribed`` an unsubscribed membership stays so. Returns the membership."""
        row = self.indexed("contactLists").first("membership", (contact_id, list_id))
        if row is None:
            row = self.insert("contactLists", {"contact": contact_id, "list": list_id})
        elif keep_unsubscribed and row.get("status") == 2:
            return row
        row.update(status=status, sdate=now_iso())
        return row

    def refresh_customer_totals(self, customer_id: str) -> None:
        """Recompute an e-commerce customer's totalOrders/totalRevenue from its orders (carts do not count)."""
        orders = [o for o in self.indexed("ecomOrders").find("customer", (customer_id,)) if o.get("externalid")]
        customer = self.tables["ecomCustomers"].get(customer_id)
        if customer is not None:
            customer["totalOrders"] = str(len(orders))
            customer["totalRevenue"] = str(sum(int(o["totalPrice"]) for o in orders))


class RequestLog:
    """What reached the sandbox: counts per endpoint and status, and the last requests in order.

    An entry may carry extras (the GraphQL endpoint adds ``operations`` and ``records``); ``records`` are
    also summed per endpoint so benchmarks can compute records per request."""

    def __init__(self, keep: int = 50_000) -> None:
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        self.operations: Counter[str] = Counter()
        self.entries: deque[dict[str, Any]] = deque(maxlen=keep)

    def record(
        self,
        *,
        method: str,
        endpoint: str,
        path: str,
        status: int,
        account: str | None,
        at: float,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        key = f"{method} {endpoint}"
        self.counts[key] += 1
        self.statuses[f"{key} {status}"] += 1
        entry = {"method": method, "endpoint": endpoint, "path": path, "status": status, "account": account, "at": at}
        if extra:
            entry.update(extra)
            self.records[key] += int(extra.get("records", 0))
            self.operations.update(extra.get("operations", ()))
        self.entries.append(entry)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": sum(self.counts.values()),
            "by_endpoint": dict(self.counts),
            "by_status": dict(self.statuses),
            "status_totals": dict(Counter(str(e["status"]) for e in self.entries)),
            "records_by_endpoint": dict(self.records),
            "operations": dict(self.operations),
            "recent": list(self.entries)[-200:],
        }


class DueQueue:
    """Work that takes effect later (AC's asynchronous copies and imports), applied lazily in due order.

    Nothing runs by itself: ``run_due(now)`` applies every action whose due time has come, oldest first
    (ties in scheduling order). The sandbox calls it at the start of every request, so delayed work is
    never visible in the response of the call that scheduled it, and is visible to any request made
    after its due time."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], object]]] = []
        self._sequence = itertools.count()

    def schedule(self, due: float, action: Callable[[], object]) -> None:
        heapq.heappush(self._heap, (due, next(self._sequence), action))

    def run_due(self, now: float) -> int:
        """Apply what is due; returns how many actions ran."""
        ran = 0
        while self._heap and self._heap[0][0] <= now:
            _, _, action = heapq.heappop(self._heap)
            action()
            ran += 1
        return ran

    def __len__(self) -> int:
        return len(self._heap)

    def clear(self) -> None:
        self._heap.clear()


class SandboxStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.log = RequestLog()
        self.pending = DueQueue()

    def account(self, name: str) -> Account:
        with self.lock:
            if name not in self.accounts:
                self.accounts[name] = Account(name)
            return self.accounts[name]

    def reset(self) -> None:
        with self.lock:
            self.accounts.clear()
            self.log = RequestLog()
            self.pending.clear()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                name: {table: list(rows.values()) for table, rows in account.tables.items()}
                for name, account in self.accounts.items()
            }
