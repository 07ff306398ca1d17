"""``acsync spool``: the local spool of hooks accepted while Redis was unreachable (``ingest.spool``)."""

from __future__ import annotations

import click
import redis

from acsync.cli_groups.common import emit, fail, redis_client, settings
from acsync_core.publish import TaskPublisher
from acsync_core.settings import Settings
from ingest.spool import Spool


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
    emit(
        {"enqueued": moved, "duplicates": before - moved - local.size(), "left": local.size()},
        as_json,
        f"enqueued {moved} spooled events ({before - moved - local.size()} were duplicates)",
    )
