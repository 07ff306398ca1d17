"""Regenerate the console's screenshots in docs/screenshots/: overview, dead letters, an entry, a confirmation,
a trail and the audit log.

    .venv/bin/python docs/screenshots/make_screenshots.py

Runs the local stack exactly as ``acsync run`` does (sandboxes, ingest, a worker, the writer, beat and the
console, on a private Redis), then adds what an afternoon of operations leaves behind: a burst of real
orders through ingest, hooks that fail for good (orders VTEX does not know, an unreadable cart, a masked
e-mail nobody can resolve), one dead letter fixed and replayed from the console by ``admin``, the unreadable
carts purged by reason, the masked e-mail's entry revealed. The charts need an hour of history that a script
cannot wait for, so the minutes before the run are filled with counts of a sale peak, written into the same
per-minute buckets the services write (``acsync:stats:minute:*``).
Headless Chromium (Debian's chromium and chromium-driver) takes the pictures.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from selenium.webdriver.common.by import By  # noqa: E402

from acsync.localredis import start_private_redis  # noqa: E402
from acsync.localrun import STORE, Demo, queues_drained  # noqa: E402
from acsync_core.settings import environment_settings  # noqa: E402
from acsync_core.stats import MINUTE_PREFIX, MINUTE_TTL, account_host, hooks_field  # noqa: E402
from tests.console.browser import chromium, log_in, wait_for  # noqa: E402
from workers.celery_app import make_celery  # noqa: E402
from workers.dlq import DeadLetterQueue  # noqa: E402
from workers.hookconfig import hook_health  # noqa: E402
from workers.vtex.sandbox import make_order  # noqa: E402

OUT = Path(__file__).resolve().parent
WIDTH = 1440


def start_run(redis_url: str, workdir: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """``acsync run`` in the background; returns it and what it printed (URLs, the hook secret, the login)."""
    acsync = Path(sys.executable).parent / "acsync"
    env = {**os.environ, "REDIS_URL": redis_url, "ACSYNC_LOG_LEVEL": "WARNING"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    out = workdir / "run.out"
    process = subprocess.Popen(  # noqa: S603 - our own acsync, our own arguments
        [str(acsync), "run", "--workdir", str(workdir / "run")],
        env=env,
        cwd=workdir,
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while "Ctrl-C stops everything." not in out.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"acsync run did not come up:\n{out.read_text()[-3000:]}")
        time.sleep(0.5)
    text = out.read_text()
    found = {
        "ingest": re.search(r"ingest\s+(http://\S+?)/hooks", text).group(1),
        "secret": re.search(r"hook secret\s+(\S+)", text).group(1),
        "ac": re.search(r"ActiveCampaign\s+(http://\S+?)/__sandbox", text).group(1),
        "vtex": re.search(r"VTEX\s+(http://\S+)", text).group(1),
        "console": re.search(r"console\s+(http://\S+)", text).group(1),
        "password": re.search(r"console\s+http://\S+\s+\(user admin, password (\S+):", text).group(1),
    }
    return process, found


def peak_history(client: redis.Redis, ac_host: str, budget_rps: float) -> None:
    """The hour before now: a flash sale that peaks about 25 minutes ago (demo counts, see the docstring)."""
    now = int(time.time() // 60)
    pipe = client.pipeline(transaction=False)
    for ago in range(2, 60):
        wave = math.exp(-(((ago - 25) / 9) ** 2))
        orders = int(30 + 420 * wave + 8 * math.sin(ago))
        carts = int(12 + 90 * wave)
        customers = int(4 + 25 * wave)
        requests_ = min(int(budget_rps * 60 * 0.95), int(orders / 12 + carts * 2 + customers / 4 + 10))
        key = MINUTE_PREFIX + str(now - ago)
        for name, value in (
            (hooks_field("order", STORE), orders),
            (hooks_field("cart", STORE), carts),
            (hooks_field("customer", STORE), customers),
            (f"events:order@{STORE}", int(orders * 0.97)),
            (f"events:cart@{STORE}", carts),
            (f"events:customer@{STORE}", customers),
            (f"ac_requests@{ac_host}", requests_),
            (f"ac_429@{ac_host}", 3 if 22 <= ago <= 27 else 0),
        ):
            if value:
                pipe.hincrby(key, name, value)
        pipe.expire(key, MINUTE_TTL)
    pipe.execute()


def wait_drained(client: redis.Redis, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not queues_drained(client):
        if time.monotonic() > deadline:
            raise RuntimeError("the pipeline did not drain")
        time.sleep(0.5)


def shoot(driver, name: str) -> None:
    """The whole page (a headless window is no taller than its screen: the page's size is emulated)."""
    height = max(700, min(int(driver.execute_script("return document.documentElement.scrollHeight")) + 16, 3000))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    time.sleep(0.3)
    driver.save_screenshot(str(OUT / f"{name}.png"))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    print(f"wrote {OUT / (name + '.png')}")


def main() -> None:
    server = start_private_redis()
    client = redis.Redis.from_url(server.url)
    workdir = Path(tempfile.mkdtemp(prefix="acsync-screenshots-"))
    process = None
    driver = None
    try:
        process, urls = start_run(server.url, workdir)
        print(f"acsync run is up; console at {urls['console']}")
        demo = Demo(urls["ingest"], urls["vtex"], urls["ac"], urls["secret"], say=print)
        peak_history(client, account_host(urls["ac"]), 5)

        # the minute under way: real orders of a burst, and hooks that fail for good
        for n in range(100, 140):
            order = make_order(demo.order_id(n), email=demo.email(f"buyer{n}"), account=STORE)
            demo.seed(order)
            demo.hook(order)
        doomed = [demo.order_id(n) for n in (900, 901, 902)]  # VTEX does not know them (yet)
        for order_id in doomed:
            demo.post(
                "order",
                {
                    "Domain": "Marketplace",
                    "OrderId": order_id,
                    "State": "payment-approved",
                    "LastChange": "2026-11-27T13:30:00Z",
                    "CurrentChange": "2026-11-27T13:30:00Z",
                    "Origin": {"Account": STORE, "Key": "vtexappkey-demostore-DEMO"},
                },
            )
        for name in ("rita", "sergio"):  # a store's custom trigger body nobody can read
            demo.post(
                "cart",
                {
                    "email": demo.email(name),
                    "rclastcart": "remove?sku=20",
                    "accountName": STORE,
                    "firstName": name.title(),
                },
            )
        alias = make_order(
            demo.order_id(903), email=f"{'a1b2c3d4' * 4}@ct.vtex.com.br", account=STORE, user_profile_id="u-nobody"
        )  # a masked e-mail with no profile to resolve it
        demo.seed(alias)
        demo.hook(alias)
        dlq = DeadLetterQueue(client)
        wait_for(lambda: dlq.size() >= 6, timeout=120, what="the dead letters")
        wait_drained(client)
        # beat checks the VTEX order hook hourly: ask for the check now, as its schedule would
        make_celery(environment_settings({"REDIS_URL": server.url})).send_task(
            "acsync.check_hooks", queue="acsync.maintenance"
        )
        wait_for(lambda: STORE in hook_health(client), timeout=60, what="the order hook check")

        driver = chromium(WIDTH, 1000)
        log_in(driver, urls["console"], "admin", urls["password"])

        # one dead order is fixed (VTEX has it now) and replayed from the console
        fixed = next(e for e in dlq.list() if e["event"]["payload"].get("OrderId") == doomed[0])
        demo.seed(make_order(doomed[0], email=demo.email("late"), account=STORE))
        driver.get(f"{urls['console']}/dlq/entry/{fixed['entry_id']}")
        driver.find_element(By.ID, "replay").click()
        driver.find_element(By.ID, "confirm").click()
        wait_for(
            lambda: any(
                o.get("externalid") == doomed[0]
                for o in requests.get(urls["ac"] + "/__sandbox/state", timeout=5)
                .json()["accounts"]
                .get("sandbox", {})
                .get("ecomOrders", [])
            ),
            timeout=60,
            what="the replayed order",
        )
        wait_drained(client)

        driver.get(urls["console"] + "/")
        shoot(driver, "overview")
        driver.get(urls["console"] + "/dlq")
        shoot(driver, "dlq-list")
        entry = next(e for e in dlq.list() if e["reason"] == "order_not_found")
        driver.get(f"{urls['console']}/dlq/entry/{entry['entry_id']}")
        shoot(driver, "dlq-entry")
        driver.get(f"{urls['console']}/trail?q={doomed[0]}")
        shoot(driver, "trail")
        # the unreadable carts are the store's own trigger body: nothing to replay, purge them by reason
        driver.get(f"{urls['console']}/dlq?reason=unparsable_cart")
        driver.find_element(By.ID, "purge-matching").click()
        wait_for(lambda: driver.find_elements(By.ID, "confirm"), what="the confirmation")
        shoot(driver, "dlq-confirm")
        driver.find_element(By.ID, "confirm").click()
        wait_for(lambda: "Purged" in driver.find_element(By.TAG_NAME, "main").text, what="the purge")
        masked = next(e for e in dlq.list() if e["reason"] == "masked_email")
        driver.get(f"{urls['console']}/dlq/entry/{masked['entry_id']}")
        driver.find_element(By.ID, "reveal").click()  # an operator looks at the real addresses: audited
        driver.get(urls["console"] + "/audit")
        shoot(driver, "audit")
    finally:
        if driver is not None:
            driver.quit()
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
        server.stop()


if __name__ == "__main__":
    main()
