"""``acsync sandbox ac|vtex``: the local stand-ins for ActiveCampaign and VTEX."""

from __future__ import annotations

import click
from werkzeug.serving import run_simple

from acclient.sandbox import DEFAULT_TOKEN, Faults, SandboxConfig, create_app
from workers.vtex.sandbox import VTEXSandboxConfig
from workers.vtex.sandbox import create_app as create_vtex_sandbox


@click.group()
def sandbox() -> None:
    """Run a local ActiveCampaign or VTEX for development and tests."""


@sandbox.command("ac")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, show_default=True, type=int)
@click.option("--token", "tokens", multiple=True, help="Api-Token accepted (account 'sandbox'); repeatable.")
@click.option("--rps", default=5.0, show_default=True, type=float, help="Requests/second per account (0: none).")
@click.option("--error-rate", default=0.0, show_default=True, type=float, help="Share of injected 500s.")
@click.option("--latency-ms", default=0.0, show_default=True, type=float, help="Latency added to each request.")
@click.option(
    "--graphql-copy-delay",
    default=2.0,
    show_default=True,
    type=float,
    help="Seconds until a GraphQL order shows in v3 /ecomOrders.",
)
@click.option(
    "--bulk-import-delay",
    default=1.0,
    show_default=True,
    type=float,
    help="Seconds until a queued bulk contact import is processed.",
)
def sandbox_ac(
    host: str,
    port: int,
    tokens: tuple[str, ...],
    rps: float,
    error_rate: float,
    latency_ms: float,
    graphql_copy_delay: float,
    bulk_import_delay: float,
) -> None:
    """A local ActiveCampaign (v3, Ecommerce GraphQL, bulk import) with per-account rate limiting and faults."""
    accounts = {token: "sandbox" for token in (tokens or (DEFAULT_TOKEN,))}
    config = SandboxConfig(
        accounts=accounts,
        requests_per_second=rps or None,
        faults=Faults(error_rate=error_rate, latency_ms=latency_ms),
        graphql_copy_delay=graphql_copy_delay,
        bulk_import_delay=bulk_import_delay,
    )
    click.echo(f"ActiveCampaign sandbox on http://{host}:{port} (state: /__sandbox/state)")
    run_simple(host, port, create_app(config), threaded=True)


@sandbox.command("vtex")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8082, show_default=True, type=int)
@click.option("--account", default="mystore", show_default=True, help="VTEX account name (image hosts).")
@click.option("--error-rate", default=0.0, show_default=True, type=float, help="Share of injected 500s.")
@click.option("--latency-ms", default=0.0, show_default=True, type=float, help="Latency added to each request.")
def sandbox_vtex(host: str, port: int, account: str, error_rate: float, latency_ms: float) -> None:
    """A local VTEX (orders, Master Data CL, SKUs, checkout simulation, hook config) from seeded data."""
    config = VTEXSandboxConfig(account=account, faults=Faults(error_rate=error_rate, latency_ms=latency_ms))
    click.echo(f"VTEX sandbox on http://{host}:{port} (app key {config.app_key}; seed via /__sandbox/*)")
    run_simple(host, port, create_vtex_sandbox(config), threaded=True)
