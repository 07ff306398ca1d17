"""Operator commands: connections, VTEX hook configuration, the dead-letter queue, stats, backfill.

Every command reads the stores file (ACSYNC_STORES) and REDIS_URL like the services do. Exit codes:
0 success, 1 the operation failed (or found a problem, for ``hooks status``), 2 bad usage or config.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click
import redis

from acclient import ACError, ActiveCampaign, DuplicateError
from acsync_core import redis_connection
from acsync_core.events import BACKFILL_QUEUE, WORKER_QUEUES
from acsync_core.publish import TaskPublisher
from acsync_core.settings import ConfigError, Settings, StoreConfig, load_settings
from acsync_core.stats import Stats
from ingest.spool import Spool
from workers.backfill import Backfill, BackfillError, BackfillProgress
from workers.dlq import DeadLetterQueue, DLQFilter
from workers.hookconfig import HOOK_SECRET_HEADER, hook_problems, vtex_for, wanted_hook
from workers.outbox import Outbox
from workers.ratelimit import KEY_PREFIX as LIMITER_PREFIX
from workers.ratelimit import SLOWDOWN_SUFFIX, RedisRateLimiter, booked_ahead
from workers.vtex import VTEXError
from workers.writers.account import describe_heartbeats
from workers.writers.service import stores_by_account


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {exc}") from None


def store_option(func: Any) -> Any:
    return click.option("--store", "store_name", required=True, help="The store (VTEX account) in the stores file.")(
        func
    )


def get_store(config: Settings, name: str) -> StoreConfig:
    if name not in config.stores:
        raise click.UsageError(f"store {name!r} is not in {config.stores_path} (known: {', '.join(config.stores)})")
    return config.stores[name]


def emit(data: Any, as_json: bool, human: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else human)


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def redis_client(config: Settings) -> redis.Redis:
    client = redis_connection.connect(config.redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        fail(f"Redis at {redis_connection.redact(config.redis_url)} is unreachable: {exc.__class__.__name__}")
    return client


def ac_client(store: StoreConfig, config: Settings) -> ActiveCampaign:
    """A client that takes its requests from the account's shared budget, like the workers do;
    with Redis unreachable (first-time setup) it falls back to acclient's in-process limiter."""
    limiter = None
    client = redis_connection.connect(config.redis_url, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
        limiter = RedisRateLimiter(client, store.ac_account_key, store.activecampaign.requests_per_second)
    except redis.RedisError:
        pass
    return ActiveCampaign(
        api_url=store.activecampaign.api_url, api_token=store.activecampaign.api_token, rate_limiter=limiter
    )


# ------------------------------------------------------------------------------ connections
@click.group()
def connections() -> None:
    """ActiveCampaign Deep Data connections (the one-time "Creating Connection ID" step)."""


@connections.command("create")
@store_option
@click.option("--name", help="Shown in ActiveCampaign (default: the store name).")
@click.option("--logo-url", help="Default: <store_url>/logo.png")
@click.option("--json", "as_json", is_flag=True)
def connections_create(store_name: str, name: str | None, logo_url: str | None, as_json: bool) -> None:
    """Create the connection for a store and print its id (put it in connection_id)."""
    config = settings()
    store = get_store(config, store_name)
    ac = ac_client(store, config)
    connection: dict[str, Any] | None
    try:
        connection = ac.connections.create(
            service="vtex",
            externalid=store.name,
            name=name or store.name,
            logo_url=logo_url or f"{store.store_url}/logo.png",
            link_url=store.store_url,
        )
        created = True
    except DuplicateError:
        connection = ac.connections.find(service="vtex", externalid=store.name)
        created = False
    except ACError as exc:
        fail(f"ActiveCampaign refused: {exc}")
        return
    if connection is None:
        fail("ActiveCampaign reports a duplicate connection but it cannot be found")
        return
    verb = "created" if created else "already exists"
    emit(
        {"id": connection["id"], "created": created, "connection": connection},
        as_json,
        f"connection {verb}: id {connection['id']}\nset [stores.{store.name}.activecampaign] "
        f"connection_id = {connection['id']}",
    )


@connections.command("list")
@store_option
@click.option("--json", "as_json", is_flag=True)
def connections_list(store_name: str, as_json: bool) -> None:
    """List the connections of the store's ActiveCampaign account."""
    config = settings()
    store = get_store(config, store_name)
    try:
        rows = list(ac_client(store, config).connections.iterate())
    except ACError as exc:
        fail(f"ActiveCampaign refused: {exc}")
        return
    lines = [f"{c['id']:>5}  {c['service']:<12} {c['externalid']:<24} {c['name']}" for c in rows]
    emit(rows, as_json, "\n".join(["   id  service      externalid               name", *lines]))


# ------------------------------------------------------------------------------ VTEX order hook
@click.group()
def hooks() -> None:
    """The VTEX order hook: configure it, and check that it is still there."""


@hooks.command("configure")
@store_option
@click.option(
    "--url",
    required=True,
    envvar="ACSYNC_PUBLIC_URL",
    help="Public base URL of ingest (env ACSYNC_PUBLIC_URL), e.g. https://acsync.example.com",
)
@click.option("--json", "as_json", is_flag=True)
def hooks_configure(store_name: str, url: str, as_json: bool) -> None:
    """Point the store's VTEX order hook at ingest, with the status filter and the secret header."""
    store = get_store(settings(), store_name)
    wanted = wanted_hook(store, url)
    try:
        vtex_for(store).set_hook_config(wanted)
    except VTEXError as exc:
        fail(f"VTEX refused the hook configuration: {exc}")
    shown = {**wanted, "hook": {**wanted["hook"], "headers": {HOOK_SECRET_HEADER: "***"}}}
    emit(
        {"configured": True, "config": shown},
        as_json,
        f"order hook configured: {wanted['hook']['url']} for {', '.join(wanted['filter']['status'])}",
    )


@hooks.command("status")
@store_option
@click.option("--url", required=True, envvar="ACSYNC_PUBLIC_URL", help="Expected public base URL of ingest.")
@click.option("--json", "as_json", is_flag=True)
def hooks_status(store_name: str, url: str, as_json: bool) -> None:
    """Show whether the order hook is configured as expected (exit 1 if not)."""
    store = get_store(settings(), store_name)
    try:
        current = vtex_for(store).get_hook_config()
    except VTEXError as exc:
        fail(f"VTEX: {exc}")
        return
    problems = hook_problems(current, wanted_hook(store, url))
    emit(
        {"ok": not problems, "problems": problems},
        as_json,
        "order hook OK" if not problems else "order hook NOT OK:\n  " + "\n  ".join(problems),
    )
    if problems:
        sys.exit(1)


# ------------------------------------------------------------------------------ dead-letter queue
def parse_age(value: str | None) -> float | None:
    if value is None:
        return None
    match = re.fullmatch(r"(\d+)([smhd])", value.strip())
    if not match:
        raise click.BadParameter("use a number and s, m, h or d, e.g. 30m or 2d")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def dlq_filters(func: Any) -> Any:
    func = click.option("--store", help="Only this store.")(func)
    func = click.option("--kind", type=click.Choice(["order", "cart", "customer"]), help="Only this kind.")(func)
    func = click.option("--older-than", help="Only entries dead longer than this (30m, 2h, 1d).")(func)
    return click.option("--newer-than", help="Only entries dead more recently than this.")(func)


def make_filter(store: str | None, kind: str | None, older_than: str | None, newer_than: str | None) -> DLQFilter:
    return DLQFilter(store=store, kind=kind, older_than=parse_age(older_than), newer_than=parse_age(newer_than))


@click.group()
def dlq() -> None:
    """The dead-letter queue: events that failed for good."""


@dlq.command("list")
@dlq_filters
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def dlq_list(
    store: str | None, kind: str | None, older_than: str | None, newer_than: str | None, limit: int, as_json: bool
) -> None:
    """List dead entries, newest first."""
    entries = DeadLetterQueue(redis_client(settings())).list(make_filter(store, kind, older_than, newer_than), limit)
    lines = [
        f"{e['entry_id']}  {datetime.fromtimestamp(e['dead_at'], UTC):%Y-%m-%d %H:%M:%S}  {e['store']:<12} "
        f"{e['kind']:<8} {len(e['attempts']):>2} attempts  {e['reason']}"
        for e in entries
    ]
    emit(
        [{k: v for k, v in e.items() if k != "event"} for e in entries],
        as_json,
        "\n".join(lines) if lines else "the dead-letter queue is empty",
    )


@dlq.command("show")
@click.argument("entry_id")
@click.option("--json", "as_json", is_flag=True)
def dlq_show(entry_id: str, as_json: bool) -> None:
    """Show one entry: the event, the reason and every attempt."""
    entry = DeadLetterQueue(redis_client(settings())).get(entry_id)
    if entry is None:
        fail(f"no entry {entry_id}")
        return
    attempts = "\n".join(
        f"  #{a['attempt'] + 1} {datetime.fromtimestamp(a['at'], UTC):%H:%M:%S} "
        f"{'retryable' if a['retryable'] else 'permanent'}: {a['error']}"
        for a in entry["attempts"]
    )
    emit(
        entry,
        as_json,
        f"{entry['entry_id']} ({entry['status']}) {entry['store']} {entry['kind']}\n"
        f"reason: {entry['reason']}\nerror:  {entry['error']}\nattempts:\n{attempts}\n"
        f"payload: {json.dumps(entry['event']['payload'])}",
    )


@dlq.command("replay")
@click.argument("entry_ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Replay every entry matching the filters.")
@dlq_filters
@click.option("--json", "as_json", is_flag=True)
def dlq_replay(
    entry_ids: tuple[str, ...],
    replay_all: bool,
    store: str | None,
    kind: str | None,
    older_than: str | None,
    newer_than: str | None,
    as_json: bool,
) -> None:
    """Re-enqueue entries (fresh attempt count, history kept).

    An entry is marked replayed in the same Redis transaction that pushes its new message: if Redis
    fails, that entry and the ones after it stay dead and listed (reported as failed), exit code 1.
    """
    client = redis_client(settings())
    queue = DeadLetterQueue(client)
    if replay_all:
        entry_ids = tuple(e["entry_id"] for e in queue.list(make_filter(store, kind, older_than, newer_than), None))
    elif not entry_ids:
        raise click.UsageError("give entry ids, or --all with filters")
    publisher = TaskPublisher(client)
    replayed: list[str] = []
    missing: list[str] = []
    failed: list[str] = []
    error = ""
    for index, entry_id in enumerate(entry_ids):
        try:
            queue.replay(entry_id, publisher)
            replayed.append(entry_id)
        except KeyError:
            missing.append(entry_id)
        except redis.RedisError as exc:  # nothing of this entry was written; Redis is likely down: stop here
            failed = list(entry_ids[index:])
            error = f"{exc.__class__.__name__}: {exc}"
            break
    result: dict[str, Any] = {"replayed": replayed, "missing": missing}
    human = f"replayed {len(replayed)}" + (f"; not found: {', '.join(missing)}" if missing else "")
    if failed:
        result.update(failed=failed, error=error)
        human += f"; not replayed, still dead ({error}): {', '.join(failed)}"
    emit(result, as_json, human)
    if missing or failed:
        sys.exit(1)


@dlq.command("purge")
@dlq_filters
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True)
def dlq_purge(
    store: str | None, kind: str | None, older_than: str | None, newer_than: str | None, yes: bool, as_json: bool
) -> None:
    """Delete entries matching the filters."""
    queue = DeadLetterQueue(redis_client(settings()))
    filters = make_filter(store, kind, older_than, newer_than)
    count = len(queue.list(filters, None))
    if not yes and not click.confirm(f"purge {count} entries?"):
        sys.exit(1)
    emit({"purged": queue.purge(filters)}, as_json, f"purged {count} entries")


# ------------------------------------------------------------------------------ stats
def collect_stats(config: Settings, client: redis.Redis, minutes: int) -> dict[str, Any]:
    booked = {
        key.decode()[len(LIMITER_PREFIX) :]: round(booked_ahead(client, key.decode()), 3)
        for key in client.scan_iter(LIMITER_PREFIX + "*")
        if not key.decode().endswith(SLOWDOWN_SUFFIX)
    }
    stats = Stats(client)
    beats = describe_heartbeats(client)
    writers = {}
    for account, stores in stores_by_account(config).items():
        box = Outbox(client, account)
        beat = beats.get(account)
        writers["+".join(sorted(s.name for s in stores))] = {
            "outbox": box.depth(),
            "in_flight": box.in_flight(),
            "heartbeat_age_seconds": round(time.time() - float(beat["at"]), 1) if beat else None,
            "slowdown": float(client.get(LIMITER_PREFIX + account + SLOWDOWN_SUFFIX) or 1.0),
        }
    return {
        "writers": writers,
        "queues": {queue: client.llen(queue) for queue in WORKER_QUEUES},
        "in_flight": client.hlen("unacked"),  # delivered, not yet acknowledged: running or waiting an ETA
        "dead_letters": DeadLetterQueue(client).size(),
        "rate_limiter_booked_seconds": booked,
        f"last_{minutes}_minutes": stats.last_minutes(minutes),
        "latency_seconds": {kind: stats.latency_percentiles(kind) for kind in ("order", "cart", "customer")},
        "totals": stats.totals(),
    }


@click.command("stats")
@click.option("--watch", is_flag=True, help="Refresh every --interval seconds.")
@click.option("--interval", default=2.0, show_default=True)
@click.option("--minutes", default=5, show_default=True, help="Window of the recent counters.")
@click.option("--json", "as_json", is_flag=True)
def stats_command(watch: bool, interval: float, minutes: int, as_json: bool) -> None:
    """Queue depths, tasks in flight, dead letters, rate-limiter state, recent throughput."""
    config = settings()
    client = redis_client(config)
    while True:
        data = collect_stats(config, client, minutes)
        if as_json:
            click.echo(json.dumps(data))
        else:
            if watch:
                click.clear()
            recent = data[f"last_{minutes}_minutes"]
            click.echo("queues:       " + ", ".join(f"{q} {n}" for q, n in data["queues"].items()))
            click.echo(f"in flight:    {data['in_flight']}   dead letters: {data['dead_letters']}")
            for name, writer in data["writers"].items():
                age = writer["heartbeat_age_seconds"]
                click.echo(
                    f"writer {name}: waiting "
                    + ", ".join(f"{k} {v}" for k, v in writer["outbox"].items())
                    + f", in flight {writer['in_flight']}, "
                    + ("no writer seen" if age is None else f"last step {age}s ago")
                    + (f", slowed x{writer['slowdown']:g} (429s)" if writer["slowdown"] > 1 else "")
                )
            click.echo(
                "rate limiter: "
                + (
                    ", ".join(f"{k} booked {v}s ahead" for k, v in data["rate_limiter_booked_seconds"].items())
                    or "idle"
                )
            )
            click.echo(
                f"last {minutes} min: "
                + (
                    ", ".join(
                        f"{k} {v}"
                        for k, v in sorted(recent.items())
                        if k.startswith(("events:", "retries:", "dead:", "ac_calls:", "outcome:order:marketplace"))
                    )
                    or "nothing"
                )
            )
            click.echo(
                "latency:      "
                + (
                    ", ".join(
                        f"{kind} p50 {v['p50']:.2f}s p99 {v['p99']:.2f}s"
                        for kind, v in data["latency_seconds"].items()
                        if v
                    )
                    or "no samples"
                )
            )
        if not watch:
            return
        time.sleep(interval)


# ------------------------------------------------------------------------------ backfill
@click.command("backfill")
@store_option
@click.option(
    "--since",
    required=True,
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="First creation date to import (UTC).",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Last creation date to import (UTC, inclusive). Default: five minutes ago (VTEX lists an "
    "order about four minutes after it is placed); runs without it share one progress.",
)
@click.option("--per-page", default=100, show_default=True, type=click.IntRange(1, 100))
@click.option("--restart", is_flag=True, help="Ignore saved progress and start again at --since.")
@click.option("--json", "as_json", is_flag=True)
def backfill(
    store_name: str, since: datetime, until: datetime | None, per_page: int, restart: bool, as_json: bool
) -> None:
    """Import historical orders as HISTORICAL, so that they fire no automations.

    The command only queues one event per order, on its own queue (acsync.backfill) so that live
    hooks are not delayed; the workers read each order and the account writer sends history to
    ActiveCampaign in batches with bulkUpsertOrdersAsync, within the account's rate limit. VTEX
    lists at most 3,000 orders per query, so the range is read in windows of at most 3,000 orders;
    a window that cannot be split below one second and still holds more is reported (exit 1, listed
    under "truncated" in the JSON). Progress is saved per window and page: running the command
    again resumes where it stopped.
    """
    config = settings()
    store = get_store(config, store_name)
    client = redis_client(config)
    try:
        job = Backfill(
            vtex_for(store),
            TaskPublisher(client),
            client,
            store=store.name,
            since=since.replace(tzinfo=UTC),
            until=until.replace(tzinfo=UTC) if until else None,
            per_page=per_page,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if restart:
        job.reset()
    try:
        total = job.estimate()
        with click.progressbar(length=total, label=f"backfill {store.name}", file=sys.stderr, show_pos=True) as bar:

            def show(progress: BackfillProgress) -> None:
                bar.length = max(bar.length or 0, progress.total, progress.queued)
                bar.update(progress.queued - bar.pos)

            result = job.run(show)
    except BackfillError as exc:
        fail(f"{exc} (run again to resume)")
        return
    except redis.RedisError as exc:
        fail(f"Redis: {exc.__class__.__name__} (run again to resume)")
        return
    truncated = [window.as_dict() for window in result.truncated]
    emit(
        {
            "queued": result.queued,
            "queue": BACKFILL_QUEUE,
            "windows": result.windows,
            "pages": result.pages,
            "total": result.total,
            "queued_total": result.queued_total,
            "truncated": truncated,
        },
        as_json,
        f"queued {result.queued} orders on {BACKFILL_QUEUE} ({result.windows} windows, {result.pages} pages)",
    )
    if truncated:
        for window in truncated:
            click.echo(
                f"warning: {window['total']} orders were created from {window['from']} to {window['to']}, "
                f"more than VTEX lists for one query: only {window['queued']} were queued",
                err=True,
            )
        sys.exit(1)


# ------------------------------------------------------------------------------ spool
@click.group()
def spool() -> None:
    """The local spool of hooks accepted while Redis was unreachable."""


def open_spool(config: Settings) -> Spool:
    if not config.spool_path:
        raise click.UsageError("no spool configured (ACSYNC_SPOOL_PATH is empty)")
    return Spool(config.spool_path)


@spool.command("status")
@click.option("--json", "as_json", is_flag=True)
def spool_status(as_json: bool) -> None:
    """How many events wait in the spool."""
    config = settings()
    size = open_spool(config).size()
    emit({"path": config.spool_path, "spooled": size}, as_json, f"{size} events spooled in {config.spool_path}")


@spool.command("flush")
@click.option("--json", "as_json", is_flag=True)
def spool_flush(as_json: bool) -> None:
    """Move spooled events to the queues now (ingest also does it by itself once Redis is back)."""
    config = settings()
    local = open_spool(config)
    before = local.size()
    try:
        moved = local.flush(TaskPublisher(redis_client(config)), dedupe_ttl_seconds=config.dedupe_window_seconds)
    except redis.RedisError as exc:
        fail(f"Redis: {exc.__class__.__name__} (the spool is intact)")
        return
    emit(
        {"enqueued": moved, "duplicates": before - moved - local.size(), "left": local.size()},
        as_json,
        f"enqueued {moved} spooled events ({before - moved - local.size()} were duplicates)",
    )
