"""``acsync stats``: the pipeline's state (``workers.status.collect_stats``)."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from acsync.cli_groups.common import redis_client, settings
from workers.status import collect_stats


def show(data: dict[str, Any], minutes: int) -> None:
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
        + (", ".join(f"{k} booked {v}s ahead" for k, v in data["rate_limiter_booked_seconds"].items()) or "idle")
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
                f"{kind} p50 {v['p50']:.2f}s p99 {v['p99']:.2f}s" for kind, v in data["latency_seconds"].items() if v
            )
            or "no samples"
        )
    )


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
            show(data, minutes)
        if not watch:
            return
        time.sleep(interval)
