"""``acsync dlq``: the dead-letter queue (``workers.dlq`` and ``workers.dlq_ops``)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from acsync.cli_groups.common import F, emit, fail, redis_client, settings
from acsync_core.publish import TaskPublisher
from workers import dlq_ops
from workers.dlq import DeadLetterQueue, DLQFilter


def dlq_filters(func: F) -> F:
    func = click.option("--store", help="Only this store.")(func)
    func = click.option("--kind", type=click.Choice(["order", "cart", "customer"]), help="Only this kind.")(func)
    func = click.option("--older-than", help="Only entries dead longer than this (30m, 2h, 1d).")(func)
    return click.option("--newer-than", help="Only entries dead more recently than this.")(func)


def make_filter(store: str | None, kind: str | None, older_than: str | None, newer_than: str | None) -> DLQFilter:
    try:
        return dlq_ops.make_filter(store, kind, older_than, newer_than)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


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
        entry_ids = tuple(dlq_ops.matching_ids(queue, make_filter(store, kind, older_than, newer_than)))
    elif not entry_ids:
        raise click.UsageError("give entry ids, or --all with filters")
    outcome = dlq_ops.replay(queue, TaskPublisher(client), entry_ids)
    result: dict[str, Any] = {"replayed": outcome.replayed, "missing": outcome.missing}
    human = f"replayed {len(outcome.replayed)}" + (
        f"; not found: {', '.join(outcome.missing)}" if outcome.missing else ""
    )
    if outcome.failed:
        result.update(failed=outcome.failed, error=outcome.detail)
        human += f"; not replayed, still dead ({outcome.detail}): {', '.join(outcome.failed)}"
    emit(result, as_json, human)
    if outcome.missing or outcome.failed:
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
    count = len(dlq_ops.matching_ids(queue, filters))
    if not yes and not click.confirm(f"purge {count} entries?"):
        sys.exit(1)
    emit({"purged": queue.purge(filters)}, as_json, f"purged {count} entries")
