"""The console's dead-letter filters and actions, on a real Redis through the DLQ's own API."""

from __future__ import annotations

import pytest
import redis

from acsync_core.publish import TaskPublisher
from console import dlqview
from console.dlqview import DLQQuery, FilterError
from tests.console.conftest import dead_letter
from workers.dlq import DeadLetterQueue


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"kind": "invoice"}, "kind: one of order, cart, customer"),
        ({"store": "My Store"}, "store: a VTEX account name"),
        ({"older_than": "ten minutes"}, "older than: a number and s, m, h or d"),
        ({"reason": "x" * 201}, "reason: at most 200 characters"),
        ({"as_of": "yesterday"}, "as_of: a time in seconds"),
    ],
)
def test_bad_filters_are_refused_with_the_field_named(args, message):
    with pytest.raises(FilterError, match=message):
        DLQQuery.from_args(args)


def test_a_query_reads_the_form_and_gives_it_back():
    query = DLQQuery.from_args(
        {
            "store": "mystore",
            "kind": " order ",
            "reason": "order_not_found",
            "older_than": "",
            "newer_than": "2d",
            "as_of": "1700000000.5",
            "action": "replay",
        }
    )
    assert query == DLQQuery(
        store="mystore", kind="order", reason="order_not_found", newer_than="2d", as_of=1700000000.5
    )
    assert query.args(with_as_of=False) == {
        "store": "mystore",
        "kind": "order",
        "reason": "order_not_found",
        "newer_than": "2d",
    }
    assert query.dlq_filter().newer_than == 2 * 86400 and not query.is_empty and DLQQuery().is_empty
    assert query.matches({"reason": "order_not_found", "dead_at": 1700000000.0})
    assert not query.matches({"reason": "order_not_found", "dead_at": 1700000001.0})  # died after the confirmation
    assert not query.matches({"reason": "masked_email", "dead_at": 1.0})


def test_listing_filters_by_store_kind_and_reason_and_counts_reasons(redis_client):
    dead_letter(redis_client, order_id="v1-01")
    dead_letter(redis_client, order_id="v2-01", reason="masked_email")
    dead_letter(redis_client, store="otherstore", order_id="v3-01")
    dead_letter(redis_client, kind="cart", reason="unparsable_cart")
    dlq = DeadLetterQueue(redis_client)
    assert dlqview.listing(dlq, DLQQuery()).total == 4
    mine = dlqview.listing(dlq, DLQQuery(store="mystore", kind="order"))
    assert mine.total == 2 and dict(mine.reasons) == {"order_not_found": 1, "masked_email": 1}
    one = dlqview.listing(dlq, DLQQuery(store="mystore", kind="order", reason="masked_email"))
    assert [e["event"]["payload"]["OrderId"] for e in one.entries] == ["v2-01"]
    assert dict(one.reasons) == {"order_not_found": 1, "masked_email": 1}  # the other choices stay offered
    assert dlqview.listing(dlq, DLQQuery(), limit=1).total == 4


def test_purge_removes_only_given_entries_that_are_still_dead(redis_client):
    a = dead_letter(redis_client, order_id="v1-01")
    b = dead_letter(redis_client, order_id="v2-01")
    c = dead_letter(redis_client, order_id="v3-01")
    dlq = DeadLetterQueue(redis_client)
    dlq.replay(b["entry_id"], TaskPublisher(redis_client))  # replayed meanwhile: not dead any more
    assert dlqview.purge(redis_client, [a["entry_id"], b["entry_id"], "nope"]) == [a["entry_id"]]
    assert dlq.get(a["entry_id"]) is None
    assert dlq.get(b["entry_id"])["status"] == "replayed"  # its history is kept
    assert [e["entry_id"] for e in dlq.list()] == [c["entry_id"]]


def test_replay_reports_what_was_replayed_and_what_was_no_longer_dead(redis_client):
    a = dead_letter(redis_client, order_id="v1-01")
    publisher = TaskPublisher(redis_client)
    result = dlqview.replay(DeadLetterQueue(redis_client), publisher, [a["entry_id"], a["entry_id"]], by="console:t")
    assert result.replayed == [a["entry_id"]] and result.missing == [a["entry_id"]] and not result.failed
    assert redis_client.llen("acsync.orders") == 1


def test_replay_stops_at_a_redis_failure_and_leaves_the_rest_dead(redis_client):
    a = dead_letter(redis_client, order_id="v1-01")
    b = dead_letter(redis_client, order_id="v2-01")
    dlq = DeadLetterQueue(redis_client)
    broken = redis.Redis(port=1, socket_connect_timeout=0.2)  # nothing listens there
    result = dlqview.replay(DeadLetterQueue(broken), TaskPublisher(broken), [a["entry_id"], b["entry_id"]])
    assert result.replayed == [] and result.failed == [a["entry_id"], b["entry_id"]] and result.error
    assert {e["status"] for e in dlq.list()} == {"dead"} and dlq.size() == 2
