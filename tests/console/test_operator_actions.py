"""Replay, purge and reveal: behind a confirmation, acting on what it counted, every one audited."""

from __future__ import annotations

import json
import logging
import re

from console.audit import AUDIT_KEY, AUDIT_MAX, AuditLog
from console.views import dlq as dlq_views
from tests.console.conftest import dead_letter
from tests.factories import FrozenClock
from workers import dlq
from workers.dlq import DeadLetterQueue
from workers.trail import Trail


def audit_rows(redis_client) -> list[dict]:
    return [json.loads(raw) for raw in redis_client.lrange(AUDIT_KEY, 0, -1)]


def hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def test_replay_one_entry_after_confirming(operator, redis_client, caplog):
    entry = dead_letter(redis_client)
    entry_page = operator.get(f"/dlq/entry/{entry['entry_id']}").get_data(as_text=True)
    assert 'id="replay"' in entry_page
    confirm = operator.get(f"/dlq/confirm?action=replay&entry_id={entry['entry_id']}").get_data(as_text=True)
    assert "Replay 1 dead letter?" in confirm
    form = hidden(confirm)
    assert form["entry_id"] == entry["entry_id"] and form["expected"] == "1"
    with caplog.at_level(logging.INFO, logger="acsync.console.audit"):
        response = operator.post(
            "/dlq/replay",
            form,
            token=form["csrf_token"],
            token_from=f"/dlq/confirm?action=replay&entry_id={entry['entry_id']}",
        )
    assert response.status_code == 302 and response.headers["Location"] == f"/dlq/entry/{entry['entry_id']}"
    assert DeadLetterQueue(redis_client).get(entry["entry_id"])["status"] == "replayed"
    assert redis_client.llen("acsync.orders") == 1  # back in its queue
    [row] = audit_rows(redis_client)
    assert row["user"] == "alice" and row["action"] == "replay" and row["entry_id"] == entry["entry_id"]
    assert row["count"] == 1 and row["entries"] == [entry["entry_id"]]
    [line] = [r for r in caplog.records if r.name == "acsync.console.audit"]
    assert line.audit["user"] == "alice" and "console replay by alice of entry" in line.getMessage()
    page = operator.get(f"/dlq/entry/{entry['entry_id']}").get_data(as_text=True)
    assert "Replayed 1 entry." in page and 'id="entry-status">replayed' in page
    assert re.search(r"<td>[^<]+UTC</td><td>alice</td>", page)  # the replay history says who
    assert [s["by"] for s in Trail(redis_client).steps(entry["event_id"]) if s["step"] == "replayed"] == [
        "console:alice"
    ]


def test_purge_by_filter_acts_only_on_what_the_confirmation_counted(operator, redis_client, monkeypatch):
    # the queue and the confirmation page read time.time() and take no clock: one set clock for both
    clock = FrozenClock(1_800_000_000.0)
    monkeypatch.setattr(dlq, "time", clock)
    monkeypatch.setattr(dlq_views, "time", clock)
    a = dead_letter(redis_client, order_id="v1-01")
    b = dead_letter(redis_client, order_id="v2-01")
    keep = dead_letter(redis_client, order_id="v3-01", reason="masked_email")
    other = dead_letter(redis_client, store="otherstore", order_id="v4-01")
    clock.now += 30
    path = "/dlq/confirm?action=purge&store=mystore&reason=order_not_found"
    confirm = operator.get(path).get_data(as_text=True)
    assert "Purge 2 dead letters?" in confirm and a["entry_id"] in confirm and b["entry_id"] in confirm
    form = hidden(confirm)
    assert form["store"] == "mystore" and form["reason"] == "order_not_found"
    assert float(form["as_of"]) == clock.now  # the moment the page was shown
    clock.now += 1
    late = dead_letter(redis_client, order_id="v5-01")  # dies after the page was shown: not purged unseen
    response = operator.post("/dlq/purge", form, token=form["csrf_token"], token_from=path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dlq?store=mystore&reason=order_not_found"
    left = {e["entry_id"] for e in DeadLetterQueue(redis_client).list()}
    assert left == {keep["entry_id"], other["entry_id"], late["entry_id"]}
    [row] = audit_rows(redis_client)
    assert row["action"] == "purge" and row["count"] == 2 and row["user"] == "alice"
    assert row["filter"]["store"] == "mystore" and row["filter"]["reason"] == "order_not_found"
    assert sorted(row["entries"]) == sorted([a["entry_id"], b["entry_id"]])
    audit_page = operator.get("/audit").get_data(as_text=True)
    assert "<b>alice</b>" in audit_page and "purge" in audit_page and "order_not_found" in audit_page


def test_replay_all_matching_a_filter(operator, redis_client):
    for n in range(3):
        dead_letter(redis_client, order_id=f"v{n}-01")
    dead_letter(redis_client, kind="cart", reason="unparsable_cart")
    path = "/dlq/confirm?action=replay&kind=order"
    form = hidden(operator.get(path).get_data(as_text=True))
    operator.post("/dlq/replay", form, token=form["csrf_token"], token_from=path)
    assert redis_client.llen("acsync.orders") == 3 and redis_client.llen("acsync.carts") == 0
    assert audit_rows(redis_client)[0]["count"] == 3


def test_a_bulk_action_without_its_confirmation_is_refused(operator, redis_client):
    dead_letter(redis_client)
    assert operator.post("/dlq/purge", {"store": "mystore"}, token_from="/dlq").status_code == 400
    assert DeadLetterQueue(redis_client).size() == 1


def test_reveal_shows_the_e_mails_on_that_page_only_and_is_audited(operator, redis_client):
    entry = dead_letter(redis_client, email="joana.silva@example.com")
    path = f"/dlq/entry/{entry['entry_id']}"
    assert "j***@example.com" in operator.get(path).get_data(as_text=True)
    revealed = operator.post(f"{path}/reveal", token_from=path).get_data(as_text=True)
    assert "joana.silva@example.com" in revealed and "e-mails revealed" in revealed
    assert "joana.silva@example.com" not in operator.get(path).get_data(as_text=True)  # masked again
    [row] = audit_rows(redis_client)
    assert row["action"] == "reveal" and row["entry_id"] == entry["entry_id"] and row["user"] == "alice"


def test_the_audit_list_is_capped(redis_client):
    audit = AuditLog(redis_client)
    pipe = redis_client.pipeline()
    for n in range(AUDIT_MAX):
        pipe.lpush(AUDIT_KEY, json.dumps({"at": n, "user": "x", "action": "purge"}))
    pipe.execute()
    audit.record("alice", "replay", entry_id="e1", count=1)
    assert redis_client.llen(AUDIT_KEY) == AUDIT_MAX
    assert audit.recent(1)[0]["entry_id"] == "e1"
    assert audit.for_entry("e1")[0]["user"] == "alice"
