"""``acsync run``: the whole stack on this machine, for development and demos."""

from __future__ import annotations

import click
from werkzeug.serving import run_simple

from acclient.sandbox import SandboxConfig, create_app


@click.command("run")
@click.option("--once", is_flag=True, help="Start, report, and exit (for tests).")
@click.option("--port", default=8081, show_default=True, type=int, help="Port of the ActiveCampaign sandbox.")
def run(once: bool, port: int) -> None:
    """Run the local stack. For now this starts only the ActiveCampaign sandbox: ingest and workers
    are not built yet (see the project's issues)."""
    click.echo("acsync run: only the ActiveCampaign sandbox exists so far; ingest and workers come next.")
    if once:
        return
    click.echo(f"ActiveCampaign sandbox on http://127.0.0.1:{port} (Ctrl-C stops it)")
    run_simple("127.0.0.1", port, create_app(SandboxConfig()), threaded=True)
