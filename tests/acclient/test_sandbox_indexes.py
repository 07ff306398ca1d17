"""The AC sandbox's indexed tables find what a scan in insertion order would, whatever changed the records."""

from __future__ import annotations

import copy
import random

import pytest

from acclient.sandbox.store import INDEXES, Account, IndexedTable, Row

CONNECTIONS = ("1", "2")
VALUES = ("a", "b", "c", None)


def scanned(table: IndexedTable, index: str, key: tuple) -> list[dict]:
    key_of = INDEXES["ecomOrders"][index]
    return [row for row in table.values() if key_of(row) == key]


def every_key(table: IndexedTable) -> set[tuple]:
    keys = {(c, v) for c in CONNECTIONS for v in VALUES} | {(v,) for v in VALUES}
    return keys | {INDEXES["ecomOrders"][name](row) for name in INDEXES["ecomOrders"] for row in table.values()}


@pytest.mark.parametrize("seed", range(5))
def test_lookups_equal_scans_after_any_sequence_of_changes(seed):
    rng = random.Random(seed)
    account = Account("acct")
    orders = account.indexed("ecomOrders")
    for _ in range(400):
        ids = list(orders)
        action = rng.choice(("insert", "insert", "set", "update", "pop_field", "delete", "pop", "setdefault"))
        if action == "insert" or not ids:
            account.insert(
                "ecomOrders",
                {
                    "connectionid": rng.choice(CONNECTIONS),
                    "externalid": rng.choice(VALUES),
                    "externalcheckoutid": rng.choice(VALUES),
                    "customerid": rng.choice(VALUES),
                },
            )
            continue
        row = orders[rng.choice(ids)]
        field = rng.choice(("connectionid", "externalid", "externalcheckoutid", "customerid"))
        if action == "set":
            row[field] = rng.choice(VALUES)
        elif action == "update":
            row.update({field: rng.choice(VALUES)}, state=rng.choice("123"))
        elif action == "pop_field":
            row.pop(field, None)
        elif action == "setdefault":
            row.setdefault(field, rng.choice(VALUES))
        elif action == "delete":
            del orders[row["id"]]
        else:
            orders.pop(row["id"])
        for index in INDEXES["ecomOrders"]:
            for key in every_key(orders):
                assert orders.find(index, key) == scanned(orders, index, key), (action, index, key)


def test_insert_returns_the_stored_row_and_a_deep_copy_is_a_plain_record():
    account = Account("acct")
    stored = account.insert("contacts", {"email": "Ana@Example.com"})
    assert isinstance(stored, Row) and account.tables["contacts"][stored["id"]] is stored
    assert account.find_contact("ana@example.COM") is stored
    copied = copy.deepcopy(stored)
    assert type(copied) is dict and copied == stored
    copied["email"] = "other@example.com"  # a copy is filed nowhere
    assert account.find_contact("other@example.com") is None
    stored["email"] = "new@example.com"  # the stored record moves in the index when it changes
    assert account.find_contact("ana@example.com") is None and account.find_contact("NEW@example.com") is stored


def test_a_removed_row_changed_later_is_not_filed_again():
    account = Account("acct")
    orders = account.indexed("ecomOrders")
    row = account.insert("ecomOrders", {"connectionid": "1", "externalid": "o1", "customerid": "7"})
    del orders[row["id"]]
    row["externalid"] = "o2"
    assert orders.find("external", ("1", "o2")) == [] and orders.find("customer", ("7",)) == []


def test_the_first_match_is_the_oldest_record_like_a_scan():
    account = Account("acct")
    customers = account.indexed("ecomCustomers")
    first = account.insert("ecomCustomers", {"connectionid": "1", "externalid": "x", "email": "a@b.c"})
    second = account.insert("ecomCustomers", {"connectionid": "1", "externalid": "y", "email": "A@B.C"})
    assert customers.first("email", ("1", "a@b.c")) is first
    first["email"] = "z@b.c"
    first["email"] = "a@b.c"  # filed again, later: still found first, as a scan in table order would
    assert customers.find("email", ("1", "a@b.c")) == [first, second]
