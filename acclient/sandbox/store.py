"""In-memory records of the sandbox, one namespace per ActiveCampaign account."""

from __future__ import annotations

import itertools
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

TABLES = ("contacts", "contactLists", "connections", "ecomCustomers", "ecomOrders")


@dataclass
class Account:
    name: str
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {t: {} for t in TABLES})
    ids: dict[str, itertools.count] = field(default_factory=lambda: {t: itertools.count(1) for t in TABLES})

    def insert(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        record["id"] = str(next(self.ids[table]))
        self.tables[table][record["id"]] = record
        return record


class RequestLog:
    """What reached the sandbox: counts per endpoint and status, and the last requests in order."""

    def __init__(self, keep: int = 50_000) -> None:
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.entries: deque[dict[str, Any]] = deque(maxlen=keep)

    def record(self, *, method: str, endpoint: str, path: str, status: int, account: str | None, at: float) -> None:
        key = f"{method} {endpoint}"
        self.counts[key] += 1
        self.statuses[f"{key} {status}"] += 1
        self.entries.append({"method": method, "endpoint": endpoint, "path": path, "status": status,
                             "account": account, "at": at})

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": sum(self.counts.values()),
            "by_endpoint": dict(self.counts),
            "by_status": dict(self.statuses),
            "status_totals": dict(Counter(str(e["status"]) for e in self.entries)),
            "recent": list(self.entries)[-200:],
        }


class SandboxStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.log = RequestLog()

    def account(self, name: str) -> Account:
        with self.lock:
            if name not in self.accounts:
                self.accounts[name] = Account(name)
            return self.accounts[name]

    def reset(self) -> None:
        with self.lock:
            self.accounts.clear()
            self.log = RequestLog()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                name: {table: list(rows.values()) for table, rows in account.tables.items()}
                for name, account in self.accounts.items()
            }
