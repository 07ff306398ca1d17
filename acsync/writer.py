"""``acsync writer``: run the ActiveCampaign writers (one thread per AC account)."""

from __future__ import annotations

import click

from acsync_core.logs import configure_logging
from acsync_core.observability import init_sentry
from acsync_core.settings import ConfigError, load_settings


@click.command("writer")
def writer() -> None:
    """Drain every ActiveCampaign account's outbox (run two for failover: one writes, one stands by)."""
    from workers import metrics
    from workers.writers.service import WriterService

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {exc}") from None
    configure_logging(settings.log_level)
    init_sentry(settings.sentry_dsn, component="writer")
    if settings.writer_metrics_port:
        metrics.start_worker_metrics_server(settings, settings.writer_metrics_port)
    WriterService(settings).serve_forever()
