"""The console in a real browser over the real stack: headless Chromium, gunicorn, a Celery worker and a writer.

A private Redis, both sandboxes over loopback HTTP, a real Celery worker and an ActiveCampaign writer
(the integration tests' ``stack``), ingest in-process, and the console under gunicorn on a free port
with its production cookie settings. An order hook for an order VTEX does not know yet dies for good
(``order_not_found``), a cart nobody can read dies too; a viewer reads and cannot act; the operator
reads the store's figures (equal to what Redis holds), opens the dead order, replays it once VTEX has
the order, and the order reaches the ActiveCampaign sandbox.

Needs Debian's chromium and chromium-driver; without them the test fails and says so (never skips).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from werkzeug.security import generate_password_hash

from acsync import commands
from acsync.localredis import free_port
from acsync.processes import ProcessGroup
from acsync_core.stats import Stats, account_host
from ingest import create_app as create_ingest
from tests.console.browser import chromium, log_in, log_out, missing, wait_for
from tests.factories import cart_trigger, make_settings, order_hook
from tests.workers.conftest import make_order, sandboxes, stores_for
from tests.workers.test_celery_integration import post, settled, stack, wait_until
from workers.dlq import DeadLetterQueue
from workers.outbox import Outbox
from workers.trail import Trail

__all__ = ["sandboxes", "stack"]  # the integration tests' fixtures, shared

pytestmark = pytest.mark.slow

OPERATOR, VIEWER = ("olga", "operator-password-123"), ("victor", "viewer-password-456")


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    if missing():
        pytest.fail(
            f"{', '.join(missing())} missing: install Debian's chromium and chromium-driver "
            "(apt-get install -y chromium chromium-driver)",
            pytrace=False,
        )
    driver = chromium()
    yield driver
    driver.quit()


@pytest.fixture
def console_url(stack, tmp_path: Path) -> Iterator[str]:
    """The console under gunicorn, as docker-compose runs it, with the stack's stores file and Redis."""
    _boxes, workers, _redis_url = stack
    port = free_port()
    users = ";".join(
        f"{name}:{role}:{generate_password_hash(password, method='pbkdf2:sha256:1000')}"
        for (name, password), role in ((OPERATOR, "operator"), (VIEWER, "viewer"))
    )
    # default (Secure) cookies: Chromium keeps Secure cookies for http://127.0.0.1, a trustworthy origin
    env = {
        **workers.env,
        "ACSYNC_CONSOLE_BIND": f"127.0.0.1:{port}",
        "ACSYNC_CONSOLE_USERS": users,
        "ACSYNC_CONSOLE_SECRET_KEY": "browser-test-secret-key-0123456789-abcdef",
        "ACSYNC_CONSOLE_WORKERS": "1",
    }
    group = ProcessGroup(log_dir=tmp_path / "console-logs", env=env)
    group.start("console", commands.CONSOLE)
    url = f"http://127.0.0.1:{port}"
    group.wait_http("console", url + "/healthz")
    yield url
    group.stop_all()


def figure(row, name: str) -> str:
    return row.find_element(By.CSS_SELECTOR, f'[data-figure="{name}"]').text.strip()


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_operator_replays_a_dead_letter_from_the_browser_and_it_reaches_activecampaign(stack, console_url, browser):
    boxes, workers, redis_url = stack
    client = redis.Redis.from_url(redis_url)
    settings = make_settings(redis_url, **stores_for(boxes))
    ingest = create_ingest(settings).test_client()
    for n in (1, 2):
        boxes.seed_order(make_order(f"v70{n}-01", email=f"buyer{n}@example.com"))
        assert post(ingest, "order", order_hook(order_id=f"v70{n}-01")).status_code == 200
    assert post(ingest, "order", order_hook(order_id="v799-01")).status_code == 200  # VTEX does not know it yet
    assert post(ingest, "cart", cart_trigger(email="ana.paula@example.com", cart="add?qty=1")).status_code == 200
    workers.start()
    dlq = DeadLetterQueue(client)
    wait_until(
        lambda: dlq.size() == 2 and len(boxes.orders()) == 2 and settled(redis_url),
        timeout=90,
        what="two orders in ActiveCampaign and two dead letters",
    )
    dead = {e["kind"]: e for e in dlq.list()}
    assert dead["order"]["reason"] == "order_not_found" and dead["cart"]["reason"] == "unparsable_cart"

    # a viewer reads everything, e-mails masked, and has nothing to press
    log_in(browser, console_url, *VIEWER)
    browser.get(f"{console_url}/dlq/entry/{dead['cart']['entry_id']}")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "unparsable_cart" in page and "a***@example.com" in page and "ana.paula@example.com" not in page
    assert not browser.find_elements(By.ID, "replay") and not browser.find_elements(By.ID, "purge")
    assert not browser.find_elements(By.ID, "reveal")
    browser.get(f"{console_url}/dlq/entry/{dead['order']['entry_id']}")
    assert not browser.find_elements(By.ID, "replay")
    log_out(browser)

    # the operator reads the store's figures: the numbers on the page are the ones in Redis
    log_in(browser, console_url, *OPERATOR)
    stats = Stats(client)
    row = browser.find_element(By.ID, "store-mystore")

    def hour(field: str) -> int:
        return sum(count for _, count in stats.series(field))

    hooks = {kind: hour(f"hooks:{kind}@mystore") for kind in ("order", "cart", "customer")}
    assert hooks == {"order": 3, "cart": 1, "customer": 0}  # every accepted hook, the doomed ones too
    assert number(figure(row, "hooks-hour")) == sum(hooks.values())
    assert number(figure(row, "hooks-hour-order")) == hooks["order"]
    assert number(figure(row, "events-hour")) == sum(hour(f"events:{k}@mystore") for k in ("order", "cart", "customer"))
    assert number(figure(row, "dead")) == 2
    p50, p99 = stats.latency_percentiles("order@mystore")["p50"], stats.latency_percentiles("order@mystore")["p99"]
    assert figure(row, "latency-order") == f"order {p50:.2f} s / {p99:.2f} s"
    assert figure(row, "last-success").endswith("ago") and "mystore" in stats.last_success()
    store = settings.stores["mystore"]
    host = account_host(store.ac_account_key)
    account = browser.find_element(By.ID, f"account-{host}")
    assert number(figure(account, "requests-hour")) == hour(f"ac_requests@{host}") > 0
    assert number(figure(account, "429s")) == hour(f"ac_429@{host}") == 0
    assert number(figure(account, "outbox-waiting")) == sum(Outbox(client, store.ac_account_key).depth().values())
    assert figure(account, "budget") == "5"
    assert number(browser.find_element(By.CSS_SELECTOR, '#pipeline [data-figure="dead-letters"]').text) == 2
    assert browser.find_elements(By.CSS_SELECTOR, "#store-mystore svg.spark polyline")  # the hour, drawn

    # the dead letters, filtered to orders in the form, then the entry
    browser.find_element(By.LINK_TEXT, "Dead letters").click()
    Select(browser.find_element(By.ID, "filter-kind")).select_by_value("order")
    browser.find_element(By.CSS_SELECTOR, "#dlq-filters button").click()
    wait_for(lambda: "kind=order" in browser.current_url, what="the filtered list")
    rows = browser.find_elements(By.CSS_SELECTOR, "#dlq-list tbody tr[data-entry]")
    assert [r.get_attribute("data-entry") for r in rows] == [dead["order"]["entry_id"]]
    rows[0].find_element(By.CSS_SELECTOR, "a.entry-link").click()
    wait_for(lambda: browser.find_elements(By.ID, "entry-reason"), what="the entry page")
    assert browser.find_element(By.ID, "entry-reason").text == "order_not_found"
    assert "v799-01" in browser.find_element(By.ID, "event").text
    assert "permanent" in browser.find_element(By.ID, "attempts").text

    # the cause is fixed (VTEX has the order now), then replay it, with the confirmation
    boxes.seed_order(make_order("v799-01", email="late@example.com"))
    browser.find_element(By.ID, "replay").click()
    wait_for(lambda: browser.find_elements(By.ID, "confirm"), what="the confirmation")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Replay 1 dead letter?"
    browser.find_element(By.ID, "confirm").click()
    wait_for(lambda: "Replayed 1 entry." in browser.find_element(By.TAG_NAME, "main").text, what="the replay")
    assert browser.find_element(By.ID, "entry-status").text == "replayed"

    wait_until(
        lambda: any(o["externalid"] == "v799-01" for o in boxes.orders()),
        timeout=60,
        what="the replayed order in the ActiveCampaign sandbox",
    )
    wait_until(lambda: dlq.size() == 1 and settled(redis_url), timeout=30, what="the pipeline settled")
    assert dlq.get(dead["order"]["entry_id"])["status"] == "replayed"

    # who did it is on record, and the event's trail shows the whole story
    browser.find_element(By.LINK_TEXT, "Audit").click()
    audit = browser.find_element(By.ID, "audit").text
    assert re.search(rf"{OPERATOR[0]}\s+replay\s+{dead['order']['entry_id']}\s+1", audit), audit
    wait_until(
        lambda: any(s["step"] == "written" for s in Trail(client).steps(dead["order"]["event_id"])),
        timeout=30,
        what="the written step",
    )
    browser.find_element(By.LINK_TEXT, "Trail").click()
    browser.find_element(By.ID, "q").send_keys("v799-01")
    browser.find_element(By.ID, "search").click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "section.trail"), what="the trail")
    steps = [li.get_attribute("class") for li in browser.find_elements(By.CSS_SELECTOR, "section.trail li.step")]
    assert "step step-dead_lettered" in steps and "step step-replayed" in steps and steps[-1] == "step step-written"
    assert steps.index("step step-dead_lettered") < steps.index("step step-replayed")
