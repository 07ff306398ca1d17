"""``acsync hooks``: the VTEX order hook."""

from __future__ import annotations

import sys

import click

from acsync.cli_groups.common import emit, fail, get_store, settings, store_option
from acsync_core.settings import Settings
from workers.hookconfig import configure_hook, hook_status, masked_hook
from workers.vtex import VTEXError


@click.group()
def hooks() -> None:
    """The VTEX order hook: configure it, and check that it is still there."""


@hooks.command("configure")
@store_option
@click.option(
    "--url",
    help="Public base URL of ingest (default: ACSYNC_PUBLIC_URL), e.g. https://acsync.example.com",
)
@click.option("--json", "as_json", is_flag=True)
def hooks_configure(store_name: str, url: str | None, as_json: bool) -> None:
    """Point the store's VTEX order hook at ingest, with the status filter and the secret header."""
    config = settings()
    store, url = get_store(config, store_name), public_url(url, config)
    try:
        wanted = configure_hook(store, url)
    except VTEXError as exc:
        fail(f"VTEX refused the hook configuration: {exc}")
    emit(
        {"configured": True, "config": masked_hook(wanted)},
        as_json,
        f"order hook configured: {wanted['hook']['url']} for {', '.join(wanted['filter']['status'])}",
    )


@hooks.command("status")
@store_option
@click.option("--url", help="Expected public base URL of ingest (default: ACSYNC_PUBLIC_URL).")
@click.option("--json", "as_json", is_flag=True)
def hooks_status(store_name: str, url: str | None, as_json: bool) -> None:
    """Show whether the order hook is configured as expected (exit 1 if not)."""
    config = settings()
    store, url = get_store(config, store_name), public_url(url, config)
    try:
        problems = hook_status(store, url)
    except VTEXError as exc:
        fail(f"VTEX: {exc}")
    emit(
        {"ok": not problems, "problems": problems},
        as_json,
        "order hook OK" if not problems else "order hook NOT OK:\n  " + "\n  ".join(problems),
    )
    if problems:
        sys.exit(1)


def public_url(given: str | None, config: Settings) -> str:
    """``--url``, else the settings' ACSYNC_PUBLIC_URL; a usage error (exit 2) without either."""
    url = given or config.public_url
    if not url:
        raise click.UsageError("give --url or set ACSYNC_PUBLIC_URL (ingest's public base URL)")
    return url
