"""``acsync backfill``: import historical orders (``workers.backfill``)."""

from __future__ import annotations

import sys
from datetime import datetime

import click
import redis

from acsync.cli_groups.common import emit, fail, get_store, redis_client, settings, store_option
from acsync_core.events import BACKFILL_QUEUE
from workers.backfill import BackfillError, BackfillProgress, start_backfill, summary
from workers.hookconfig import vtex_for


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
        job = start_backfill(
            vtex_for(store), client, store=store.name, since=since, until=until, per_page=per_page, restart=restart
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        total = job.estimate()
        with click.progressbar(length=total, label=f"backfill {store.name}", file=sys.stderr, show_pos=True) as bar:

            def show(progress: BackfillProgress) -> None:
                bar.length = max(bar.length or 0, progress.total, progress.queued)
                bar.update(progress.queued - bar.pos)

            result = job.run(show)
    except BackfillError as exc:
        fail(f"{exc} (run again to resume)")
    except redis.RedisError as exc:
        fail(f"Redis: {exc.__class__.__name__} (run again to resume)")
    report = summary(result)
    emit(
        report,
        as_json,
        f"queued {result.queued} orders on {BACKFILL_QUEUE} ({result.windows} windows, {result.pages} pages)",
    )
    if report["truncated"]:
        for window in report["truncated"]:
            click.echo(
                f"warning: {window['total']} orders were created from {window['from']} to {window['to']}, "
                f"more than VTEX lists for one query: only {window['queued']} were queued",
                err=True,
            )
        sys.exit(1)
