"""The backfill against the VTEX sandbox over loopback and a real Redis: windows that fit VTEX's
30-page cap, every order queued once, resuming after a VTEX outage, and dense seconds reported."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
import requests
from click.testing import CliRunner

from acclient.sandbox import BackgroundServer
from acsync.cli import main
from acsync_core.events import BACKFILL_QUEUE
from acsync_core.publish import TaskPublisher
from acsync_core.settings import render_stores_toml
from tests.factories import store_table
from workers.backfill import Backfill, BackfillError, BackfillProgress, Window, iso_ms, progress_key, to_ms
from workers.vtex import VTEXClient, VTEXError
from workers.vtex.sandbox import DEFAULT_APP_KEY, DEFAULT_APP_TOKEN, VTEXSandboxConfig, make_order
from workers.vtex.sandbox import create_app as create_vtex_sandbox

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
HEADERS = {"X-VTEX-API-AppKey": DEFAULT_APP_KEY, "X-VTEX-API-AppToken": DEFAULT_APP_TOKEN}


class SpyVTEX(VTEXClient):
    """The real client over loopback, remembering the (from, to, page) of every List orders call."""

    def __init__(self, url: str) -> None:
        super().__init__(api_url=url, app_key=DEFAULT_APP_KEY, app_token=DEFAULT_APP_TOKEN)
        self.calls: list[tuple[str, str, int]] = []

    def list_orders(self, *, created_from: str, created_to: str, page: int = 1, per_page: int = 100) -> dict[str, Any]:
        self.calls.append((created_from, created_to, page))
        return super().list_orders(created_from=created_from, created_to=created_to, page=page, per_page=per_page)


@pytest.fixture
def vtex() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_vtex_sandbox(VTEXSandboxConfig(seed=3))) as server:
        yield server


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def order_at(order_id: str, created: datetime, status: str = "invoiced") -> dict[str, Any]:
    """A full OMS order created at ``created`` (millisecond precision, VTEX's 7 fractional digits)."""
    order = make_order(order_id, status=status, created=created.replace(microsecond=0))
    order["creationDate"] = created.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"
    return order


def seed(server: BackgroundServer, orders: list[dict[str, Any]]) -> None:
    response = requests.post(server.url + "/__sandbox/orders/bulk", json=orders, timeout=60)
    response.raise_for_status()
    assert response.json()["seeded"] == len(orders)


def faults(server: BackgroundServer, **values: Any) -> None:
    requests.post(server.url + "/__sandbox/faults", json=values, timeout=5).raise_for_status()


def queued_order_ids(client: redis.Redis) -> Counter[str]:
    """OrderId of every message on the backfill queue (kombu's envelope around Celery's protocol 2)."""
    ids: Counter[str] = Counter()
    for raw in client.lrange(BACKFILL_QUEUE, 0, -1):
        args, _kwargs, _embed = orjson.loads(base64.b64decode(orjson.loads(raw)["body"]))
        event = args[0]
        assert event["kind"] == "order" and event["store"] == "mystore"
        assert event["payload"]["backfill"] is True and event["dedupe_key"] == f"backfill:{event['payload']['OrderId']}"
        ids[event["payload"]["OrderId"]] += 1
    return ids


def busy_store(midpoint: int) -> list[dict[str, Any]]:
    """3,600 orders two a second from T0 for half an hour, 3 at the first split's midpoint (a window
    boundary, to the millisecond) and 5 scattered later: far more than one query can read."""
    orders = [order_at(f"v{n:05d}-01", T0 + timedelta(milliseconds=500 * n)) for n in range(3600)]
    at_midpoint = datetime.fromtimestamp(midpoint / 1000, UTC)
    orders += [order_at(f"m{n}-01", at_midpoint) for n in range(3)]
    orders += [order_at(f"l{n}-01", T0 + timedelta(minutes=70 + 7 * n)) for n in range(5)]
    return orders


def make_backfill(vtex: VTEXClient, client: redis.Redis, **kwargs: Any) -> Backfill:
    options: dict[str, Any] = {
        "store": "mystore",
        "since": T0,
        "until": T0 + timedelta(hours=2),
        "sleep": lambda _seconds: None,
        **kwargs,
    }
    return Backfill(vtex, TaskPublisher(client), client, **options)


# ---------------------------------------------------------------------------- the sandbox's cap
def test_sandbox_lists_at_most_30_pages_but_counts_every_order(vtex):
    seed(vtex, [order_at(f"v{n}-01", T0 + timedelta(seconds=n)) for n in range(31)])
    params = {
        "f_creationDate": "creationDate:[2026-10-01T00:00:00.000Z TO 2026-10-02T00:00:00.000Z]",
        "per_page": 1,
        "orderBy": "creationDate,asc",
    }
    last = requests.get(vtex.url + "/api/oms/pvt/orders", params={**params, "page": 30}, headers=HEADERS, timeout=5)
    assert last.status_code == 200
    assert last.json()["paging"] == {"total": 31, "pages": 31, "currentPage": 30, "perPage": 1}  # truthful
    assert [row["orderId"] for row in last.json()["list"]] == ["v29-01"]
    beyond = requests.get(vtex.url + "/api/oms/pvt/orders", params={**params, "page": 31}, headers=HEADERS, timeout=5)
    assert beyond.status_code == 400
    assert beyond.json() == {
        "error": {
            "code": "1",
            "exception": None,
            "message": "Page 31 is out of range: List orders returns at most 30 pages, narrow the filters",
        }
    }
    with pytest.raises(VTEXError) as refused:
        VTEXClient(api_url=vtex.url, app_key=DEFAULT_APP_KEY, app_token=DEFAULT_APP_TOKEN).list_orders(
            created_from="2026-10-01T00:00:00.000Z", created_to="2026-10-02T00:00:00.000Z", page=31, per_page=1
        )
    assert refused.value.status == 400 and not refused.value.retryable


def test_bulk_seeding_wants_a_list_of_orders(vtex):
    assert requests.post(vtex.url + "/__sandbox/orders/bulk", json={"orderId": "v1-01"}, timeout=5).status_code == 400


# ---------------------------------------------------------------------------- windows
def test_a_busy_range_is_read_in_windows_and_every_order_is_queued_once(vtex, client):
    spy = SpyVTEX(vtex.url)
    job = make_backfill(spy, client)
    orders = busy_store(job.start + (job.stop - job.start) // 2)
    seed(vtex, orders)
    seen: list[BackfillProgress] = []

    result = job.run(seen.append)

    ids = queued_order_ids(client)
    assert client.llen(BACKFILL_QUEUE) == len(orders) == 3608
    assert set(ids) == {o["orderId"] for o in orders} and set(ids.values()) == {1}
    assert client.llen("acsync.orders") == 0
    assert (result.queued, result.queued_total, result.total, result.truncated) == (3608, 3608, 3608, ())
    assert result.complete and result.windows >= 2
    # no query ever asked for a page VTEX cannot serve; the windows follow each other, oldest first
    assert max(page for _f, _t, page in spy.calls) <= 30
    firsts = [(f, t) for f, t, page in spy.calls[1:] if page == 1]
    assert firsts[0][0] == iso_ms(job.start) and firsts[-1][1] == iso_ms(job.stop)
    # progress counts orders (not pages), grows page by page and ends at VTEX's estimate
    assert [p.queued for p in seen] == sorted(p.queued for p in seen) and seen[-1].queued == 3608
    assert {p.total for p in seen} == {3608} and len(seen) == result.pages
    # the run is recorded: running it again queues nothing and reads only the estimate
    calls = len(spy.calls)
    again = make_backfill(spy, client).run()
    assert (again.queued, again.windows, again.queued_total) == (0, 0, 3608) and len(spy.calls) == calls + 1
    assert client.llen(BACKFILL_QUEUE) == 3608


def test_an_order_on_a_window_boundary_belongs_to_one_window():
    window = Window(to_ms(T0), to_ms(T0 + timedelta(seconds=2)))
    assert window.query == ("2026-10-01T12:00:00.000Z", "2026-10-01T12:00:02.000Z")
    assert window.holds("2026-10-01T12:00:00.0000000+00:00") and window.holds("2026-10-01T12:00:01.9999999+00:00")
    assert not window.holds("2026-10-01T12:00:02.0000000+00:00") and not window.holds("2026-10-01T11:59:59.9999Z")
    assert window.holds(None)  # an order VTEX lists without a date is queued rather than lost


# ---------------------------------------------------------------------------- resume
def test_a_vtex_outage_interrupts_the_backfill_and_the_next_run_resumes(vtex, client):
    job = make_backfill(
        VTEXClient(api_url=vtex.url, app_key=DEFAULT_APP_KEY, app_token=DEFAULT_APP_TOKEN), client, retries=2
    )
    orders = busy_store(job.start + (job.stop - job.start) // 2)
    seed(vtex, orders)
    waits: list[float] = []
    job.sleep = waits.append

    def outage_midway(progress: BackfillProgress) -> None:
        if progress.queued >= 1500:
            faults(vtex, error_rate=1.0)  # every VTEX call now answers 500

    with pytest.raises(BackfillError, match="HTTP 500"):
        job.run(outage_midway)
    interrupted = client.llen(BACKFILL_QUEUE)
    assert 1500 <= interrupted < len(orders)
    assert waits == [1.0, 2.0]  # retried with backoff before giving up
    saved = json.loads(client.get(job.key))
    assert saved["queued"] == interrupted and saved["window"] is not None and saved["page"] >= 1

    faults(vtex, error_rate=0.0)
    resumed = make_backfill(
        VTEXClient(api_url=vtex.url, app_key=DEFAULT_APP_KEY, app_token=DEFAULT_APP_TOKEN), client
    ).run()
    assert resumed.queued == len(orders) - interrupted and resumed.queued_total == len(orders)
    ids = queued_order_ids(client)
    assert len(ids) == len(orders) and set(ids.values()) == {1}  # nothing twice, nothing missing


def test_an_interrupted_window_resumes_in_its_own_page_size(vtex, client):
    seed(vtex, [order_at(f"v{n}-01", T0 + timedelta(minutes=n)) for n in range(10)])
    vtex_client = VTEXClient(api_url=vtex.url, app_key=DEFAULT_APP_KEY, app_token=DEFAULT_APP_TOKEN)

    def outage(progress: BackfillProgress) -> None:
        if progress.queued >= 4:
            faults(vtex, error_rate=1.0)

    with pytest.raises(BackfillError):
        make_backfill(vtex_client, client, per_page=2, retries=0).run(outage)
    assert client.llen(BACKFILL_QUEUE) == 4
    faults(vtex, error_rate=0.0)
    assert make_backfill(vtex_client, client, per_page=100).run().queued == 6  # pages 3.. of 2, not page 2 of 100
    ids = queued_order_ids(client)
    assert len(ids) == 10 and set(ids.values()) == {1}


def test_restart_forgets_the_progress(vtex, client):
    seed(vtex, [order_at(f"v{n}-01", T0 + timedelta(minutes=n)) for n in range(5)])
    vtex_client = VTEXClient(api_url=vtex.url, app_key=DEFAULT_APP_KEY, app_token=DEFAULT_APP_TOKEN)
    assert make_backfill(vtex_client, client).run().queued == 5
    assert make_backfill(vtex_client, client).run().queued == 0
    job = make_backfill(vtex_client, client)
    job.reset()
    assert job.run().queued == 5 and client.llen(BACKFILL_QUEUE) == 10


def test_an_open_range_continues_where_the_last_run_stopped(vtex, client):
    vtex_client = VTEXClient(api_url=vtex.url, app_key=DEFAULT_APP_KEY, app_token=DEFAULT_APP_TOKEN)
    seed(vtex, [order_at(f"v{n}-01", T0 + timedelta(minutes=n)) for n in range(5)])
    first = make_backfill(vtex_client, client, until=None, clock=lambda: T0 + timedelta(hours=1))
    assert first.key == progress_key("mystore", T0, None) == "acsync:backfill:mystore:2026-10-01T12:00:00Z:now"
    assert first.run().queued == 5
    # orders placed since, and one placed within VTEX's indexing lag of the new "now" (left for later)
    seed(vtex, [order_at(f"w{n}-01", T0 + timedelta(hours=2, minutes=n)) for n in range(3)])
    seed(vtex, [order_at("late-01", T0 + timedelta(hours=3, minutes=-2))])
    later = make_backfill(vtex_client, client, until=None, clock=lambda: T0 + timedelta(hours=3)).run()
    assert (later.queued, later.queued_total) == (3, 8)
    assert set(queued_order_ids(client)) == {f"v{n}-01" for n in range(5)} | {f"w{n}-01" for n in range(3)}


# ---------------------------------------------------------------------------- more than one query can read
def test_a_second_holding_more_than_one_query_can_read_is_reported(vtex, client):
    dense = [order_at(f"d{n:03d}-01", T0 + timedelta(minutes=30, milliseconds=250)) for n in range(70)]  # a sale
    sparse = [order_at(f"s{n}-01", T0 + timedelta(minutes=n)) for n in (1, 50, 90)]
    seed(vtex, dense + sparse)
    vtex_client = VTEXClient(api_url=vtex.url, app_key=DEFAULT_APP_KEY, app_token=DEFAULT_APP_TOKEN)

    result = make_backfill(vtex_client, client, per_page=2).run()  # 30 pages of 2: 60 orders per query

    assert not result.complete and len(result.truncated) == 1
    truncated = result.truncated[0]
    assert (truncated.total, truncated.queued) == (70, 60)
    start, end = to_ms(datetime.fromisoformat(truncated.start)), to_ms(datetime.fromisoformat(truncated.end))
    assert start <= to_ms(T0 + timedelta(minutes=30, milliseconds=250)) <= end
    assert 1000 <= end + 1 - start < 2000  # the shortest window there is
    assert result.queued == client.llen(BACKFILL_QUEUE) == 63 and set(queued_order_ids(client).values()) == {1}
    # the report survives: a later run still lists the window
    assert make_backfill(vtex_client, client, per_page=2).run().truncated == result.truncated


def test_the_command_reports_windows_and_exits_1_on_a_truncated_window(
    vtex, redis_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    stores = tmp_path / "stores.toml"
    stores.write_text(render_stores_toml({"mystore": store_table("mystore", vtex_url=vtex.url)}))
    monkeypatch.setenv("ACSYNC_STORES", str(stores))
    monkeypatch.setenv("REDIS_URL", redis_url)
    seed(
        vtex,
        [order_at(f"d{n:03d}-01", T0) for n in range(70)]
        + [order_at(f"s{n}-01", T0 + timedelta(hours=n)) for n in (1, 2)],
    )

    def backfill(*extra: str):
        return CliRunner().invoke(
            main,
            [
                "backfill",
                "--store",
                "mystore",
                "--since",
                "2026-10-01T11:00:00",
                "--until",
                "2026-10-01T15:00:00",
                "--json",
                *extra,
            ],
            catch_exceptions=False,
        )

    done = backfill("--per-page", "2")
    assert done.exit_code == 1
    data = json.loads(done.stdout)
    assert data["queued"] == 62 and data["queue"] == BACKFILL_QUEUE and data["windows"] >= 2
    assert data["truncated"] == [
        {"from": data["truncated"][0]["from"], "to": data["truncated"][0]["to"], "total": 70, "queued": 60}
    ]
    assert "more than VTEX lists for one query: only 60 were queued" in done.stderr
    wide = backfill("--restart")  # 100 a page: the 70 fit in one query
    assert wide.exit_code == 0, wide.output
    assert json.loads(wide.stdout) == {**json.loads(wide.stdout), "queued": 72, "windows": 1, "truncated": []}
    assert backfill("--since", "2026-10-02").exit_code == 2  # an empty range is bad usage
