"""The overview's figures equal what Redis holds: series, latency, last success, hook health, outboxes."""

from __future__ import annotations

import pytest

from acsync_core import stats as stats_module
from acsync_core.stats import MINUTE_PREFIX, Stats, hooks_field
from console.figures import Series, gather
from tests.console.conftest import dead_letter, secret_settings
from tests.factories import FrozenClock
from workers.hookconfig import record_health
from workers.outbox import Outbox

# the clock of the minute buckets: acsync_core.stats reads time.time() and takes no clock, so it is set,
# 30 s into a minute, and a minute that ends while a test runs cannot move every count one bucket back
NOW = 1_800_000_030.0


@pytest.fixture
def clock(monkeypatch) -> FrozenClock:
    clock = FrozenClock(NOW)
    monkeypatch.setattr(stats_module, "time", clock)
    return clock


def put_in_minute(client, minutes_ago: int, field: str, count: int) -> None:
    """A count in an earlier minute's bucket, as the writers of those fields left it then."""
    key = MINUTE_PREFIX + str(int(NOW // 60) - minutes_ago)
    client.hincrby(key, field, count)
    client.expire(key, 3600)


def test_series_add_sums_series_and_knows_the_last_complete_minute():
    series = Series.add([[(0, 1), (60, 2), (120, 3)], [(0, 10), (60, 20), (120, 30)]], minutes=3)
    assert series.values == (11, 22, 33) and series.total == 66 and series.last_minute == 22 and series.peak == 33
    assert Series.add([], minutes=2).values == (0, 0)


def test_gather_reads_every_figure_of_a_store_and_its_account(redis_client, redis_url, clock):
    settings = secret_settings(redis_url)
    stats = Stats(redis_client)
    put_in_minute(redis_client, 1, hooks_field("order", "mystore"), 40)
    put_in_minute(redis_client, 5, hooks_field("order", "mystore"), 7)
    put_in_minute(redis_client, 1, hooks_field("cart", "mystore"), 3)
    put_in_minute(redis_client, 1, "ac_requests@acme.api-us1.com", 180)
    put_in_minute(redis_client, 2, "ac_429@acme.api-us1.com", 2)
    put_in_minute(redis_client, 1, hooks_field("order", "otherstore"), 1000)  # another store's hooks
    for latency in (0.5, 1.0, 2.0, 9.0):
        stats.record_event("order", "created", latency, store="mystore")
    stats.mark_success("mystore", at=1_700_000_000.0)
    record_health(redis_client, {"mystore": [], "otherstore": ["no order hook is configured"]}, at=1_700_000_100.0)
    dead_letter(redis_client, order_id="v1-01")
    dead_letter(redis_client, store="otherstore", order_id="v2-01")
    Outbox(redis_client, settings.stores["mystore"].ac_account_key).put(
        "order", "v9-01", {"x": 1}, {"event_id": "e1", "kind": "order", "store": "mystore", "received_at": 1.0}
    )

    overview = gather(settings, redis_client)

    mine = next(s for s in overview.stores if s.name == "mystore")
    assert mine.account == "acme.api-us1.com"
    assert mine.hooks.total == 50 and mine.hooks.last_minute == 43 and len(mine.hooks.values) == 60
    assert mine.hooks_by_kind == {"order": 47, "cart": 3, "customer": 0}
    assert mine.events.total == 4 and mine.latency["order"] == stats.latency_percentiles("order@mystore")
    assert set(mine.latency) == {"order"}
    assert mine.last_success == 1_700_000_000.0 and mine.dead_letters == 1
    assert mine.hook == {"checked_at": 1_700_000_100.0, "ok": True, "problems": []}
    other = next(s for s in overview.stores if s.name == "otherstore")
    assert other.hook["ok"] is False and other.last_success is None and other.hooks.total == 1000

    acme = next(a for a in overview.accounts if a.host == "acme.api-us1.com")
    assert acme.stores == ["mystore"] and acme.budget_rps == 4
    assert acme.requests.last_minute == 180 and acme.rps == 3.0 and acme.throttled.total == 2
    assert acme.outbox["order"] == 1 and acme.waiting == 1 and acme.heartbeat_age is None
    assert [a.host for a in overview.accounts] == ["acme.api-us1.com", "other.api-us1.com"]
    assert overview.dead_letters == 2 and overview.queued == 0 and overview.schedule == 0
